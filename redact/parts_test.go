package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

// A rule naming $request (or $request_uri) covers the fields the parser
// splits from it. The Kubernetes example's rule had fields: [request,
// http_referer]; the docs probe found `mysecret=S1` masked in request and
// message and shipped in request_uri and request_query.
func TestRuleForRequestCoversItsParts(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	cfg := parser.Config{Format: "nginx", LogFormat: `$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "-" "$http_user_agent" $uri $args`}
	line := `1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET /a/SECRETPATH?mysecret=S1cr3tValue&x=1 HTTP/1.1" 200 5 "-" "curl" /a/SECRETPATH mysecret=S1cr3tValue&x=1`
	for _, tc := range []struct {
		name  string
		rules []redact.Rule
		gone  []string
	}{
		{"pattern on request", []redact.Rule{{Name: "p", Pattern: `mysecret=[^&\s"]*`, Replace: "mysecret=[REDACTED]", Fields: []string{"request", "http_referer"}}}, []string{"S1cr3tValue"}},
		{"pattern on request_uri", []redact.Rule{{Name: "p", Pattern: `SECRETPATH`, Fields: []string{"request_uri"}}}, []string{"SECRETPATH"}},
		{"pattern on args", []redact.Rule{{Name: "p", Pattern: `mysecret=[^&\s"]*`, Fields: []string{"args"}}}, []string{"S1cr3tValue"}},
		{"field rule drop request", []redact.Rule{{Field: "request", Action: "drop"}}, []string{"S1cr3tValue", "SECRETPATH"}},
		{"field rule hash request_uri", []redact.Rule{{Field: "request_uri", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}}, []string{"S1cr3tValue", "SECRETPATH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := parseRedact(t, cfg, tc.rules, line)
			for _, s := range tc.gone {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("%q shipped: %s", s, out)
				}
			}
		})
	}
	// A part's own field rule wins over its whole's.
	rec, _ := parseRedact(t, cfg, []redact.Rule{{Field: "request", Action: "drop"}, {Field: "request_method", Action: "mask"}}, line)
	if f, ok := rec.Get("request_method"); !ok || string(f.Value) != "[REDACTED]" {
		t.Errorf("request_method %q %v", f.Value, ok)
	}
	if _, ok := rec.Get("request_query"); ok {
		t.Error("request_query kept")
	}
}

// A field rule for a part of the request takes the part's bytes out of the
// fields that hold them in place, however short: a query of 1 to 3 bytes
// left the message and request_query and shipped in request and request_uri
// (parser25 P2), where 4 bytes left them all. Elsewhere such a value stays.
func TestFieldRuleForAPartTakesItOutOfTheWhole(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `'"$request" $status $body_bytes_sent'`}
	for _, act := range []string{"drop", "mask"} {
		for _, q := range []string{"123", "a=1", "1234"} {
			rec, out := parseRedact(t, cfg, []redact.Rule{{Field: "request_query", Action: act}}, `"GET /p?`+q+` HTTP/1.1" 200 123`)
			want := map[string]string{"drop": "", "mask": "[REDACTED]"}[act]
			for _, k := range []string{"request", "request_uri"} {
				if f, _ := rec.Get(k); !strings.Contains(string(f.Value), "/p?"+want) || strings.Contains(string(f.Value), q) {
					t.Errorf("%s %q: %s %q", act, q, k, f.Value)
				}
			}
			if f, _ := rec.Get("body_bytes_sent"); q == "123" && string(f.Value) != "123" {
				t.Errorf("%s %q: body_bytes_sent %q; out %s", act, q, f.Value, out)
			}
		}
	}
	// An absolute-form target without a path, whose request_uri the parser
	// makes ("/?123"): the query was a copy's, and request kept it
	// (regress25b R1).
	rec, _ := parseRedact(t, cfg, []redact.Rule{{Field: "request_query", Action: "drop"}}, `"GET http://h?123 HTTP/1.1" 200 5`)
	if f, _ := rec.Get("request"); string(f.Value) != "GET http://h? HTTP/1.1" {
		t.Errorf("absolute form: request %q", f.Value)
	}
	// Two short values in one request: after the first was replaced, the
	// field held a copy, and the second stayed (regress25b R2).
	rec, _ = parseRedact(t, cfg, []redact.Rule{{Field: "request_method", Action: "mask"}, {Field: "request_query", Action: "drop"}},
		`"GET /p?123 HTTP/1.1" 200 5`)
	if f, _ := rec.Get("request"); string(f.Value) != "[REDACTED] /p? HTTP/1.1" {
		t.Errorf("two rules: request %q", f.Value)
	}
}

