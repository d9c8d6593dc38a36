package redact

import (
	"testing"
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
