package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

func TestJSON(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		line, want string
		time       string
	}{
		{
			name: "kinds, order, exact numbers",
			line: `{"s":"x","i":-12,"big":18446744073709551616123,"f":0.004,"e":1E+400,"t":true,"n":null,"o":{"a":[1,{"b":"c"}]},"a":[],"f2":false}`,
			want: lines(
				"s=x", "i=int:-12", "big=int:18446744073709551616123", "f=float:0.004", "e=float:1E+400",
				"t=bool:true", "n=null:null", `o=json:{"a":[1,{"b":"c"}]}`, "a=json:[]", "f2=bool:false",
			),
		},
		{
			name: "escapes in keys and strings; surrogates; lone surrogate",
			line: `{"k\u00e9\"":"a\"b\\c\/d\b\f\n\r\t\u0001\ud83d\ude80\ud800x"}`,
			want: lines("ké\"=a\"b\\c/d\b\f\n\r\t\x01🚀\uFFFDx"),
		},
		{
			name: "invalid UTF-8 kept in strings, replaced in nested JSON",
			line: "{\"s\":\"a\xffb\",\"o\":{\"k\":\"c\xfed\"}}",
			want: lines("s=a\xffb", `o=json:{"k":"c\ufffdd"}`),
		},
		{
			name: "white space everywhere",
			line: " \t{ \"a\" : 1 , \"b\" :[ 1 , 2 ] }\t \r\n",
			want: lines("a=int:1", "b=json:[ 1 , 2 ]"),
		},
		{
			name: "empty object",
			line: `{}`,
			want: "",
		},
		{
			name: "duplicate keys: first position, last value",
			line: `{"a":1,"b":2,"a":"three"}`,
			want: lines("a=three", "b=int:2"),
		},
		{
			name: "keys clashing with the record's own are renamed",
			line: `{"message":"m","source":"s","log":{"x":1},"log.level":"info","log.offset":5,"log.file":"f","message.x":1,"sourcex":2,"@timestamp":"bad"}`,
			want: lines(
				"json.message=m", "json.source=s", `json.log=json:{"x":1}`, "log.level=info",
				// json.log is taken by a value: the deeper names give way.
				"json_log_offset=int:5", "json_log_file=f", "json_message_x=int:1", "sourcex=int:2",
				"json.@timestamp=bad",
			),
		},
		{
			name: "a value and an object at the same path: the dotted name gives way",
			line: `{"a.b.c":1,"a":2,"a_b_c":3,"x.y":4,"x.z":5,"":6,"p..q":7,".r":8}`,
			want: lines("a_b_c_=int:1", "a=int:2", "a_b_c=int:3", "x.y=int:4", "x.z=int:5",
				"_empty=int:6", "p__q=int:7", "_r=int:8"),
		},
		{
			name: "default time keys: @timestamp preferred; others stay",
			line: `{"ts":1704207845,"@timestamp":"2024-01-02T15:04:05.5+01:00","time":"x"}`,
			want: lines("ts=int:1704207845", "time=x"),
			time: "2024-01-02T14:04:05.5Z",
		},
		{
			name: "default time keys: a key that does not parse falls to the next",
			line: `{"@timestamp":"yesterday","ts":1704207845.25}`,
			want: lines("json.@timestamp=yesterday"),
			time: "2024-01-02T15:04:05.25Z",
		},
		{
			// A duration under "time" was read as 1970-01-01T00:00:35,
			// which Loki refuses as too old (parser25): a guessed Unix
			// number before 1990 is no time; the next key is tried.
			name: "a small number is no time",
			line: `{"time":35,"ts":-1,"timestamp":0,"a":1}`,
			want: lines("time=int:35", "ts=int:-1", "timestamp=int:0", "a=int:1"),
		},
		{
			name: "a small number is no time: the next key is",
			line: `{"time":35,"ts":1704207845}`,
			want: lines("time=int:35"),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "auto epoch units by magnitude",
			line: `{"ts":1704207845123}`,
			want: "",
			time: "2024-01-02T15:04:05.123Z",
		},
		{
			name: "auto epoch from a numeric string, microseconds",
			line: `{"time":"1704207845123456"}`,
			want: "",
			time: "2024-01-02T15:04:05.123456Z",
		},
		{
			name: "configured time key and unix_ns",
			cfg:  Config{TimeKey: "when", TimeFormat: "unix_ns"},
			line: `{"ts":"ignored","when":1704207845123456789}`,
			want: lines("ts=ignored"),
			time: "2024-01-02T15:04:05.123456789Z",
		},
		{
			name: "unix_ms",
			cfg:  Config{TimeFormat: "unix_ms"},
			line: `{"ts":1704207845123.5}`,
			want: "",
			time: "2024-01-02T15:04:05.1235Z",
		},
		{
			name: "unix seconds as a string",
			cfg:  Config{TimeFormat: "unix"},
			line: `{"time":"1704207845"}`,
			want: "",
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "rfc3339 does not take numbers",
			cfg:  Config{TimeFormat: "rfc3339"},
			line: `{"time":1704207845}`,
			want: lines("time=int:1704207845"),
		},
		{
			name: "Go layout",
			cfg:  Config{TimeKey: "t", TimeFormat: "2006-01-02 15:04:05.000 -0700"},
			line: `{"t":"2024-01-02 16:04:05.123 +0100","x":1}`,
			want: lines("x=int:1"),
			time: "2024-01-02T15:04:05.123Z",
		},
		{
			name: "time key that is an object stays a field",
			line: `{"time":{"a":1}}`,
			want: lines(`time=json:{"a":1}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Format = FormatJSON
			p := mustNew(t, cfg)
			got, rec := parseOK(t, p, tt.line)
			if got != tt.want {
				t.Errorf("fields:\n%s\nwant:\n%s", got, tt.want)
			}
			var gotTime string
			if !rec.Time.IsZero() {
				gotTime = rec.Time.Format(time.RFC3339Nano)
			}
			if gotTime != tt.time {
				t.Errorf("time %q, want %q", gotTime, tt.time)
			}
			// A second parse with the same parser (warm key cache) gives
			// the same result.
			got2, _ := parseOK(t, p, tt.line)
			if got2 != got {
				t.Errorf("second parse:\n%s\nfirst:\n%s", got2, got)
			}
		})
	}
}

func TestJSONInvalid(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON})
	bad := []string{
		"", " ", "\n", `[1,2]`, `"str"`, `12`, `null`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1}x`,
		`{"a":1}{"b":2}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"\x"}`,
		`{"a":"\u12"}`, "{\"a\":\"tab\tinside\"}", `{"a":[1,]}`, `{"a":{"b"}}`, `{"a":[}`, `{"a":{]}`,
		`{a:1}`, `{'a':1}`, `{"a":"unterminated}`, `{"a":[1,2}`, `{"a":NaN}`, `{"a":+1}`,
		`{"a":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1000) + `}`,
		"\x00\x01\xff\xfe", strings.Repeat("{", 1<<20),
	}
	for _, line := range bad {
		pre := []sidetrail.Field{{Key: "keep", Value: []byte("me")}}
		rec := &sidetrail.Record{Fields: pre, Scratch: []byte("s")}
		err := p.Parse([]byte(line), rec)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%.40q: err = %v, want *Error", line, err)
			continue
		}
		if len(rec.Fields) != 1 || !rec.Time.IsZero() || string(rec.Scratch) != "s" {
			t.Errorf("%.40q: record changed on failure: %+v", line, rec)
		}
		if json.Valid([]byte(line)) && strings.HasPrefix(strings.TrimSpace(line), "{") && !strings.Contains(line, "[[[[") {
			t.Errorf("%.40q: valid JSON object refused", line)
		}
	}
	// 1000 levels deep, the line's own object counted, is still fine;
	// 1001 is a parse failure, as the README says (parser22 P3: it
	// shipped parsed).
	deep := `{"a":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`
	parseOK(t, p, deep)
	var rec1001 sidetrail.Record
	var pe1001 *Error
	if err := p.Parse([]byte(`{"a":`+strings.Repeat("{\"b\":", 1000)+`1`+strings.Repeat("}", 1000)+`}`), &rec1001); !errors.As(err, &pe1001) {
		t.Errorf("1001 levels: err = %v, want a parse failure", err)
	}
	// Deeper, valid: a parse failure whose fields are kept for the field
	// rules (parser19 J1), the time left zero.
	deeper := `{"ts":"2024-01-02T03:04:05Z","ssn":"1-2","a":` + strings.Repeat("[{\"b\":", 3000) + `1` + strings.Repeat("}]", 3000) + `,"z":true}`
	var rec sidetrail.Record
	err := p.Parse([]byte(deeper), &rec)
	var pe *Error
	if !errors.As(err, &pe) || !pe.Guessed() {
		t.Fatalf("3000 deep: %v, want a parse failure with its fields", err)
	}
	// The time key is a field again, for a field rule that names it
	// (regress19b F3).
	ts, _ := rec.Get("ts")
	if f, _ := rec.Get("ssn"); string(f.Value) != "1-2" || len(rec.Fields) != 4 || string(ts.Value) != "2024-01-02T03:04:05Z" || !rec.Time.IsZero() {
		t.Errorf("3000 deep: fields %d, ssn %q, ts %q, time %v", len(rec.Fields), f.Value, ts.Value, rec.Time)
	}
}

func TestJSONHugeLine(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON})
	v := strings.Repeat(`ab\"c`, 1<<18)
	line := `{"big":"` + v + `","n":1}`
	_, rec := parseOK(t, p, line)
	f, _ := rec.Get("big")
	if len(f.Value) != 4<<18 {
		t.Errorf("big: %d bytes", len(f.Value))
	}
}

// TestJSONAgreesWithEncodingJSON: for valid objects, each field decodes
// to what encoding/json decodes for its key.
func TestJSONAgreesWithEncodingJSON(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON, TimeKey: "-none-"})
	for _, line := range []string{
		`{"a":"x\u00e9\ud83d\ude00","b":[1,"2",{"c":null}],"c":-0.5e-3,"d":true,"e":{}}`,
		`{"k":"\"\\\/\b\f\n\r\t"}`,
	} {
		_, rec := parseOK(t, p, line)
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range rec.Fields {
			var want, got any
			json.Unmarshal(m[f.Key], &want)
			var enc []byte
			if f.Kind == sidetrail.KindString {
				enc = sidetrail.AppendJSONString(nil, f.Value)
			} else {
				enc = f.Value
			}
			if err := json.Unmarshal(enc, &got); err != nil {
				t.Fatalf("%s: %v", f.Key, err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("%s: %s, want %s", f.Key, gb, wb)
			}
		}
	}
}

// A UTF-8 byte order mark before the object (the first line of a file a
// Windows tool wrote) is dropped, from the message too (parser11: the line
// was a parse_failure).
func TestJSONByteOrderMark(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON})
	line := []byte("\xef\xbb\xbf{\"msg\":\"bom first\",\"user\":\"bob\"}\n")
	rec := &sidetrail.Record{Message: line}
	if err := p.Parse(line, rec); err != nil {
		t.Fatal(err)
	}
	if got := fieldsString(rec.Fields); got != lines("msg=bom first", "user=bob") {
		t.Errorf("fields %s", got)
	}
	if !bytes.HasPrefix(rec.Message, []byte(`{"msg"`)) {
		t.Errorf("message %q", rec.Message)
	}
}

