package redact

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
	"github.com/sidetrail/sidetrail/parser"
)

// gapCase is a line and its fields, redacted with one rule set: the message
// and each field named in want must come out as written there.
type gapCase struct {
	name    string
	msg     string
	fields  []kv // slices of msg when found in it (newRecord), else their own memory
	wantMsg string
	want    map[string]string
}

// runGapCases applies rules to each case and checks the message, the
// fields, that nothing a rule matches remains, and that Apply with its
// shortcuts gives what it gives without them (the pre-filters stay right).
func runGapCases(t *testing.T, rules []Rule, cases []gapCase) {
	t.Helper()
	r := mustNew(t, rules)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecord(c.msg, c.fields...)
			r.Apply(rec)
			if got := string(rec.Message); got != c.wantMsg {
				t.Errorf("message %q\n got %q\nwant %q", c.msg, got, c.wantMsg)
			}
			for k, w := range c.want {
				if got, ok := field(rec, k); !ok || got != w {
					t.Errorf("field %s\n got %q\nwant %q", k, got, w)
				}
			}
			leftovers(t, r, rec)
			val := c.msg
			if len(c.fields) > 0 {
				val = c.fields[0].value
			}
			compareWithOracle(t, c.msg, val, `{"k":"v"}`, uint16(len(c.msg)/3), uint16(len(c.msg)))
			for _, f := range c.fields {
				checkCandidate(t, []byte(f.value), 0, len(f.value))
			}
			checkCandidate(t, []byte(c.msg), len(c.msg)/2, len(c.msg))
		})
	}
}

// TestQuerySecretsEncodedBrackets (F3): a form field user[password] sent
// with GET is "user%5Bpassword%5D=" (any case of the hex digits), and
// "user%255Bpassword%255D" inside an encoded parameter: secret names as
// "user[password]=" is. Names that only look alike stay.
func TestQuerySecretsEncodedBrackets(t *testing.T) {
	const line = `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /login?user%5Bpassword%5D=hunter2&user%5Bemail%5D=x HTTP/1.1" 200 1 "-" "x"`
	runGapCases(t, []Rule{{Builtin: "query_secrets"}}, []gapCase{
		{
			name: "upper case",
			msg:  line,
			fields: []kv{
				{key: "request", value: "GET /login?user%5Bpassword%5D=hunter2&user%5Bemail%5D=x HTTP/1.1"},
				{key: "request_query", value: "user%5Bpassword%5D=hunter2&user%5Bemail%5D=x"},
				{key: "args", value: "a=1&user%5Bpassword%5D=hunter2"}, // own memory
			},
			wantMsg: `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /login?user%5Bpassword%5D=[REDACTED]&user%5Bemail%5D=x HTTP/1.1" 200 1 "-" "x"`,
			want: map[string]string{
				"request":       "GET /login?user%5Bpassword%5D=[REDACTED]&user%5Bemail%5D=x HTTP/1.1",
				"request_query": "user%5Bpassword%5D=[REDACTED]&user%5Bemail%5D=x",
				"args":          "a=1&user%5Bpassword%5D=[REDACTED]",
			},
		},
		{
			name:    "lower case and nested brackets",
			msg:     "GET /a?user%5bpassword%5d=hunter2&a%5Bb%5D%5Bapi_key%5D=k1&%5Btoken%5D=t HTTP/1.1",
			fields:  []kv{{key: "request_query", value: "user%5bpassword%5d=hunter2&a%5Bb%5D%5Bapi_key%5D=k1&%5Btoken%5D=t"}},
			wantMsg: "GET /a?user%5bpassword%5d=[REDACTED]&a%5Bb%5D%5Bapi_key%5D=[REDACTED]&%5Btoken%5D=[REDACTED] HTTP/1.1",
			want:    map[string]string{"request_query": "user%5bpassword%5d=[REDACTED]&a%5Bb%5D%5Bapi_key%5D=[REDACTED]&%5Btoken%5D=[REDACTED]"},
		},
		{
			name:    "inside an encoded parameter",
			msg:     "GET /cb?next=%2Flogin%3Fuser%255Bpassword%255D%3Dx1%26page%3D2 HTTP/1.1",
			fields:  []kv{{key: "request_query", value: "next=%2Flogin%3Fuser%255Bpassword%255D%3Dx1%26page%3D2"}},
			wantMsg: "GET /cb?next=%2Flogin%3Fuser%255Bpassword%255D%3D[REDACTED]%26page%3D2 HTTP/1.1",
			want:    map[string]string{"request_query": "next=%2Flogin%3Fuser%255Bpassword%255D%3D[REDACTED]%26page%3D2"},
		},
		{
			// Near misses: not a secret name once decoded ("passwords",
			// "mypassword", "email"), or a '%' escape that is no bracket.
			name:    "near misses stay",
			msg:     "GET /a?user%5Bpasswords%5D=a&mypassword%5D=b&user%5Bemail%5D=c&x%5Epassword%5E=d HTTP/1.1",
			fields:  []kv{{key: "request_query", value: "user%5Bpasswords%5D=a&mypassword%5D=b&user%5Bemail%5D=c&x%5Epassword%5E=d"}},
			wantMsg: "GET /a?user%5Bpasswords%5D=a&mypassword%5D=b&user%5Bemail%5D=c&x%5Epassword%5E=d HTTP/1.1",
			want:    map[string]string{"request_query": "user%5Bpasswords%5D=a&mypassword%5D=b&user%5Bemail%5D=c&x%5Epassword%5E=d"},
		},
	})
}

// TestEncodedBracketCandidateMonotone: candidate stays monotone with
// encoded brackets, also for configured names that a cut escape could
// fake ("5d": "x%5D=" cut to "5D="), and never says no where find matches.
func TestEncodedBracketCandidateMonotone(t *testing.T) {
	qs := []queryDetector{
		newQueryDetector(defaultSecretParams),
		newQueryDetector([]string{"5d", "55d", "d", "token"}),
	}
	for _, s := range []string{
		"x%5D=1", "x%255D=1", "a%5Btoken%5D%5D]=1", "%5Bpassword%5d=x&y%255dtoken%255D%3Dz",
		`{"user%5Bpassword%5D":"x"}`, "token%5=1", "token%2=1", "token%25=1",
	} {
		b := []byte(s)
		for _, q := range qs {
			ex := q
			ex.exact = true
			if len(allMatches(ex, b, "")) > 0 && !q.candidate(b) {
				t.Errorf("%q: scan matches, candidate false", b)
			}
			for i := 0; i <= len(b); i++ {
				for j := i; j <= len(b); j++ {
					if q.candidate(b[i:j]) && !q.candidate(b) {
						t.Errorf("%q: candidate false, true for %q", b, b[i:j])
					}
					if len(allMatches(ex, b[i:j], "")) > 0 && !q.candidate(b[i:j]) {
						t.Errorf("%q: scan matches, candidate false", b[i:j])
					}
				}
			}
		}
	}
}

