package redact_test

import (
	"encoding/json"
	"testing"

	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

// A JSON line stays a JSON document in the message when a rule replaces a
// number in it: the token is a string, so the number is quoted whole.
// Loki's `| json`, an ingest pipeline's json processor or jq read the
// message; before, `"card":4111111111111111` became `"card":[REDACTED:…]`
// and a dropped field `"pin":`, neither of which any JSON parser reads.
func TestJSONMessageStaysJSON(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	jsonCfg := parser.Config{Format: "json"}
	for _, tc := range []struct {
		name  string
		rules []redact.Rule
		line  string
		want  string // the message
	}{
		{
			name:  "builtin on a number",
			rules: []redact.Rule{{Builtin: "credit_card"}},
			line:  `{"card":4111111111111111,"n":1,"a":[ 4111111111111111 ]}`,
			want:  `{"card":"[REDACTED:credit_card]","n":1,"a":[ "[REDACTED:credit_card]" ]}`,
		},
		{
			name:  "pattern inside a number, twice",
			rules: []redact.Rule{{Name: "four", Pattern: `\d{4}`, Replace: "<x>"}},
			line:  `{"id":12345678,"s":"1234 in a string"}`,
			want:  `{"id":"<x><x>","s":"<x> in a string"}`,
		},
		{
			name:  "pattern ending the number's digits early",
			rules: []redact.Rule{{Name: "phone", Pattern: `\d{10}`, Replace: "[PHONE]"}},
			line:  `{"p":555123456789}`,
			want:  `{"p":"[PHONE]89"}`,
		},
		{
			name:  "replacement with a quote",
			rules: []redact.Rule{{Name: "q", Pattern: `\d{6}`, Replace: `a"b\c`}},
			line:  `{"p": 123456 }`,
			want:  `{"p": "a\"b\\c" }`,
		},
		{
			name:  "field rules on numbers",
			rules: []redact.Rule{{Field: "uid", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}, {Field: "pin", Action: "drop"}, {Field: "acct", Action: "mask"}},
			line:  `{"uid":98765,"pin":1234,"acct":-7.5e3}`,
		},
		{
			name:  "field rule on an object and an array",
			rules: []redact.Rule{{Field: "user", Action: "mask"}, {Field: "roles", Action: "drop"}},
			line:  `{"user":{"id":7,"name":"bo"},"roles":[ "a", {"b":"]"} ],"x":"{\"user\":1}"}`,
			want:  `{"user":"[REDACTED]","roles":"","x":"{\"user\":1}"}`,
		},
		{
			name:  "field rule on a literal",
			rules: []redact.Rule{{Field: "pin", Action: "drop"}, {Field: "ok", Action: "mask"}},
			line:  `{"pin":true,"ok":null,"s":"true"}`,
			want:  `{"pin":"","ok":null,"s":"true"}`, // a null hides nothing
		},
		{
			name:  "field rule on a repeated number",
			rules: []redact.Rule{{Field: "pin", Action: "drop"}},
			line:  `{"pin":1111,"pin":2222}`,
			want:  `{"pin":"","pin":""}`,
		},
		{
			name:  "secret member holding a number",
			rules: []redact.Rule{{Builtin: "query_secrets"}},
			line:  `{"password":123456,"x":{"token":5}}`,
			want:  `{"password":"[REDACTED]","x":{"token":"[REDACTED]"}}`,
		},
		{
			name:  "a number inside a string is left unquoted",
			rules: []redact.Rule{{Builtin: "credit_card"}},
			line:  `{"m":"paid with 4111111111111111, thanks","k":[1,"4111111111111111"]}`,
			want:  `{"m":"paid with [REDACTED:credit_card], thanks","k":[1,"[REDACTED:credit_card]"]}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := parseRedact(t, jsonCfg, tc.rules, tc.line)
			if !json.Valid(rec.Message) {
				t.Fatalf("message is not JSON: %s", rec.Message)
			}
			if s, ok := rec.Get("s"); ok && tc.name == "field rule on a literal" && string(s.Value) != "true" {
				t.Errorf("field s %q", s.Value)
			}
			if tc.want != "" && string(rec.Message) != tc.want {
				t.Errorf("message\n got %s\nwant %s", rec.Message, tc.want)
			}
		})
	}
}