// fields: names reach through the record JSON's nesting: [user.id] the
// JSON value "user" holding {"id":…} (the redact2 probe: masked in the
// message, shipped in the field), [user] a flat "user.id"; and
// http_referer the error log's referrer.
func TestRuleFieldsNested(t *testing.T) {
	rules := []redact.Rule{{Name: "ids", Pattern: `ID-[0-9]{4}`, Fields: []string{"user.id", "account"}}}
	_, out := parseRedact(t, parser.Config{Format: "json"}, rules, `{"user":{"id":"ID-1234","n":1},"account.no":"ID-5678","other":"x"}`)
	if bytes.Contains(out, []byte("ID-1234")) || bytes.Contains(out, []byte("ID-5678")) {
		t.Errorf("shipped: %s", out)
	}
	ref := []redact.Rule{{Name: "p", Pattern: `cust-[0-9]{6}`, Fields: []string{"http_referer"}}}
	_, out = parseRedact(t, parser.Config{Format: "nginx_error"}, ref, `2026/11/26 10:00:00 [error] 1#1: *1 open() failed, client: 1.2.3.4, server: _, request: "GET / HTTP/1.1", host: "h", referrer: "http://x/?c=cust-123456"`)
	if bytes.Contains(out, []byte("cust-123456")) {
		t.Errorf("shipped: %s", out)
	}
}

// A field rule naming a key the JSON parser renames (Docker's {"log":…}
// becomes json.log) reaches it: it did nothing, and validate said ok.
func TestFieldRuleOnRenamedJSONKey(t *testing.T) {
	_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "log", Action: "drop"}},
		`{"log":"card SECRETLOG here\n","stream":"stdout"}`)
	if bytes.Contains(out, []byte("SECRETLOG")) {
		t.Errorf("shipped: %s", out)
	}
}

// A field rule for a path below a key the JSON parser renames (source,
// message, log, @timestamp) reaches it written nested as well as flat:
// source.ip dropped {"source.ip":…} and shipped {"source":{"ip":…}}, the
// place ECS-shaped logs put the client's address (parser17 G).
func TestFieldRuleBelowRenamedJSONKey(t *testing.T) {
	for _, tc := range []struct{ field, line string }{
		{"source.ip", `{"source":{"ip":"LEAK10.1.2.3"},"x":1}`},
		{"source.ip", `{"source.ip":"LEAK10.4.5.6","x":1}`},
		{"message.password", `{"message":{"password":"LEAKS1pw"},"x":1}`},
		{"log.file.path", `{"log":{"file":{"path":"LEAKS7path"}},"x":1}`},
	} {
		_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: tc.field, Action: "drop"}}, tc.line)
		if bytes.Contains(out, []byte("LEAK")) {
			t.Errorf("%s: shipped: %s", tc.field, out)
		}
	}
}