// TestQuerySecretsApostrophe (F10): an apostrophe that a value byte follows is part
// of the value ("it's-secret"); one that ends a quoted context (a
// non-value byte or the end after it) still ends the value, as the other
// terminators do. The byte after it is judged unescaped ("\x22" as nginx
// writes '"', "\"" as JSON does), so the message and its unescaped fields
// are cut at the same place.
func TestQuerySecretsApostrophe(t *testing.T) {
	runGapCases(t, []Rule{{Builtin: "query_secrets"}}, []gapCase{
		{
			name: "inside a value",
			msg:  `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /login?password=it's-secret&u=bob HTTP/1.1" 200 1`,
			fields: []kv{
				{key: "request", value: "GET /login?password=it's-secret&u=bob HTTP/1.1"},
				{key: "request_query", value: "password=it's-secret&u=bob"},
				{key: "args", value: "token=o'brien'x"}, // own memory
			},
			wantMsg: `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /login?password=[REDACTED]&u=bob HTTP/1.1" 200 1`,
			want: map[string]string{
				"request":       "GET /login?password=[REDACTED]&u=bob HTTP/1.1",
				"request_query": "password=[REDACTED]&u=bob",
				"args":          "token=[REDACTED]",
			},
		},
		{
			name:    "first byte of a value",
			msg:     `db password='s3cret' ok`,
			fields:  []kv{{key: "stmt", value: "password='s3cret'"}},
			wantMsg: `db password=[REDACTED]' ok`,
			want:    map[string]string{"stmt": "password=[REDACTED]'"},
		},
		{
			name:    "html attribute",
			msg:     `<a href='/x?token=abc'>next</a> <a href='/y?token=def'`,
			fields:  []kv{{key: "body", value: "<a href='/y?token=def'"}},
			wantMsg: `<a href='/x?token=[REDACTED]'>next</a> <a href='/y?token=[REDACTED]'`,
			want:    map[string]string{"body": "<a href='/y?token=[REDACTED]'"},
		},
		{
			// nginx writes '"' as \x22 in the message; the parser's field
			// holds '"'. Both end the value at the apostrophe.
			name:    "before an escaped quote",
			msg:     `"GET /?password=ab'\x22LEAK HTTP/1.1" x token=cd'\x0A y secret=ef'\x5Cgh`,
			fields:  []kv{{key: "request", value: `GET /?password=ab'"LEAK HTTP/1.1`}, {key: "t", value: "token=cd'\n y secret=ef'\\gh"}},
			wantMsg: `"GET /?password=[REDACTED]'\x22LEAK HTTP/1.1" x token=[REDACTED]'\x0A y secret=[REDACTED]`,
			want:    map[string]string{"request": `GET /?password=[REDACTED]'"LEAK HTTP/1.1`, "t": "token=[REDACTED]'\n y secret=[REDACTED]"},
		},
		{
			name:    "json escaped",
			msg:     `{"m":"GET /?password=ab'\"x token=it's"}`,
			wantMsg: `{"m":"GET /?password=[REDACTED]'\"x token=[REDACTED]"}`,
		},
		{
			// The other terminators stay: cookies, legacy ';', quotes,
			// tags, and an apostrophe with nothing or a terminator after it.
			name:    "terminators stay",
			msg:     `cookie: a=b; token=c; d=e "password=f" <p>key=g</p> pwd=h' sig=i'' auth=' x`,
			fields:  []kv{{key: "cookie", value: "a=b; token=c; d=e"}},
			wantMsg: `cookie: a=b; token=[REDACTED]; d=e "password=[REDACTED]" <p>key=[REDACTED]</p> pwd=[REDACTED]' sig=[REDACTED]'' auth=' x`,
			want:    map[string]string{"cookie": "a=b; token=[REDACTED]; d=e"},
		},
		{
			name:    "not a secret name",
			msg:     `GET /?q=it's&name=o'brien HTTP/1.1`,
			fields:  []kv{{key: "request_query", value: "q=it's&name=o'brien"}},
			wantMsg: `GET /?q=it's&name=o'brien HTTP/1.1`,
			want:    map[string]string{"request_query": "q=it's&name=o'brien"},
		},
	})
}

// TestNginxEscapedJSONMembers (F2): nginx writes '"' inside a logged value
// as \x22, so a JSON request body in the line reads
// {\x22password\x22:\x22hunter2\x22}. The member is found with \x22 as its
// quotes (the value ends at the next \x22 that no \x5C escapes), as in the
// unescaped field; an e-mail address after \x22 starts after it.
func TestNginxEscapedJSONMembers(t *testing.T) {
	const pre = `1.2.3.4 [02/Jan/2024:15:04:05 +0000] "POST /login HTTP/1.1" 200 `
	runGapCases(t, Defaults(), []gapCase{
		{
			name:    "request body",
			msg:     pre + `"{\x22user\x22:\x22bob\x22,\x22password\x22:\x22hunter2\x22}"`,
			fields:  []kv{{key: "request_body", value: `{"user":"bob","password":"hunter2"}`}},
			wantMsg: pre + `"{\x22user\x22:\x22bob\x22,\x22password\x22:\x22[REDACTED]\x22}"`,
			want:    map[string]string{"request_body": `{"user":"bob","password":"[REDACTED]"}`},
		},
		{
			name:   "white space, numbers, escaped quote, nested",
			msg:    pre + `"{\x22token\x22 : \x22a\x5C\x22b c\x22, \x22api_key\x22:12345, \x22n\x22:{\x22client_secret\x22:\x22s\x22}}"`,
			fields: []kv{{key: "request_body", value: `{"token" : "a\"b c", "api_key":12345, "n":{"client_secret":"s"}}`}},
			// The body as the field has it, escaped as nginx logs it (the
			// number masked is a string there, as in the field).
			wantMsg: pre + `"{\x22token\x22 : \x22[REDACTED]\x22, \x22api_key\x22:\x22[REDACTED]\x22, \x22n\x22:{\x22client_secret\x22:\x22[REDACTED]\x22}}"`,
			want:    map[string]string{"request_body": `{"token" : "[REDACTED]", "api_key":"[REDACTED]", "n":{"client_secret":"[REDACTED]"}}`},
		},
		{
			// The body cut right after a number: the field's closing
			// quote stays (regress17c L1: it was masked with the number).
			name:    "number at the field's end",
			msg:     pre + `"{\x22password\x22:12345" "https://a.example/"`,
			fields:  []kv{{key: "request_body", value: `{"password":12345`}},
			wantMsg: pre + `"{\x22password\x22:\x22[REDACTED]\x22" "https://a.example/"`,
			want:    map[string]string{"request_body": `{"password":"[REDACTED]"`},
		},
		{
			// Pretty-printed: tabs and line breaks as nginx logs them
			// around the colon (regress18: the value shipped).
			name:    "pretty-printed",
			msg:     pre + `"{\x0A\x09\x22password\x22\x09:\x09\x22hunter2\x22,\x0A\x09\x22token\x22 \x0D\x0A: 12345\x0A}"`,
			fields:  []kv{{key: "request_body", value: "{\n\t\"password\"\t:\t\"hunter2\",\n\t\"token\" \r\n: 12345\n}"}},
			wantMsg: pre + `"{\x0A\x09\x22password\x22\x09:\x09\x22[REDACTED]\x22,\x0A\x09\x22token\x22 \x0D\x0A: \x22[REDACTED]\x22\x0A}"`,
			want:    map[string]string{"request_body": "{\n\t\"password\"\t:\t\"[REDACTED]\",\n\t\"token\" \r\n: \"[REDACTED]\"\n}"},
		},
		{
			// A secret object or array whose strings hold a bracket, read
			// by a raw source: its strings are skipped by their \x22
			// quotes (regress18b G3: the object ended at the ']' and the
			// rest shipped).
			name:    "bracket in a string of a secret object",
			msg:     pre + `"{\x22password\x22:{\x22a\x22:\x22x]\x22,\x22b\x22:\x22SeKr3tM1\x22}},\x22k\x22:1" "ua"`,
			wantMsg: pre + `"{\x22password\x22:\x22[REDACTED]\x22},\x22k\x22:1" "ua"`,
		},
		{
			name:    "bracket in a string of a secret array, escaped quote",
			msg:     pre + `"{\x22password\x22:[\x22x]\x22,\x22SeKr3tM2\x22],\x22token\x22:{\x22a\x22:\x22x\x5C\x22}\x22,\x22b\x22:\x22SeKr3tM5\x22}}" "ua"`,
			wantMsg: pre + `"{\x22password\x22:\x22[REDACTED]\x22,\x22token\x22:\x22[REDACTED]\x22}" "ua"`,
		},
		{
			name:    ".NET quotes",
			msg:     `body={\u0022password\u0022:[\u0022x}\u0022,\u0022SeKr3tM6\u0022]} ok`,
			wantMsg: `body={\u0022password\u0022:\u0022[REDACTED]\u0022} ok`,
		},
		{
			// One that does not close is masked to the nginx field's end.
			name:    "open object, bracket in a string",
			msg:     pre + `"{\x22password\x22:{\x22a\x22:\x22x}\x22,\x22b\x22:\x22SeKr3tM7" "ua"`,
			wantMsg: pre + `"{\x22password\x22:\x22[REDACTED]\x22" "ua"`,
		},
		{
			name:    "pretty-printed, no field",
			msg:     `body={\x0A\x09\x22password\x22\x09:\x09\x22hunter2\x22\x0A}`,
			wantMsg: `body={\x0A\x09\x22password\x22\x09:\x09\x22[REDACTED]\x22\x0A}`,
		},
		{
			name:    "authorization member",
			msg:     pre + `"{\x22authorization\x22:\x22Basic dXNlcjpwYXNz\x22}"`,
			fields:  []kv{{key: "request_body", value: `{"authorization":"Basic dXNlcjpwYXNz"}`}},
			wantMsg: pre + `"{\x22authorization\x22:\x22[REDACTED]\x22}"`,
			want:    map[string]string{"request_body": `{"authorization":"[REDACTED]"}`},
		},
		{
			name:    "email keeps the escape",
			msg:     pre + `"{\x22email\x22:\x22jane@example.com\x22,\x22to\x22:[\x22a.b@example.org\x22]}"`,
			fields:  []kv{{key: "request_body", value: `{"email":"jane@example.com","to":["a.b@example.org"]}`}},
			wantMsg: pre + `"{\x22email\x22:\x22[REDACTED:email]\x22,\x22to\x22:[\x22[REDACTED:email]\x22]}"`,
			want:    map[string]string{"request_body": `{"email":"[REDACTED:email]","to":["[REDACTED:email]"]}`},
		},
		{
			// Go's encoding/json writes '<' as \u003c: the same boundary.
			name:    "email after a JSON escape",
			msg:     `{"to":"\u003cjane@example.com\u003e","cc":"\\x22bob@example.com"}`,
			wantMsg: `{"to":"\u003c[REDACTED:email]\u003e","cc":"\\[REDACTED:email]"}`,
		},
		{
			// Not secret names, JSON literals, no opening \x22, and a
			// backslash that is no escape before an address.
			name:    "near misses",
			msg:     pre + `"{\x22user\x22:\x22bob\x22,\x22passwords\x22:\x22x\x22,\x22token\x22:null} x22key\x22:\x22v\x22 CORP\xavier@corp.example.com"`,
			fields:  []kv{{key: "request_body", value: `{"user":"bob","passwords":"x","token":null}`}},
			wantMsg: pre + `"{\x22user\x22:\x22bob\x22,\x22passwords\x22:\x22x\x22,\x22token\x22:null} x22key\x22:\x22v\x22 CORP\[REDACTED:email]"`,
			want:    map[string]string{"request_body": `{"user":"bob","passwords":"x","token":null}`},
		},
	})
}

