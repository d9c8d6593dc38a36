package parser

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// checkParse runs p on line and checks the invariants every parser keeps:
// a failure is a *Error and leaves the record as it was, unless it is a
// guess (Error.Guessed: fields, no time); a success, and a guess, give
// record JSON that is valid JSON, with no field key twice at the top level
// of what the parser added and no value of a numeric or JSON kind that is
// not valid JSON.
func checkParse(t *testing.T, p Parser, line []byte) {
	pre := sidetrail.Field{Key: "pre", Value: []byte("x")}
	rec := &sidetrail.Record{Fields: []sidetrail.Field{pre}, Message: line, Source: "fuzz"}
	err := p.Parse(line, rec)
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %T %v, want *Error", err, err)
		}
		_ = pe.Error()
		if !rec.Time.IsZero() || len(rec.Fields) != 1 && !pe.Guessed() {
			t.Fatalf("record changed on failure: %+v", rec)
		}
		if !pe.Guessed() {
			return
		}
	}
	if err == nil {
		DedupeFields(rec)
	}
	seen := map[string]bool{}
	for i, f := range rec.Fields[1:] {
		for _, g := range rec.Fields[1+i+1:] {
			short, long := f.Key, g.Key
			if len(short) > len(long) {
				short, long = long, short
			}
			if len(long) > len(short) && long[len(short)] == '.' && long[:len(short)] == short {
				t.Fatalf("fields %q and %q cannot both be nested", f.Key, g.Key)
			}
		}
		if seen[f.Key] {
			t.Fatalf("field %q twice", f.Key)
		}
		seen[f.Key] = true
		if sidetrail.MeetsRecordKey(f.Key) {
			t.Fatalf("field %q clashes with the record's keys", f.Key)
		}
		switch f.Kind {
		case sidetrail.KindInt, sidetrail.KindFloat, sidetrail.KindJSON, sidetrail.KindBool:
			if !json.Valid(f.Value) {
				t.Fatalf("field %q kind %v value %q is not JSON", f.Key, f.Kind, f.Value)
			}
			if k, ok := uniqueKeys(f.Value); f.Kind == sidetrail.KindJSON && !ok && err == nil {
				t.Fatalf("field %q value %q holds the key %q twice", f.Key, f.Value, k)
			}
		}
	}
	var enc sidetrail.JSONEncoder
	out := enc.Append(nil, rec)
	if !json.Valid(out) {
		t.Fatalf("invalid JSON for %q:\n%s", line, out)
	}
}

func FuzzCompileAndParse(f *testing.F) {
	seeds := []struct{ format, line string }{
		{"combined", `10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /a\x22b?x=1 HTTP/1.1" 200 612 "-" "curl/8.0 \x5C"`},
		{"main", `1.2.3.4 - bob [31/Dec/2023:23:59:60 +0000] "POST /x HTTP/2.0" 201 5 "-" "ua" "5.6.7.8"`},
		{`escape=json '{"r":"$request","s":$status,"t":"$time_iso8601"}'`, `{"r":"GET /\"x\\ HTTP/1.1","s":200,"t":"2024-01-02T15:04:05+00:00"}`},
		{`escape=none '"$http_user_agent" "$http_referer" $status'`, `"a" "b" "c" 200`},
		{`'${scheme}://$host$request_uri $request_time $upstream_response_time $msec'`, `https://h/p?q 0.001 0.001, 0.002 1704207845.123`},
		{`log_format x '$remote_addr' ' [$time_local]';`, `::1 [02/Jan/2024:15:04:05 +0000]`},
		{`'$a ${b'`, `x`},
		{`$`, ``},
		{`"$request"`, `"GET / HTTP/1.1"`},
	}
	for _, s := range seeds {
		f.Add(s.format, []byte(s.line))
	}
	f.Fuzz(func(t *testing.T, format string, line []byte) {
		p, err := New(Config{Format: FormatNginx, LogFormat: format})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("New: %T %v, want *SyntaxError", err, err)
			}
			if se.Line < 1 || se.Column < 1 {
				t.Fatalf("bad position %d:%d", se.Line, se.Column)
			}
			return
		}
		checkParse(t, p, line)
	})
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"@timestamp":"2024-01-02T15:04:05Z","a":1,"b":[1,{"c":null}],"d":"\u00e9\ud83d\ude80","e":true}`,
		`{"message":"m","log":{"x":1},"log.offset":2,"ts":1704207845.5}`,
		`{"a":1,"a":2}`, `{}`, `[]`, `{"a":"` + "\xff" + `"}`, `{"a":{"b":"` + "\xfe" + `"}}`,
		`{"k\"":-0.0e+1}`, ``, `{"a":[[[[[]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p := mustNew(t, Config{Format: FormatJSON})
		checkParse(t, p, line)
		// What encoding/json calls an object, the parser must take
		// (allowing for nesting deeper than maxDepth). A top-level null
		// unmarshals into a map without error but is no object: m stays nil.
		var m map[string]json.RawMessage
		if json.Unmarshal(line, &m) == nil && m != nil && len(line) < 2*maxDepth {
			rec := &sidetrail.Record{}
			if err := p.Parse(line, rec); err != nil {
				t.Fatalf("valid object %q refused: %v", line, err)
			}
		}
	})
}

func FuzzNginxError(f *testing.F) {
	for _, s := range []string{
		`2024/01/02 15:04:05 [error] 123#123: *45 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: example.com, request: "GET /x HTTP/1.1", upstream: "http://u/x", host: "example.com", referrer: "r"`,
		`2024/01/02 15:04:05 [notice] 1#1: signal process started`,
		`2024/01/02 15:04:05 [info] 5#5: *8 x, client: 127.0.0.1, server: 0.0.0.0:9000, upstream: "127.0.0.1:9001", bytes from/to client:0/0`,
		`2024/01/02 15:04:05 [error] 9#9: *3 x, client: 1.1.1.1, server: s, request: "GET /a", client: 6 HTTP/1.1", host: "h"`,
		"stack traceback:",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkParse(t, mustNew(t, Config{Format: FormatNginxError}), line)
	})
}