// A dotted field rule reaches the members of an array's objects, as
// Elasticsearch, Loki's | json and jq name them: payments.iban kept both
// IBANs of {"payments":[{"iban":…},{"iban":…}]} in field and message.
func TestFieldRuleIntoArrays(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	rules := []redact.Rule{{Field: "payments.iban", Action: "drop"}, {Field: "customer.ssn", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}}
	rec, out := parseRedact(t, parser.Config{Format: "json"}, rules,
		`{"payments":[{"iban":"DE89370400440532013000","amount":5},{"iban":"GB82WEST12345698765432"}],"customer":[{"ssn":"SSNLEAK_A1"},[{"ssn":"SSNLEAK_A2"}]],"event":"pay"}`)
	for _, s := range []string{"DE89370400440532013000", "GB82WEST12345698765432", "SSNLEAK_A1", "SSNLEAK_A2"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%s shipped: %s", s, out)
		}
	}
	if p, _ := rec.Get("payments"); string(p.Value) != `[{"iban":"","amount":5},{"iban":""}]` {
		t.Errorf("payments %s", p.Value)
	}
}

// One dotted path written nested and flat in one line: the parser keeps
// the flat one as customer_ssn, which the rule for customer.ssn reaches
// too (it shipped in field and message).
func TestFieldRuleFlattenedKey(t *testing.T) {
	_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "customer.ssn", Action: "drop"}},
		`{"customer":{"ssn":"SSNHIDDEN_A2"},"customer.ssn":"SSNLEAK_A3"}`)
	for _, s := range []string{"SSNHIDDEN_A2", "SSNLEAK_A3"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%s shipped: %s", s, out)
		}
	}
}

// A field rule's value written percent-encoded elsewhere in the line (a
// header echoed in the query) is taken out there too.
func TestFieldRuleValuePercentEncoded(t *testing.T) {
	cfg := parser.Config{Format: "nginx", LogFormat: `$remote_addr [$time_local] "$request" $status "$http_x_account"`}
	_, out := parseRedact(t, cfg, []redact.Rule{{Field: "http_x_account", Action: "drop"}},
		`1.2.3.4 [02/Jan/2024:15:04:05 +0000] "GET /acct?name=ACCTLEAK%20R7&b=ACCTLEAK+R7&c=a%40b%2Fc HTTP/1.1" 200 "ACCTLEAK R7"`)
	if bytes.Contains(out, []byte("ACCTLEAK")) {
		t.Errorf("shipped: %s", out)
	}
	_, out = parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "account", Action: "drop"}},
		`{"account":"alice@acme.io/x","url":"/x?u=alice%40acme.io%2Fx"}`)
	if bytes.Contains(out, []byte("alice")) {
		t.Errorf("shipped: %s", out)
	}
	// As browsers (encodeURIComponent), PHP (rawurlencode) and Python
	// (quote, '/' kept) write it (redact22 P3: these shipped).
	for _, enc := range []string{"R7%20ACCT%3D1", "R7%20ACCT%3d1", "R7%20ACCT%3D1%2Fx%2By", "R7%20ACCT%3D1/x%2By"} {
		_, out := parseRedact(t, cfg, []redact.Rule{{Field: "http_x_account", Action: "drop"}},
			`1.2.3.4 [02/Jan/2024:15:04:05 +0000] "GET /s?q=`+enc+`&x=1 HTTP/1.1" 200 "R7 ACCT=1`+map[bool]string{true: "/x+y", false: ""}[strings.Contains(enc, "x")]+`"`)
		if bytes.Contains(bytes.ToUpper(out), []byte("R7%20ACCT")) {
			t.Errorf("%s shipped: %s", enc, out)
		}
	}
}