// Keys past the name table's size (maxNames) were placed by a scan of the
// line's other such keys: a line of 87,000 keys took 6.7 s (parser13 F7).
func TestManyKeysAreLinear(t *testing.T) {
	perKey := func(n int) time.Duration {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":1`, i)
		}
		b.WriteByte('}')
		best := time.Duration(1 << 62)
		for range 3 {
			p, err := New(Config{Format: "json"})
			if err != nil {
				t.Fatal(err)
			}
			var rec sidetrail.Record
			start := time.Now()
			if err := p.Parse([]byte(b.String()), &rec); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
			if len(rec.Fields) != n {
				t.Fatalf("%d fields of %d", len(rec.Fields), n)
			}
		}
		return best / time.Duration(n)
	}
	small, large := perKey(8000), perKey(40000)
	if large > 4*small+200*time.Nanosecond {
		t.Fatalf("per key: %v with 8,000 keys, %v with 40,000", small, large)
	}
}

// A layout with a zone abbreviation read CET, EST and PDT times as UTC,
// hours off, with no word (parser13 F9): such a time is no event time (the
// record gets the read time and keeps the value). UTC and GMT are read
// right, as before; refusing the layout stopped agents reading HTTP dates
// (regress13 R6).
func TestTimeFormatWithZoneAbbreviation(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "Mon, 02 Jan 2006 15:04:05 MST"})
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, z := range []string{"GMT", "UTC"} {
		if _, rec := parseOK(t, p, `{"t":"Tue, 02 Jan 2024 03:04:05 `+z+`"}`); !rec.Time.Equal(want) {
			t.Errorf("%s: %v", z, rec.Time)
		}
	}
	// The local zone's abbreviations are read with their offset, zero or
	// not (WET in Lisbon, regress13b N2).
	if lisbon, err := time.LoadLocation("Europe/Lisbon"); err == nil {
		local := time.Local
		time.Local = lisbon
		_, rec := parseOK(t, p, `{"t":"Tue, 02 Jan 2024 03:04:05 WET"}`)
		time.Local = local
		if !rec.Time.Equal(want) {
			t.Errorf("WET in Lisbon: %v", rec.Time)
		}
	}
	// With a numeric offset beside the name, the offset counts.
	po := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "Mon, 02 Jan 2006 15:04:05 -0700 MST"})
	if _, rec := parseOK(t, po, `{"t":"Tue, 02 Jan 2024 03:04:05 +0000 WET"}`); !rec.Time.Equal(want) {
		t.Errorf("+0000 WET: %v", rec.Time)
	}
	for _, z := range []string{"CET", "PDT", "EST"} {
		_, rec := parseOK(t, p, `{"t":"Tue, 02 Jan 2024 03:04:05 `+z+`"}`)
		if !rec.Time.IsZero() {
			t.Errorf("%s: %v", z, rec.Time)
		}
		if _, ok := rec.Get("t"); !ok {
			t.Errorf("%s: the value is gone", z)
		}
	}
}

