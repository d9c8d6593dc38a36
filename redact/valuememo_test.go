package redact

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// checkMemo asks the memo about every start of b in order, as a scan does,
// and compares each answer with skipValue's.
func checkMemo(t *testing.T, b []byte) {
	t.Helper()
	var m valueMemo
	m.reset()
	for i := range b {
		e1, ok1 := m.skipValue(b, i)
		e2, ok2 := skipValue(b, i)
		if ok1 != ok2 || ok1 && e1 != e2 {
			t.Fatalf("%q at %d: memo (%d, %v), skipValue (%d, %v)", b, i, e1, ok1, e2, ok2)
		}
	}
	// JSON inside a string, its quotes escaped once or more.
	m.reset()
	for i := range b {
		if b[i] != '{' && b[i] != '[' {
			continue
		}
		e1, ok1 := m.skipEscaped(b, i)
		e2, ok2 := skipEscaped(b, i)
		if ok1 != ok2 || ok1 && e1 != e2 {
			t.Fatalf("%q at %d: memo (%d, %v), skipEscaped (%d, %v)", b, i, e1, ok1, e2, ok2)
		}
	}
}

func TestValueMemoAgreesWithSkipValue(t *testing.T) {
	for _, s := range []string{
		`{"password":{"password":{"x":1}`,
		`{"a":"{\"password\":{","b":[1,{"c":"]"}]`,
		`[[[[{"x":"\\"}]]`,
		`{"p":"x\"y{"} {"q":[}`,
		`"{"{"{"{"{"`,
		`\"{\\"{"}"]}`,
		`{{{{}}`, `]]]{{[`, ``, `{`, `"`,
		strings.Repeat(`{"password":`, 50),
		strings.Repeat(`{"a":"`, 30) + strings.Repeat(`"}`, 10),
		strings.Repeat(`{\"password\":`, 40), `{\"a\":{\"b\":[1,\"]\"]}}`, `{\"a\":\"x\\\"}\"}"`, `{\\\"a\\\":{\"}`,
	} {
		checkMemo(t, []byte(s))
	}
}

func FuzzValueMemo(f *testing.F) {
	f.Add([]byte(`{"password":{"password":{"x":1}`))
	f.Add([]byte(`{"a":"{\"password\":{","b":[1,{"c":"]"}]`))
	f.Add([]byte(`\"{\\"{"}"]}{"x":[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkMemo(t, b)
	})
}

// A text repeating an unclosed secret member took time in the square of
// its length: 40 s of CPU for 1 MB (parser13 F7). With the memo each
// repetition costs about the same whatever the length; the test compares
// the per-byte cost of a long text with a short one's.
func TestUnclosedSecretMembersAreLinear(t *testing.T) {
	r := mustNew(t, Defaults())
	for _, unit := range []string{`{"password":`, `{\x22password\x22:`, `{\"password\":`, `["x",{"password":`, `{"password":["\\"`, `{\"password\":[\"x\",{\"password\":`,
		`\"password\":{\\\"password\\\":{\\\\\\\"password\\\\\\\":{`} {
		linear(t, r, unit)
	}
}

func linear(t *testing.T, r *Redactor, unit string) {
	perByte := func(reps int) time.Duration {
		line := bytes.Repeat([]byte(unit), reps)
		best := time.Duration(1 << 62)
		for range 3 {
			rec := newRecord(string(line))
			start := time.Now()
			r.Apply(rec)
			best = min(best, time.Since(start))
		}
		return best / time.Duration(len(line))
	}
	short, long := perByte(500), perByte(20000)
	// Quadratic, the long text costs 40 times the short one per byte.
	if long > 8*short+50*time.Nanosecond {
		t.Errorf("%s: per byte %v for 500 of them, %v for 20,000", unit, short, long)
	}
}

// Lines whose unclosed secret members fall out of step with each other (a
// `\"` outside a string opens one) cost each a walk to the text's end: the
// walks that do not close have a budget, past which a value is masked to
// the end. A line of 400 KB took 10 s of CPU (parser17 B).
func TestValueMemoBudget(t *testing.T) {
	r := mustNew(t, Defaults())
	for _, u := range []string{
		`{"password":{"a":"x{\"token\":[`,
		`"password":[{"token":"\"secret\":{`,
		`{"token":["{\"password\":{`,
		`[{"secret":{"a":"x{\"token\":[`,
	} {
		line := strings.Repeat(u, 400000/len(u))
		rec := newRecord(line)
		r.Apply(rec)
		if spent, most := r.vmemo.spent, walkBudget(len(line))+len(line); spent > most {
			t.Errorf("%s: walked %d bytes to no close, want at most %d", u, spent, most)
		}
		if !bytes.Contains(rec.Message, []byte("[REDACTED]")) {
			t.Errorf("%s: nothing masked", u)
		}
	}
}

// bareValue's walk may start at any token of the text, or the end of one,
// at or before the match (numQuote.add starts it where place's walk is: from the text's
// start each time, a JSON line of many masked numbers took time in the
// square of its length, regress17 P1): the answer is the same.
func TestBareValueFromAToken(t *testing.T) {
	for _, v := range []string{
		`{"password":1234,"a":"x\"1\"","b":[1,{"c":2.5e3}],"d":true,"e":null,"f":"{\"g\":7}"}`,
		`[1, 22 ,333,"4444", {"n": -5}]`,
	} {
		b := []byte(v)
		var starts []int
		for i := 0; ; {
			tok, next, ok := nextJSONToken(b, i)
			if !ok {
				break
			}
			starts = append(starts, tok.s-btoi(tok.str), next) // where a token starts, and where the walk goes on
			i = next
		}
		for s := 0; s < len(b); s++ {
			for e := s + 1; e <= len(b) && e <= s+8; e++ {
				ns0, ne0, ok0 := bareValue(b, s, e, true, 0)
				for _, from := range starts {
					if from > s {
						break
					}
					ns, ne, ok := bareValue(b, s, e, true, from)
					if ns != ns0 || ne != ne0 || ok != ok0 {
						t.Fatalf("%s [%d:%d] from %d: %d %d %v, from 0: %d %d %v", v, s, e, from, ns, ne, ok, ns0, ne0, ok0)
					}
				}
			}
		}
	}
}
