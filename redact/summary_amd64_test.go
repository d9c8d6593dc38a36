package redact

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestGateChangesNothing: rules compiled with the summary gate redact every
// record exactly as rules compiled without it (and without the vector
// candidate), on the adversarial lines and on random text dense in the
// detectors' triggers.
func TestGateChangesNothing(t *testing.T) {
	if !haveSummary {
		t.Skip("no AVX2: the gate is off anyway")
	}
	plain := func() *Redactor {
		haveSummary = false
		defer func() { haveSummary = true }()
		return mustNew(t, append(Defaults(), Rule{Builtin: "ipv4"}), hashEnv)
	}()
	gated := mustNew(t, append(Defaults(), Rule{Builtin: "ipv4"}), hashEnv)
	if gated.sh.gatedBits == 0 || plain.sh.gatedBits != 0 {
		t.Fatal("the two redactors do not differ in the gate")
	}
	lines := append([]string(nil), adversarialLines...)
	r := rand.New(rand.NewPCG(17, 18))
	pieces := []string{"x", " ", "=", "&", "?", "token", "Bearer ", "authorization: ", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
		"AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111", "jane@example.com", "%40", "\"", ":", "10.1.2.3", "{\"password\" : \"", "\"}"}
	for k := 0; k < 5000; k++ {
		var b []byte
		for len(b) < r.IntN(200) {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		lines = append(lines, string(b))
	}
	// plain also runs with haveSummary off: candidate reads it at each
	// call (candidateVec or candidateScalar), the gate when rules compile.
	for _, l := range lines {
		r1, r2 := fuzzRecord(l, l[len(l)/2:], `{"k":"v"}`, 0, uint16(len(l))), fuzzRecord(l, l[len(l)/2:], `{"k":"v"}`, 0, uint16(len(l)))
		gated.Apply(r1)
		haveSummary = false
		plain.Apply(r2)
		haveSummary = true
		if !bytes.Equal(r1.Message, r2.Message) {
			t.Fatalf("%q: gated %q, plain %q", l, r1.Message, r2.Message)
		}
		for i := range r1.Fields {
			if !bytes.Equal(r1.Fields[i].Value, r2.Fields[i].Value) {
				t.Fatalf("%q: field %s gated %q, plain %q", l, r1.Fields[i].Key, r1.Fields[i].Value, r2.Fields[i].Value)
			}
		}
	}
}
