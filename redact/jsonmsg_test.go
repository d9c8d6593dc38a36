package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
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

// A match in a JSON line's raw text must not cut its escapes nor run out of
// its string. Before, a URL quoted inside a message (`\"https://…?token=x\"`)
// lost the backslash of its closing `\"`, an e-mail address after a "\n"
// took the "n" and left "\[", and a pattern such as `password=\S+` ran over
// the string's end and the members after it: each message was no longer
// JSON, on exactly the lines a rule matched.
func TestJSONMessageEscapesAndStringEnds(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	defaults := redact.Defaults()
	for _, tc := range []struct {
		name   string
		rules  []redact.Rule
		line   string
		want   string // the message
		secret string // must not be in the message (nor in a field, unless messageOnly)
		// The pattern needs the member's name: the field holds the value
		// alone, which it does not match (field: pin is the rule for it).
		messageOnly bool
	}{
		{
			name:   "query secret before an escaped quote",
			rules:  defaults,
			line:   `{"msg":"redirect to \"https://x/cb?token=abcdef123\" done","n":1}`,
			want:   `{"msg":"redirect to \"https://x/cb?token=[REDACTED]\" done","n":1}`,
			secret: "abcdef123",
		},
		{
			name:   "e-mail address after a newline escape",
			rules:  defaults,
			line:   `{"msg":"line1\nbob@example.com"}`,
			want:   `{"msg":"line1\n[REDACTED:email]"}`,
			secret: "bob@example.com",
		},
		{
			name:   "e-mail address after a unicode escape",
			rules:  defaults,
			line:   `{"msg":"x\u00e9bob@example.com y"}`,
			secret: "bob@example.com",
		},
		{
			name:   "pattern stopping at an escaped quote",
			rules:  []redact.Rule{{Name: "pw", Pattern: `secret=[^" ]+`}},
			line:   `{"msg":"pw secret=abc\"def ok"}`,
			want:   `{"msg":"pw [REDACTED]\"def ok"}`,
			secret: "secret=abc",
		},
		{
			name:  "pattern running over the string's end",
			rules: []redact.Rule{{Name: "pw", Pattern: `password=\S+`}},
			line:  `{"msg":"login password=hunter2","n":1,"m":"again password=swordfish"}`,
			// What the greedy \S+ took in past the string is masked too.
			want:   `{"msg":"login [REDACTED]","[REDACTED]":"[REDACTED]","[REDACTED]":"[REDACTED]"}`,
			secret: "swordfish",
		},
		{
			name:   "pattern running from a plain string into an escaped one",
			rules:  []redact.Rule{{Name: "pw", Pattern: `password=\S+`}},
			line:   `{"a":"password=one","b":"x\ty password=two\"z"}`,
			want:   `{"a":"[REDACTED]","[REDACTED]":"[REDACTED]"}`,
			secret: "two",
		},
		{
			name:   "template over the string's end",
			rules:  []redact.Rule{{Name: "pw", Pattern: `(password=)\S+`, Replace: `${1}[REDACTED]`}},
			line:   `{"msg":"login password=hunter2","n":1}`,
			want:   `{"msg":"login password=[REDACTED]","[REDACTED]":"[REDACTED]"}`,
			secret: "hunter2",
		},
		{
			name:   "template whose group reaches past the string's end",
			rules:  []redact.Rule{{Name: "pw", Pattern: `pin=(\S+)`, Replace: `PIN:<$1>`}},
			line:   `{"msg":"pin=12345678","n":1}`,
			want:   `{"msg":"PIN:<12345678>","[REDACTED]":"[REDACTED]"}`,
			secret: "pin=",
		},
		{
			// redact9 probe: clipped at the name's end, the value shipped.
			name:        "pattern over a member's name and value",
			rules:       []redact.Rule{{Name: "pin", Pattern: `(?i)pin\W{1,6}[0-9]{4,}`}},
			line:        `{"body":"x","pin": "12345678","ok":true}`,
			want:        `{"body":"x","[REDACTED]": "[REDACTED]","ok":true}`,
			secret:      "12345678",
			messageOnly: true,
		},
		{
			name:   "replacement with a quote inside a string",
			rules:  []redact.Rule{{Name: "q", Pattern: `pin \d{4}`, Replace: `pin "****"`}},
			line:   `{"msg":"your pin 1234 ok"}`,
			want:   `{"msg":"your pin \"****\" ok"}`,
			secret: "1234",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := parseRedact(t, jsonCfg, tc.rules, tc.line)
			if !json.Valid(rec.Message) {
				t.Fatalf("message is not JSON: %s", rec.Message)
			}
			if tc.want != "" && string(rec.Message) != tc.want {
				t.Errorf("message\n got %s\nwant %s", rec.Message, tc.want)
			}
			if strings.Contains(string(rec.Message), tc.secret) {
				t.Errorf("message still holds %q: %s", tc.secret, rec.Message)
			}
			for _, f := range rec.Fields {
				if !tc.messageOnly && strings.Contains(string(f.Value), tc.secret) {
					t.Errorf("field %s still holds %q: %s", f.Key, tc.secret, f.Value)
				}
			}
		})
	}
}

