package redact

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// oracleRedactor returns a Redactor like r's rules but without the
// shortcuts that prefilter.go adds: query_secrets runs its full scan (no
// candidate early-out) and applyJSON is gated by the rules' maybe alone.
func oracleRedactor(t testing.TB, rules []Rule, opts ...Options) *Redactor {
	r := mustNew(t, rules, opts...)
	r.sh.exactJSON = true
	for _, ru := range r.sh.valueRules {
		if q, ok := ru.det.(queryDetector); ok {
			q.exact = true
			ru.det = q
		}
	}
	return r
}

func queryDetectors() []queryDetector {
	return []queryDetector{
		newQueryDetector(defaultSecretParams),
		newQueryDetector(append(append([]string(nil), defaultSecretParams...), "p", "session", "x-my[key]")),
	}
}

// allMatches lists every match of find over b as applyRule walks it.
func allMatches(d detector, b []byte, key string) [][2]int {
	var out [][2]int
	var st findState
	for pos := 0; pos < len(b); {
		s, e, ok := d.find(b, pos, key, &st)
		if !ok || e <= s || s < pos || e > len(b) {
			break
		}
		out = append(out, [2]int{s, e})
		pos = e
	}
	return out
}

// checkCandidate: candidate's "no" is right (the scan finds nothing, no
// JSON key is a secret name), find gives the scan's matches, and candidate
// is monotone over substrings.
func checkCandidate(t *testing.T, b []byte, i, j int) {
	t.Helper()
	for _, q := range queryDetectors() {
		ex := q
		ex.exact = true
		got, want := allMatches(q, b, ""), allMatches(ex, b, "")
		if len(got) != len(want) {
			t.Fatalf("%q: find %v, scan %v", b, got, want)
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("%q: find %v, scan %v", b, got, want)
			}
		}
		if q.candidate(b) {
			continue
		}
		if len(want) > 0 {
			t.Fatalf("%q: candidate false, scan matches %v", b, want)
		}
		var member []byte
		for k := 0; ; {
			tk, next, ok := nextJSONToken(b, k)
			if !ok {
				break
			}
			k = next
			if tk.key {
				member = b[tk.s:tk.e]
				if q.secret(member) {
					t.Fatalf("%q: candidate false, key %q is a secret name", b, member)
				}
			}
		}
		if i <= j && j <= len(b) && q.candidate(b[i:j]) {
			t.Fatalf("%q: candidate false, true for its substring %q", b, b[i:j])
		}
	}
}

// TestQueryCandidateAdversarial: secrets where a shortcut is most likely to
// miss them: at the very start or end, upper case, percent-encoded, after
// ']' or a separator, as JSON members with white space before ':', with
// escapes, and near-misses that must stay untouched.
func TestQueryCandidateAdversarial(t *testing.T) {
	yes := []string{
		"token=abc", "x&token=abc", "?TOKEN=a", "PassWord=x", "db_password=x", "user[password]=x",
		"user[password]]]=x", "X-Amz-Security-Token=x", "a.key=1", "%3Ftoken%3Dabc", "%3ftoken%3dabc",
		"%26key%3D1", `{"password":"x"}`, `{"password" :"x"}`, "{\"password\"\t\n: 1}", `{"pin":1,"api_key":"k"}`,
		`"token":`, `sig=`, "auth=x", `{"a":{"secret":"s"}}`, "session=1", "p=1",
	}
	no := []string{
		"", "=", "==", "%3D", `":`, "tokens=1", "q=term&page=2", `{"time":"x","level":"info"}`, "passwordx=1",
		"%3Xtoken", `{"pass\u0077ord":"x"}`, "]]]=x", "key", `"key"`, "token", "a=b:c", `{"tier":"edge"}`,
	}
	q := newQueryDetector(append(append([]string(nil), defaultSecretParams...), "p", "session"))
	for _, s := range yes {
		if !q.candidate([]byte(s)) {
			t.Errorf("candidate(%q) = false", s)
		}
	}
	for _, s := range no {
		if q.candidate([]byte(s)) {
			t.Errorf("candidate(%q) = true", s)
		}
	}
	for _, s := range append(yes, no...) {
		checkCandidate(t, []byte(s), 0, len(s))
	}
}