// TestQuerySecretsStayLocal: Apply skips query_secrets on a field that is a
// slice of the message when the message had no match, the slice does not
// start inside a name (after a name byte or '%') and does not end inside a
// "%XX" (rule.go, localBits). The new name and value forms keep that
// true: for texts without a match, no such slice has one; and candidate
// stays monotone on them.
func TestQuerySecretsStayLocal(t *testing.T) {
	q := newQueryDetector(defaultSecretParams)
	ex := q
	ex.exact = true
	for _, s := range []string{
		`{\x22password\x22:\x22\x22}`, `\x22token\x22 : \x22\x22`, `\x22tokens\x22:{,\x22keys\x22:[1`,
		`\x22token\x22:null,\x22key\x22:true`, `{"pwd": false, "sig":null}`,
		`x password=' y`, `password='\x22 token='\x0A k='\"`, `pwd=''x`,
		`user%5Bpassword%5D=&a%255Btoken%255D%3D%26`, `%5Bkey%5D= sig%5d=`,
	} {
		b := []byte(s)
		if m := allMatches(ex, b, ""); len(m) > 0 {
			t.Fatalf("%q: test text has matches %v", b, m)
		}
		for i := 0; i <= len(b); i++ {
			if i > 0 && (is(b[i-1], cName) || b[i-1] == '%') {
				continue
			}
			for j := i + 1; j <= len(b); j++ {
				if endsInEscape(b, j) {
					continue
				}
				if m := allMatches(ex, b[i:j], ""); len(m) > 0 {
					t.Errorf("%q: no match, but its slice %q has %v", b, b[i:j], m)
				}
			}
		}
		for i := 0; i <= len(b); i++ {
			for j := i; j <= len(b); j++ {
				if q.candidate(b[i:j]) && !q.candidate(b) {
					t.Errorf("%q: candidate false, true for %q", b, b[i:j])
				}
			}
		}
	}
}

// TestJSONLiteralCutShort: a field cut from the message that ends inside a
// JSON literal ("token":nul) has no secret, as the message has none: the
// shortcut that skips it and the detector agree (leftovers).
func TestJSONLiteralCutShort(t *testing.T) {
	runGapCases(t, Defaults(), []gapCase{
		{
			name:    "quotes",
			msg:     `{"token":null,"a":1} x`,
			fields:  []kv{{key: "sub", value: `{"token":nul`}},
			wantMsg: `{"token":null,"a":1} x`,
			want:    map[string]string{"sub": `{"token":nul`},
		},
		{
			name:    "nginx quotes",
			msg:     `"{\x22password\x22:false}" x`,
			fields:  []kv{{key: "sub", value: `{\x22password\x22:fa`}},
			wantMsg: `"{\x22password\x22:false}" x`,
			want:    map[string]string{"sub": `{\x22password\x22:fa`},
		},
		{
			// Not a literal nor the start of one: still a value. (A
			// value that is the start of one at the very end of a text,
			// "pwd":nu, is taken for the literal cut short.)
			name:    "values",
			msg:     `{"token":nullx,"pin":1} "pwd":nux "sig":nu`,
			fields:  []kv{{key: "sub", value: `"pwd":nux`}},
			wantMsg: `{"token":"[REDACTED]","pin":1} "pwd":"[REDACTED]" "sig":nu`,
			want:    map[string]string{"sub": `"pwd":"[REDACTED]"`},
		},
	})
}

// TestCardFormEncodedSpaces (F11): a card typed with spaces in a form sent
// with GET is logged with '+' or "%20" between the groups: one of them
// joins two groups as one space or dash does. The Luhn check, the 13-19
// digits and the not-glued rule stay, and nothing else becomes a separator.
func TestCardFormEncodedSpaces(t *testing.T) {
	runGapCases(t, []Rule{{Builtin: "credit_card"}}, []gapCase{
		{
			name: "plus",
			msg:  `"GET /pay?c=4111+1111+1111+1111&n=3782+822463+10005 HTTP/1.1"`,
			fields: []kv{
				{key: "request_query", value: "c=4111+1111+1111+1111&n=3782+822463+10005"},
				{key: "card", value: "5555+5555+5555+4444"}, // own memory
			},
			wantMsg: `"GET /pay?c=[REDACTED:credit_card]&n=[REDACTED:credit_card] HTTP/1.1"`,
			want: map[string]string{
				"request_query": "c=[REDACTED:credit_card]&n=[REDACTED:credit_card]",
				"card":          "[REDACTED:credit_card]",
			},
		},
		{
			name: "percent-encoded space",
			msg:  `"GET /pay?c=4111%201111%201111%201111&q=card%204111111111111111%20ok HTTP/1.1"`,
			fields: []kv{
				{key: "request_query", value: "c=4111%201111%201111%201111&q=card%204111111111111111%20ok"},
				{key: "card", value: "%205555%205555%205555%204444%20"},
			},
			wantMsg: `"GET /pay?c=[REDACTED:credit_card]&q=card%20[REDACTED:credit_card]%20ok HTTP/1.1"`,
			want: map[string]string{
				"request_query": "c=[REDACTED:credit_card]&q=card%20[REDACTED:credit_card]%20ok",
				"card":          "%20[REDACTED:credit_card]%20",
			},
		},
		{
			name:    "mixed with space and dash",
			msg:     "c=4111+1111-1111 1111 d=4111%201111+1111-1111",
			wantMsg: "c=[REDACTED:credit_card] d=[REDACTED:credit_card]",
		},
		{
			// Short sums and dates, Luhn-invalid numbers, doubled or
			// other separators (an encoded '+' is no space), glued to a
			// letter or digit. The digits of "%20" glue nothing (i), and
			// past 19 digits the card is the longest valid start (j).
			name: "near misses stay",
			msg: "a=2024+1111 b=2024+1111+1111 ts=2024-01-15+12%3A30%3A00 c=4111+1111+1111+1112 " +
				"d=4111++1111++1111++1111 e=4111%20%201111%201111%201111 f=4111%2B1111%2B1111%2B1111 " +
				"g=x4111+1111+1111+1111 h=4111+1111+1111+1111y i=9%204111111111111111 j=4111+1111+1111+1111+1111+1",
			fields: []kv{{key: "q", value: "d=4111++1111++1111++1111 e=4111%20%201111%201111%201111"}},
			wantMsg: "a=2024+1111 b=2024+1111+1111 ts=2024-01-15+12%3A30%3A00 c=4111+1111+1111+1112 " +
				"d=4111++1111++1111++1111 e=4111%20%201111%201111%201111 f=4111%2B1111%2B1111%2B1111 " +
				"g=x4111+1111+1111+1111 h=4111+1111+1111+1111y i=9%20[REDACTED:credit_card] j=[REDACTED:credit_card]+1111+1",
			want: map[string]string{"q": "d=4111++1111++1111++1111 e=4111%20%201111%201111%201111"},
		},
	})
}

