package pipeline

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
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

// An event time read from a value the redaction rules take for a secret is
// no event time: a card number as Unix microseconds in "ts" shipped as
// @timestamp 2100-04-11T07:18:31.111111Z, from which it converts back
// exactly, while the message had it masked (redact12 F13). A field rule
// naming the time key hides its value the same way.
func TestEventTimeHoldingASecret(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	card := []redact.Rule{{Builtin: "credit_card"}}
	for _, tc := range []struct {
		cfg    parser.Config
		rules  []redact.Rule
		line   string
		want   time.Time
		secret string
	}{
		{parser.Config{}, card, `{"ts":4111111111111111,"m":1}`, now, "4111111111111111"},
		{parser.Config{}, card, `{"ts":"4111111111111111","m":1}`, now, "4111111111111111"},
		{parser.Config{}, []redact.Rule{{Field: "ts", Action: "mask"}}, `{"ts":1700000000,"m":1}`, now, ""},
		{parser.Config{}, card, `{"ts":1700000000,"m":1}`, time.Unix(1700000000, 0).UTC(), ""},
		{parser.Config{}, card, `{"ts":"2026-11-26T10:00:00Z","m":1}`, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), ""},
		// A time of now whose digits pass for a card is the time.
		{parser.Config{TimeFormat: "20060102150405"}, card, `{"ts":"20261126100407","m":1}`, time.Date(2026, 11, 26, 10, 4, 7, 0, time.UTC), ""},
		// Cards that read as times in the past (redact14 F1): Amex as
		// microseconds is 1981, a 16-digit card as nanoseconds 1970, an
		// 18-digit Maestro as nanoseconds 1991.
		{parser.Config{}, card, `{"ts":378282246310005,"m":1}`, now, "378282246310005"},
		{parser.Config{TimeFormat: "unix_ns"}, card, `{"ts":4111111111111111,"m":1}`, now, "4111111111111111"},
		{parser.Config{}, card, `{"ts":675912345678901237,"m":1}`, now, "675912345678901237"},
		{parser.Config{TimeKey: "meta.ts"}, card, `{"meta":{"ts":378282246310005},"m":1}`, now, "378282246310005"},
		// With a fraction (regress14b N3).
		{parser.Config{}, card, `{"ts":378282246310005.0,"m":1}`, now, "378282246310005"},
		{parser.Config{TimeFormat: "unix_ns"}, card, `{"ts":"4111111111111111.0","m":1}`, now, "4111111111111111"},
		// A rule limited to other fields still masks the message, where
		// every rule runs: the time is none (redact14 F6).
		{parser.Config{}, []redact.Rule{{Builtin: "credit_card", Fields: []string{"card"}}}, `{"ts":4111111111111111,"card":"x"}`, now, "4111111111111111"},
		// An old time written as a date stays the time, also where a rule
		// masks its text in the message (regress14 F: a date-of-birth
		// pattern took the time of every line replayed from last year).
		{parser.Config{}, []redact.Rule{{Pattern: `\d{4}-\d{2}-\d{2}`, Fields: []string{"dob"}}}, `{"ts":"2023-06-15T10:30:00.123456Z","dob":"1990-01-01"}`, time.Date(2023, 6, 15, 10, 30, 0, 123456000, time.UTC), ""},
		// An old time the rules leave alone stays the time.
		{parser.Config{}, card, `{"ts":"2019-05-01T10:00:00Z","m":1}`, time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC), ""},
		{parser.Config{}, card, `{"ts":1556704800,"m":1}`, time.Unix(1556704800, 0).UTC(), ""},
	} {
		rec := transformJSON(t, tc.cfg, tc.rules, tc.line, now)
		if !rec.Time.Equal(tc.want) {
			t.Errorf("%v %s: time %v, want %v", tc.rules, tc.line, rec.Time, tc.want)
		}
		if tc.secret == "" {
			continue // the time is kept; its digits may be masked in the message
		}
		var enc sidetrail.JSONEncoder
		if out := enc.Append(nil, rec); bytes.Contains(out, []byte(tc.secret)) {
			t.Errorf("%s: record %s", tc.line, out)
		}
	}
}