// A secret member holding an object or an array is a secret whole at any
// depth, as at the top: before, only the first string after the name was
// taken as its value, so {"req":{"password":{"v":"X"}}} shipped X, an
// array kept every element but the first, and "authorization":[…] lost
// its "[" to the bearer rule, leaving the credential and an invalid
// document. The message follows the fields as JSON, not as a string
// holding the changed value.
func TestNestedSecretMembers(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	for _, tc := range []struct {
		line, want string
		secrets    []string
	}{
		{`{"req":{"password":{"v":"NESTOBJ5"}}}`, `{"req":{"password":"[REDACTED]"}}`, []string{"NESTOBJ5"}},
		{`{"req":{"password":["NESTARR5a","NESTARR5b"]},"n":1}`, `{"req":{"password":"[REDACTED]"},"n":1}`, []string{"NESTARR5a", "NESTARR5b"}},
		{`{"a":[{"token":{"k":"NESTTOK5"}}]}`, `{"a":[{"token":"[REDACTED]"}]}`, []string{"NESTTOK5"}},
		{`{"a":{"secret":{"x":{"y":"deep1"}}}}`, `{"a":{"secret":"[REDACTED]"}}`, []string{"deep1"}},
		{`{"headers":{"authorization":["Basic dXNlcjpwYXNz"]}}`, `{"headers":{"authorization":"[REDACTED]"}}`, []string{"dXNlcjpwYXNz"}},
		{`{"req":{"pass\u0077ord":{"v":"ESC5"}},"n":"x\ty"}`, `{"req":{"pass\u0077ord":"[REDACTED]"},"n":"x\ty"}`, []string{"ESC5"}},
	} {
		rec, _ := parseRedact(t, jsonCfg, redact.Defaults(), tc.line)
		if !json.Valid(rec.Message) {
			t.Errorf("%s: message is not JSON: %s", tc.line, rec.Message)
		}
		if string(rec.Message) != tc.want {
			t.Errorf("%s: message\n got %s\nwant %s", tc.line, rec.Message, tc.want)
		}
		for _, s := range tc.secrets {
			for _, f := range rec.Fields {
				if strings.Contains(string(f.Value), s) {
					t.Errorf("%s: field %s still holds %q: %s", tc.line, f.Key, s, f.Value)
				}
			}
		}
	}
}

