package parser

import (
	"unicode/utf16"
	"unicode/utf8"
)

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendUnescapeDefault appends v with nginx's default log escaping undone:
// "\xHH" becomes the byte 0xHH. Any other backslash is kept as it is (nginx
// writes a backslash itself as "\x5C", so a bare one only comes from a
// variable nginx does not escape).
func appendUnescapeDefault(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+3 < len(v) && v[i+1] == 'x' {
			hi, ok1 := unhex(v[i+2])
			lo, ok2 := unhex(v[i+3])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				i += 3
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// appendUnescapeJSON appends v with JSON string escapes undone ("\"", "\\",
// "\/", "\b", "\f", "\n", "\r", "\t", "\uXXXX" with surrogate pairs). It
// reports ok=false for a malformed escape; lenient callers keep the bytes
// that were appended (the malformed escape copied as it was).
func appendUnescapeJSON(dst, v []byte) ([]byte, bool) {
	ok := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(v) {
			dst = append(dst, c)
			ok = false
			continue
		}
		switch e := v[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
			i++
		case 'b':
			dst = append(dst, '\b')
			i++
		case 'f':
			dst = append(dst, '\f')
			i++
		case 'n':
			dst = append(dst, '\n')
			i++
		case 'r':
			dst = append(dst, '\r')
			i++
		case 't':
			dst = append(dst, '\t')
			i++
		case 'u':
			r, n := hex4(v[i+2:])
			if n == 0 {
				dst = append(dst, c)
				ok = false
				continue
			}
			i += 1 + n
			if utf16.IsSurrogate(r) {
				// A high surrogate must be followed by "\uDC00".."\uDFFF".
				if r < 0xdc00 && i+2 < len(v) && v[i+1] == '\\' && v[i+2] == 'u' {
					if r2, n2 := hex4(v[i+3:]); n2 != 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							dst = utf8.AppendRune(dst, dec)
							i += 2 + n2
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, c)
			ok = false
		}
	}
	return dst, ok
}

// hex4 parses four hex digits at the start of b; n is 4, or 0 on failure.
func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		d, ok := unhex(c)
		if !ok {
			return 0, 0
		}
		r = r<<4 | rune(d)
	}
	return r, 4
}