// A field rule naming the time key takes its value out of the message as
// it does any field's: the field came back masked, and the message kept it
// (regress13 R2).
func TestFieldRuleOnTheTimeKey(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, line := range []string{`{"ts":1700000000000,"m":1}`, `{"ts":"2024-01-02T03:04:05Z","x":1}`} {
		rec := transformJSON(t, parser.Config{}, []redact.Rule{{Field: "ts", Action: "mask"}}, line, now)
		if !rec.Time.Equal(now) {
			t.Errorf("%s: time %v", line, rec.Time)
		}
		if bytes.Contains(rec.Message, []byte("1700000000000")) || bytes.Contains(rec.Message, []byte("2024-01-02")) {
			t.Errorf("%s: message %s", line, rec.Message)
		}
		if f, ok := rec.Get("ts"); !ok || string(f.Value) != "[REDACTED]" {
			t.Errorf("%s: field ts %v %v", line, f, ok)
		}
	}
}

// field: "@timestamp" names the line's own @timestamp key (which the parser
// renames json.@timestamp) also when that key is the event time: it
// masked the value only when it was no time (redact14 F9).
func TestFieldRuleOnTheLinesTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	rec := transformJSON(t, parser.Config{}, []redact.Rule{{Field: "@timestamp", Action: "mask"}}, `{"@timestamp":"2024-01-02T03:04:05Z","x":1}`, now)
	if !rec.Time.Equal(now) || bytes.Contains(rec.Message, []byte("2024-01-02")) {
		t.Errorf("time %v, message %s", rec.Time, rec.Message)
	}
	var enc sidetrail.JSONEncoder
	if out := enc.Append(nil, rec); bytes.Contains(out, []byte("2024-01-02")) || !json.Valid(out) {
		t.Errorf("record %s", out)
	}
}

// A field rule above a dotted time key reaches it too: `field: meta` with
// time_key: meta.ts masked the object and shipped @timestamp from inside
// it; the flat "meta.ts" kept its value in the message (regress13 R2).
func TestFieldRuleAboveTheTimeKey(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, line := range []string{`{"meta":{"ts":"2024-01-01T00:00:00Z","k":"SECRETK"}}`, `{"meta.ts":"2024-01-01T00:00:00Z","x":1}`} {
		rec := transformJSON(t, parser.Config{TimeKey: "meta.ts"}, []redact.Rule{{Field: "meta", Action: "mask"}}, line, now)
		if !rec.Time.Equal(now) {
			t.Errorf("%s: time %v", line, rec.Time)
		}
		if bytes.Contains(rec.Message, []byte("2024-01-01")) || bytes.Contains(rec.Message, []byte("SECRETK")) {
			t.Errorf("%s: message %s", line, rec.Message)
		}
		var enc sidetrail.JSONEncoder
		if out := enc.Append(nil, rec); bytes.Contains(out, []byte("2024-01-01")) || !json.Valid(out) {
			t.Errorf("%s: record %s", line, out)
		}
	}
}

// transformJSON runs one JSON line through a Transform with cfg's parser and
// rules, read at now.
func transformJSON(t *testing.T, cfg parser.Config, rules []redact.Rule, line string, now time.Time) *sidetrail.Record {
	t.Helper()
	cfg.Format = "json"
	p, err := parser.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New(rules, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red}
	var rec sidetrail.Record
	tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, now)
	return &rec
}

// A static field named like the time key gives way to the time's value put
// back among the fields by a field rule: the record held "ts" twice
// (regress13b N3). A rule for a name below the time key ("ts.sub") does
// not reach its plain value and keeps the event time (regress13b N5).
func TestFieldRuleOnTheTimeKeyBesideAStaticField(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := parser.New(parser.Config{Format: "json", TimeKey: "ts"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New([]redact.Rule{{Field: "ts", Action: "mask"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red, Fields: staticFields("ts=STATIC", "zz=last")}
	var rec sidetrail.Record
	tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(`{"ts":"2024-01-01T00:00:00Z","a":1}`)}, now)
	var enc sidetrail.JSONEncoder
	out := enc.Append(nil, &rec)
	if n := bytes.Count(out, []byte(`"ts":`)); n != 1 || bytes.Contains(out, []byte("2024-01-01")) {
		t.Errorf("%d ts keys: %s", n, out)
	}
	if last := rec.Fields[len(rec.Fields)-1]; last.Key != "zz" || rec.Statics != 1 {
		t.Errorf("statics %d, last field %s", rec.Statics, last.Key)
	}

	rec2 := transformJSON(t, parser.Config{TimeKey: "ts"}, []redact.Rule{{Field: "ts.sub", Action: "mask"}}, `{"ts":"2024-01-01T00:00:00Z","x":1}`, now)
	if want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); !rec2.Time.Equal(want) {
		t.Errorf("field: ts.sub took the event time: %v", rec2.Time)
	}
}