// TestCardSummaryFormEncoded: the summary's card bit, which gates the card
// detector, is set by runs with '+' and '%' (vector and generic alike), and
// the detector's maybe is never true without it.
func TestCardSummaryFormEncoded(t *testing.T) {
	for _, s := range []string{
		"4111+1111+1111+1111", "4111%201111%201111%201111", "x 4111+1111%201111-1111 1111 y",
		"++++++++++++1", "%%%%%%%%%%%%1", "4111+1111+111",
	} {
		for pad := 0; pad < 70; pad += 7 {
			b := []byte(strings.Repeat("x", pad) + s + strings.Repeat("y", 70-pad))
			g := summaryGeneric(b)
			if got := summary(b); got != g {
				t.Errorf("%q: summary %05b, generic %05b", b, got, g)
			}
			if g&sumCard == 0 {
				t.Errorf("%q: card bit clear", b)
			}
			if (cardDetector{}).maybe(b) && g&sumCard == 0 {
				t.Errorf("%q: maybe true without the card bit", b)
			}
		}
	}
	if b := []byte("4111+1111+11"); summaryGeneric(b)&sumCard != 0 {
		t.Errorf("%q: 12 bytes set the card bit", b)
	}
}

// A case of a literal's rarest byte that a line lacks is looked for once
// per value, not once a match: "Bearer x " repeated over 1 MB took 7 s,
// each find scanning to the end of the line for a lower-case 'b'.
func TestFoldCursorRemembersAnAbsentCase(t *testing.T) {
	b := []byte(strings.Repeat("Bearer x ", 4))
	c := newCursor("bearer")
	for i, want := range []int{0, 9, 18, 27, -1} {
		if got := c.nextFold(b, i*9, 0); got != want {
			t.Fatalf("nextFold(%d) = %d, want %d", i*9, got, want)
		}
		if c.lo != -1 {
			t.Fatalf("after nextFold(%d) the lower case 'b' is at %d, want -1 (none, remembered)", i*9, c.lo)
		}
	}
	r := mustNew(t, Defaults())
	rec := newRecord(strings.Repeat("Bearer x ", 1000) + "bearer y")
	r.Apply(rec)
	if want := strings.Repeat("Bearer [REDACTED] ", 1000) + "bearer [REDACTED]"; string(rec.Message) != want {
		t.Fatalf("got %.80s…", rec.Message)
	}
}

// TestPercentEncodedJSONMembers: JSON in a query parameter or form value,
// as encodeURIComponent(JSON.stringify(…)) writes it for a GET API taking
// JSON (GraphQL's ?variables=…): a secret member's value is masked, its
// quotes and colon percent-encoded (either case of the hex digits) or the
// colon left as it is. It shipped (redact16 F4).
func TestPercentEncodedJSONMembers(t *testing.T) {
	const pre, post = `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET `, ` HTTP/1.1" 200 1 "-" "x"`
	cases := []gapCase{}
	for _, c := range []struct{ name, uri, want string }{
		{"string", `/x?data=%7B%22token%22%3A%22Zq9SeKr3tVaLu%22%7D`, `/x?data=%7B%22token%22%3A%22[REDACTED]%22%7D`},
		{"colon as it is", `/x?data=%7B%22password%22:%22Zq9SeKr3tVaLu%22%7D`, `/x?data=%7B%22password%22:%22[REDACTED]%22%7D`},
		{"lower case, escaped quote, next member kept", `/x?d=%7b%22password%22%3a%22a%5C%22b%22%2C%22n%22%3A1%7d&x=1`, `/x?d=%7b%22password%22%3a%22[REDACTED]%22%2C%22n%22%3A1%7d&x=1`},
		{"escaped backslash ends the string", `/x?d=%7B%22pwd%22%3A%22a%5C%5C%22%2C%22n%22%3A1%7D`, `/x?d=%7B%22pwd%22%3A%22[REDACTED]%22%2C%22n%22%3A1%7D`},
		{"nested, number", `/g?variables=%7B%22in%22%3A%7B%22password%22%3A%22s3cret%22%2C%22pin%22%3A1%2C%22api_key%22%3A-1.5e%2B3%7D%7D`, `/g?variables=%7B%22in%22%3A%7B%22password%22%3A%22[REDACTED]%22%2C%22pin%22%3A1%2C%22api_key%22%3A[REDACTED]%7D%7D`},
		{"object whole, a bracket in a string", `/g?v=%7B%22secret%22%3A%7B%22a%22%3A%5B1%2C%22%7D%22%5D%7D%2C%22b%22%3A2%7D`, `/g?v=%7B%22secret%22%3A[REDACTED]%2C%22b%22%3A2%7D`},
		{"form spaces", `/g?v=%7B%22api_key%22%3A+%22a+b%22%2C+%22ok%22%3A%20true%7D`, `/g?v=%7B%22api_key%22%3A+%22[REDACTED]%22%2C+%22ok%22%3A%20true%7D`},
		{"open to the parameter's end", `/g?v=%7B%22token%22%3A%22abc&n=1`, `/g?v=%7B%22token%22%3A%22[REDACTED]&n=1`},
		{"open object to the parameter's end", `/g?v=%7B%22token%22%3A%7B%22a%22%3A1&n=1`, `/g?v=%7B%22token%22%3A[REDACTED]&n=1`},
		// Literals, other names, a name too long, a URL's own "%3A", a
		// search for a quoted name: words are no value (regress18 F3).
		{"near misses", `/x?u=https%3A%2F%2Fa.b%2Fc&d=%7B%22keyboard%22%3A1%2C%22token%22%3Anull%2C%22x%22%3A%22password%22%7D&q=%22password%22%3A+reset+my+account`, `/x?u=https%3A%2F%2Fa.b%2Fc&d=%7B%22keyboard%22%3A1%2C%22token%22%3Anull%2C%22x%22%3A%22password%22%7D&q=%22password%22%3A+reset+my+account`},
		// White space around the colon, as Jackson's pretty printer and
		// Java's URLEncoder write it (regress18 F2).
		{"white space", `/x?v=%7B%0A++%22password%22+%3A+%22a%22%2C%22token%22%20%3A%0A41234567%7D`, `/x?v=%7B%0A++%22password%22+%3A+%22[REDACTED]%22%2C%22token%22%20%3A%0A[REDACTED]%7D`},
		// JSON in a string of that JSON (regress18 F1).
		{"a string of JSON", `/x?v=%7B%22d%22%3A%22%7B%5C%22password%5C%22%3A%5C%22a%5C%5C%5C%22b%5C%22%2C%5C%22key%5C%22%3A4%7D%22%7D`, `/x?v=%7B%22d%22%3A%22%7B%5C%22password%5C%22%3A%5C%22[REDACTED]%5C%22%2C%5C%22key%5C%22%3A[REDACTED]%7D%22%7D`},
		// Browsers encode only the quotes, and leave '\' as it is
		// (regress18 F8: the elements shipped).
		{"browser", `/x?v={%22password%22:[%22a%22,1],%22token%22:{%22b%22:%22]%22},%22secret%22:%22c\%22d%22,%22n%22:{%22x%22:%22{\%22pwd\%22:\%22e\%22}%22}}`, `/x?v={%22password%22:[REDACTED],%22token%22:[REDACTED],%22secret%22:%22[REDACTED]%22,%22n%22:{%22x%22:%22{\%22pwd\%22:\%22[REDACTED]\%22}%22}}`},
		// A number followed by a word is text (regress18b G7); an array
		// in a string of JSON with '\' left as it is, once and twice
		// nested (G2: only its bracket was masked).
		// A number then words: the number is masked (a field cut after
		// it holds it); digits glued to a word are one token, masked
		// whole (FuzzOracle).
		{"words after a number", `/x?q=%22token%22:%20123abc&s=%22token%22%3A+2024+release+notes`, `/x?q=%22token%22:%20[REDACTED]&s=%22token%22%3A+[REDACTED]+release+notes`},
		// Long white space (regress18c H3, H4), an escaped line break
		// after a number in a string of JSON (H6), a string ending in a
		// backslash in a secret array as a browser writes it (H5: read
		// inside out, the rest shipped).
		{"long white space", `/x?v=%7B%22token%22%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%3A%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%2012345%0A%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%7D`, `/x?v=%7B%22token%22%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%3A%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20[REDACTED]%0A%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%7D`},
		{"number before an escaped line break", `/x?v=%7B%22d%22%3A%22%7B%5Cn%20%5C%22password%5C%22%3A%2041234567%5Cn%7D%22%7D`, `/x?v=%7B%22d%22%3A%22%7B%5Cn%20%5C%22password%5C%22%3A%20[REDACTED]%5Cn%7D%22%7D`},
		{"string ending in a backslash", `/x?v={%22token%22:[%22C:\\tmp\\%22,%22s]%22],%22k%22:1}`, `/x?v={%22token%22:[REDACTED],%22k%22:1}`},
		{"browser, nested", `/x?v={%22q%22:%22{\%22token\%22:[\%22a\%22]}%22,%22r%22:%22{\\\%22token\\\%22:\\\%22b\\\%22}%22}`, `/x?v={%22q%22:%22{\%22token\%22:[REDACTED]}%22,%22r%22:%22{\\\%22token\\\%22:\\\%22[REDACTED]\\\%22}%22}`},
	} {
		cases = append(cases, gapCase{
			name:    c.name,
			msg:     pre + c.uri + post,
			fields:  []kv{{key: "request_uri", value: c.uri}},
			wantMsg: pre + c.want + post,
			want:    map[string]string{"request_uri": c.want},
		})
	}
	cases = append(cases, gapCase{
		name:    "in a JSON line",
		msg:     `{"url":"/x?d=%7B%22token%22%3A%22abc%22%7D","n":1}`,
		wantMsg: `{"url":"/x?d=%7B%22token%22%3A%22[REDACTED]%22%7D","n":1}`,
	}, gapCase{
		// An nginx quote and Go's '&' as a JSON line escapes them end a
		// value (regress18c H7: the mask took the next parameter).
		name:    "escapes that end a value in a JSON line",
		msg:     `{"l":"GET /a?v={%22password%22:%22S\\x22}&k=keepK4","u":"/a?v=%7B%22token%22%3A%7B%22a%22%3A1\u0026next=keepN2"}`,
		wantMsg: `{"l":"GET /a?v={%22password%22:%22[REDACTED]\\x22}&k=keepK4","u":"/a?v=%7B%22token%22%3A[REDACTED]\u0026next=keepN2"}`,
	}, gapCase{
		// Open to the line's escaped backslash before its quote: the
		// mask took half of it, and the JSON broke (regress18b G6).
		name:    "open to an escaped backslash",
		msg:     `{"u":"/x?d={%22password%22:%22abc\\"}`,
		wantMsg: `{"u":"/x?d={%22password%22:%22[REDACTED]"}`,
	})
	runGapCases(t, Defaults(), cases)

	// Linear time: a line of many members each opening an array that a
	// single bracket closes at the end took 22 s for 400 KB (probe), a search for
	// the next ']' per member (regress18 F5).
	// So do a run of white space as a URL writes it (each walked back
	// over all those before it: regress18b G9) and a run of backslashes
	// in an array (each run walked again: G1).
	r := mustNew(t, Defaults())
	for _, n := range []int{100 << 10, 800 << 10} {
		for _, line := range []string{
			"GET /a?v=" + strings.Repeat("%22password%22%3A[", n/17) + "]",
			"GET /a?v=" + strings.Repeat("%20", n/3),
			"GET /a?v=%22password%22%3A%5B" + strings.Repeat("%5C", n/3),
		} {
			start := time.Now()
			r.Apply(newRecord(line))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%.30s… (%d bytes): %v", line, len(line), d)
			}
		}
	}
}