// A secret member whose value is already a mask token stays as it is, in
// text that only looks like JSON: "[REDACTED]" reads as an array, and a
// second pass quoted it (fuzzing found the field
// ` [REDACTED:credit_card]"pAssword":[REDACTED]` changed again).
func TestSecretMemberTokenStays(t *testing.T) {
	r, err := redact.New(redact.Defaults(), redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{
		` [REDACTED:credit_card]"pAssword":[REDACTED]`,
		`["a","password":[REDACTED]]`,
		`0"\.Auth":[HASH:51b25dc1b0318d09]`, // its digits are no number under that name
	} {
		rec := &sidetrail.Record{Message: []byte("m")}
		rec.Add("sub", sidetrail.KindString, []byte(v))
		r.Apply(rec)
		if got := string(rec.Fields[0].Value); got != v {
			t.Errorf("%s\n changed to %s", v, got)
		}
	}
}

// A pattern written over a JSON member with its quotes starts outside the
// line's strings: the parsed fields follow what it left in the message, and
// without a replacement that rebuilds the member, it masks the strings and
// numbers it covers, the member names kept, so that the message stays JSON
// (redact22 P7: the field shipped the value, and "[REDACTED]" in place of
// the member left no JSON).
func TestPatternOverAMemberWithItsQuotes(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	for _, tc := range []struct {
		rule       redact.Rule
		line, want string // want: the message
		field      string // the field holding the secret
		wantField  string
	}{
		{redact.Rule{Pattern: `"ssn":"[0-9-]+"`, Replace: `"ssn":"[REDACTED]"`},
			`{"user":"bob","ssn":"123-45-6789","status":"ok"}`, `{"user":"bob","ssn":"[REDACTED]","status":"ok"}`, "ssn", "[REDACTED]"},
		{redact.Rule{Pattern: `"password"\s*:\s*"[^"]*"`},
			`{"user":"eve","password":"hunter2pw","n":1}`, `{"user":"eve","password":"[REDACTED]","n":1}`, "password", "[REDACTED]"},
		{redact.Rule{Pattern: `"pin":\s*\d+`},
			`{"pin": 4821, "n": 1}`, `{"pin": "[REDACTED]", "n": 1}`, "pin", "[REDACTED]"},
		{redact.Rule{Pattern: `"ssn":"[0-9-]+"`, Replace: `"ssn":"[REDACTED]"`},
			`{"user":{"name":"bob","ssn":"123-45-6789"},"n":1}`, `{"user":{"name":"bob","ssn":"[REDACTED]"},"n":1}`, "user", `{"name":"bob","ssn":"[REDACTED]"}`},
		{redact.Rule{Pattern: `"ssn":"[0-9-]+"`},
			`{"users":[{"ssn":"123-45-6789"}]}`, `{"users":[{"ssn":"[REDACTED]"}]}`, "users", `[{"ssn":"[REDACTED]"}]`},
		// Two members of one object: their names stay, not one key
		// twice (regress22 R2).
		{redact.Rule{Pattern: `"(password|secret)"\s*:\s*"[^"]*"`},
			`{"auth":{"password":"aSECRET","secret":"bSECRET"},"user":"bob"}`, `{"auth":{"password":"[REDACTED]","secret":"[REDACTED]"},"user":"bob"}`, "auth", `{"password":"[REDACTED]","secret":"[REDACTED]"}`},
	} {
		rec, _ := parseRedact(t, jsonCfg, []redact.Rule{tc.rule}, tc.line)
		if string(rec.Message) != tc.want {
			t.Errorf("%s: message\n got %s\nwant %s", tc.line, rec.Message, tc.want)
		}
		if f, ok := rec.Get(tc.field); !ok || string(f.Value) != tc.wantField {
			t.Errorf("%s: field %s = %q, want %q", tc.line, tc.field, f.Value, tc.wantField)
		}
	}
}

// A replacement written with quotes stands as written; where it leaves no
// JSON, or other members, the fields cannot follow it and are masked: they
// shipped the secret the message no longer held (regress22 R4). Members it
// did not touch keep their values.
func TestQuotedReplacementLeavingNoJSON(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	pw := `"password"\s*:\s*"[^"]*"`
	for _, tc := range []struct {
		rule       redact.Rule
		line, want string // want: the message
		masked     []string
		kept       map[string]string
	}{
		{redact.Rule{Pattern: pw, Replace: `"x`},
			`{"user":"bob","password":"hunter2SECRET","n":1}`, `{"user":"bob","x,"n":1}`,
			[]string{"password"}, map[string]string{"user": "bob", "n": "1"}},
		// The user's pattern stops at the escaped quote: the rest of the
		// value stays in the message, as written, and the field is masked.
		{redact.Rule{Pattern: pw, Replace: `"password":"[REDACTED]"`},
			`{"password":"p\"qSECRET","x":1}`, `{"password":"[REDACTED]"qSECRET","x":1}`,
			[]string{"password"}, map[string]string{"x": "1"}},
		{redact.Rule{Pattern: pw, Replace: `"x`},
			`{"x":{"password":"dup1SECRET","password":"dup2SECRET"},"y":2}`, `{"x":{"x,"x},"y":2}`,
			[]string{"x"}, map[string]string{"y": "2"}},
		// Valid JSON with another member count.
		{redact.Rule{Pattern: pw, Replace: `"pw":"[REDACTED]","redacted":true`},
			`{"a":"1","password":"hunter2SECRET","b":"2"}`, `{"a":"1","pw":"[REDACTED]","redacted":true,"b":"2"}`,
			[]string{"password"}, map[string]string{"a": "1", "b": "2"}},
		// A replacement its own pattern matches again grows at every pass:
		// the message is withheld, and so is every field.
		{redact.Rule{Pattern: pw, Replace: `"password":"[REDACTED]","redacted":true`},
			`{"a":"1","password":"hunter2SECRET","b":"2"}`, `[REDACTED]`,
			[]string{"password", "a", "b"}, nil},
	} {
		rec, _ := parseRedact(t, jsonCfg, []redact.Rule{tc.rule}, tc.line)
		if string(rec.Message) != tc.want {
			t.Errorf("%s: message\n got %s\nwant %s", tc.line, rec.Message, tc.want)
		}
		for _, k := range tc.masked {
			if f, ok := rec.Get(k); !ok || string(f.Value) != "[REDACTED]" {
				t.Errorf("%s: field %s = %q, want [REDACTED]", tc.line, k, f.Value)
			}
		}
		for k, want := range tc.kept {
			if f, ok := rec.Get(k); !ok || string(f.Value) != want {
				t.Errorf("%s: field %s = %q, want %q", tc.line, k, f.Value, want)
			}
		}
	}
}

// A field is the one a pattern matched when the parser took it from the
// bytes the match covered, whatever else in the line holds the same value
// (regress22b B5: a User-Agent repeating the session id unmasked the
// session header's field); a value the match did not cover stays, though
// the match holds it too (regress22 R1: status 200 beside a matched
// ref=200).
func TestPatternCoversTheFieldItMatched(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `'$remote_addr "$request" $status "$http_user_agent" "$http_x_session"'`}
	for _, tc := range []struct {
		rule redact.Rule
		line string
		want map[string]string
	}{
		{redact.Rule{Pattern: `"sess-[a-z0-9]+"`},
			`1.2.3.4 "GET /x HTTP/1.1" 200 "ua sess-q1" "sess-q1"`,
			map[string]string{"http_x_session": "[REDACTED]", "http_user_agent": "ua sess-q1", "status": "200"}},
		{redact.Rule{Pattern: `ref=\d+`},
			`1.2.3.4 "GET /x?ref=200 HTTP/1.1" 200 "ua" "s"`,
			map[string]string{"status": "200", "request_uri": "/x?[REDACTED]"}},
	} {
		rec, _ := parseRedact(t, cfg, []redact.Rule{tc.rule}, tc.line)
		for k, want := range tc.want {
			if f, ok := rec.Get(k); !ok || string(f.Value) != want {
				t.Errorf("%s: %s = %q, want %q", tc.line, k, f.Value, want)
			}
		}
		if f, _ := rec.Get("status"); f.Kind != sidetrail.KindInt {
			t.Errorf("%s: status is a %v", tc.line, f.Kind)
		}
	}
}

