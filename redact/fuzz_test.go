package redact

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// fuzzRedactors are the rule sets FuzzRedact checks: the defaults plus a
// pattern; every builtin with other actions plus field rules; drops.
func fuzzRedactors(t testing.TB) []*Redactor {
	return []*Redactor{
		mustNew(t, append(Defaults(), Rule{Pattern: `sk_live_[0-9a-zA-Z]{8,}`}, Rule{Pattern: `pass=\S+`}, Rule{Pattern: `(pin=)[^" ]+`, Replace: `${1}"x"`})),
		mustNew(t, []Rule{
			{Field: "http_cookie", Action: "drop"},
			{Field: "remote_user", Action: "hash", KeyEnv: "K"},
			{Builtin: "credit_card", Action: "hash", KeyEnv: "K"},
			{Builtin: "email", Action: "hash", KeyEnv: "K"},
			{Builtin: "ipv4", Action: "truncate"},
			{Builtin: "ipv6"},
			{Builtin: "jwt"},
			{Builtin: "bearer_token", Action: "hash", KeyEnv: "K"},
			{Builtin: "aws_access_key", Action: "hash", KeyEnv: "K"},
			{Builtin: "query_secrets", Params: []string{"session"}},
			{Pattern: `(?i)(token|password|api_key)=[^&\s"]*`, Replace: "$1=[REDACTED]", Fields: []string{"request"}},
		}, hashEnv),
		// drop everywhere: removals join text; the chain reruns until
		// nothing matches.
		mustNew(t, []Rule{
			{Builtin: "credit_card", Action: "drop"},
			{Builtin: "email", Action: "drop"},
			{Builtin: "jwt", Action: "drop"},
			{Builtin: "aws_access_key", Action: "drop"},
			{Builtin: "query_secrets", Action: "drop"},
			{Builtin: "ipv4", Action: "drop"},
			{Pattern: `ab+c`, Action: "drop"},
		}),
	}
}

// tokenRE matches replacement tokens, which may contain any short value.
var tokenRE = regexp.MustCompile(`\[(REDACTED(:[a-z0-9_]+)?|HASH:[0-9a-f]{16})\]`)

// holds reports whether v appears in b outside replacement tokens.
func holds(b, v []byte) bool {
	for _, piece := range tokenRE.Split(string(b), -1) {
		if bytes.Contains([]byte(piece), v) {
			return true
		}
	}
	return false
}

// holdsInMessage is holds as field rules promise it for the message: a
// value shorter than shortNeedle counts only where no letter or digit
// touches it (inside "000", "00" is not that value). Next to a token it
// does not count either: what the token replaced may have been glued to it
// ("0\x00" twice in a row: the second went, the first was not alone).
func holdsInMessage(b, v []byte) bool {
	if len(v) >= shortNeedle {
		return holds(b, v)
	}
	pieces := tokenRE.Split(string(b), -1)
	for n, piece := range pieces {
		for i := 0; ; i++ {
			k := strings.Index(piece[i:], string(v))
			if k < 0 {
				break
			}
			s, e := i+k, i+k+len(v)
			leftAlone := s > 0 && !isAlnum(piece[s-1]) || s == 0 && n == 0
			rightAlone := e < len(piece) && !isAlnum(piece[e]) || e == len(piece) && n == len(pieces)-1
			if leftAlone && rightAlone {
				return true
			}
			i = s
		}
	}
	return false
}

