package redact_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

// parseRedact parses line with cfg, redacts it with rules and returns the
// record JSON every sink writes.
func parseRedact(t *testing.T, cfg parser.Config, rules []redact.Rule, line string) (*sidetrail.Record, []byte) {
	t.Helper()
	p, err := parser.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := redact.New(rules, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(line) // one slice, as the pipeline gives both
	rec := &sidetrail.Record{Message: b}
	if err := p.Parse(b, rec); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	r.Apply(rec)
	var enc sidetrail.JSONEncoder
	return rec, enc.Append(nil, rec)
}

// A field the rules changed alone (because of its name, its JSON shape, an
// escaped member name, or an anchored pattern) must not leave its old
// value in the message: the audit found each of these shipping the secret
// in "message" and in the disk buffer while the field was masked.
func TestFieldChangeReachesMessage(t *testing.T) {
	nginx := func(format string) parser.Config { return parser.Config{Format: "nginx", LogFormat: format} }
	jsonCfg := parser.Config{Format: "json"}
	for _, tc := range []struct {
		name    string
		cfg     parser.Config
		rules   []redact.Rule
		line    string
		secrets []string
		keep    []string // must still be in the message
	}{
		{
			name:    "keyed nginx fields",
			cfg:     nginx(`$remote_addr [$time_local] "$request" $status "$http_authorization" "$http_x_auth_token" $cookie_session_token`),
			rules:   redact.Defaults(),
			line:    `1.2.3.4 [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200 "Basic dXNlcjpwYXNz" "tok-SECRET-1" COOKIESECRET`,
			secrets: []string{"dXNlcjpwYXNz", "tok-SECRET-1", "COOKIESECRET"},
			keep:    []string{`"GET / HTTP/1.1" 200 "[REDACTED]"`},
		},
		{
			name:    "request body escaped by nginx",
			cfg:     nginx(`$remote_addr [$time_local] "$request" $status "$request_body"`),
			rules:   redact.Defaults(),
			line:    `1.2.3.4 [02/Jan/2024:15:04:05 +0000] "POST /login HTTP/1.1" 200 "{\x22user\x22:\x22bob\x22,\x22password\x22:\x22hunter2\x22}"`,
			secrets: []string{"hunter2"},
			keep:    []string{`\x22user\x22:\x22bob\x22`},
		},
		{
			name:    "array under a secret name",
			cfg:     jsonCfg,
			rules:   redact.Defaults(),
			line:    `{"password":["arrsecret"],"n":1}`,
			secrets: []string{"arrsecret"},
			keep:    []string{`"n":1`},
		},
		{
			name:    "object under a secret name",
			cfg:     jsonCfg,
			rules:   redact.Defaults(),
			line:    `{"token":{"v":"objsecret"}}`,
			secrets: []string{"objsecret"},
		},
		{
			name:    "escaped member name",
			cfg:     jsonCfg,
			rules:   redact.Defaults(),
			line:    `{"pass\u0077ord":"hunter2","a":1}`,
			secrets: []string{"hunter2"},
		},
		{
			name:    "escaped member name, nested",
			cfg:     jsonCfg,
			rules:   redact.Defaults(),
			line:    `{"a":{"to\u006ben":"SEC1"}}`,
			secrets: []string{"SEC1"},
		},
		{
			name:    "number under a secret name",
			cfg:     jsonCfg,
			rules:   redact.Defaults(),
			line:    `{"x":"y","api\u005fkey":12345678}`,
			secrets: []string{"12345678"},
		},
		{
			name:    "anchored pattern",
			cfg:     jsonCfg,
			rules:   []redact.Rule{{Name: "ssn", Pattern: `^SSN:(\d{3}-\d{2}-\d{4})$`, Replace: "SSN:[REDACTED]"}},
			line:    `{"ssn":"SSN:123-45-6789","k":"v"}`,
			secrets: []string{"123-45-6789"},
			keep:    []string{`"ssn":"SSN:[REDACTED]"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, out := parseRedact(t, tc.cfg, tc.rules, tc.line)
			for _, s := range tc.secrets {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("%q survives in %s", s, out)
				}
			}
			for _, k := range tc.keep {
				if !bytes.Contains(rec.Message, []byte(k)) {
					t.Errorf("message lost %q: %s", k, rec.Message)
				}
			}
			if bytes.HasPrefix(rec.Message, []byte("[message withheld")) {
				t.Errorf("message withheld: %s", out)
			}
		})
	}
}

// A value shorter than four bytes is taken out of the message only where
// it stands alone: a dropped one-letter field took every "e" out of the
// message ("sssion", "tru", "2024-0-0T0::2Z").
func TestShortFieldValueOnlyWhereItStandsAlone(t *testing.T) {
	rules := []redact.Rule{{Field: "session", Action: "drop"}}
	for _, tc := range []struct{ line, want string }{
		{`{"session":"e","flag":true,"other":"hello"}`, `{"session":"","flag":true,"other":"hello"}`},
		{`{"session":"1","ts":"2024-01-01T10:11:12Z"}`, `{"session":"","ts":"2024-01-01T10:11:12Z"}`},
	} {
		rec, _ := parseRedact(t, parser.Config{Format: "json"}, rules, tc.line)
		if string(rec.Message) != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.line, rec.Message, tc.want)
		}
	}
}

// A masked member name never becomes a name the line already holds.
func TestMaskedNameAvoidsExistingKey(t *testing.T) {
	_, out := parseRedact(t, parser.Config{Format: "json"}, redact.Defaults(),
		`{"#1 [REDACTED:email]":"a","jane@example.com":"b","#2 [REDACTED:email]":"c"}`)
	if err := noDuplicateKeys(out); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if strings.Contains(string(out), "jane@") {
		t.Fatalf("secret survives: %s", out)
	}
}

// A pattern rule does not match inside a replacement token: "[A-Z]{6,}"
// rewrote "[REDACTED]", query_secrets masked again, and the chain ended by
// masking the whole message; a card token became "[X:credit_card]".
func TestPatternLeavesTokensAlone(t *testing.T) {
	rules := []redact.Rule{{Builtin: "credit_card"}, {Builtin: "query_secrets"}, {Name: "caps", Pattern: `[A-Z]{6,}`, Replace: "X"}}
	for line, want := range map[string]string{
		"hello token=abc world SHOUTING": "hello token=[REDACTED] world X",
		"c=4111-1111-1111-1111 ok":       "c=[REDACTED:credit_card] ok",
	} {
		rec, _ := parseRedact(t, parser.Config{Format: "raw"}, rules, line)
		if string(rec.Message) != want {
			t.Errorf("%q\n got %q\nwant %q", line, rec.Message, want)
		}
	}
}

// A field rule takes its value out of every other field that holds it:
// strings nested in JSON values, member names, and numbers too (the audit
// found the dropped session id in meta.s, arr[0] and a member name, and a
// hashed uid left as the number y).
func TestFieldRuleValueOutOfNestedFields(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	drop := []redact.Rule{{Field: "session", Action: "drop"}}
	_, out := parseRedact(t, jsonCfg, drop, `{"session":"S3CR3TSESS","meta":{"s":"S3CR3TSESS","x":"a S3CR3TSESS b"},"arr":["S3CR3TSESS"],"m":{"S3CR3TSESS":1}}`)
	if bytes.Contains(out, []byte("S3CR3TSESS")) {
		t.Errorf("dropped value survives: %s", out)
	}
	if err := noDuplicateKeys(out); err != nil {
		t.Errorf("%v: %s", err, out)
	}
	t.Setenv("SIDETRAIL_TEST_KEY", "k")
	hash := []redact.Rule{{Field: "uid", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}}
	rec, out := parseRedact(t, jsonCfg, hash, `{"uid":"12345","y":12345,"z":{"n":12345}}`)
	if bytes.Contains(out, []byte("12345")) {
		t.Errorf("hashed value survives: %s", out)
	}
	y, _ := rec.Get("y")
	u, _ := rec.Get("uid")
	if !bytes.Equal(y.Value, u.Value) {
		t.Errorf("y %q, uid %q: the same value, different tokens", y.Value, u.Value)
	}
}

// A key the line repeats: the parser keeps the last value, and a field
// rule takes the earlier ones out of the message too (the audit found
// {"session":"S1","session":"S2"} shipping S1 under a drop rule).
func TestFieldRuleRepeatedKey(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	for _, tc := range []struct {
		rules []redact.Rule
		line  string
		gone  []string
		keep  []string
	}{
		{[]redact.Rule{{Field: "session", Action: "drop"}}, `{"session":"S1","a":{"session":"nested"},"session":"S2"}`,
			[]string{"S1", "S2"}, []string{`"a":{"session":"nested"}`}},
		{[]redact.Rule{{Field: "session", Action: "mask"}}, `{"session":12345678,"session":"S2"}`,
			[]string{"12345678", "S2"}, []string{`{"session":"[REDACTED]","session":"[REDACTED]"}`}},
		{[]redact.Rule{{Field: "ses\u0073ion", Action: "drop"}}, `{"ses\u0073ion":"S1","session":"S2"}`,
			[]string{"S1", "S2"}, nil},
	} {
		rec, out := parseRedact(t, jsonCfg, tc.rules, tc.line)
		for _, g := range tc.gone {
			if bytes.Contains(out, []byte(g)) {
				t.Errorf("%s: %q survives in %s", tc.line, g, out)
			}
		}
		for _, k := range tc.keep {
			if !bytes.Contains(rec.Message, []byte(k)) {
				t.Errorf("%s: message lost %q: %s", tc.line, k, rec.Message)
			}
		}
	}
}

// A field rule's dotted name reaches the member of a JSON value, as the
// record JSON writes {"client":{"ip":…}} and {"client.ip":…} alike (the
// audit found the nested one unmasked, the flat one masked).
func TestFieldRuleNestedMember(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	rules := []redact.Rule{{Field: "client.ip", Action: "mask"}, {Field: "user.id", Action: "drop"}}
	for _, line := range []string{
		`{"client":{"ip":"10.1.1.1","port":1},"user":{"id":"u-77","name":"x"}}`,
		`{"client":{"ip":"10.1.1.1"},"user":{"id":12345}}`,
		`{"client.ip":"10.1.1.1","user":{"id":"u-77"}}`,
		`{"client":{"i\u0070":"10.1.1.1"}}`,
		// A member below it written flat in its parent (redact14 F2).
		`{"client":{"ip.x":"10.1.1.1"}}`,
		`{"client":{"ip":1,"ip.v4":"10.1.1.1"}}`,
		`{"client":[{"ip.v4":{"a":"10.1.1.1"}}]}`,
		`{"user":{"id.ext":"u-77"}}`,
	} {
		_, out := parseRedact(t, jsonCfg, rules, line)
		for _, s := range []string{"10.1.1.1", "u-77", "12345"} {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("%s\n%q survives in %s", line, s, out)
			}
		}
		if !json.Valid(out) {
			t.Errorf("invalid JSON: %s", out)
		}
	}
	_, out := parseRedact(t, jsonCfg, rules, `{"client":{"ip":"10.1.1.1","port":1}}`)
	if !bytes.Contains(out, []byte(`"client":{"ip":"[REDACTED]","port":1}`)) {
		t.Errorf("nested member not masked in place: %s", out)
	}
}

// A builtin's hash token is the address's, however it is written: one
// person or client gets one token (the audit: jane@…, jane%40… and JANE@…
// gave three).
func TestHashOneTokenPerAddress(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "k")
	rules := []redact.Rule{
		{Builtin: "email", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"},
		{Builtin: "ipv6", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"},
	}
	token := func(line string) string {
		rec, _ := parseRedact(t, parser.Config{Format: "raw"}, rules, line)
		m := regexp.MustCompile(`\[HASH:[0-9a-f]{16}\]`).FindString(string(rec.Message))
		if m == "" {
			t.Fatalf("%q: no token in %q", line, rec.Message)
		}
		return m
	}
	for _, group := range [][]string{
		{"to jane@example.com", "to jane%40example.com", "to JANE@Example.COM"},
		{"from 2001:db8::1 x", "from 2001:DB8:0:0:0:0:0:1 x", "from 2001:db8:0::0:1 x"},
		// Beyond ASCII, as a browser, JSON and nginx write it (redact12 F9).
		{"to hans.müller@example.com", "to HANS.MÜLLER@Example.com", "to hans.m%C3%BCller%40example.com",
			`to hans.m\u00fcller@example.com`, `to hans.m\u00DCller@example.com`, `to hans.m\xC3\xBCller@example.com`,
			`to hans.m\x5Cu00fcller@example.com`},
		{"to jane+tag@example.com", "to jane%2Btag%40example.com", "to jane%2btag@example.com"},
		{"to 😀x@example.com", `to \ud83d\ude00x@example.com`},
	} {
		want := token(group[0])
		for _, line := range group[1:] {
			if got := token(line); got != want {
				t.Errorf("%q: %s, %q: %s", group[0], want, line, got)
			}
		}
	}
	if token("to jane@example.com") == token("to john@example.com") {
		t.Error("two addresses, one token")
	}
}

// A short value a field rule takes is taken where it stands in the line,
// not from every other field and place with the same bytes: a dropped
// header "200" emptied the status field (and its Loki label) and took the
// status out of the message; a dropped "1" turned "HTTP/1.1" into "HTTP/.".
func TestShortFieldValueStaysElsewhere(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `$remote_addr [$time_local] "$request" $status "$http_x_pin"`}
	rec, out := parseRedact(t, cfg, []redact.Rule{{Field: "http_x_pin", Action: "drop"}},
		`127.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /a HTTP/1.1" 200 "200"`)
	if st, _ := rec.Get("status"); string(st.Value) != "200" || st.Kind != sidetrail.KindInt {
		t.Errorf("status %q: %s", st.Value, out)
	}
	if want := `127.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /a HTTP/1.1" 200 ""`; string(rec.Message) != want {
		t.Errorf("message\n got %s\nwant %s", rec.Message, want)
	}
	rec, _ = parseRedact(t, cfg, []redact.Rule{{Field: "http_x_pin", Action: "drop"}},
		`127.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /a HTTP/1.1" 200 "1"`)
	if want := `127.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /a HTTP/1.1" 200 ""`; string(rec.Message) != want {
		t.Errorf("message\n got %s\nwant %s", rec.Message, want)
	}
}

// A field rule hashing request_uri also hashes its path and query, whose
// spans lie inside it in the message: the message keeps request_uri's
// token, so the two can be correlated (it got "[REDACTED]").
func TestNestedSpansKeepOuterToken(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	cfg := parser.Config{Format: "nginx", LogFormat: "combined"}
	rec, out := parseRedact(t, cfg, []redact.Rule{{Field: "request_uri", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}},
		`1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /a/b?c=d HTTP/1.1" 200 5 "-" "curl"`)
	u, _ := rec.Get("request_uri")
	if !bytes.Contains(rec.Message, u.Value) || !bytes.HasPrefix(u.Value, []byte("[HASH:")) {
		t.Errorf("request_uri %q, message %s", u.Value, out)
	}
}

// A field two rules changed, one of them in the message too: the field's
// old value is no longer in the message whole, so the message did not
// follow the other change, and what only the field showed shipped (edge9
// probe: a card in a $request_body nginx logged with \x22 quotes, masked in
// the field, kept in the message, because the e-mail rule had changed the
// message's copy of the body). The fields' changes are then taken to the
// original line, and the rules run again.
func TestFieldChangedTwiceReachesMessage(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `$remote_addr "$request" $status "$request_body"`}
	rules := []redact.Rule{
		{Builtin: "email"},
		// Matches the body as the field holds it ("), not as nginx logs it (\x22).
		{Name: "pin", Pattern: `"pin":"\d+"`, Replace: `"pin":"****"`},
	}
	line := `10.0.0.1 "POST /login HTTP/1.1" 200 "{\x22user\x22:\x22jane@example.com\x22,\x22pin\x22:\x221234\x22}"`
	rec, out := parseRedact(t, cfg, rules, line)
	if strings.Contains(string(out), "1234") || strings.Contains(string(out), "jane@") {
		t.Fatalf("secret shipped:\n%s", out)
	}
	if want := `{\x22user\x22:\x22[REDACTED:email]\x22,\x22pin\x22:\x22****\x22}`; !strings.Contains(string(rec.Message), want) {
		t.Errorf("message %s\nwant it to hold %s", rec.Message, want)
	}
}

// A field's value found in a JSON message only across an escape (a
// backslash that is the start of `\"`), across a string's end or from the
// structure is not a value the message holds as it reads: the rewrite
// keeps the escape whole and masks what the span covered string by string,
// so the message stays JSON (fuzzing found `{"":"\""}` turned into
// `{"":"[REDACTED]""}`, and the value `"0` left in `{"":"0"}`).
func TestFieldValueAcrossJSONEscapeOrStringEnd(t *testing.T) {
	for _, tc := range []struct{ msg, val, want string }{
		{`{"":"\""}`, `\`, `{"":"\""}`},
		{`{"m":"ab\"cd"}`, `ab\`, `{"m":"[REDACTED]\"cd"}`},
		{`{"m":"x\u0041y"}`, `\u00`, `{"m":"x\u0041y"}`},
		{`{"x":"abcd","b":"c"}`, `abcd","b`, `{"x":"[REDACTED]","[REDACTED]":"c"}`},
		{`{"x":"abcd","n":12}`, `d","n":1`, `{"x":"abc[REDACTED]","[REDACTED]":"[REDACTED]"}`},
		// Starting in the structure: what the bytes cover of a string or
		// number is masked, structure alone is left.
		{`{"":"0"}`, `"0`, `{"":"[REDACTED]"}`},
		{`{"a":"xy","b":7}`, `","b":7`, `{"a":"xy","[REDACTED]":"[REDACTED]"}`},
		{`{"":0}`, `"`, `{"":0}`},
		{`{"":""}`, `""`, `{"[REDACTED]":"[REDACTED]"}`},
		{`{"a":"xy"}`, `"xy"`, `{"a":"[REDACTED]"}`},
		{`{"":""}`, `":"`, `{"":""}`}, // from a closing quote: structure alone
	} {
		r, err := redact.New([]redact.Rule{{Field: "remote_user"}}, redact.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec := &sidetrail.Record{Message: []byte(tc.msg)}
		rec.Add("remote_user", sidetrail.KindString, []byte(tc.val))
		r.Apply(rec)
		if !json.Valid(rec.Message) || string(rec.Message) != tc.want {
			t.Errorf("%s with %q:\n got %s\nwant %s", tc.msg, tc.val, rec.Message, tc.want)
		}
	}
}

// nginx's escape=json writes control bytes otherwise than JSON does
// ("\b", "\f", "\u001B" with upper-case digits): a header masked for its
// name shipped in the message (redact14 F13, seen with real nginx).
func TestNginxEscapeJSONControlBytes(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `escape=json $remote_addr [$time_local] "$request" $status "$http_authorization" "$cookie_session_token" "$request_body"`}
	// And a byte of no valid UTF-8, which nginx writes as it is beside an
	// escaped '"' (regress14 D).
	for _, v := range []string{`QWxh\bZGRpbjpvcGVu`, `QWxh\fZGRp`, `QWxh\u001BZGRp`, `QWxh\u000BZGRp`, `QWxh\u001FZGRp`, "QWxh\xe9ZGRp", "Jos\xe9\\tZGRp"} {
		line := `127.0.0.1 [27/Nov/2026:11:52:19 +0000] "GET / HTTP/1.1" 200 "Basic ` + v + `" "SESS` + v + `" "{\"password\":\"PW` + v + `\"}"`
		_, out := parseRedact(t, cfg, redact.Defaults(), line)
		if bytes.Contains(out, []byte("ZGRp")) {
			t.Errorf("%s\nshipped %s", line, out)
		}
	}
}

// A pattern that runs from one member of a JSON line into others masks
// them in the message; the fields parsed from them follow. The README's
// own example, 'pin\W+\d+' over {"pin": "1234"}, shipped the PIN in the
// field pin (redact14 F5), and so in Loki labels and Elasticsearch.
func TestFieldsFollowAMatchAcrossMembers(t *testing.T) {
	jsonCfg := parser.Config{Format: "json"}
	rules := []redact.Rule{{Pattern: `pin\W+\d+`}, {Pattern: `password=\S+`}}
	for _, tc := range []struct{ line, secret string }{
		{`{"pin": "1234"}`, "1234"},
		{`{"pin": 1234, "x": 5}`, "1234"},
		{`{"q":"password=abc","n":12345,"o":{"k":"SEC"}}`, "12345"},
		{`{"q":"password=abc","n":12345,"o":{"k":"SEC"}}`, "SEC"},
		{`{"a":1,"pin":"55","pin":"1234"}`, "1234"},
		{`{"message":"x","q":"password=abc","log":"LOGSECRET"}`, "LOGSECRET"},
	} {
		_, out := parseRedact(t, jsonCfg, rules, tc.line)
		if bytes.Contains(out, []byte(tc.secret)) {
			t.Errorf("%s\nshipped %s in %s", tc.line, tc.secret, out)
		}
		if !json.Valid(out) {
			t.Errorf("invalid JSON: %s", out)
		}
	}
	rec, _ := parseRedact(t, jsonCfg, rules, `{"q":"password=x","time":"2024-02-02T00:00:00Z"}`)
	if !rec.Time.IsZero() {
		t.Errorf("a time the match covered is the event time: %v", rec.Time)
	}
	// A time key below a member the match covered (regress14 B).
	rec, _ = parseRedact(t, parser.Config{Format: "json", TimeKey: "meta.ts"}, []redact.Rule{{Pattern: `ts\W+\d+`}}, `{"meta":{"ts": 1700000000},"x":1}`)
	if !rec.Time.IsZero() {
		t.Errorf("a nested time the match covered is the event time: %v", rec.Time)
	}
	rec, out := parseRedact(t, jsonCfg, rules, `{"time":"2024-02-02T00:00:00Z","q":"password=x","z":1}`)
	if rec.Time.IsZero() || !bytes.Contains(out, []byte(`"z":"[REDACTED]"`)) {
		t.Errorf("time %v, %s", rec.Time, out)
	}
}
