package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/tailer"
)

// A field rule reaches a line's key that the JSON parser had to rename:
// a flat key below the rule's name made flat because the line also holds
// the name ("user.email" beside "user" is written "user_email"), and a key
// below one of the record's own ("message.x" is written "json.message.x").
// They shipped (regress13b N1). Genuine keys that only look alike stay.
func TestFieldRuleReachesRenamedKeys(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New([]redact.Rule{
		{Field: "user", Action: "mask"},
		{Field: "message", Action: "mask"},
		{Field: "a.b", Action: "drop"},
		{Field: "meta", Action: "mask"},
	}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red}
	var rec sidetrail.Record // reused, as the source does
	var enc sidetrail.JSONEncoder
	run := func(line string) []byte {
		t.Helper()
		tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, now)
		if rec.Flags&sidetrail.FlagParseFailure != 0 {
			t.Fatalf("%s: parse failure", line)
		}
		return enc.Append(nil, &rec)
	}
	for _, line := range []string{
		`{"user":{"name":"bob"},"user.email":"SECRET1@x.io"}`,
		`{"user.email":"u@x.io","user.email.x":"SECRET2"}`,
		`{"a.b.c":"SECRET3","a":{"b":{"c":"SECRET4"}}}`,
		`{"a.b":{"c":"SECRET5"},"a.b.d":"SECRET6"}`,
		`{"message.x":"SECRET7"}`,
		`{"meta":1,"meta.k":"SECRET8"}`,
		`{"meta":{"a":1},"meta.a":"SECRET9"}`,
		`{"meta.a":1,"meta.a.b":"SECRET10"}`,
		`{"json.message":"A","message":"SECRET11"}`,
	} {
		if out := run(line); bytes.Contains(out, []byte("SECRET")) {
			t.Errorf("%s\nshipped %s", line, out)
		}
	}
	// The record was reused: the renamings of the lines above are gone.
	for _, line := range []string{
		`{"user_email":"keep1","user_agent":"keep2","username":"keep3","users":"keep4"}`,
		`{"user":{"name":"bob"},"user.email":"x"}`, // a renaming...
		`{"user_email":"keep5"}`,                   // ...not carried over
		`{"meta_k":"keep6","a_b_c":"keep7"}`,
	} {
		out := run(line)
		for _, keep := range []string{"keep1", "keep2", "keep3", "keep4", "keep5", "keep6", "keep7"} {
			if bytes.Contains([]byte(line), []byte(keep)) && !bytes.Contains(out, []byte(keep)) {
				t.Errorf("%s\nlost %s: %s", line, keep, out)
			}
		}
	}
}

