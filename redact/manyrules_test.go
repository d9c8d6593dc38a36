package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// Rules that never match, put before the defaults, change nothing. With 63
// or more value rules before query_secrets and bearer_token, those two no
// longer masked a value by its field or member name: {"password":"x"}
// shipped x in its field, nginx's $http_authorization "Basic …" in its
// field and the message (redact16 F2: the keyed rules were looked for
// among the first 63 value rules only).
func TestManyRulesBeforeTheKeyedOnesChangeNothing(t *testing.T) {
	for _, n := range []int{57, 58, 62, 63, 64, 70} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var rules []Rule
			for i := range n {
				rules = append(rules, Rule{Pattern: fmt.Sprintf("QQDUMMY%03dX[0-9]+", i)})
			}
			few, many := mustNew(t, Defaults()), mustNew(t, append(rules, Defaults()...))
			records := func() []*sidetrail.Record {
				recs := []*sidetrail.Record{
					newRecord(`{"password":"Zq9SeKr3tVaLu","user":{"api_key":"Zq9SeKr3tVaLu"},"db_password":{"v":"Zq9SeKr3tVaLu"}}`,
						kv{key: "password", value: "Zq9SeKr3tVaLu"},
						kv{key: "user", value: `{"api_key":"Zq9SeKr3tVaLu"}`, kind: sidetrail.KindJSON},
						kv{key: "db_password", value: `{"v":"Zq9SeKr3tVaLu"}`, kind: sidetrail.KindJSON},
						kv{key: "headers", value: `{"Authorization":"Basic dXNlcjpacTlTZUtyM3RWYUx1"}`, kind: sidetrail.KindJSON}),
					newRecord(`10.0.0.1 - - "GET / HTTP/1.1" 200 5 "-" "curl" "Basic dXNlcjpacTlTZUtyM3RWYUx1"`,
						kv{key: "http_authorization", value: "Basic dXNlcjpacTlTZUtyM3RWYUx1"}),
					newRecord(`{"o":{"pass\u0077ord":"Zq9SeKr3tVaLu"}}`,
						kv{key: "o", value: `{"pass\u0077ord":"Zq9SeKr3tVaLu"}`, kind: sidetrail.KindJSON}),
				}
				for _, l := range adversarialLines {
					recs = append(recs, fuzzRecord(l, l[len(l)/2:], `{"token":"v","k":"v"}`, 0, uint16(len(l))))
				}
				return recs
			}
			a, b := records(), records()
			for i := range a {
				few.Apply(a[i])
				many.Apply(b[i])
				if !bytes.Equal(a[i].Message, b[i].Message) {
					t.Fatalf("record %d: message %q with the defaults alone, %q after %d rules", i, a[i].Message, b[i].Message, n)
				}
				for k := range a[i].Fields {
					if !bytes.Equal(a[i].Fields[k].Value, b[i].Fields[k].Value) {
						t.Fatalf("record %d: field %s %q with the defaults alone, %q after %d rules", i, a[i].Fields[k].Key, a[i].Fields[k].Value, b[i].Fields[k].Value, n)
					}
				}
			}
			if v, _ := field(b[0], "password"); v != "[REDACTED]" {
				t.Fatalf("password field %q", v)
			}
		})
	}
}

