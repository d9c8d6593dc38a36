package redact_test

import (
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

// A field rule naming an object or array takes the values in it wherever
// else they stand, as it takes a string field's value (redact22 P1:
// "field: auth" shipped "invalid token abc123456def" where "field:
// auth.token" took it); and a key the line repeats with objects has its
// earlier copies taken too, for a rule naming the key or a member below it
// (redact22 P9: zap writes a key twice, and the earlier copy's value
// shipped in the message).
func TestFieldRuleOnObjectsAndTheirEarlierCopies(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	jsonCfg := parser.Config{Format: "json"}
	for _, tc := range []struct {
		rule   redact.Rule
		line   string
		secret []string
		keep   string // a value that stays
	}{
		{redact.Rule{Field: "auth", Action: "drop"},
			`{"auth":{"token":"abc123456def"},"msg":"request failed","error":"invalid token abc123456def"}`, []string{"abc123456def"}, "request failed"},
		{redact.Rule{Field: "ids", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"},
			`{"ids":["CustIdA5","CustIdB5"],"msg":"merged CustIdA5 into CustIdB5"}`, []string{"CustIdA5", "CustIdB5"}, "merged"},
		{redact.Rule{Field: "user", Action: "drop"},
			`{"level":"info","user":{"id":7,"ssn":"111-11-1111"},"msg":"x","user":{"id":7,"ssn":"222-22-2222"}}`, []string{"111-11", "222-22"}, `"level":"info"`},
		{redact.Rule{Field: "user.ssn"},
			`{"level":"info","user":{"id":7,"ssn":"111-11-1111"},"msg":"x 111-11-1111","user":{"id":7,"ssn":"222-22-2222"}}`, []string{"111-11", "222-22"}, `"id":7`},
		{redact.Rule{Field: "user.ssn", Action: "drop"},
			`{"user":{"ssn":"111-11-1111"},"user":"plain"}`, []string{"111-11"}, "plain"},
		{redact.Rule{Field: "user.ssn"},
			`{"user":{"a":{"b":1},"ssn":1234567},"user":{"ssn":{"x":"deep-secret-1"}},"user":{"id":1}}`, []string{"1234567", "deep-secret"}, `"b":1`},
	} {
		rec, out := parseRedact(t, jsonCfg, []redact.Rule{tc.rule}, tc.line)
		for _, s := range tc.secret {
			if strings.Contains(string(out), s) {
				t.Errorf("rule %s on %s: %q shipped: %s", tc.rule.Field, tc.line, s, out)
			}
		}
		if !strings.Contains(string(rec.Message), tc.keep) {
			t.Errorf("rule %s on %s: %q lost: %s", tc.rule.Field, tc.line, tc.keep, rec.Message)
		}
	}
}

// bearer_token with action drop leaves the scheme; the next pass took it
// with the word after it for another token, until the whole message was
// masked (redact22 P2). It runs once over a value.
func TestBearerDropKeepsTheWordsAfterIt(t *testing.T) {
	rules := []redact.Rule{{Builtin: "bearer_token", Action: "drop"}}
	for line, want := range map[string]string{
		"rejected Bearer abcdefTok123 from client, will retry in 5s": "rejected Bearer  from client, will retry in 5s",
		"Authorization: Basic dXNlcjpwYXNz next words":               "Authorization: Basic  next words",
		"got Bearer abcdefTok123 from a Bearer zyxwvuTok987 here":    "got Bearer  from a Bearer  here",
	} {
		rec, _ := parseRedact(t, parser.Config{Format: "raw"}, rules, line)
		if string(rec.Message) != want {
			t.Errorf("%s:\n got %s\nwant %s", line, rec.Message, want)
		}
	}
}

// A field rule's value inside another number field is taken out of it as
// out of the message's copy of that number (redact22 P4: the message lost
// it, the number fields shipped it).
func TestFieldRuleValueInsideOtherNumbers(t *testing.T) {
	rec, out := parseRedact(t, parser.Config{Format: "json"}, []redact.Rule{{Field: "account", Action: "drop"}},
		`{"account":"98765432","ref":9876543201,"amount":98765432.5,"n":1}`)
	if strings.Contains(string(out), "98765432") {
		t.Errorf("shipped: %s", out)
	}
	if n, _ := rec.Get("n"); string(n.Value) != "1" {
		t.Errorf("n = %q", n.Value)
	}
}

// A pattern that spells a backslash matched nginx's escape of one in the
// message ("CORP\x5Cjdoe": "CORP\x"), masked other bytes than the field's
// and shipped the name (redact22 P5). The message follows the field.
func TestPatternAcrossAnNginxEscapeFollowsTheField(t *testing.T) {
	rec, out := parseRedact(t, parser.Config{Format: "nginx"}, []redact.Rule{{Pattern: `CORP\\[a-z]+`}},
		`127.0.0.1 - CORP\x5Cjdoe [28/Nov/2026:07:30:19 +0000] "GET /x HTTP/1.1" 200 3 "-" "-"`)
	if strings.Contains(string(out), "jdoe") {
		t.Errorf("shipped: %s", out)
	}
	if !strings.Contains(string(rec.Message), `- [REDACTED] [28/Nov`) {
		t.Errorf("message %s", rec.Message)
	}
}

// regress22b: a leaf of an object a field rule takes is taken as URLs
// write it too (B1); an earlier copy that is an array of objects is walked
// (B2); short leaves and JSON literals elsewhere stay (B3); a drop pattern
// over a member's punctuation empties the field too (B4).
func TestObjectLeavesAndEarlierArrays(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	jsonCfg := parser.Config{Format: "json"}
	_, out := parseRedact(t, jsonCfg, []redact.Rule{{Field: "auth"}}, `{"auth":{"k":"ACCT R7 secret"},"u":"/p?x=ACCT%20R7%20secret","flag":false,"mode":"read"}`)
	if strings.Contains(string(out), "ACCT") || !strings.Contains(string(out), `"flag":false`) || !strings.Contains(string(out), `"mode":"read"`) {
		t.Errorf("B1/B3: %s", out)
	}
	_, out = parseRedact(t, jsonCfg, []redact.Rule{{Field: "user.ssn", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}}, `{"user":[{"ssn":"111-22-3333"}],"user":{"ssn":"222-33-4444"}}`)
	if strings.Contains(string(out), "111-22") || strings.Contains(string(out), "222-33") {
		t.Errorf("B2: %s", out)
	}
	rec, out := parseRedact(t, jsonCfg, []redact.Rule{{Pattern: `,"password":"[^"]*"`, Action: "drop"}}, `{"user":"eve","password":"hunter2pw","n":1}`)
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(rec.Message), `"user":"eve"`) {
		t.Errorf("B4: %s", out)
	}
}
