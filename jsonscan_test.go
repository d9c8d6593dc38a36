package sidetrail

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// referenceJSON is appendJSONBytes written the slow, obvious way: one rune
// at a time.
func referenceJSON(s []byte) []byte {
	dst := []byte{'"'}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, `\n`...)
			case c == '\r':
				dst = append(dst, `\r`...)
			case c == '\t':
				dst = append(dst, `\t`...)
			case c < 0x20:
				dst = fmt.Appendf(dst, `\u%04x`, c)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// jsonTestBytes draws strings that exercise every path: long plain runs,
// dense quotes, control bytes, valid runes across 32-byte block edges,
// truncated and stray continuation bytes.
func jsonTestBytes(r *rand.Rand) []byte {
	pieces := []string{"a", "plain text ", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f", " ",
		"é", "€", "😀", "\xe2\x82", "\x80", "\xff", "\xf0\x9f\x98", `{"k":"v"}`}
	n := r.IntN(120)
	var b []byte
	for range n {
		b = append(b, pieces[r.IntN(len(pieces))]...)
	}
	return b
}

func TestSpecialMask32MatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 32)
	for range 200000 {
		for k := range buf {
			switch r.IntN(4) {
			case 0:
				buf[k] = byte(r.IntN(256))
			case 1:
				buf[k] = []byte{'"', '\\', 0x1f, 0x20, 0x7f, 0x80, 0xff, 0}[r.IntN(8)]
			default:
				buf[k] = byte('a' + r.IntN(26))
			}
		}
		if got, want := specialMask32(&buf[0]), specialMask32Generic(&buf[0]); got != want {
			t.Fatalf("% x: mask %032b, want %032b", buf, got, want)
		}
	}
}

func TestAppendJSONBytesMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		s := jsonTestBytes(r)
		if got, want := appendJSONBytes([]byte("x"), s), append([]byte("x"), referenceJSON(s)...); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
}

// checkMasksVariant: appendJSONBytesMasks (the message's writer, with its
// 16-byte moves into spare capacity) writes what the reference writes, for
// a dst with no, little and much spare capacity, and records each whole
// block's specialMask32.
func checkMasksVariant(t *testing.T, s []byte) {
	t.Helper()
	want := referenceJSON(s)
	for _, spare := range []int{0, 3, 17, 40, 4096} {
		dst := make([]byte, 1, 1+spare)
		dst[0] = 'x'
		var masks []uint32
		got := appendJSONBytesMasks(dst, s, &masks)
		if got[0] != 'x' || !bytes.Equal(got[1:], want) {
			t.Fatalf("%q, %d spare bytes:\n got %s\nwant %s", s, spare, got[1:], want)
		}
		if len(masks) != len(s)/32 {
			t.Fatalf("%q: %d masks for %d bytes", s, len(masks), len(s))
		}
		for k, m := range masks {
			if w := specialMask32Generic(&s[32*k]); m != w {
				t.Fatalf("%q: block %d mask %032b, want %032b", s, k, m, w)
			}
		}
	}
}

func TestAppendJSONBytesMasksMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		checkMasksVariant(t, jsonTestBytes(r))
	}
	// A JSON line as a message: runs of every length up to and past 16
	// between quotes.
	for n := 0; n < 40; n++ {
		line := []byte(`{"`)
		for k := 0; k < 12; k++ {
			line = append(line, bytes.Repeat([]byte("a"), (n+k)%20)...)
			line = append(line, `":"`...)
		}
		checkMasksVariant(t, line)
	}
}

func FuzzJSONBytesReference(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcde\xe2\x82\xac tail"))
	f.Add([]byte(`{"time":"2026-11-26T00:00:00Z","msg":"a \"quoted\" word","path":"/x?y=1"}`))
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := appendJSONBytes(nil, s), referenceJSON(s); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
		checkMasksVariant(t, s)
	})
}