// The same for a line with parsed fields that is not JSON (nginx): a field
// whose value stands whole in what a pattern matched in the message gets
// the rule's replacement (redact22 P7: the quotes of "$http_x_session" in
// the pattern, and the field shipped the value the message masked).
func TestPatternWithItsNeighboursInAnNginxLine(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `'$remote_addr - $remote_user [$time_local] "$request" $status "$http_x_session" $connection_requests'`}
	rules := []redact.Rule{{Pattern: `"sess-[a-z0-9]+"`}, {Pattern: `- bob \[`}, {Pattern: `PIN \d+`, Action: "drop"}}
	rec, _ := parseRedact(t, cfg, rules, `10.0.0.1 - bob [28/Nov/2026:07:30:19 +0000] "GET /x?n=PIN 7 HTTP/1.1" 200 "sess-abc123def" 7`)
	for field, want := range map[string]string{"remote_user": "[REDACTED]", "http_x_session": "[REDACTED]", "status": "200", "connection_requests": "7"} {
		if f, ok := rec.Get(field); !ok || string(f.Value) != want {
			t.Errorf("%s = %q, want %q", field, f.Value, want)
		}
	}
	if m := string(rec.Message); strings.Contains(m, "bob") || strings.Contains(m, "sess-") {
		t.Errorf("message %s", m)
	}
}