// TestCardAndKeyAfterEscapedLineBreak: an escaped line break or tab
// before a card number or an AWS key separates it, as JSON, logfmt and
// Go's log/slog write a message of several lines; the letter of the
// escape read as glued to it, and it shipped (regress18 F7).
func TestCardAndKeyAfterEscapedLineBreak(t *testing.T) {
	runGapCases(t, Defaults(), []gapCase{
		{name: "logfmt", msg: `level=info msg="cards on file:\n4111111111111111\n5500000000000004"`, wantMsg: `level=info msg="cards on file:\n[REDACTED:credit_card]\n[REDACTED:credit_card]"`},
		{name: "tab, groups", msg: `level=info msg="card:\t4111 1111 1111 1111 x"`, wantMsg: `level=info msg="card:\t[REDACTED:credit_card] x"`},
		{name: "CR LF, key", msg: `level=info msg="key:\r\nAKIAIOSFODNN7EXAMPLE"`, wantMsg: `level=info msg="key:\r\n[REDACTED:aws_access_key]"`},
		{name: "escaped twice", msg: `{"log":"msg=\"cards:\\n4111111111111111\"\n","stream":"stdout"}`, wantMsg: `{"log":"msg=\"cards:\\n[REDACTED:credit_card]\"\n","stream":"stdout"}`},
		{name: "a letter is no escape", msg: `x n4111111111111111 /n4111111111111111`, wantMsg: `x n4111111111111111 /n4111111111111111`},
		// JSON's other spellings of a line break or tab, and form feed
		// and vertical tab (regress18b G4: they shipped).
		{name: "u000a", msg: `level=info msg="cards on file:\u000a4111111111111111"`, wantMsg: `level=info msg="cards on file:\u000a[REDACTED:credit_card]"`},
		{name: "u000A, key", msg: `level=info msg="key:\u000AAKIAIOSFODNN7EXAMPLE"`, wantMsg: `level=info msg="key:\u000A[REDACTED:aws_access_key]"`},
		{name: "u0009, digits after", msg: `level=info msg="card:\u00094111111111111111"`, wantMsg: `level=info msg="card:\u0009[REDACTED:credit_card]"`},
		{name: "u000d u000a", msg: `msg="card:\u000d\u000a5500000000000004 ok"`, wantMsg: `msg="card:\u000d\u000a[REDACTED:credit_card] ok"`},
		{name: "form feed, vertical tab", msg: `msg="a:\f4111111111111111 b:\v5500000000000004"`, wantMsg: `msg="a:\f[REDACTED:credit_card] b:\v[REDACTED:credit_card]"`},
		{name: "u0041 is a letter", msg: `x \u00414111111111111111`, wantMsg: `x \u00414111111111111111`},
		// An escape whose last hex digit is a digit: the card's digits
		// began there, and it shipped (regress19b F1): .NET writes
		// "£4111…" as \u00A34111…, nginx as \xC2\xA34111….
		{name: "u00A3", msg: `F {"Message":"paid \u00A34111111111111111 by card"}`, wantMsg: `F {"Message":"paid \u00A3[REDACTED:credit_card] by card"}`},
		{name: "u00A0 groups", msg: `F {"Message":"card\u00A04111 1111 1111 1111"}`, wantMsg: `F {"Message":"card\u00A0[REDACTED:credit_card]"}`},
		{name: "u00D7", msg: `n\u00D75555555555554444`, wantMsg: `n\u00D7[REDACTED:credit_card]`},
		{name: "nginx xA3", msg: `GET /?m=paid\xC2\xA34111111111111111 HTTP/1.1`, wantMsg: `GET /?m=paid\xC2\xA3[REDACTED:credit_card] HTTP/1.1`},
		{name: "percent A3", msg: `GET /?m=paid%C2%A34111111111111111 HTTP/1.1`, wantMsg: `GET /?m=paid%C2%A3[REDACTED:credit_card] HTTP/1.1`},
	})
}

// TestAddressAndTokenAfterEscapedLineBreak: an IP address or a bearer
// token after an escaped line break or tab is not glued to the escape's
// letter (regress18b G4: they shipped).
func TestAddressAndTokenAfterEscapedLineBreak(t *testing.T) {
	rules := append(Defaults(), Rule{Builtin: "ipv4"}, Rule{Builtin: "ipv6"})
	runGapCases(t, rules, []gapCase{
		{name: "ipv4", msg: `level=info msg="ip:\n203.0.113.5"`, wantMsg: `level=info msg="ip:\n[REDACTED:ipv4]"`},
		{name: "ipv4 tab", msg: `level=info msg="ip\t203.0.113.5"`, wantMsg: `level=info msg="ip\t[REDACTED:ipv4]"`},
		{name: "ipv4 u000a", msg: `msg="ip:\u000a203.0.113.5"`, wantMsg: `msg="ip:\u000a[REDACTED:ipv4]"`},
		{name: "ipv6", msg: `level=info msg="v6:\n2001:db8::1"`, wantMsg: `level=info msg="v6:\n[REDACTED:ipv6]"`},
		{name: "ipv6 tab", msg: `level=info msg="v6:\t2001:db8::1 ok"`, wantMsg: `level=info msg="v6:\t[REDACTED:ipv6] ok"`},
		{name: "bearer", msg: `level=info msg="hdr:\nBearer abcdefghijklmnopqrstuvwxyz012345"`, wantMsg: `level=info msg="hdr:\nBearer [REDACTED]"`},
		{name: "authorization", msg: `msg="hdr:\tAuthorization: Basic dXNlcjpwYXNz"`, wantMsg: `msg="hdr:\tAuthorization: Basic [REDACTED]"`},
		{name: "letters glue", msg: `v1.2.3.4 xfe80::1 tokenBearer abcdefghijklmnop`, wantMsg: `v1.2.3.4 xfe80::1 tokenBearer abcdefghijklmnop`},
		// After an escape whose last character is a hex digit: the
		// escape's digits were read as the address's, and it shipped or
		// was taken for another address (redact20 F1, F2).
		{name: "ipv4 nginx quote", msg: `"{\x22client_ip\x22:\x2210.9.8.7\x22}"`, wantMsg: `"{\x22client_ip\x22:\x22[REDACTED:ipv4]\x22}"`},
		{name: "ipv4 u0022", msg: `F {\u0022ip\u0022:\u002210.9.8.7\u0022}`, wantMsg: `F {\u0022ip\u0022:\u0022[REDACTED:ipv4]\u0022}`},
		{name: "ipv4 u00a0", msg: `{"msg":"peer\u00a010.9.8.7 closed"}`, wantMsg: `{"msg":"peer\u00a0[REDACTED:ipv4] closed"}`},
		{name: "ipv4 pct20", msg: `GET /s?q=from%2010.9.8.7 HTTP/1.1`, wantMsg: `GET /s?q=from%20[REDACTED:ipv4] HTTP/1.1`},
		{name: "ipv4 pct20 short octet", msg: `q=from%208.8.8.8`, wantMsg: `q=from%20[REDACTED:ipv4]`},
		{name: "ipv6 pct2C", msg: `GET /b?ips=2001:db8::1%2C2001:db8::7 HTTP/1.1`, wantMsg: `GET /b?ips=[REDACTED:ipv6]%2C[REDACTED:ipv6] HTTP/1.1`},
		{name: "ipv6 nginx line break", msg: `a\x0A2001:db8::7 b`, wantMsg: `a\x0A[REDACTED:ipv6] b`},
		{name: "ipv6 form feed", msg: `note: \f2001:db8::7 end`, wantMsg: `note: \f[REDACTED:ipv6] end`},
		{name: "ipv6 u000a", msg: `note: \u000a2001:db8::7 end`, wantMsg: `note: \u000a[REDACTED:ipv6] end`},
	})
}