// FuzzRedact: random records never make Apply panic, and afterwards no
// substring any rule would match remains in the message or a field (the
// detectors run again on the output); JSON values stay valid JSON; a
// field rule's value is gone from the message; a JSON message stays JSON;
// and no pre-filter rejects a value its detector would match.
func FuzzRedact(f *testing.F) {
	f.Add(typicalLine, "GET /a?token=x HTTP/1.1", `{"a":"b@c.de"}`, uint16(0), uint16(20))
	f.Add(secretLine, "sid=abc; x=y", `["4111 1111 1111 1111",5555555555554444]`, uint16(47), uint16(120))
	f.Add(`{"msg":"to a\u0040b.com","auth":"Bearer eyJa.eyJb.c"}`, "alice", `{"k":"AKIAIOSFODNN7EXAMPLE"}`, uint16(3), uint16(9))
	f.Add("x 2001:db8::1 10.1.2.3 sk_live_abcdefgh12 %40", "Authorization: Basic dXNlcg==", `{}`, uint16(1), uint16(7))
	f.Add("a@b.co4111111111111111x@y.zz", "pwd=1&session=2", `[1]`, uint16(0), uint16(5))
	f.Add(`{"pin":4111111111111111,"a":[5555555555554444],"password":12}`, "12", `[1]`, uint16(1), uint16(4))
	f.Add(`{"msg":"to \"https://x/?token=abc\" ok","n":1}`, "x", `["a\nbob@example.com"]`, uint16(0), uint16(3))
	f.Add(`{"a":"pass=one","b":"x\ty pass=two\"z","c":"pin=12\u00e9"}`, "pin=1", `{"m":"\tpass=3"}`, uint16(2), uint16(9))
	f.Add(`cards=4111111111111111%2C5555555555554444 %22AKIAIOSFODNN7EXAMPLE%22 \x224111111111111111\x22`, "%3D4111111111111111", `["%224111111111111111"]`, uint16(6), uint16(30))
	rs := fuzzRedactors(f)
	f.Fuzz(func(t *testing.T, msg, val, js string, a, b uint16) {
		for _, r := range rs {
			line := []byte(msg)
			rec := &sidetrail.Record{Message: line}
			rec.Add("request", sidetrail.KindString, []byte(val))
			rec.Add("http_cookie", sidetrail.KindString, []byte(val))
			rec.Add("remote_user", sidetrail.KindString, []byte(val))
			if i, j := int(a), int(b); i <= j && j <= len(line) {
				rec.Add("sub", sidetrail.KindString, line[i:j])
			}
			jsonIn := json.Valid([]byte(js))
			if jsonIn {
				rec.Add("j", sidetrail.KindJSON, []byte(js))
			}
			rec.Add("n", sidetrail.KindInt, []byte(val))

			checkPrefilters(t, r, line)
			checkPrefilters(t, r, []byte(val))

			r.Apply(rec)
			if st := r.Stats(); st.Failed != 0 {
				t.Fatalf("Apply panicked (contained): %+v", st)
			}
			leftovers(t, r, rec)
			if looksJSON(line) && json.Valid(line) && !json.Valid(rec.Message) && !bytes.HasPrefix(rec.Message, []byte("[message withheld")) && string(rec.Message) != maskToken {
				t.Errorf("a JSON message is no longer JSON:\n %s\n %s", line, rec.Message)
			}

			// Idempotent: redacting the output again changes nothing.
			again := &sidetrail.Record{Message: append([]byte(nil), rec.Message...)}
			for _, f := range rec.Fields {
				again.Add(f.Key, f.Kind, append([]byte(nil), f.Value...))
			}
			r.Apply(again)
			if !bytes.Equal(again.Message, rec.Message) {
				t.Errorf("second Apply changed the message:\n %q\n %q", rec.Message, again.Message)
			}
			if len(again.Fields) != len(rec.Fields) {
				t.Errorf("second Apply changed the fields: %d -> %d", len(rec.Fields), len(again.Fields))
			} else {
				for i := range again.Fields {
					if !bytes.Equal(again.Fields[i].Value, rec.Fields[i].Value) {
						t.Errorf("second Apply changed field %s: %q -> %q", rec.Fields[i].Key, rec.Fields[i].Value, again.Fields[i].Value)
					}
				}
			}
			if r.sh.fieldRules != nil {
				for _, f := range rec.Fields {
					if v := []byte(val); (f.Key == "request" || f.Key == "sub") && len(v) >= shortNeedle && bytes.IndexAny(v, "[]") < 0 && holds(f.Value, v) {
						t.Errorf("field rule value %q still in field %s=%q", v, f.Key, f.Value)
					}
				}
			}
			if r.sh.fieldRules != nil && !bytes.HasPrefix(rec.Message, []byte("[message withheld")) {
				// A value of JSON punctuation alone (`":`) is the structure
				// of a JSON message, not a value in it: taking it out
				// would leave no JSON.
				structural := looksJSON(rec.Message) && json.Valid(rec.Message) && len(bytes.Trim([]byte(val), `{}[]:," `)) == 0
				if v := []byte(val); len(v) > 1 && !structural && bytes.IndexAny(v, "[]") < 0 && holdsInMessage(rec.Message, v) {
					t.Errorf("field rule value %q still in message %q", v, rec.Message)
				}
			}
		}
	})
}