// A field rule's value inside a string that holds JSON (a logged request
// body) is taken out of the message and of that field however the inner
// JSON escapes it: Python's default \u00e9, a backslash, a quote (redact22
// P8: it shipped in both). The line's strings are decoded down to the value.
func TestFieldValueInsideAStringOfJSON(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	rules := []redact.Rule{{Field: "user"}}
	for _, user := range []string{`CORP\jdoe`, `jdoe-corp`, `Jane "JJ" Doe`, "José Müller"} {
		for _, ascii := range []bool{true, false} {
			// JSON in a string, in a string in a string... (regress24
			// R5: two levels down the field shipped it, three levels
			// both).
			for levels := 1; levels <= 3; levels++ {
				inner, _ := json.Marshal(map[string]string{"user": user, "action": "login"})
				if ascii {
					inner = []byte(strings.NewReplacer("é", `\u00e9`, "ü", `\u00fc`).Replace(string(inner)))
				}
				for range levels - 1 {
					inner, _ = json.Marshal(map[string]string{"l": string(inner)})
				}
				line, _ := json.Marshal(map[string]string{"user": user, "body": string(inner)})
				rec, _ := parseRedact(t, jsonCfg, rules, string(line))
				if holdsDeep(t, rec.Message, user) {
					t.Errorf("%s: message %s", line, rec.Message)
				}
				for _, f := range rec.Fields {
					if holdsDeep(t, f.Value, user) {
						t.Errorf("%s: field %s = %s", line, f.Key, f.Value)
					}
				}
			}
		}
	}
}

