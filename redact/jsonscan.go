package redact

import (
	"encoding/json"
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
// (Loki's `| json`, an ingest pipeline, jq). Text that is not JSON is left
// to the plain rewrite. The zero value is ready; it looks at the text only
// once a match is found in it.
type numQuote struct {
	checked, json bool
	end           int // where the open quote's number ends; 0: none open

	// place's walk over the text's tokens, and what it found for the
	// match add is given next.
	walking  bool      // tok and next are set
	tok      jsonToken // the token place stopped at
	next     int       // where the walk goes on after tok
	prev     int       // where the walk took tok from: every token before ends there or before
	more     bool      // tok is a token (the walk has not ended)
	inString bool      // the match lies within a string's content
	raw      bool      // the replacement add is given next is escaped for its place already
}

// isJSONText reports whether v is a JSON object or array (valid JSON).
func isJSONText(v []byte) bool { return looksJSON(v) && json.Valid(v) }

// place fits the match v[s:e] to the strings of a JSON text (v is valid
// JSON: Apply says so for a JSON line's message, json.Valid for any other
// value starting with '{' or '['; other text is left alone), so that
// replacing it keeps the document valid. A match that starts in a string:
//   - keeps the string's escapes whole: it starts after one it starts in
//     (the "n" of "\n" before an e-mail address) and ends before one it
//     ends in (the "\" of `\"` closing a quoted URL). Nothing left: skip;
//   - that runs past the string's end (a pattern such as `pin\W+\d+` over
//     `pin": "1234`, or `password=\S+` over `hunter2","n":1}`) ends at the
//     string's end here (crossed): the caller masks every string and
//     number the match covers after it (maskCovered), so that nothing it
//     matched ships and the structure stays.
//
// A match anywhere else stays as it is (add quotes numbers and objects).
// Matches must come in order of s.
func (q *numQuote) place(v []byte, s, e int) (ns, ne int, crossed, skip bool) {
	q.inString = false
	if !q.checked {
		q.checked, q.json = true, isJSONText(v)
	}
	if !q.json {
		return s, e, false, false
	}
	if !q.walking {
		q.walking = true
		q.prev = 0
		q.tok, q.next, q.more = nextJSONToken(v, 0)
	}
	for q.more && q.next <= s {
		q.prev = q.next
		q.tok, q.next, q.more = nextJSONToken(v, q.next)
	}
	t := q.tok
	if !q.more || !t.str || s < t.s || s >= t.e {
		return s, e, false, false
	}
	q.inString = true
	if e > t.e {
		e, crossed = t.e, true
	}
	if t.esc {
		if b, n, ok := escapeAround(v, t.s, s); ok {
			s = b + n
		}
		if b, _, ok := escapeAround(v, t.s, e); ok {
			e = b
		}
	}
	return s, e, crossed, s >= e
}

// escapeAround finds the escape of JSON string content that position p
// lies strictly inside ("\"" and "\n" are two bytes, "\u00e9" six): it
// returns its start b and length n with b < p < b+n. from is where the
// content starts.
func escapeAround(v []byte, from, p int) (b, n int, ok bool) {
	for b = p - 1; b >= from && b >= p-5; b-- {
		if v[b] != '\\' {
			continue
		}
		run := 0 // backslashes before b: an odd count escapes b itself
		for k := b - 1; k >= from && v[k] == '\\'; k-- {
			run++
		}
		if run%2 == 1 {
			return 0, 0, false // b ends the escape "\\", before p
		}
		n = 2
		if b+1 < len(v) && v[b+1] == 'u' {
			if _, hex := hex4(v, b+2); hex {
				n = 6
			}
		}
		return b, n, b+n > p
	}
	return 0, 0, false
}

// stringSafe reports whether b can stand inside a JSON string as it is: no
// quote, no control byte, and backslashes only in escapes.
func stringSafe(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"' || c < 0x20:
			return false
		case c == '\\':
			i++
			if i == len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(b, i+1); !ok {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return true
}

// walkFrom returns where place's walk took the token it stopped at from (0
// before a walk): no token lies across it, and bareValue goes on from
// there. From the text's start each time, a JSON line of many masked
// numbers or objects took time in the square of its length (regress17 P1:
// 24 s for 800 KB; regress17b B2: objects, whose '{' is no token, 13 s).
func (q *numQuote) walkFrom() int {
	if !q.walking {
		return 0
	}
	return q.prev
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
	if q.end == 0 && !q.inString {
		if !q.checked {
			q.checked, q.json = true, isJSONText(v)
		}
		if ns, ne, ok := bareValue(v, s, e, q.json, q.walkFrom()); ok {
			out = append(out, v[last:ns]...)
			out = append(out, '"')
			last, q.end = ns, ne
		}
	}
	out = append(out, v[last:s]...)
	if q.end == 0 {
		if q.inString && !q.raw && !stringSafe(repl) {
			// A replacement with a quote (`pin "****"`) inside a string.
			return appendJSONEscaped(out, repl)
		}
		return append(out, repl...)
	}
	out = appendJSONEscaped(out, repl)
	if e >= q.end {
		out = append(out, '"')
		q.end = 0
	}
	return out
}

// addJSON is add for a replacement that is a JSON value itself (a JSON
// field's new text): it goes in as it is. The caller goes on from the end
// of the value it replaces.
func (q *numQuote) addJSON(out, v []byte, last, s int, repl []byte) []byte {
	if q.end > 0 && q.end <= s {
		out = append(out, v[last:q.end]...)
		out = append(out, '"')
		last, q.end = q.end, 0
	}
	out = append(out, v[last:s]...)
	return append(out, repl...)
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
//
// from is where a token of v starts, at or before s (0: v's start): the
// walk that tells whether s is inside a string starts there.
func bareValue(v []byte, s, e int, isJSON bool, from int) (ns, ne int, ok bool) {
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
	if from > ns {
		from = 0
	}
	for i := from; ; {
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
