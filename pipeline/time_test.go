package pipeline

import (
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/tailer"
)

// An event time the disk buffer cannot hold (Unix nanoseconds: 1678 to
// 2262) is no event time: the record is stamped with the read time, as a
// line without one is. Before, 9999-12-31 wrapped around in the codec and
// shipped as 1816-03-30, into an index of that day, while `sidetrail parse`
// showed 9999. A JSON line keeps the value in its time key's field.
func TestEventTimeOutOfRange(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		format, line string
		want         time.Time
		keep         string // a field that must remain
	}{
		{"json", `{"time":"9999-12-31T23:59:59Z","m":1}`, now, "time"},
		{"json", `{"time":"1600-06-01T00:00:00Z","m":1}`, now, "time"},
		{"json", `{"time":"2262-01-01T00:00:00Z"}`, time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"nginx", `1.2.3.4 - - [31/Dec/9999:23:59:59 +0000] "GET / HTTP/1.1" 200 1 "-" "c"`, now, ""},
		{"nginx", `1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "c"`, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), ""},
		{"nginx_error", `9999/12/31 23:59:59 [error] 1#1: *1 boom, client: 1.2.3.4`, now, ""},
	} {
		p, err := parser.New(parser.Config{Format: tc.format})
		if err != nil {
			t.Fatal(err)
		}
		tr := &Transform{Source: "s", Parser: p}
		var rec sidetrail.Record
		tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(tc.line)}, now)
		if !rec.Time.Equal(tc.want) {
			t.Errorf("%s: time %v, want %v", tc.line, rec.Time, tc.want)
		}
		if tc.keep != "" {
			if _, ok := rec.Get(tc.keep); !ok {
				t.Errorf("%s: field %s is gone", tc.line, tc.keep)
			}
		}
		var dec sidetrail.Decoder
		var back sidetrail.Record
		if err := dec.Decode(sidetrail.AppendBinary(nil, &rec), &back); err != nil {
			t.Fatal(err)
		}
		if !back.Time.Equal(rec.Time) {
			t.Errorf("%s: the buffer gives back %v for %v", tc.line, back.Time, rec.Time)
		}
	}
}