// A JSON member whose quotes are escaped (JSON inside a string: a logfmt or
// slog value, a request body, Docker's json-file line read raw) is masked as
// the same member unescaped is: its value, an object or array whole. The
// name was read with the backslash before its closing quote ("password\")
// and the value shipped (redact16 F1).
func TestEscapedJSONMembers(t *testing.T) {
	r := mustNew(t, Defaults())
	const s = "Zq9SeKr3tVaLu"
	wantMessages(t, r, map[string]string{
		`msg="{\"password\":\"` + s + `\"}"`:                              `msg="{\"password\":\"[REDACTED]\"}"`,
		`level=info body="{\"password\":\"` + s + `\",\"user\":\"bob\"}"`: `level=info body="{\"password\":\"[REDACTED]\",\"user\":\"bob\"}"`,
		`body="{\"token\": \"` + s + `\"}"`:                               `body="{\"token\": \"[REDACTED]\"}"`,
		`x {\"api_key\":\"` + s + `\"}`:                                   `x {\"api_key\":\"[REDACTED]\"}`,
		`body="{\"user\":{\"password\":\"` + s + `\"}}"`:                  `body="{\"user\":{\"password\":\"[REDACTED]\"}}"`,
		`body="{\"password\":{\"v\":\"` + s + `\",\"w\":[1,\"}\"]}}"`:     `body="{\"password\":\"[REDACTED]\"}"`,
		`body="{\"pin\":1234,\"password\":\"\"}"`:                         `body="{\"pin\":1234,\"password\":\"\"}"`,
		`body="{\"password\":true}"`:                                      `body="{\"password\":true}"`,
		`body="{\"password\":98765}"`:                                     `body="{\"password\":\"[REDACTED]\"}"`,
		// Docker's json-file line of an app's JSON line holding JSON.
		`{"log":"{\"body\":\"{\\\"password\\\":\\\"` + s + `\\\"}\"}\n"}`: `{"log":"{\"body\":\"{\\\"password\\\":\\\"[REDACTED]\\\"}\"}\n"}`,
		// Pretty-printed, then encoded into a string: an escaped line
		// break and tab between the colon and the value (regress16 F3).
		`msg="{\n\t\"password\":\n\t\"` + s + `\"\n}"`:          `msg="{\n\t\"password\":\n\t\"[REDACTED]\"\n}"`,
		`{"log":"{\\n  \\\"token\\\":\\n  \\\"` + s + `\\\"}"}`: `{"log":"{\\n  \\\"token\\\":\\n  \\\"[REDACTED]\\\"}"}`,
		// An escaped tab or line break between the name and its colon
		// too, at each level; not one escaped at another level than the
		// quotes, nor one where the quotes are not escaped
		// (regress17c L2: the value shipped).
		`msg="{\"password\"\t:\t\"` + s + `\"}"`:          `msg="{\"password\"\t:\t\"[REDACTED]\"}"`,
		`msg="{\"password\" \r\n :\"` + s + `\"}"`:        `msg="{\"password\" \r\n :\"[REDACTED]\"}"`,
		`{"log":"{\\\"token\\\"\\t: \\\"` + s + `\\\"}"}`: `{"log":"{\\\"token\\\"\\t: \\\"[REDACTED]\\\"}"}`,
		`x \"password\"\\t:\"v\" "token"\t:"v"`:           `x \"password\"\\t:\"v\" "token"\t:"v"`,
		// A name ending in an escaped backslash is no secret's name.
		`x {\"password\\\\\":\"v\"}`: `x {\"password\\\\\":\"v\"}`,
	})
}

// In a JSON line, JSON inside a string stays JSON when a number, object or
// array under a secret name in it is masked: the token goes in as a string
// (regress16 F9: \"password\":[REDACTED] made the inner text no JSON).
func TestEscapedJSONStaysJSON(t *testing.T) {
	r := mustNew(t, Defaults())
	for _, line := range []string{
		`{"log":"{\"password\":{\"v\":424242},\"n\":7}"}`,
		`{"log":"{\"password\":424242,\"x\":[1,2]}"}`,
		`{"log":"{\"token\":[\"a\",{\"b\":424242}]}","k":1}`,
		`{"log":"{\"inner\":\"{\\\"password\\\":{\\\"v\\\":424242}}\"}"}`,
	} {
		for _, raw := range []bool{false, true} {
			rec := newRecord(line)
			if !raw {
				var m map[string]any
				json.Unmarshal([]byte(line), &m)
				rec.KeysFromLine = true
				for k, v := range m {
					if s, ok := v.(string); ok {
						rec.Add(k, sidetrail.KindString, []byte(s))
					}
				}
			}
			r.Apply(rec)
			var top map[string]any
			if err := json.Unmarshal(rec.Message, &top); err != nil {
				t.Fatalf("%s (raw %v): message %s is no JSON: %v", line, raw, rec.Message, err)
			}
			inner, _ := top["log"].(string)
			var in map[string]any
			if err := json.Unmarshal([]byte(inner), &in); err != nil {
				t.Fatalf("%s (raw %v): log %s is no JSON: %v", line, raw, inner, err)
			}
			if bytes.Contains(rec.Message, []byte("424242")) {
				t.Fatalf("%s (raw %v): a secret shipped: %s", line, raw, rec.Message)
			}
		}
	}
}