// TestAddressAfterEscapeHashesAsItself: an address after a percent-escape
// gets the plain address's token, not that of the address its escape's
// digits would make (redact20 F2: %208.8.8.8 hashed as 208.8.8.8).
func TestAddressAfterEscapeHashesAsItself(t *testing.T) {
	t.Setenv("K", "0123456789abcdef0123456789abcdef")
	r := mustNew(t, []Rule{{Builtin: "ipv4", Action: "hash", KeyEnv: "K"}, {Builtin: "ipv6", Action: "hash", KeyEnv: "K"}})
	apply := func(msg string) string {
		rec := newRecord(msg)
		r.Apply(rec)
		return string(rec.Message)
	}
	for _, c := range [][2]string{{"8.8.8.8", "%208.8.8.8"}, {"10.9.8.7", `"10.9.8.7`}, {"20:db8::1", "%2020:db8::1"}} {
		plain, esc := apply(c[0]), apply(c[1])
		if !strings.HasSuffix(esc, plain) || len(esc)-len(plain) != len(c[1])-len(c[0]) {
			t.Errorf("%q: %q, the plain address %q", c[1], esc, plain)
		}
	}
}

// TestQuotedAuthCredentials: a credential in quotes after its scheme
// ("Authorization: Basic \"…\"", curl -H with escaped quotes, Bearer
// "…") is masked inside its quotes. The scheme was masked and the
// credential shipped beside it, looking masked (docs19 F3).
func TestQuotedAuthCredentials(t *testing.T) {
	runGapCases(t, Defaults(), []gapCase{
		{name: "bearer", msg: `Authorization: Bearer "abcdefghijklmnop"`, wantMsg: `Authorization: Bearer "[REDACTED]"`},
		{name: "basic", msg: `Authorization: Basic "dXNlcjpwYXNz" next`, wantMsg: `Authorization: Basic "[REDACTED]" next`},
		{name: "single quotes", msg: `authorization: Token 'abcdefghijklmnop'`, wantMsg: `authorization: Token '[REDACTED]'`},
		{name: "escaped quotes", msg: `curl -H "Authorization: Bearer \"abcdefghijklmnop\"" https://x`, wantMsg: `curl -H "Authorization: Bearer \"[REDACTED]\"" https://x`},
		{name: "bare bearer", msg: `token=x Bearer "abcdefghijklmnop" ok`, wantMsg: `token=[REDACTED] Bearer "[REDACTED]" ok`},
		{name: "open quote", msg: `Authorization: Bearer "abcdefghijklmnop`, wantMsg: `Authorization: Bearer "[REDACTED]`},
		{name: "escape inside", msg: `{"h":"Authorization: Bearer 'ab\/cdefghijklmnop'"}`, wantMsg: `{"h":"Authorization: Bearer '[REDACTED]'"}`},
		{name: "empty", msg: `Authorization: Basic "" x`, wantMsg: `Authorization: [REDACTED] "" x`},
		// One escaping level up (curl's command logged in a JSON string),
		// and as nginx and .NET write the quote (regress19b F2).
		{name: "escaped twice", msg: `F {"msg":"curl -H \"Authorization: Bearer \\\"abc123secret\\\"\" https://x"}`, wantMsg: `F {"msg":"curl -H \"Authorization: Bearer \\\"[REDACTED]\\\"\" https://x"}`},
		{name: "nginx quotes", msg: `"curl" "Bearer \x22abc123secret\x22" "-"`, wantMsg: `"curl" "Bearer \x22[REDACTED]\x22" "-"`},
		// A quote that closes the string holding the scheme, or one never
		// closed, is no credential's (regress19b F6, F7: the mask ran on
		// over the JSON after it).
		{name: "empty bearer at a string's end", msg: `{"headers":{"Authorization":"Bearer "},"x":"keep1"}`, wantMsg: `{"headers":{"Authorization":"[REDACTED]"},"x":"keep1"}`},
		{name: "empty bearer in prose", msg: `F {"msg":"rejected Bearer ","path":"/api","user":"bob"}`, wantMsg: `F {"msg":"rejected Bearer ","path":"/api","user":"bob"}`},
		{name: "single quote at a string's end", msg: `F {"h":"Bearer '","x":"keepme1","y":"keep2"}`, wantMsg: `F {"h":"Bearer '","x":"keepme1","y":"keep2"}`},
		{name: "single quote never closed", msg: `F {"h":"Bearer 'abcdefgh","x":"keepme1"}`, wantMsg: `F {"h":"Bearer '[REDACTED]","x":"keepme1"}`},
		{name: "logfmt", msg: `msg="hdr Bearer 'abcdefgh" user=bob status=200`, wantMsg: `msg="hdr Bearer '[REDACTED]" user=bob status=200`},
		// Any character but white space and a quote is the credential's
		// (regress19c R5: a password with '!' or ':' shipped whole).
		{name: "symbols", msg: `Authorization: Bearer "Xk9!pQ2@secret%2B,;|value"`, wantMsg: `Authorization: Bearer "[REDACTED]"`},
		{name: "basic user:password", msg: `Authorization: Basic "bob:hunter2" next`, wantMsg: `Authorization: Basic "[REDACTED]" next`},
		{name: "sanctum", msg: `F {"h":"Authorization: Bearer \"12|SanctumSecretToken\""}`, wantMsg: `F {"h":"Authorization: Bearer \"[REDACTED]\""}`},
		{name: ".NET quotes", msg: `F {"h":"Authorization: Basic \u0022dXNlcjpwYXNz\u0022"}`, wantMsg: `F {"h":"Authorization: Basic \u0022[REDACTED]\u0022"}`},
		// A credential starting with , ; : } or ] that a quote closes
		// (redact20 F3: taken for the JSON after a string's end, it
		// shipped), and nginx's and .NET's quote inside a JSON string.
		{name: "leading colon", msg: `Authorization: Basic ":s3cret" next`, wantMsg: `Authorization: Basic "[REDACTED]" next`},
		{name: "leading comma single", msg: `Authorization: Bearer ',s3cretTOKEN'`, wantMsg: `Authorization: Bearer '[REDACTED]'`},
		{name: "leading semicolon escaped", msg: `Authorization: Bearer \";s3cretTOKEN\"`, wantMsg: `Authorization: Bearer \"[REDACTED]\"`},
		{name: "leading brace nginx", msg: `Authorization: Bearer \x22}s3cretTOKEN\x22`, wantMsg: `Authorization: Bearer \x22[REDACTED]\x22`},
		{name: "nginx quote in JSON", msg: `{"msg":"Authorization: Basic \\x22:s3cret\\x22 next","n":1}`, wantMsg: `{"msg":"Authorization: Basic \\x22[REDACTED]\\x22 next","n":1}`},
		{name: ".NET quote in JSON", msg: `{"msg":"Authorization: Bearer \\u0022}s3cret\\u0022","n":1}`, wantMsg: `{"msg":"Authorization: Bearer \\u0022[REDACTED]\\u0022","n":1}`},
		{name: "punctuation only", msg: `{"h":"Authorization: Bearer ","a":[1,"x"]}`, wantMsg: `{"h":"Authorization: [REDACTED] ","a":[1,"x"]}`},
	})
}

