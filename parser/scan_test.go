package parser

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The word-at-a-time scanners must agree with the plain byte loops and the
// bytes package at every length and alignment, including hits right at
// the ends and bytes >= 0x80 (where the SWAR tricks could go wrong).

// scanStringRef is scanString one byte at a time.
func scanStringRef(b []byte, i int) (end int, esc, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, esc, true
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				return 0, false, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if _, n := hex4(b[j+2:]); n == 0 {
					return 0, false, false
				}
				j += 5
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

func randBytes(r *rand.Rand, alphabet []byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}

func TestScanners(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aaaaaaaa \"\\/nu0fA\x00\x1f\x20\x7f\x80\xff\xe9?-")
	for n := 0; n < 40000; n++ {
		b := randBytes(r, alphabet, r.IntN(40))
		if len(b) > 0 && r.IntN(2) == 0 {
			b[0] = '"'
		}
		for i := range b {
			if b[i] != '"' {
				continue
			}
			gotEnd, gotEsc, gotOK := scanString(b, i)
			wantEnd, wantEsc, wantOK := scanStringRef(b, i)
			if gotEnd != wantEnd || gotEsc != wantEsc || gotOK != wantOK {
				t.Fatalf("scanString(%q, %d) = %d %v %v, want %d %v %v", b, i, gotEnd, gotEsc, gotOK, wantEnd, wantEsc, wantOK)
			}
		}
		for _, c := range []byte{' ', '"', '?', 0x80, 0xff, 0} {
			if got, want := indexByte(b, c), bytes.IndexByte(b, c); got != want {
				t.Fatalf("indexByte(%q, %q) = %d, want %d", b, c, got, want)
			}
			if got, want := lastIndexByte(b, c), bytes.LastIndexByte(b, c); got != want {
				t.Fatalf("lastIndexByte(%q, %q) = %d, want %d", b, c, got, want)
			}
		}
		lit := randBytes(r, []byte(" \"a"), 1+r.IntN(4))
		if got, want := indexLit(b, lit), bytes.Index(b, lit); got != want {
			t.Fatalf("indexLit(%q, %q) = %d, want %d", b, lit, got, want)
		}
	}
	// Literals whose first byte is everywhere: past the misses, bytes.Index.
	b := []byte("a a a a a a a a a a ab")
	if got := indexLit(b, []byte("ab")); got != len(b)-2 {
		t.Fatalf("indexLit = %d", got)
	}
}