// A number or literal under Authorization is masked without the brace
// after it: the message stays JSON (regress16 F7: {"Authorization":
// 200559} shipped as {"Authorization": [REDACTED], no JSON).
func TestAuthorizationNumberKeepsTheBrace(t *testing.T) {
	r := mustNew(t, Defaults())
	for _, line := range []string{`{"Authorization": 200559}`, `{"a":{"Authorization": true},"b":1}`, `{"authorization":12}`} {
		rec := newRecord(line)
		r.Apply(rec)
		if !json.Valid(rec.Message) || bytes.Contains(rec.Message, []byte("200559")) {
			t.Errorf("%s: %s", line, rec.Message)
		}
	}
}

// An Authorization string holding escaped quotes (Digest credentials) in
// JSON after other text is masked whole and stays a string: bearer_token
// cut it at its first backslash, the response shipped and the JSON broke
// (regress16 F4).
func TestDigestAuthorizationInJSON(t *testing.T) {
	r := mustNew(t, Defaults())
	const s = "Zq9SeKr3tVaLu"
	for _, line := range []string{
		`2026-11-27T10:00:00.000Z stdout F {"level":"info","headers":{"Authorization":"Digest username=\"bob\", realm=\"api\", nonce=\"abc\", uri=\"/x\", response=\"` + s + `\""},"path":"/x"}`,
		`app: {"headers":{"Authorization":"Digest username=\"bob\", response=\"` + s + `\""}}`,
		`x {"Authorization":"Bearer a\"` + s + `"}`,
	} {
		rec := newRecord(line)
		r.Apply(rec)
		msg := rec.Message
		if bytes.Contains(msg, []byte(s)) {
			t.Errorf("a secret shipped: %s", msg)
		}
		if i := bytes.IndexByte(msg, '{'); !json.Valid(msg[i:]) {
			t.Errorf("the JSON broke: %s", msg)
		}
	}
}