// nginx writes $uri and $document_uri decoded, so they hold other bytes
// than $request's path: a field rule for request, request_uri or
// request_path acts on them as fields of their own (parser11 F3: the path
// hashed in request shipped in clear in uri). A rule for the access log's
// http_referer or remote_addr acts on the error log's referrer and client
// (parser11 F2).
func TestFieldRuleReachesDecodedURIAndErrorLogNames(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	access := parser.Config{Format: "nginx", LogFormat: `$remote_addr "$request" $status uri=$uri doc=$document_uri`}
	line := `127.0.0.1 "GET /r80/ACCT%20R7%2Dsecret/Zed HTTP/1.1" 404 uri=/r80/ACCT R7-secret/Zed doc=/r80/ACCT R7-secret/Zed`
	for _, field := range []string{"request", "request_uri", "request_path"} {
		for _, act := range []string{"drop", "hash", "mask"} {
			ru := redact.Rule{Field: field, Action: act}
			if act == "hash" {
				ru.KeyEnv = "SIDETRAIL_TEST_KEY"
			}
			_, out := parseRedact(t, access, []redact.Rule{ru}, line)
			if bytes.Contains(out, []byte("R7")) {
				t.Errorf("%s %s: shipped %s", act, field, out)
			}
		}
	}
	errCfg := parser.Config{Format: "nginx_error"}
	errLine := `2026/11/27 04:40:20 [error] 27707#27707: *49 open() "/srv/www/r61" failed (2: No such file or directory), client: 203.0.113.9, server: probe.local, request: "GET /r61 HTTP/1.1", host: "probe.local", referrer: "https://idp.example/cb?code=OAUTHcode998&state=xyz"`
	for _, tc := range []struct{ field, gone string }{
		{"http_referer", "OAUTHcode998"},
		{"remote_addr", "203.0.113.9"},
	} {
		_, out := parseRedact(t, errCfg, []redact.Rule{{Field: tc.field, Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}}, errLine)
		if bytes.Contains(out, []byte(tc.gone)) {
			t.Errorf("%s: shipped %s", tc.field, out)
		}
	}
}

// An empty or null value under a hash or mask rule stays as it is: there
// is nothing to hide, and one token for every empty value read as one
// pseudonym for every anonymous request, while the message kept "" or null
// (parser11 F6).
func TestFieldRuleLeavesEmptyAndNull(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	for _, act := range []string{"hash", "mask"} {
		ru := redact.Rule{Field: "user", Action: act}
		if act == "hash" {
			ru.KeyEnv = "SIDETRAIL_TEST_KEY"
		}
		for _, line := range []string{`{"a":"x","user":""}`, `{"a":"x","user":null}`} {
			rec, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{ru}, line)
			f, ok := rec.Get("user")
			if !ok || len(f.Value) > 4 || string(rec.Message) != line {
				t.Errorf("%s %s: %s", act, line, out)
			}
		}
	}
}

// A field rule's value percent-encoded with lower-case hex digits, as some
// clients write it, is taken out of the message and the other fields too
// (redact12 F3).
func TestFieldRuleValueInLowerCaseHex(t *testing.T) {
	for _, line := range []string{
		`{"user":"a/bob","ref":"http://x/?u=a%2fbob","ref2":"http://x/?u=a%2Fbob"}`,
		`{"user":"a&b=c","ref":"http://x/?u=a%26b%3dc"}`,
	} {
		_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "user", Action: "mask"}}, line)
		if bytes.Contains(out, []byte("bob")) || bytes.Contains(out, []byte("b%3dc")) {
			t.Errorf("shipped %s", out)
		}
	}
}

// Parameter names frameworks give passwords and tokens: a numbered copy
// (Django's password1, password2), Rails' password_confirmation, camelCase
// (accessToken, clientSecret) (redact12 F5, F16).
func TestQuerySecretsFrameworkNames(t *testing.T) {
	line := `{"body":"username=bob&password1=PWB1&new_password2=PWB2&user%5Bpassword_confirmation%5D=PWA2&token_1=TK1","accessToken":"AT1","x":{"clientSecret":"CS1"},"password-2":"PW2","id":"notsecret42","primaryKey":"keep1","sortKey":"keep2","userAuth":"keep3"}`
	_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Builtin: "query_secrets"}}, line)
	for _, s := range []string{"keep1", "keep2", "keep3"} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("%s masked (an ordinary camelCase name): %s", s, out)
		}
	}
	for _, s := range []string{"PWB1", "PWB2", "PWA2", "AT1", "CS1", "TK1", "PW2"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("%s shipped: %s", s, out)
		}
	}
	if !bytes.Contains(out, []byte("notsecret42")) || !bytes.Contains(out, []byte("username=bob")) {
		t.Errorf("masked too much: %s", out)
	}
}