// adversarialLines hold a secret per detector at the start, the end, in a
// part that a field slices, percent-encoded and JSON-escaped.
var adversarialLines = []string{
	`token=abc GET /x`,
	`GET /x?a=1&token=abc`,
	`GET /x?next=%2Fy%3Ftoken%3Dabc%26z%3D1 HTTP/1.1`,
	`GET /g?v=%7B%22in%22%3A%7B%22password%22%3A%22a%5C%22b%22%2C%22pin%22:-1e%2B3%2C%22secret%22%3A%5B%22%5D%22%5D%7D%7D HTTP/1.1`,
	`{"u":"/x?d=%7b%22token%22%3a+%22abc&n=%22key%22%3Atrue"}`,
	`GET /x?v={%22password%22:[%22a%22,1],%22n%22:%22{\%22pwd\%22+%3A\%22e\%22}%22,%22d%22%3A%22%7B%5C%22key%5C%22%0A%3A4%7D%22} HTTP/1.1`,
	`msg="{\"password\" \r\n:\t\"x\", \"key\"\\t:1}" {"log":"{\\\"token\\\"\\t: \\\"abc\\\"}"}`,
	`{"msg":"hi","password":"hunter2"}`,
	`{"msg":"hi","password" : "hunter2","cache":{"api_key":"k1","x":""}}`,
	`{"msg":"a\u0040b.com","auth":"Bearer eyJa.eyJb.c"}`,
	`{"cache":{"password":""}}`,
	`{"cache":{"password" : "x"}}`,
	`{"cache":{"url":"/a?token=x"}}`,
	`jane.doe@example.com visited`,
	`visited by jane.doe%40example.com`,
	`4111 1111 1111 1111`,
	`card 5555-5555-5555-4444`,
	`AKIAIOSFODNN7EXAMPLE`,
	`k=ASIAIOSFODNN7EXAMPLE`,
	`Authorization: Bearer abc.def`,
	`x authorization=Basic%20dXNlcg== y`,
	`eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig`,
}

// TestOracleAgreesOnAdversarialLines: each line, as the message, as a field
// slicing its second half, and as a JSON field, gives the same output with
// and without the shortcuts, and nothing a rule matches remains.
func TestOracleAgreesOnAdversarialLines(t *testing.T) {
	for _, l := range adversarialLines {
		compareWithOracle(t, l, l[len(l)/2:], `{"k":"`+l+`"}`, uint16(len(l)/3), uint16(len(l)))
		compareWithOracle(t, l, "x", l, 0, 0)
	}
	// JSON lines whose nested object is a field cut from the message.
	for _, l := range []string{
		`{"level":"info","cache":{"hit":false,"tier":"edge"},"msg":"a=b"}`,
		`{"u":"x","auth":{"password" : "hunter2","user":"jane"}}`,
		`{"u":"x","auth":{"token":"abc","mail":"jane@example.com"}} trailing`,
		`{"q":"a=1","n":{"api_key":12345,"sig":"AKIAIOSFODNN7EXAMPLE"}}`,
		`{"a":{"authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"}}`,
		`{"a":{"card":"4111 1111 1111 1111"},"b":"%3Fpassword%3Dx"}`,
	} {
		compareWithOracle(t, l, "x", `{"k":"v"}`, 0, 0)
	}
}

func compareWithOracle(t *testing.T, msg, val, js string, a, b uint16) {
	t.Helper()
	for _, rules := range oracleRuleSets() {
		r, o := mustNew(t, rules, hashEnv), oracleRedactor(t, rules, hashEnv)
		r1, r2 := fuzzRecord(msg, val, js, a, b), fuzzRecord(msg, val, js, a, b)
		r.Apply(r1)
		o.Apply(r2)
		if !bytes.Equal(r1.Message, r2.Message) {
			t.Fatalf("message of %q: %q, oracle %q", msg, r1.Message, r2.Message)
		}
		if len(r1.Fields) != len(r2.Fields) {
			t.Fatalf("%q: %d fields, oracle %d", msg, len(r1.Fields), len(r2.Fields))
		}
		for i := range r1.Fields {
			f1, f2 := r1.Fields[i], r2.Fields[i]
			if f1.Key != f2.Key || f1.Kind != f2.Kind || !bytes.Equal(f1.Value, f2.Value) {
				t.Fatalf("%q: field %s=%q (%v), oracle %s=%q (%v)", msg, f1.Key, f1.Value, f1.Kind, f2.Key, f2.Value, f2.Kind)
			}
		}
		if st1, st2 := r.Stats(), o.Stats(); st1.Redacted != st2.Redacted || st1.Failed != 0 {
			t.Fatalf("%q: stats %+v, oracle %+v", msg, st1, st2)
		}
		leftovers(t, r, r1)
	}
}

