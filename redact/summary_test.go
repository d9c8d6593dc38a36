package redact

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// summaryAlphabet makes random values dense in the bytes the summary looks
// for, so pairs and runs of 13 occur often.
const summaryAlphabet = "@%yJIAbBeEzZaA0123456789 -xX.:=\"\x00\xff"

func randomValue(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if r.IntN(8) == 0 {
			b[i] = byte(r.IntN(256))
		} else {
			b[i] = summaryAlphabet[r.IntN(len(summaryAlphabet))]
		}
	}
	return b
}

// TestSummaryMatchesGeneric: the vector summary equals the byte-by-byte
// one for every length around the block edges, with values that hit each
// bit alone and together.
func TestSummaryMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := uint32(0)
	for n := 0; n <= 200; n++ {
		for k := 0; k < 300; k++ {
			b := randomValue(r, n)
			// Also values that hold one trigger, at a random place, in
			// otherwise neutral bytes: a single set bit at a block edge.
			if k%2 == 1 && n >= 2 {
				for i := range b {
					b[i] = 'x'
				}
				trig := []string{"@", "%", "yJ", "IA", "bE", "Za", "1234 5678-9012"}[k%7]
				if len(trig) <= n {
					copy(b[r.IntN(n-len(trig)+1):], trig)
				}
			}
			got, want := summary(b), summaryGeneric(b)
			if got != want {
				t.Fatalf("len %d %q: summary %05b, generic %05b", n, b, got, want)
			}
			seen |= want
		}
	}
	if seen != sumEmail|sumJWT|sumAWS|sumBearer|sumCard {
		t.Fatalf("the test values never set some bits: %05b", seen)
	}
	// A run of 12 is not a run of 13, across a block edge too.
	for off := 0; off < 70; off++ {
		b := make([]byte, 100)
		for i := range b {
			b[i] = 'x'
		}
		copy(b[off:], "123456789012")
		if s := summary(b); s&sumCard != 0 {
			t.Fatalf("run of 12 at %d: card bit set", off)
		}
		b[off+12] = '3'
		if s := summary(b); s&sumCard == 0 {
			t.Fatalf("run of 13 at %d: card bit clear", off)
		}
	}
}

// TestSummaryBitsAreNecessary: a detector whose summary bit is clear has a
// false maybe, on random values and on the adversarial lines.
func TestSummaryBitsAreNecessary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	values := [][]byte{}
	for _, l := range adversarialLines {
		values = append(values, []byte(l))
	}
	for k := 0; k < 20000; k++ {
		values = append(values, randomValue(r, r.IntN(80)))
	}
	values = append(values, []byte("Authorization: Basic dXNlcg=="), []byte("x BEARER abc"),
		[]byte("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"), []byte("AKIAIOSFODNN7EXAMPLE"),
		[]byte("4111-1111-1111-1111"), []byte("a%40b.c"))
	for _, d := range []detector{cardDetector{}, emailDetector{}, jwtDetector{}, awsKeyDetector{}, bearerDetector{}} {
		need := d.(needer).need()
		hits := 0
		for _, v := range values {
			if !d.maybe(v) {
				continue
			}
			hits++
			if summaryGeneric(v)&need == 0 {
				t.Fatalf("%T: maybe(%q) is true, summary %05b lacks %05b", d, v, summaryGeneric(v), need)
			}
		}
		if hits == 0 {
			t.Fatalf("%T: maybe never true: the test proves nothing", d)
		}
	}
}

// FuzzSummary: the vector summary equals the generic one, and no detector's
// maybe is true without its bit.
func FuzzSummary(f *testing.F) {
	for _, l := range adversarialLines {
		f.Add([]byte(l))
	}
	f.Add([]byte("GET /a?x=1 Bearer eyJx 4111 1111 1111 1111 AKIAIOSFODNN7EXAMPLE a@b.c"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := summaryGeneric(b)
		if got := summary(b); got != s {
			t.Fatalf("%q: summary %05b, generic %05b", b, got, s)
		}
		for _, d := range []detector{cardDetector{}, emailDetector{}, jwtDetector{}, awsKeyDetector{}, bearerDetector{}} {
			if d.maybe(b) && s&d.(needer).need() == 0 {
				t.Fatalf("%T: maybe(%q) true, summary %05b", d, b, s)
			}
		}
	})
}

func TestEqColonMasksMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for k := 0; k < 50000; k++ {
		b := randomValue(r, 64)
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = "=:"[r.IntN(2)]
			}
		}
		e1, c1 := eqColonMasks(&b[0])
		e2, c2 := eqColonMasksGeneric(&b[0])
		if e1 != e2 || c1 != c2 {
			t.Fatalf("%q: %064b %064b, generic %064b %064b", b, e1, c1, e2, c2)
		}
	}
}

// TestCandidateVecMatchesScalar: the two ways of finding the triggers give
// the same answer, at every length around the 64-byte chunks.
func TestCandidateVecMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"token", "Password", "key]", "api_key", "x", "\"", " ", "\t", ":", "=", "%3D", "%3d", "&", "{", "}", ",", "ab"}
	yes := 0
	for n := 0; n < 3000; n++ {
		var b []byte
		for len(b) < r.IntN(300) {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		for _, q := range queryDetectors() {
			v, s := q.candidateVec(b), q.candidateScalar(b)
			if v != s {
				t.Fatalf("%q: candidateVec %v, candidateScalar %v", b, v, s)
			}
			if v {
				yes++
			}
		}
	}
	if yes == 0 || yes == 6000 {
		t.Fatalf("candidate was %d times true of 6000: the values do not test both answers", yes)
	}
}

// TestFieldKeyedCache: the cached answer equals anyKeyed for names that
// collide in the table, more names than it holds (so it is emptied), and
// names that come back after that.
func TestFieldKeyedCache(t *testing.T) {
	r := mustNew(t, Defaults())
	var names []string
	for i := 0; i < 300; i++ {
		names = append(names, fmt.Sprintf("f%d", i), fmt.Sprintf("x_token%d", i%7), fmt.Sprintf("a%dz", i%50))
	}
	names = append(names, "password", "http_authorization", "api_key", "user[password]", "Token", "tokens", "status")
	rnd := rand.New(rand.NewPCG(15, 16))
	secrets := 0
	for k := 0; k < 50000; k++ {
		n := names[rnd.IntN(len(names))]
		if k%3 == 0 {
			n = names[len(names)-1-rnd.IntN(7)] // the usual few, often
		}
		got, want := r.fieldKeyed(n), r.anyKeyed(n)
		if got != want {
			t.Fatalf("fieldKeyed(%q) = %v, anyKeyed %v", n, got, want)
		}
		if want {
			secrets++
		}
	}
	if secrets == 0 {
		t.Fatal("no keyed name was asked: the test proves nothing")
	}
}