// holdsDeep reports whether text, or a string in it when it is JSON (and so
// on inside such strings), holds v.
func holdsDeep(t *testing.T, text []byte, v string) bool {
	if strings.Contains(string(text), v) {
		return true
	}
	var x any
	if json.Unmarshal(text, &x) != nil {
		return false
	}
	var walk func(x any) bool
	walk = func(x any) bool {
		switch x := x.(type) {
		case string:
			return holdsDeep(t, []byte(x), v)
		case map[string]any:
			for k, e := range x {
				if strings.Contains(k, v) || walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(x)
}

// A dotted key below a secret's name ({"password.old":…}) is the member
// password, which the record writes nested: masked as the nested spelling
// is, in its field and in the message, objects and arrays too (redact24 P2:
// the flat spelling shipped).
func TestDottedKeyBelowASecretName(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	rules := []redact.Rule{{Builtin: redact.BuiltinQuerySecrets}}
	for _, line := range []string{
		`{"msg":"password changed","password.old":"HunterOld1","password.new":"HunterNew2","user":"bob"}`,
		`{"token.value":"TokVal5xyz","token.expires":"36001234"}`,
		`{"a":1,"secret.data":{"k":"SecData6"},"b":2}`,
		`{"api_key.list":["Prim7xyz","Sec8xyz"]}`,
		`{"auth.token.v":"Deep9xyz"}`,
	} {
		rec, _ := parseRedact(t, jsonCfg, rules, line)
		for _, secret := range []string{"Hunter", "TokVal", "36001234", "SecData", "Prim7", "Sec8", "Deep9"} {
			if strings.Contains(string(rec.Message), secret) {
				t.Errorf("%s: message %s", line, rec.Message)
			}
			for _, f := range rec.Fields {
				if strings.Contains(string(f.Value), secret) {
					t.Errorf("%s: field %s = %s", line, f.Key, f.Value)
				}
			}
		}
		if !json.Valid(rec.Message) {
			t.Errorf("%s: message no JSON: %s", line, rec.Message)
		}
		if f, ok := rec.Get("user"); strings.Contains(line, "bob") && (!ok || string(f.Value) != "bob") {
			t.Errorf("%s: user = %q", line, f.Value)
		}
	}
}

// A field masked whole for its name ("$http_authorization", a keyed
// header) takes its value out of the message whole too, though a rule
// masked part of it there first: the message showed "Bearer [REDACTED]
// extra" and shipped the rest (redact24 P3).
func TestKeyedFieldLeavesNoRestInTheMessage(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `'$remote_addr "$request" $status "$http_authorization" "$http_x_api_key"'`}
	for _, tc := range []struct{ auth, key, secret string }{
		{"Bearer tok3secret extra4secret", "-", "extra4"},
		{"Bearer abc=DEF123tail", "-", "DEF123"},
		{"Token token=abcSECRET2, other=SECRETtail3", "-", "SECRETtail3"},
		{"Basic dXNlcjpwYXNz, Bearer SECRETtail6", "-", "dXNlcjpwYXNz"},
		{"-", "HEADkey1 password=abc TAILkey2", "TAILkey2"},
		{"-", "HEADtok3 Bearer abc TAILtok4", "HEADtok3"},
	} {
		line := `1.2.3.4 "GET /x HTTP/1.1" 200 "` + tc.auth + `" "` + tc.key + `"`
		rec, _ := parseRedact(t, cfg, redact.Defaults(), line)
		if strings.Contains(string(rec.Message), tc.secret) {
			t.Errorf("%s: message %s", line, rec.Message)
		}
		for _, f := range rec.Fields {
			if strings.Contains(string(f.Value), tc.secret) {
				t.Errorf("%s: field %s = %s", line, f.Key, f.Value)
			}
		}
		if f, ok := rec.Get("status"); !ok || f.Kind != sidetrail.KindInt {
			t.Errorf("%s: status %+v", line, f)
		}
		// With a field rule that changes another field of the line (the
		// cookbook's cookie drop), the message was not followed from the
		// line the rules began at, and the rest shipped (regress25b R4).
		withCookie := parser.Config{Format: "nginx", LogFormat: `'$remote_addr "$request" $status "$http_authorization" "$http_x_api_key" "$http_cookie"'`}
		rules := append(redact.Defaults(), redact.Rule{Field: "http_cookie", Action: "drop"})
		rec, _ = parseRedact(t, withCookie, rules, line+` "theme=dark"`)
		if strings.Contains(string(rec.Message), tc.secret) || strings.Contains(string(rec.Message), "theme=dark") {
			t.Errorf("%s with a cookie dropped: message %s", line, rec.Message)
		}
	}
}

// A dotted key below a secret's name that the parser renamed flat because
// the line also holds that name ({"token":"t","token.refresh":"x"} ships
// token_refresh) is masked as the nested one is (redact24 P4).
func TestRenamedDottedKeyBelowASecretName(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	rules := []redact.Rule{{Builtin: redact.BuiltinQuerySecrets}}
	for _, line := range []string{
		`{"password.old":"x1secret","password":"y"}`,
		`{"password":{"a":1},"password.b":"x2secret"}`,
		`{"token":"t","token.refresh":"x3secret"}`,
		`{"token":"t","token.refresh":{"v":"x4secret"}}`,
	} {
		rec, _ := parseRedact(t, jsonCfg, rules, line)
		if strings.Contains(string(rec.Message), "secret") {
			t.Errorf("%s: message %s", line, rec.Message)
		}
		for _, f := range rec.Fields {
			if strings.Contains(string(f.Value), "secret") {
				t.Errorf("%s: field %s = %s", line, f.Key, f.Value)
			}
		}
		if !json.Valid(rec.Message) {
			t.Errorf("%s: message no JSON: %s", line, rec.Message)
		}
	}
}

// A field named for the Authorization header is one header value: its
// scheme stays and everything after it is masked, in the field and in the
// message, with bearer_token alone. The credentials ended at their first
// space or comma, and the rest shipped: a second Basic credential, AWS
// SigV4's Credential and Signature after a scheme taken for the token
// (redact24 P3).
func TestAuthorizationFieldKeepsOnlyItsScheme(t *testing.T) {
	nginx := parser.Config{Format: "nginx", LogFormat: `'$remote_addr "$request" $status "$http_authorization"'`}
	rules := []redact.Rule{{Builtin: redact.BuiltinBearerToken}}
	for _, tc := range []struct{ value, want, secret string }{
		{"Basic dXNlcjpwYXNz, Basic YWRtaW46aHVudGVyMg==", "Basic [REDACTED]", "YWRtaW46"},
		{"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3be",
			"AWS4-HMAC-SHA256 [REDACTED]", "fe5f80f7"},
		{"SharedAccessSignature sr=x&sig=SIGsecret4%3D&se=1", "SharedAccessSignature [REDACTED]", "SIGsecret4"},
		{"Bearer abc def", "Bearer [REDACTED]", "def"},
		{"Bearer abc,DEF123tail", "Bearer [REDACTED]", "DEF123"},
		{"tokenWithoutScheme123", "[REDACTED]", "tokenWithout"},
	} {
		line := `1.2.3.4 "GET /x HTTP/1.1" 200 "` + tc.value + `"`
		rec, _ := parseRedact(t, nginx, rules, line)
		if f, _ := rec.Get("http_authorization"); string(f.Value) != tc.want {
			t.Errorf("%s: field %q, want %q", tc.value, f.Value, tc.want)
		}
		if strings.Contains(string(rec.Message), tc.secret) {
			t.Errorf("%s: message %s", tc.value, rec.Message)
		}
		jl, _ := json.Marshal(map[string]string{"authorization": tc.value})
		rec, _ = parseRedact(t, parser.Config{Format: "json"}, rules, string(jl))
		if f, _ := rec.Get("authorization"); string(f.Value) != tc.want || strings.Contains(string(rec.Message), tc.secret) {
			t.Errorf("%s: JSON line: field %q, message %s", tc.value, f.Value, rec.Message)
		}
	}
}

// The message follows a field past what its own rules changed there only
// for a field changed for its name: following every changed field, it
// dropped the word after a bearer_token drop's remnant again ("Bearer of
// good news" became "Bearer   news" in the message, "Bearer  good news" in
// the field).
func TestDropLeavesTheMessageAsTheField(t *testing.T) {
	nginx := parser.Config{Format: "nginx", LogFormat: `'$remote_addr "$request" $status "$http_x_token" "$http_user_agent"'`}
	rules := []redact.Rule{{Builtin: redact.BuiltinBearerToken, Action: "drop"}, {Builtin: redact.BuiltinEmail}}
	rec, _ := parseRedact(t, nginx, rules, `1.2.3.4 "GET /x HTTP/1.1" 200 "a@example.com" "Bearer of good news"`)
	if f, _ := rec.Get("http_user_agent"); string(f.Value) != "Bearer  good news" || !strings.Contains(string(rec.Message), `"Bearer  good news"`) {
		t.Errorf("field %q, message %s", f.Value, rec.Message)
	}
	// An Authorization header in the same line, masked for its name: the
	// message follows it, and the rules ran over the message again, where
	// the drop's "Bearer  good news" lost "good" too (regress22b B8).
	nginx.LogFormat = `'$remote_addr "$request" $status "$http_authorization" "$http_user_agent"'`
	for _, auth := range []string{"Basic dXNlcjpwYXNz", "Bearer tok12345"} {
		rec, _ := parseRedact(t, nginx, rules, `1.2.3.4 "GET /x HTTP/1.1" 200 "`+auth+`" "Bearer of good news"`)
		f, _ := rec.Get("http_user_agent")
		a, _ := rec.Get("http_authorization")
		scheme, _, _ := strings.Cut(auth, " ")
		if string(f.Value) != "Bearer  good news" || string(a.Value) != scheme+" " || !strings.HasSuffix(string(rec.Message), `"`+scheme+` " "Bearer  good news"`) {
			t.Errorf("%s: fields %q %q, message %s", auth, a.Value, f.Value, rec.Message)
		}
	}
}

// A value masked for its field's name is taken out of the message wherever
// it stands, also inside another field that another rule changed (the
// e-mail in the request): rebuilt from the original line with the fields'
// new values, the message shipped the token in the request again
// (regress24 R1, a regression of 74cfd10's first form).
func TestKeyedValueLeavesTheMessageBesideAnotherChange(t *testing.T) {
	nginx := parser.Config{Format: "nginx", LogFormat: `'$remote_addr "$request" $status "$http_referer" "$http_x_auth_token"'`}
	for _, line := range []string{
		`10.0.0.1 "GET /cb?state=zq9secretvalue77&email=a@b.io HTTP/1.1" 302 "-" "zq9secretvalue77"`,
		`10.0.0.1 "GET /cb?state=zq9secretvalue77 HTTP/1.1" 302 "http://x/?e=a@b.io&s=zq9secretvalue77" "zq9secretvalue77"`,
	} {
		rec, _ := parseRedact(t, nginx, redact.Defaults(), line)
		if strings.Contains(string(rec.Message), "zq9secret") {
			t.Errorf("%s: message %s", line, rec.Message)
		}
		// Nor do the fields that repeat it (regress24 R10).
		for _, f := range rec.Fields {
			if strings.Contains(string(f.Value), "zq9secret") {
				t.Errorf("%s: field %s = %s", line, f.Key, f.Value)
			}
		}
	}
	rec, _ := parseRedact(t, parser.Config{Format: "json"}, redact.Defaults(), `{"token":"zq9secretvalue77","msg":"cb state zq9secretvalue77 for a@b.io","n":1}`)
	if f, _ := rec.Get("msg"); string(f.Value) != "cb state [REDACTED] for [REDACTED:email]" || strings.Contains(string(rec.Message), "zq9secret") {
		t.Errorf("JSON line: msg %q, message %s", f.Value, rec.Message)
	}
}

// A source's static fields are no line's keys: a dotted one below a
// secret's name (key.env, auth.team) stays, and its value is not taken out
// of the message (regress24 R6: "/products/" shipped as
// "/[REDACTED]ucts/").
func TestStaticDottedKeyBelowASecretNameStays(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := redact.New([]redact.Rule{{Builtin: redact.BuiltinQuerySecrets}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"msg":"GET /products/prod-1 200"}`)
	rec := &sidetrail.Record{Message: line}
	if err := p.Parse(line, rec); err != nil {
		t.Fatal(err)
	}
	rec.Fields = append(rec.Fields, sidetrail.Field{Key: "key.env", Kind: sidetrail.KindString, Value: []byte("prod")},
		sidetrail.Field{Key: "auth.team", Kind: sidetrail.KindString, Value: []byte("payments")})
	rec.Statics = 2
	r.Apply(rec)
	if string(rec.Message) != string(line) {
		t.Errorf("message %s", rec.Message)
	}
	for k, want := range map[string]string{"key.env": "prod", "auth.team": "payments", "msg": "GET /products/prod-1 200"} {
		if f, ok := rec.Get(k); !ok || string(f.Value) != want {
			t.Errorf("%s = %q, want %q", k, f.Value, want)
		}
	}
}
