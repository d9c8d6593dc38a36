package redact

import (
	"unicode/utf16"
	"unicode/utf8"
)

// jsonToken is a string or number in a JSON text. For a string, [s, e) is
// its content without the quotes.
type jsonToken struct {
	s, e int
	str  bool // a string (else a number)
	key  bool // a string followed by ':' (an object key)
	esc  bool // a string holding a backslash escape
}

// nextJSONToken returns the first string or number token at or after i and
// the index after it. It does not validate: it tolerates any input and
// always makes progress. An unterminated string runs to the end.
func nextJSONToken(b []byte, i int) (jsonToken, int, bool) {
	n := len(b)
	for i < n {
		c := b[i]
		switch {
		case c == '"':
			j, esc := i+1, false
			for j < n && b[j] != '"' {
				if b[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= n {
				return jsonToken{s: i + 1, e: n, str: true, esc: esc}, n, true
			}
			k := j + 1
			for k < n && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n') {
				k++
			}
			return jsonToken{s: i + 1, e: j, str: true, esc: esc, key: k < n && b[k] == ':'}, j + 1, true
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < n {
				d := b[j]
				if (d >= '0' && d <= '9') || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-' {
					j++
					continue
				}
				break
			}
			return jsonToken{s: i, e: j}, j, true
		}
		i++
	}
	return jsonToken{}, n, false
}

// appendUnescapeJSON appends the JSON string content raw with its escapes
// undone. Invalid escapes are kept as written; lone surrogates become
// U+FFFD.
func appendUnescapeJSON(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
			i += 2
		case 'b':
			dst = append(dst, '\b')
			i += 2
		case 'f':
			dst = append(dst, '\f')
			i += 2
		case 'n':
			dst = append(dst, '\n')
			i += 2
		case 'r':
			dst = append(dst, '\r')
			i += 2
		case 't':
			dst = append(dst, '\t')
			i += 2
		case 'u':
			r, ok := hex4(raw, i+2)
			if !ok {
				dst = append(dst, c)
				i++
				continue
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2, ok := hex4(raw, i+2); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