// TestManyCopiesOfAFieldRulesKey: a field rule over a line holding its key
// many times looked each copy's value up in the whole message: quadratic
// (regress19b F8: 40,000 copies, 14 s for one line, which a client whose
// body the app logs can send). The lookups have a budget of a few times
// the line; past it the message is withheld, no value shipped.
// TestQuotedCredentialLongBackslashRun: a run of backslashes after an
// opening quote was scanned from each of its backslashes (regress19c R3:
// 65 s for 1 MB).
func TestQuotedCredentialLongBackslashRun(t *testing.T) {
	r := mustNew(t, Defaults())
	rec := newRecord(`Authorization: Bearer "x` + strings.Repeat(`\`, 200000))
	start := time.Now()
	r.Apply(rec)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("%v for a 200 KB line", took)
	}
}

// TestHundredsOfCopiesAreNotWithheld: an ordinary line with an array of
// some hundreds of objects holding a field rule's key is redacted, not
// withheld (regress19c R4: 300 elements in 17.8 KB were).
func TestHundredsOfCopiesAreNotWithheld(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	r := mustNew(t, []Rule{{Field: "items.ssn"}})
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"ssn":"%03d-45-%04d","n":%d}`, i%1000, i, i)
	}
	b.WriteString(`],"msg":"ok"}`)
	line := []byte(b.String())
	var rec sidetrail.Record
	rec.Message = line
	if err := p.Parse(line, &rec); err != nil {
		t.Fatal(err)
	}
	r.Apply(&rec)
	if !bytes.Contains(rec.Message, []byte(`"msg":"ok"`)) || bytes.Contains(rec.Message, []byte("-45-")) {
		t.Fatalf("message %.200s…", rec.Message)
	}
}

func TestManyCopiesOfAFieldRulesKey(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rules := range [][]Rule{{{Field: "ssn"}}, {{Field: "body.ssn"}}} {
		var logs syncbuf.Buffer
		r := mustNew(t, rules, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		defer func() {
			// It says why (redact20 F7: "could not be found").
			if !strings.Contains(logs.String(), "too many values to look up") {
				t.Errorf("rule %s: log %q", rules[0].Field, logs.String())
			}
		}()
		for _, nested := range []bool{rules[0].Field == "body.ssn"} {
			var b strings.Builder
			b.WriteString("{")
			if nested {
				b.WriteString(`"body":{`)
			}
			for i := range 40000 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `"ssn":"v%06d-xx"`, i)
			}
			if nested {
				b.WriteString("}")
			}
			b.WriteString(`,"a":[1]}`)
			line := []byte(b.String())
			var rec sidetrail.Record
			rec.Message = line
			if err := p.Parse(line, &rec); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r.Apply(&rec)
			took := time.Since(start)
			if bytes.Contains(rec.Message, []byte("-xx")) {
				t.Errorf("rule %s, nested %v: a value shipped in the message", rules[0].Field, nested)
			}
			for _, f := range rec.Fields {
				if bytes.Contains(f.Value, []byte("-xx")) {
					t.Errorf("rule %s, nested %v: a value shipped in field %s", rules[0].Field, nested, f.Key)
				}
			}
			if took > 2*time.Second {
				t.Errorf("rule %s, nested %v: %v for a %d-byte line", rules[0].Field, nested, took, len(line))
			}
		}
	}
}

// TestSecretsInEscapedQuotes: JSON or header text quoted with escapes
// (nginx's \x22, .NET's \u0022, a logfmt or JSON string's \") around a
// name=value, an Authorization value or a pretty-printed member
// (redact20 F4, F5, F6, F11, F12: they shipped, or the JSON broke).
func TestSecretsInEscapedQuotes(t *testing.T) {
	runGapCases(t, Defaults(), []gapCase{
		// F4: the escape's letters were read as the name's.
		{name: "name after nginx quote", msg: `"{\x22q\x22:\x22password=s3cretN\x22}"`, wantMsg: `"{\x22q\x22:\x22password=[REDACTED]\x22}"`},
		{name: "name after .NET quote", msg: `F {\u0022cb\u0022:\u0022token=s3cretP\u0022}`, wantMsg: `F {\u0022cb\u0022:\u0022token=[REDACTED]\u0022}`},
		{name: "name after line break", msg: `msg="a\npassword=s3cret b"`, wantMsg: `msg="a\npassword=[REDACTED] b"`},
		// F5: the escaped quote's backslash was masked with the value.
		{name: "value before escaped quote", msg: `F {"msg":"req url=\"/login?password=hunter2\" status=401"}`, wantMsg: `F {"msg":"req url=\"/login?password=[REDACTED]\" status=401"}`},
		// F6, F11: an Authorization value in escaped quotes.
		{name: "logfmt header", msg: `level=INFO headers="Authorization: \"Basic czNjcmV0\""`, wantMsg: `level=INFO headers="Authorization: \"Basic [REDACTED]\""`},
		{name: "logfmt authorization=", msg: `hdr="authorization=\"s3cretTOKb\" accept=x"`, wantMsg: `hdr="authorization=\"[REDACTED]\" accept=x"`},
		{name: "two levels", msg: `{"h":"Authorization: \\\"Basic czNjcmV0\\\""}`, wantMsg: `{"h":"Authorization: \\\"Basic [REDACTED]\\\""}`},
		{name: "CRI payload", msg: `F {"m":"Authorization: \"Basic s3cretAAA\"","n":1}`, wantMsg: `F {"m":"Authorization: \"Basic [REDACTED]\"","n":1}`},
		// F12: .NET's quotes with escaped white space around the colon.
		{name: ".NET line break after colon", msg: `x {\u0022password\u0022:\n    \u0022s3cretA\u0022} y`, wantMsg: `x {\u0022password\u0022:\n    \u0022[REDACTED]\u0022} y`},
		{name: ".NET tabs around colon", msg: `x {\u0022password\u0022\t:\t\u0022s3cretB\u0022} y`, wantMsg: `x {\u0022password\u0022\t:\t\u0022[REDACTED]\u0022} y`},
		{name: ".NET u000a", msg: `x {\u0022password\u0022:\u000a\u0022s3cretJ\u0022} y`, wantMsg: `x {\u0022password\u0022:\u000a\u0022[REDACTED]\u0022} y`},
	})
	runGapCases(t, []Rule{{Builtin: "bearer_token"}}, []gapCase{
		{name: "bearer alone, nginx quotes", msg: `x \x22Authorization\x22:\x22Basic czNjcmV0MQ\x22 y`, wantMsg: `x \x22Authorization\x22:\x22Basic [REDACTED]\x22 y`},
		{name: "bearer alone, escaped quotes", msg: `x \"Authorization\":\"Basic czNjcmV0MQ\" y`, wantMsg: `x \"Authorization\":\"Basic [REDACTED]\" y`},
	})
}