// A line too ambiguous to split (a client's Basic-auth user name of
// hundreds of " [") is a parse failure, as before, shipping no field; but
// the field rules still take their values out of its message, from the
// parser's first guess at a split: a client chose, with one header, that
// its line's X-Api-Key shipped in clear (parser17 A2).
func TestAmbiguousLineKeepsFieldRules(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := parser.New(parser.Config{Format: "nginx", LogFormat: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_api_key"`})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New([]redact.Rule{{Field: "http_x_api_key", Action: "drop"}, {Builtin: "email"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red, Fields: []sidetrail.Field{{Key: "env", Value: []byte("prod")}}}
	var rec sidetrail.Record
	var enc sidetrail.JSONEncoder
	for _, n := range []int{1, 130, 600} {
		line := `127.0.0.1 - a` + strings.Repeat(" [", n) + ` [27/Nov/2026:09:30:32 +0000] "GET /?to=SECRET@example.com HTTP/1.1" 404 153 "-" "curl/8" "k-SECRET1234567890"`
		tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, now)
		out := enc.Append(nil, &rec)
		if bytes.Contains(out, []byte("SECRET")) {
			t.Errorf("%d: shipped %s", n, out)
		}
		if n > 1 {
			if rec.Flags&sidetrail.FlagParseFailure == 0 || len(rec.Fields) != 1 || rec.Fields[0].Key != "env" || !rec.Time.Equal(now) {
				t.Errorf("%d: flags %v, fields %v, time %v: want a parse failure with the static field only, at the read time", n, rec.Flags, rec.Fields, rec.Time)
			}
		}
	}
	// The redactions counted are those of what shipped: in the two lines
	// too ambiguous to split, the key once and the address once (in the
	// message), not again in the guess's fields, which do not ship
	// (regress17b A2). The line that parsed counts the key once and the
	// address in message, request, request_uri and request_query.
	if st := red.Stats(); st.Rules[0].Redactions != 1+2 || st.Rules[1].Redactions != 4+2 {
		t.Errorf("redactions: field rule %d, email %d; want 3 and 6", st.Rules[0].Redactions, st.Rules[1].Redactions)
	}
}

// TestDeepJSONLineKeepsFieldRules: a JSON line nested deeper than the
// parser follows is a parse failure, but the field rules still take their
// values out of its message; a client whose body the app logs chose, by
// nesting it 1,001 deep, that the line's protected values shipped
// (parser19 J1).
func TestDeepJSONLineKeepsFieldRules(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New([]redact.Rule{{Field: "ssn", Action: "drop"}, {Field: "card", Action: "mask"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red}
	var rec sidetrail.Record
	var enc sidetrail.JSONEncoder
	for _, n := range []int{10, 999, 1000, 20000} {
		for _, ssn := range []string{`123-45-6789`, `123\u002d45-6789`} {
			line := `{"user":"bob","ssn":"` + ssn + `","body":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `,"card":"4111-SECRET","n":1}`
			tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, now)
			out := enc.Append(nil, &rec)
			if bytes.Contains(out, []byte("6789")) || bytes.Contains(out, []byte("SECRET")) {
				t.Errorf("%d deep, ssn %s: shipped %.200s…", n, ssn, out)
			}
			deep := n+1 > 1000 // the line's own object counts
			if deep != (rec.Flags&sidetrail.FlagParseFailure != 0) {
				t.Errorf("%d deep: flags %v", n, rec.Flags)
			}
			if deep && (len(rec.Fields) != 0 || !bytes.Contains(rec.Message, []byte(`"user":"bob"`))) {
				t.Errorf("%d deep: fields %v, message %.100s…: want no fields, the rest of the message kept", n, rec.Fields, rec.Message)
			}
		}
	}
	// The time key, when a field rule names it (regress19b F3: it had
	// left the fields for the record's time, and shipped).
	redT, err := redact.New([]redact.Rule{{Field: "time", Action: "mask"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trT := &Transform{Source: "s", Parser: p, Redactor: redT}
	for _, v := range []string{`"2026-01-01T00:00:00Z"`, `1767225600`} {
		line := `{"time":` + v + `,"z":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`
		trT.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, now)
		if out := enc.Append(nil, &rec); bytes.Contains(out, []byte(strings.Trim(v, `"`))) || rec.Flags&sidetrail.FlagParseFailure == 0 {
			t.Errorf("time %s: flags %v, shipped %.120s…", v, rec.Flags, out)
		}
	}
	// A line that is not JSON past its depth is no guess: nothing to keep.
	line := `{"ssn":"123-45-6789","body":` + strings.Repeat("[", 1001) + `}`
	tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, now)
	if rec.Flags&sidetrail.FlagParseFailure == 0 {
		t.Errorf("invalid deep line: flags %v", rec.Flags)
	}
}

// An object holding a key twice ships it once (parser22 P2), but the
// redactor sees both values first: a field rule takes the earlier one out
// of the message too (the parser's first version dropped it before the
// redactor saw it, and it shipped in the message).
func TestNestedTwinKeysRedactedThenWrittenOnce(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New([]redact.Rule{{Field: "body.ssn", Action: "mask"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red}
	var rec sidetrail.Record
	var enc sidetrail.JSONEncoder
	line := `{"body":{"ssn":"111-22-3333","n":1,"ssn":"444-55-6666"},"msg":"ok"}`
	tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, time.Now())
	out := enc.Append(nil, &rec)
	if bytes.Contains(out, []byte("3333")) || bytes.Contains(out, []byte("6666")) {
		t.Errorf("shipped %s", out)
	}
	if !bytes.Contains(out, []byte(`"body":{"ssn":"[REDACTED]","n":1}`)) {
		t.Errorf("body not written once: %s", out)
	}
}

// Field rules' values masked in two member names of one nested object made
// the key [REDACTED] twice (regress22b B10), which Elasticsearch refuses:
// the object is written with each name once after the redaction.
func TestMaskedMemberNamesWrittenOnce(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New([]redact.Rule{{Field: "a"}, {Field: "b"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red}
	var rec sidetrail.Record
	var enc sidetrail.JSONEncoder
	line := `{"a":"alice1234","b":"bob567890","obj":{"alice1234":1,"bob567890":2}}`
	tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(line)}, time.Now())
	out := enc.Append(nil, &rec)
	if bytes.Contains(out, []byte("alice")) || bytes.Count(out, []byte(`"[REDACTED]":`)) != 1 {
		t.Errorf("shipped %s", out)
	}
}