// A top-level field named like a secret whose value is an object or array
// is masked whole, as the message masks it and as a member so named below
// the top level is: member names and true/false shipped in the field
// (redact12 F6).
func TestSecretNamedTopLevelObjectMaskedWhole(t *testing.T) {
	for _, line := range []string{
		`{"password":{"v":"abcdef","n":123456,"is_admin":true,"arr":["qqq1",{"w":"qqq2"}]}}`,
		`{"credentials":{"jsmith":"pw1"}}`,
		`{"api_key":["k1","k2"],"x":1}`,
	} {
		rec, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Builtin: "query_secrets"}}, line)
		for _, s := range []string{"is_admin", "jsmith", "abcdef", "qqq", "k1"} {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("%s shipped: %s", s, out)
			}
		}
		if f := rec.Fields[0]; f.Kind != sidetrail.KindString || string(f.Value) != "[REDACTED]" {
			t.Errorf("field %s = %s (kind %v), want the string [REDACTED]", f.Key, f.Value, f.Kind)
		}
	}
}

// A key the line repeats: its earlier value is taken out of the other
// fields and the rest of the message too; and a dropped number value is
// taken out of the JSON values of other fields (redact12 F14).
func TestFieldRuleRepeatedKeyAndNumbersInJSONFields(t *testing.T) {
	_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "user", Action: "mask"}},
		`{"user":"alicex","user":"bobbyx","note":"by alicex and bobbyx"}`)
	if bytes.Contains(out, []byte("alicex")) || bytes.Contains(out, []byte("bobbyx")) {
		t.Errorf("shipped: %s", out)
	}
	for _, line := range []string{`{"uid":12345,"msg":"user 12345","arr":[12345,"12345"]}`, `{"uid":"12345","meta":{"uid2":12345}}`} {
		_, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "uid", Action: "drop"}}, line)
		if bytes.Contains(out, []byte("12345")) {
			t.Errorf("shipped: %s", out)
		}
	}
}

// A field's value found in a JSON message starting inside a number and
// running into the structure after it (`111}` in {"":1111}) takes the
// number's part from there: it shipped whole (FuzzRedact in CI).
func TestFieldRuleValueFromInsideANumber(t *testing.T) {
	for _, tc := range []struct{ msg, val, want string }{
		{`{"":1111}`, "111}", `{"":"1[REDACTED]"}`},
		{`{"":-1111 }`, "111 }", `{"":"-1[REDACTED]" }`},
		{`{"":[11.5e3, 2]}`, "1.5e3, 2]", `{"":["1[REDACTED]", "[REDACTED]"]}`},
		{`{"":1111}`, "1111}", `{"":"[REDACTED]"}`},
	} {
		r, err := redact.New([]redact.Rule{{Field: "cookie", Action: "mask"}}, redact.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec := &sidetrail.Record{Message: []byte(tc.msg)}
		rec.Add("cookie", sidetrail.KindString, []byte(tc.val))
		r.Apply(rec)
		if string(rec.Message) != tc.want {
			t.Errorf("%s with %q: got %s, want %s", tc.msg, tc.val, rec.Message, tc.want)
		}
	}
	// The number's start already masked by another field's value.
	r, err := redact.New([]redact.Rule{{Field: "user", Action: "mask"}, {Field: "cookie", Action: "drop"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &sidetrail.Record{Message: []byte(`{"":111132221}`)}
	rec.Add("user", sidetrail.KindString, []byte("1111"))
	rec.Add("cookie", sidetrail.KindString, []byte("221}"))
	r.Apply(rec)
	if got, want := string(rec.Message), `{"":"[REDACTED]32"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