// checkPrefilters: a pre-filter that says no must be right.
func checkPrefilters(t *testing.T, r *Redactor, v []byte) {
	t.Helper()
	for _, ru := range r.sh.valueRules {
		if ru.maybe(v) {
			continue
		}
		if ru.kind == kindPattern {
			if ru.re.Match(v) {
				t.Errorf("rule %s: pre-filter rejects %q which the pattern matches", ru.name, v)
			}
			continue
		}
		if _, _, ok := ru.det.find(v, 0, "", &findState{}); ok {
			t.Errorf("rule %s: pre-filter rejects %q which the detector matches", ru.name, v)
		}
	}
}

// A mask token put at the start of a text message ("[HASH:…]" for a field
// value there) does not make it JSON: it is rewritten as text. It was
// rewritten as JSON: its unterminated "string" got a closing quote and its
// escapes decoded, and "\n" with "\u00400.AA" made the e-mail "n@0.AA",
// shipped (FuzzRedact).
func TestTokenAtStartDoesNotMakeTextJSON(t *testing.T) {
	r := mustNew(t, []Rule{{Field: "remote_user", Action: "hash", KeyEnv: "K"}, {Builtin: "email"}}, hashEnv)
	for _, msg := range []string{"\xd7\"0\\u00400.AA\n\\u00400.AA", "\xd7\"0\\u00400.AA"} {
		rec := &sidetrail.Record{Message: []byte(msg)}
		rec.Add("remote_user", sidetrail.KindString, []byte("\xd7"))
		r.Apply(rec)
		if got, want := string(rec.Message), "[HASH:115347445874af3f]"+msg[1:]; got != want {
			t.Errorf("%q: got %q, want %q", msg, got, want)
		}
	}
}

// A JSON line with a raw control byte is not valid JSON and does not parse,
// but its strings' escapes still hide secrets ("jane\u0040example.com"):
// it is redacted as JSON. A fix for the case above had asked for validity,
// and five of twelve such lines shipped their secrets (regress11).
func TestJSONLineWithRawControlByteRedactedAsJSON(t *testing.T) {
	r := mustNew(t, []Rule{{Builtin: "email"}, {Builtin: "credit_card"}, {Builtin: "query_secrets"}, {Builtin: "aws_access_key"}})
	for _, line := range []string{
		"{\"msg\":\"a\tb\",\"email\":\"jane\\u0040example.com\"}",
		"{\"msg\":\"a\x01b\",\"url\":\"/x?password=hunter2\\u0026a=1\"}",
		"{\"msg\":\"a\x1fb\",\"card\":\"4111\\u00201111\\u00201111\\u00201111\"}",
		"{\"msg\":\"a\tb\",\"k\":\"AKIA\\u0049OSFODNN7EXAMPLE\"}",
		"{\"msg\":\"a\x01b\",\"body\":\"{\\\"password\\\":\\\"hunter2secret\\\"}\"}",
	} {
		rec := &sidetrail.Record{Message: []byte(line), Flags: sidetrail.FlagParseFailure}
		r.Apply(rec)
		for _, s := range []string{"jane", "hunter2", "4111", "OSFODNN7"} {
			if bytes.Contains(rec.Message, []byte(s)) {
				t.Errorf("%q: %q shipped: %q", line, s, rec.Message)
			}
		}
	}
}