// JSON after a raw line's prefix (a CRI or syslog header) stays JSON when a
// secret member's number, literal, object or array is masked: the token
// goes in as a string, as the README says ({"password":"[REDACTED]"}).
// It went in bare, and 1,408 of 4,000 fuzzed CRI lines broke.
func TestJSONAfterAPrefixStaysJSON(t *testing.T) {
	r := mustNew(t, Defaults())
	wantMessages(t, r, map[string]string{
		`x {"req":{"password":{"v":"424242"}}}`:  `x {"req":{"password":"[REDACTED]"}}`,
		`x {"pin":1234,"password":[1,424242]}`:   `x {"pin":1234,"password":"[REDACTED]"}`,
		`x {"token": 424242, "a":1}`:             `x {"token": "[REDACTED]", "a":1}`,
		`x {"Authorization": 424242}`:            `x {"Authorization": "[REDACTED]"}`,
		`x {"a":{"Authorization":true},"b":1}`:   `x {"a":{"Authorization":true},"b":1}`,
		`x {"Authorization":"Basic 424242"}`:     `x {"Authorization":"[REDACTED]"}`,
		`authorization=424242 "pwd":424242 tail`: `authorization=[REDACTED] "pwd":"[REDACTED]" tail`,
		// A string ending in the name: its closing quote opens no value
		// (regress17 R1: the comma to the next member was masked), and
		// the next name is not taken for one (G3: the password shipped).
		`x {"error":"missing header authorization:","status":401}`:    `x {"error":"missing header authorization:","status":401}`,
		`x {"headers":["Authorization:", "Bearer xyz"]}`:              `x {"headers":["Authorization:", "Bearer [REDACTED]"]}`,
		`err="missing authorization:", user="keepme"`:                 `err="missing authorization:", user="keepme"`,
		`err="no authorization=" password="S3cr3tPW"`:                 `err="no authorization=" password="[REDACTED]"`,
		`msg="authorization=" authorization="Basic SeKr3tTOK" user=x`: `msg="authorization=" authorization="[REDACTED]" user=x`,
		// A card number that is a member's value, after a prefix or in
		// JSON inside a string: the token goes in quotes of the name's
		// kind (regress17b L1: bare, that JSON no longer parsed).
		`x {"n":4111111111111111,"a":1}`:                   `x {"n":"[REDACTED:credit_card]","a":1}`,
		`x {"m":"{\"n\": 4111111111111111}"}`:              `x {"m":"{\"n\": \"[REDACTED:credit_card]\"}"}`,
		`x {\x22n\x22:4111111111111111}`:                   `x {\x22n\x22:\x22[REDACTED:credit_card]\x22}`,
		`card 4111111111111111 and "n": 4111111111111111x`: `card [REDACTED:credit_card] and "n": 4111111111111111x`,
		// A string holding ':' before a number is no member (regress17c R2).
		`x {"b":":4111111111111111,x"}`: `x {"b":":[REDACTED:credit_card],x"}`,
	})
}

// JSON inside a string whose quotes are written \u0022 (.NET's
// System.Text.Json default), in a line not read as JSON (a CRI line read
// raw): its secret members are masked as those of JSON with '"' or \x22
// for quotes are (regress16 F2: they shipped).
func TestJSONQuoteEscapedMembers(t *testing.T) {
	r := mustNew(t, Defaults())
	const s = "Zq9SeKr3tVaLu"
	wantMessages(t, r, map[string]string{
		`2026-11-27T10:00:00Z stdout F {"Message":"body {\u0022password\u0022:\u0022` + s + `\u0022}"}`: `2026-11-27T10:00:00Z stdout F {"Message":"body {\u0022password\u0022:\u0022[REDACTED]\u0022}"}`,
		`x body={\u0022token\u0022: \u0022` + s + `\u0022,\u0022user\u0022:\u0022bob\u0022}`:            `x body={\u0022token\u0022: \u0022[REDACTED]\u0022,\u0022user\u0022:\u0022bob\u0022}`,
		`x {\u0022api_key\u0022:41234567,\u0022a\u0022:1}`:                                              `x {\u0022api_key\u0022:\u0022[REDACTED]\u0022,\u0022a\u0022:1}`,
		`x {\u0022secret\u0022:[1,{\u0022v\u0022:2}],\u0022a\u0022:1}`:                                  `x {\u0022secret\u0022:\u0022[REDACTED]\u0022,\u0022a\u0022:1}`,
		// An escaped quote inside the value (\\\u0022), and an escaped
		// backslash ending it (\\\\\u0022).
		`x {\u0022secret\u0022:\u0022a\\\u0022` + s + `\u0022,\u0022k\u0022:\u0022keep\u0022}`: `x {\u0022secret\u0022:\u0022[REDACTED]\u0022,\u0022k\u0022:\u0022keep\u0022}`,
		`x {\u0022secret\u0022:\u0022` + s + `\\\\\u0022,\u0022k\u0022:\u0022keep\u0022}`:      `x {\u0022secret\u0022:\u0022[REDACTED]\u0022,\u0022k\u0022:\u0022keep\u0022}`,
		// "\\u0022" is a backslash and the text "u0022", no quote.
		`x \\u0022password\\u0022:\\u0022notquote`: `x \\u0022password\\u0022:\\u0022notquote`,
		`x {\u0022user\u0022:\u0022bob\u0022}`:     `x {\u0022user\u0022:\u0022bob\u0022}`,
		// A value left open ends with the JSON string holding it: it ran on
		// into the next string, masked the members after it, and a match
		// across strings panicked the redactor (regress17c R0, R1).
		`{"req":"{\u0022password\u0022:\u0022S1","resp":"{\u0022token\u0022:\u0022S2\u0022}","status":401}`: `{"req":"{\u0022password\u0022:\u0022[REDACTED]","resp":"{\u0022token\u0022:\u0022[REDACTED]\u0022}","status":401}`,
		`x "{\x22password\x22:\x22S1" "curl/8"`: `x "{\x22password\x22:\x22[REDACTED]" "curl/8"`,
	})
}