// TestRegress20b: what the first fixes of redact20's findings broke
// (regress20b G1-G9): secrets after a path's backslash, addresses after a
// percentage, quoted values starting with a backslash or ':', a compact
// array after a scheme, IPv6 after "\b", Digest values in escaped quotes,
// a pretty-printed escaped Authorization member, and a backslash run.
func TestRegress20b(t *testing.T) {
	rules := append(Defaults(), Rule{Builtin: "ipv4"}, Rule{Builtin: "ipv6"})
	runGapCases(t, rules, []gapCase{
		{name: "G1 windows path", msg: `path=C:\app\token=s3cretA1 y`, wantMsg: `path=C:\app\token=[REDACTED] y`},
		{name: "G1 UNC in JSON", msg: `{"msg":"reading \\\\fileserver\\share\\token=s3cretJ2&mode=ro"}`, wantMsg: `{"msg":"reading \\\\fileserver\\share\\token=[REDACTED]&mode=ro"}`},
		{name: "G2 percentage", msg: `cpu=95%10.9.8.7 y`, wantMsg: `cpu=95%[REDACTED:ipv4] y`},
		{name: "G2 percentage, three digits", msg: `disk 99%192.168.1.20 full`, wantMsg: `disk 99%[REDACTED:ipv4] full`},
		{name: "G3 backslash first", msg: `x Authorization: "\s3cretTOK7" y`, wantMsg: `x Authorization: "[REDACTED]" y`},
		{name: "G3 in JSON", msg: `{"h":"Authorization: \"\\s3cretJ5\""}`, wantMsg: `{"h":"Authorization: \"[REDACTED]\""}`},
		{name: "G4 compact array", msg: `{"args":["Authorization: Bearer ",401,"unauthorized"],"n":1}`, wantMsg: `{"args":["Authorization: [REDACTED] ",401,"unauthorized"],"n":1}`},
		{name: "G4 object after", msg: `{"parts":["Bearer ",3600,{"a":1}]}`, wantMsg: `{"parts":["Bearer ",3600,{"a":1}]}`},
		{name: "G6 b starts the address", msg: `x \b20:db8::7 y`, wantMsg: `x \[REDACTED:ipv6] y`},
		{name: "G6 fe80 after a backslash", msg: `x \\fe80::1 y`, wantMsg: `x \\[REDACTED:ipv6] y`},
		{name: "G6 form feed", msg: `x \f2001:db8::7 y`, wantMsg: `x \f[REDACTED:ipv6] y`},
		{name: "G7 Digest in escaped quotes", msg: `{"m":"Authorization: \"Digest username=\\\"bob\\\", response=\\\"s3cretD2\\\"\""}`, wantMsg: `{"m":"Authorization: \"Digest [REDACTED]\""}`},
		{name: "G8 nginx quote, colon first", msg: `x Authorization: \x22:s3cretP1\x22 y`, wantMsg: `x Authorization: \x22[REDACTED]\x22 y`},
		{name: "G8 plain quote, colon first", msg: `x Authorization: ":s3cretP9" y`, wantMsg: `x Authorization: "[REDACTED]" y`},
		{name: "G8 single quote, colon first", msg: `x Authorization: ':s3cretPa' y`, wantMsg: `x Authorization: '[REDACTED]' y`},
		{name: "comma first, nginx quotes", msg: `Authorization: Bearer \x22,s3cretTOKEN\x22 y`, wantMsg: `Authorization: Bearer \x22[REDACTED]\x22 y`},
		{name: "array after a scheme", msg: `{"a":["Bearer ","next"],"b":["Basic ",true,"x"]}`, wantMsg: `{"a":["Bearer ","next"],"b":["Basic ",true,"x"]}`},
		// regress20c R1, R2: a value ending in an escaped backslash at a
		// JSON string's end kept the string's closing quote escaped; a
		// run of backslashes before nginx's quote in a JSON string lost
		// one; a card after "%41" (no URL's escape) shipped.
		{name: "R1 backslash at a string's end", msg: `F {"m":"password=s3cretB1\\","n":"KEEP"}`, wantMsg: `F {"m":"password=[REDACTED]","n":"KEEP"}`},
		{name: "R1 escaped quote kept", msg: `F {"m":"x \"password=s3cretK\" y"}`, wantMsg: `F {"m":"x \"password=[REDACTED]\" y"}`},
		{name: "R2 nginx quote in a JSON string", msg: `F {"m":"a \\x22password=s3cretG\\x22 b"}`, wantMsg: `F {"m":"a \\x22password=[REDACTED]\\x22 b"}`},
		{name: "R2 card after %41", msg: `x %414111111111111111 y`, wantMsg: `x %41[REDACTED:credit_card] y`},
		// A card right after a bare "%": its first digits were read as
		// the escape's, and it shipped.
		{name: "card after a percentage", msg: `x 100%4111111111111111 y`, wantMsg: `x 100%[REDACTED:credit_card] y`},
		{name: "card after a percent sign", msg: `x %4111111111111111 y`, wantMsg: `x %[REDACTED:credit_card] y`},
		{name: "card after %22, the escape's reading first", msg: `x %224111111111111111 y`, wantMsg: `x %22[REDACTED:credit_card] y`},
		{name: "card after %2C and a space", msg: `x %2C 4111111111111111 y`, wantMsg: `x %2C [REDACTED:credit_card] y`},
		{name: "no card either way", msg: `x %4111111111111112 y`, wantMsg: `x %4111111111111112 y`},
		// regress20c R4: an empty escaped string, then the credential,
		// read as no value: masked whole before escaped quotes were read.
		{name: "R4 empty nginx string, then the credential", msg: `x Authorization: \x22\x22s3cretPx y`, wantMsg: `x Authorization: \x22\x22[REDACTED] y`},
		{name: "R4 empty escaped string in JSON, then the credential", msg: `{"m":"Authorization: \"\"s3cretJx y"}`, wantMsg: `{"m":"Authorization: \"\"[REDACTED] y"}`},
		// regress21 F1: the same decoded, as a source's field holds it,
		// and with punctuation or an escape glued after the empty string.
		{name: "R4 plain empty string, then the credential", msg: `x Authorization: ""s3cretQ1 y`, wantMsg: `x Authorization: ""[REDACTED] y`},
		{name: "R4 single-quoted empty string", msg: `x Authorization: ''s3cretQ2 y`, wantMsg: `x Authorization: ''[REDACTED] y`},
		{name: "R4 decoded in a field", msg: `{"msg":"Authorization: \"\"s3cretQ3"}`, fields: []kv{{key: "msg", value: `Authorization: ""s3cretQ3`}},
			wantMsg: `{"msg":"Authorization: \"\"[REDACTED]"}`, want: map[string]string{"msg": `Authorization: ""[REDACTED]`}},
		// regress21b G4, regress21c H2: white space, escaped too, after
		// the empty string ends its text; punctuation goes on (a base64
		// credential may start with "+" or "/", base64url with "-" or "_").
		{name: "R4 base64 after the empty string", msg: `x Authorization: ""+dXNlcjpzM2NyZXQ= y`, wantMsg: `x Authorization: ""[REDACTED] y`},
		{name: "R4 base64url after the empty string", msg: `x Authorization: \x22\x22-s3cret_tokQ8 y`, wantMsg: `x Authorization: \x22\x22[REDACTED] y`},
		{name: "R4 escaped dash after the empty string", msg: `{"m":"Authorization: \"\"\u002ds3cretQ9 y"}`, wantMsg: `{"m":"Authorization: \"\"[REDACTED] y"}`},
		{name: "R4 escaped space after the empty string", msg: `x Authorization: \x22\x22\x20next y`, wantMsg: `x Authorization: \x22\x22\x20next y`},
		// regress21d J1: an escape of white space or a control
		// character is passed over to the word after it, in the message
		// and in the field that decodes it alike.
		{name: "R4 escaped tab after the empty string", msg: `{"msg":"Authorization: \"\"\ts3cretT1 words"}`, fields: []kv{{key: "msg", value: "Authorization: \"\"\ts3cretT1 words"}},
			wantMsg: `{"msg":"Authorization: \"\"\t[REDACTED] words"}`, want: map[string]string{"msg": "Authorization: \"\"\t[REDACTED] words"}},
		{name: "R4 literal backslash-n after the empty string", msg: `{"msg":"Authorization: \"\"\\ns3cretT2 x"}`, fields: []kv{{key: "msg", value: `Authorization: ""\ns3cretT2 x`}},
			wantMsg: `{"msg":"Authorization: \"\"[REDACTED] x"}`, want: map[string]string{"msg": `Authorization: ""\n[REDACTED] x`}},
		{name: "R4 space after the empty string", msg: `x Authorization: "" s3cret y`, wantMsg: `x Authorization: "" s3cret y`},
		{name: "R4 nginx byte escape after the empty string", msg: `x Authorization: \x22\x22\xC3\xA9s3cretQ7 y`, wantMsg: `x Authorization: \x22\x22[REDACTED] y`},
		{name: "R4 escape after the empty string", msg: `x Authorization: \x22\x22\u00e9s3cretQ5 y`, wantMsg: `x Authorization: \x22\x22[REDACTED] y`},
		{name: "R4 empty string, then a comma", msg: `{"Authorization":"","x":"s3cretQ6"}`, wantMsg: `{"Authorization":"","x":"s3cretQ6"}`},
		{name: "R4 empty escaped string, no value", msg: `{"m":"{\"Authorization\":\"\"}","n":1}`, wantMsg: `{"m":"{\"Authorization\":\"\"}","n":1}`},
		{name: "G8 no value", msg: `{"e":"missing header authorization:","status":401}`, wantMsg: `{"e":"missing header authorization:","status":401}`},
		{name: "G9 line break after colon", msg: `{"body":"{\n  \"Authorization\":\n    \"s3cretG1\"\n}"}`, wantMsg: `{"body":"{\n  \"Authorization\":\n    \"[REDACTED]\"\n}"}`},
		{name: "G9 nginx line break", msg: `"{\x22Authorization\x22:\x0A    \x22s3cretG3\x22}"`, wantMsg: `"{\x22Authorization\x22:\x0A    \x22[REDACTED]\x22}"`},
	})
}

// TestBackslashRunValue: a secret name's value made of a backslash run was
// walked from each backslash (regress20b G5: 79 s for 640 KB).
func TestBackslashRunValue(t *testing.T) {
	r := mustNew(t, Defaults())
	rec := newRecord(`x password=` + strings.Repeat(`\`, 300000) + ` y`)
	start := time.Now()
	r.Apply(rec)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("%v for a 300 KB line", took)
	}
}