// A json source's timezone is the zone of its time_format layout's
// zoneless times (an application's local wall-clock times were read as
// UTC, hours off, with no setting to say otherwise: parser17 F), and the
// zone in which it reads the layout's abbreviations (CET in Berlin).
func TestTimeFormatInATimezone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	p := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "2006-01-02 15:04:05", Timezone: "Europe/Berlin"})
	if _, rec := parseOK(t, p, `{"t":"2023-11-14 22:13:20"}`); !rec.Time.Equal(time.Date(2023, 11, 14, 22, 13, 20, 0, berlin)) {
		t.Errorf("zoneless: %v", rec.Time)
	}
	pz := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "2006-01-02 15:04:05 MST", Timezone: "Europe/Berlin"})
	if _, rec := parseOK(t, pz, `{"t":"2023-11-14 22:13:20 CET"}`); !rec.Time.Equal(time.Date(2023, 11, 14, 21, 13, 20, 0, time.UTC)) {
		t.Errorf("CET in Berlin: %v", rec.Time)
	}
	if _, rec := parseOK(t, pz, `{"t":"2023-11-14 22:13:20 PDT"}`); !rec.Time.IsZero() {
		t.Errorf("PDT in Berlin: %v, want no event time", rec.Time)
	}
	if _, err := New(Config{Format: FormatJSON, Timezone: "Europe/Berlin"}); err == nil {
		t.Error("a timezone without a layout: no error")
	}
	if _, err := New(Config{Format: FormatJSON, Timezone: "UTC"}); err != nil {
		t.Errorf("UTC, the default, without a layout: %v", err) // regress17b L3
	}
}