// A secret member's value that a line's end leaves open (an object, array,
// string or number that went on: a line cut at max_line_bytes, a body the
// app truncated, a container runtime's 16 KiB pieces) is masked to the end,
// or to the end of the string holding it: the object shipped whole, the
// secret 30 bytes from its start (redact16 F3, regress17b B3).
func TestOpenValueIsMasked(t *testing.T) {
	r := mustNew(t, Defaults())
	const s = "Zq9SeKr3tVaLu"
	pad := strings.Repeat("a", 40)
	for in, want := range map[string]string{
		`{"password":{"v":"` + s + `","pad":"` + pad:             `{"password":"[REDACTED]"`,
		`{"password":["` + s + `","` + pad:                       `{"password":"[REDACTED]"`,
		`x body="{\"token\":{\"v\":\"` + s + `\",\"p\":\"` + pad: `x body="{\"token\":\"[REDACTED]\"`,
		`x body="{\"token\":\"` + s + pad:                        `x body="{\"token\":\"[REDACTED]`,
		`x body="{\"secret\":12345`:                              `x body="{\"secret\":\"[REDACTED]\"`,
		// Open in a JSON string that ends: masked to its end, and the
		// line stays JSON.
		`{"body":"{\"password\":{\"old\":\"` + s + `","status":500}`: `{"body":"{\"password\":\"[REDACTED]\"","status":500}`,
		`{"body":"{\"password\":\"` + s + `","status":500}`:          `{"body":"{\"password\":\"[REDACTED]","status":500}`,
		`{"user":{"v":"` + s + `","pad":"` + pad:                     `{"user":{"v":"` + s + `","pad":"` + pad,
		`{"password":""` + pad:                                       `{"password":""` + pad,
		`x body="{\"token\":true,` + pad:                             `x body="{\"token\":true,` + pad,
		`x {"token":nu`:                                              `x {"token":nu`,
		// nginx's escaping: to the end of the field holding it, not of
		// the line.
		`x "{\x22password\x22:{\x22a\x22:\x22` + s + `" "curl/8"`: `x "{\x22password\x22:\x22[REDACTED]\x22" "curl/8"`,
	} {
		for _, frag := range []bool{false, true} {
			rec := newRecord(in)
			if frag {
				rec.Flags |= sidetrail.FlagFragment
			}
			r.Apply(rec)
			if string(rec.Message) != want {
				t.Errorf("fragment %v %s\n  got  %s\n  want %s", frag, in, rec.Message, want)
			}
		}
	}
}

// wantMessages applies r to a record of each line and checks its message.
func wantMessages(t *testing.T, r *Redactor, want map[string]string) {
	t.Helper()
	for line, w := range want {
		rec := newRecord(line)
		r.Apply(rec)
		if string(rec.Message) != w {
			t.Errorf("%s\n  got  %s\n  want %s", line, rec.Message, w)
		}
	}
}