func oracleRuleSets() [][]Rule {
	return [][]Rule{
		Defaults(),
		{{Builtin: "query_secrets", Params: []string{"p", "session"}, Fields: []string{"request", "sub", "j"}}, {Builtin: "email"}},
		{{Builtin: "query_secrets", Action: "drop"}, {Builtin: "jwt", Action: "drop"}, {Pattern: `ab+c`, Action: "drop"}},
		{{Field: "remote_user", Action: "hash", KeyEnv: "K"}, {Builtin: "query_secrets", Action: "hash", KeyEnv: "K"}, {Builtin: "bearer_token"}},
	}
}

// fuzzRecord builds a record as FuzzRedact does: fields that are copies,
// one that slices the message, a JSON value and a number.
func fuzzRecord(msg, val, js string, a, b uint16) *sidetrail.Record {
	line := []byte(msg)
	rec := &sidetrail.Record{Message: line}
	rec.Add("request", sidetrail.KindString, []byte(val))
	rec.Add("remote_user", sidetrail.KindString, []byte(val))
	rec.Add("password", sidetrail.KindString, []byte(val))
	if i, j := int(a), int(b); i <= j && j <= len(line) {
		rec.Add("sub", sidetrail.KindString, line[i:j])
	}
	if json.Valid([]byte(js)) {
		rec.Add("j", sidetrail.KindJSON, []byte(js))
		rec.Add("cache", sidetrail.KindJSON, []byte(js))
	}
	// A JSON value cut from the message, as the JSON parser gives nested
	// objects: the first '{' to the last '}'.
	if i, j := bytes.IndexByte(line, '{'), bytes.LastIndexByte(line, '}'); i >= 0 && j > i && json.Valid(line[i:j+1]) {
		rec.Add("nested", sidetrail.KindJSON, line[i:j+1])
	}
	rec.Add("n", sidetrail.KindInt, []byte(val))
	// A name from the line, as the JSON parser gives them.
	if val != "" {
		rec.KeysFromLine = true
		rec.Add(val, sidetrail.KindString, []byte("v"))
	}
	return rec
}

// FuzzQueryCandidate: candidate never says no where the scan or
// secretMember would find something, and is monotone.
func FuzzQueryCandidate(f *testing.F) {
	for _, l := range adversarialLines {
		f.Add([]byte(l), uint16(0), uint16(len(l)/2))
	}
	f.Add([]byte(`{"a" : 1, "token"  :"x"}`), uint16(1), uint16(9))
	f.Fuzz(func(t *testing.T, b []byte, i, j uint16) {
		for _, q := range queryDetectors() {
			if v, s := q.candidateVec(b), q.candidateScalar(b); v != s {
				t.Fatalf("%q: candidateVec %v, candidateScalar %v", b, v, s)
			}
		}
		checkCandidate(t, b, int(i), int(j))
	})
}

// FuzzOracle: Apply with the shortcuts gives byte for byte what it gives
// without them.
func FuzzOracle(f *testing.F) {
	for _, l := range adversarialLines {
		f.Add(l, l[len(l)/2:], `{"k":"v"}`, uint16(0), uint16(len(l)))
	}
	f.Add(typicalLine, "GET /a?token=x HTTP/1.1", `{"a":"b@c.de","password" : ""}`, uint16(0), uint16(20))
	f.Fuzz(func(t *testing.T, msg, val, js string, a, b uint16) {
		compareWithOracle(t, msg, val, js, a, b)
	})
}

// A field cut from the line right after a percent-encoded secret member's
// number that words follow: the message masked no value there, and the
// field held the number (seen in analysis; the shape of a FuzzOracle find).
func TestPctNumberBeforeWordsCutAfterIt(t *testing.T) {
	for _, msg := range []string{
		`GET /s?q=%22token%22%3A+2024+release HTTP/1.1`,
		`GET /s?q=%22token%22%3A2024+release HTTP/1.1`,
		`GET /s?q=%22token%22%3A%202024%20release HTTP/1.1`,
	} {
		for j := len(msg); j > 20; j-- {
			compareWithOracle(t, msg, "", "", 0, uint16(j))
		}
	}
}

// q.pairs, the table candidateVec skips by, says no only where
// endsWithSecret says no, whatever comes before the last two bytes.
func TestQueryPairsNeverSkipASecret(t *testing.T) {
	for _, q := range queryDetectors() {
		for x := range 256 {
			for y := range 256 {
				i := x<<8 | y
				if q.pairs[i>>6]&(1<<(i&63)) != 0 {
					continue
				}
				for _, pre := range []string{"", "a", "pass", "passwor", "client_secre", "api_ke", "toke", "x[", "s%5", "password[0"} {
					b := append([]byte(pre), byte(x), byte(y))
					if q.endsWithSecret(b) {
						t.Fatalf("%q ends with a secret, and pairs skips it", b)
					}
				}
			}
		}
	}
}