// A layout without a year (syslog's "Jan _2 15:04:05") reads the current
// year, or the one before where that would be more than a day ahead (a
// December line read in January). Go reads year 0, outside what the buffer
// holds, and every record got the read time (parser19 T1).
func TestJSONTimeLayoutWithoutYear(t *testing.T) {
	now := time.Now().UTC()
	p := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "Jan _2 15:04:05"})
	line := `{"t":"` + now.Add(-time.Hour).Format("Jan _2 15:04:05") + `"}`
	want := now.Add(-time.Hour).Truncate(time.Second)
	if _, rec := parseOK(t, p, line); !rec.Time.Equal(want) {
		t.Errorf("%s: time %v, want %v", line, rec.Time, want)
	}
	ahead := now.AddDate(0, 0, 3)
	line = `{"t":"` + ahead.Format("Jan _2 15:04:05") + `"}`
	if _, rec := parseOK(t, p, line); rec.Time.Year() != ahead.Year()-1 || rec.Time.Month() != ahead.Month() || rec.Time.Day() != ahead.Day() {
		t.Errorf("%s: time %v, want %s of the year before", line, rec.Time, ahead.Format("Jan _2"))
	}
	// A layout without a date at all is no date: the read time, the value
	// kept (regress19b F4: every record was dated January 1).
	for _, layout := range []string{"15:04:05", "15:04:05.000", "Mon 15:04:05"} {
		pt := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: layout})
		line := `{"t":"` + now.Format(layout) + `"}`
		if f, rec := parseOK(t, pt, line); !rec.Time.IsZero() || f == "" {
			t.Errorf("%s with %q: time %v, fields %s; want none, the value kept", line, layout, rec.Time, f)
		}
	}
	// Feb 29 is of the last leap year, not Mar 1 (regress19b F4).
	feb := withYear(time.Date(0, 2, 29, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC); !feb.Equal(want) {
		t.Errorf("Feb 29 read in 2026: %v, want %v", feb, want)
	}
	// A day of the year counts in the year taken (regress19c R6: day 60
	// was Feb 29).
	yd := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "__2 15:04:05"})
	today := now.Add(-time.Hour)
	if _, rec := parseOK(t, yd, `{"t":"`+today.Format("__2 15:04:05")+`"}`); !rec.Time.Equal(today.Truncate(time.Second)) {
		t.Errorf("day %d: %v, want %v", today.YearDay(), rec.Time, today.Truncate(time.Second))
	}
	// In a zone, the year is that zone's.
	pz := mustNew(t, Config{Format: FormatJSON, TimeKey: "t", TimeFormat: "01-02 15:04", Timezone: "Europe/Berlin"})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	hour := now.Add(-2 * time.Hour).In(berlin)
	line = `{"t":"` + hour.Format("01-02 15:04") + `"}`
	if _, rec := parseOK(t, pz, line); !rec.Time.Equal(hour.Truncate(time.Minute)) {
		t.Errorf("%s: time %v, want %v", line, rec.Time, hour.Truncate(time.Minute).UTC())
	}
}

