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

// numQuote keeps a rewrite of JSON text valid. A replacement is text, so a
// match within a number (not within a string) makes the whole number a
// string, and so does one of a whole object or array: "card":4111…
// becomes "card":"[REDACTED:credit_card]", a dropped one "", where the bare
// token would leave a document no JSON parser reads
// (Loki's `| json`, an ingest pipeline, jq). Text that does not look like
// JSON is left to the plain rewrite. The zero value is ready; it looks at
// the text only once a match is found in it.
type numQuote struct {
	checked, json bool
	end           int // where the open quote's number ends; 0: none open
}

// add appends to out the text v[last:s] and repl in place of v[s:e],
// opening or closing quotes around a number as needed. The caller goes on
// from e.
func (q *numQuote) add(out, v []byte, last, s, e int, repl []byte) []byte {
	if q.end > 0 && q.end <= s {
		out = append(out, v[last:q.end]...)
		out = append(out, '"')
		last, q.end = q.end, 0
	}
	if q.end == 0 {
		if !q.checked {
			q.checked, q.json = true, looksJSON(v)
		}
		if ns, ne, ok := bareValue(v, s, e, q.json); ok {
			out = append(out, v[last:ns]...)
			out = append(out, '"')
			last, q.end = ns, ne
		}
	}
	out = append(out, v[last:s]...)
	if q.end == 0 {
		return append(out, repl...)
	}
	out = appendJSONEscaped(out, repl)
	if e >= q.end {
		out = append(out, '"')
		q.end = 0
	}
	return out
}

// finish appends the rest of v from last, closing an open quote.
func (q *numQuote) finish(out, v []byte, last int) []byte {
	if q.end > 0 {
		out = append(out, v[last:q.end]...)
		out = append(out, '"')
		last, q.end = q.end, 0
	}
	return append(out, v[last:]...)
}

// bareValue reports whether v[s:e] is, or lies within, a value of the JSON
// text v (isJSON: looksJSON(v)) that is not a string: within a number, or
// exactly an object, array or literal. It returns that value's span.
func bareValue(v []byte, s, e int, isJSON bool) (ns, ne int, ok bool) {
	if !isJSON || s >= e {
		return 0, 0, false
	}
	ns, ne = s, e
	number := true
	for _, c := range v[s:e] {
		if !isNumberByte(c) {
			number = false
			break
		}
	}
	switch {
	case number:
		for ns > 0 && isNumberByte(v[ns-1]) {
			ns--
		}
		for ne < len(v) && isNumberByte(v[ne]) {
			ne++
		}
	case (v[s] == '{' || v[s] == '[') && closes(v[s:e]):
	case string(v[s:e]) == "true" || string(v[s:e]) == "false" || string(v[s:e]) == "null":
	default:
		return 0, 0, false
	}
	// The cheap test first: what a value stands between.
	b := ns - 1
	for b >= 0 && isJSONSpace(v[b]) {
		b--
	}
	a := ne
	for a < len(v) && isJSONSpace(v[a]) {
		a++
	}
	if b < 0 || (v[b] != ':' && v[b] != '[' && v[b] != ',') || (a < len(v) && v[a] != ',' && v[a] != '}' && v[a] != ']') {
		return 0, 0, false
	}
	// Not inside a string: the tokens from the start say.
	for i := 0; ; {
		t, next, ok := nextJSONToken(v, i)
		if !ok {
			return ns, ne, !number
		}
		start := t.s
		if t.str {
			start--
		}
		if start >= ns {
			return ns, ne, !number || start == ns && !t.str && t.e == ne
		}
		if next > ns {
			return 0, 0, false // ns is inside this token
		}
		i = next
	}
}

// closes reports whether the object or array b starts with ends at b's
// end.
func closes(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i == len(b)-1
			}
		}
	}
	return false
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