// A dotted time_key reaches into a nested object when no top-level key is
// named so: every {"meta":{"ts":…}} event got the read time (parser13 F10).
func TestNestedTimeKey(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON, TimeKey: "meta.ts"})
	want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, line := range []string{
		`{"meta":{"ts":"2024-01-01T00:00:00Z"},"m":1}`,
		`{"a":[1,{"ts":2}],"meta":{"x":{"y":[]},"ts":1704067200},"m":1}`,
		`{"meta.ts":"2024-01-01T00:00:00Z","meta":{"ts":"2030-01-01T00:00:00Z"}}`,
		`{"meta":{"ts":"2023-01-01T00:00:00Z","ts":"2024-01-01T00:00:00Z"}}`, // the last, as the parser keeps it
	} {
		_, rec := parseOK(t, p, line)
		if !rec.Time.Equal(want) {
			t.Errorf("%s: time %v", line, rec.Time)
		}
	}
	for _, line := range []string{`{"meta":{"t":"2024-01-01T00:00:00Z"}}`, `{"meta":"2024"}`, `{"meta":{"ts":true}}`} {
		if _, rec := parseOK(t, p, line); !rec.Time.IsZero() {
			t.Errorf("%s: time %v", line, rec.Time)
		}
	}
}

// A time_key below a key the parser renames (one the record has: "log",
// "source", "message") names the line's key, nested or dotted, as field
// rules do: the nested form got the read time (parser17 G, parser19).
func TestNestedTimeKeyBelowRenamedKey(t *testing.T) {
	want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tk := range []string{"log.time", "source.ts"} {
		p := mustNew(t, Config{Format: FormatJSON, TimeKey: tk})
		k := strings.SplitN(tk, ".", 2)
		for _, line := range []string{
			`{"` + k[0] + `":{"` + k[1] + `":"2024-01-01T00:00:00Z"},"m":1}`,
			`{"` + tk + `":"2024-01-01T00:00:00Z","m":1}`,
		} {
			if _, rec := parseOK(t, p, line); !rec.Time.Equal(want) {
				t.Errorf("time_key %s, %s: time %v", tk, line, rec.Time)
			}
		}
	}
}

// Each dot of a dotted time_key may part two names or belong to one, as the
// record writes them alike (regress13 R7).
func TestNestedTimeKeyAnyNesting(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON, TimeKey: "a.b.c"})
	want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, line := range []string{
		`{"a":{"b":{"c":"2024-01-01T00:00:00Z"}}}`,
		`{"a":{"b.c":"2024-01-01T00:00:00Z"}}`,
		`{"a.b":{"c":"2024-01-01T00:00:00Z"}}`,
		`{"a.b.c":"2024-01-01T00:00:00Z"}`,
		`{"a":{"b":{"x":1}},"a.b":{"c":"2024-01-01T00:00:00Z"}}`,
	} {
		if _, rec := parseOK(t, p, line); !rec.Time.Equal(want) {
			t.Errorf("%s: time %v", line, rec.Time)
		}
	}
}
