package parser

import (
	"slices"
	"strings"
)

// Predefined log formats. combined is built into nginx; main is the one the
// nginx.org and Debian packages put in nginx.conf.
const (
	formatCombined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
	formatMain     = formatCombined + ` "$http_x_forwarded_for"`
)

// Escaping modes of nginx's log_format.
const (
	escapeDefault = iota // \xHH for '"', '\\', bytes < 0x20 and >= 0x7f; "-" for missing values
	escapeJSON           // JSON string escapes; missing values are empty
	escapeNone           // nothing escaped
)

// source is the text of a log_format after the nginx.conf quoting has been
// undone, with the offset in Config.LogFormat each byte came from (for
// error columns).
type source struct {
	body   []byte
	origin []int
	escape int
	// pieces holds where in body each piece of the directive after the
	// first begins: nginx compiles each on its own, so a variable's name
	// ends with its piece ('$status' 'ms' is $status, then "ms").
	pieces []int
}

func (s *source) add(c byte, off int) {
	s.body = append(s.body, c)
	s.origin = append(s.origin, off)
}

// newPiece notes that the next byte added begins a piece.
func (s *source) newPiece() {
	if n := len(s.body); n > 0 && (len(s.pieces) == 0 || s.pieces[len(s.pieces)-1] != n) {
		s.pieces = append(s.pieces, n)
	}
}

// pieceStarts reports whether body[i] begins a piece other than the first.
func (s *source) pieceStarts(i int) bool {
	_, ok := slices.BinarySearch(s.pieces, i)
	return ok
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// readLogFormat undoes nginx.conf quoting in a pasted log_format.
//
// Accepted shapes, after leading white space:
//
//	[log_format NAME] [escape=default|json|none] 'piece' "piece" ... [;]
//	[escape=...] text taken verbatim
//
// The pieces are joined with nothing between them, as nginx does. Inside
// quotes nginx's escapes apply: \" \' \\ drop the backslash, \t \r \n are
// the control characters, any other backslash stays. When the text (after
// the optional escape=) does not start with a quote and there is no leading
// log_format, it is the format itself, verbatim (trailing line breaks
// trimmed). Text starting with a quote that is not entirely made of quoted
// pieces is also taken verbatim, unless a quote is left open, which is a
// SyntaxError.
func readLogFormat(src string) (*source, error) {
	s := &source{escape: escapeDefault}
	pos := 0
	skipSpace := func() {
		for pos < len(src) && isSpace(src[pos]) {
			pos++
		}
	}
	word := func() (string, int) {
		start := pos
		for pos < len(src) && !isSpace(src[pos]) && src[pos] != ';' {
			pos++
		}
		return src[start:pos], start
	}
	skipSpace()
	directive := false
	if strings.HasPrefix(src[pos:], "log_format") && pos+10 < len(src) && isSpace(src[pos+10]) {
		directive = true
		pos += 10
		skipSpace()
		if name, at := word(); name == "" || name[0] == '\'' || name[0] == '"' {
			return nil, syntaxErrorAt(src, at, "log_format without a name")
		}
		skipSpace()
	}
	if strings.HasPrefix(src[pos:], "escape=") {
		w, at := word()
		switch w[len("escape="):] {
		case "default":
			s.escape = escapeDefault
		case "json":
			s.escape = escapeJSON
		case "none":
			s.escape = escapeNone
		default:
			return nil, syntaxErrorAt(src, at+len("escape="), "unknown escape "+quote(w[len("escape="):])+" (want default, json or none)")
		}
		skipSpace()
	}
	if pos >= len(src) {
		return nil, syntaxErrorAt(src, pos, "empty log_format")
	}
	if !directive && src[pos] != '\'' && src[pos] != '"' {
		end := len(src)
		for end > pos && (src[end-1] == '\n' || src[end-1] == '\r') {
			end--
		}
		for i := pos; i < end; i++ {
			s.add(src[i], i)
		}
		return s, nil
	}
	bodyStart := pos
	allQuoted := true
	for {
		skipSpace()
		if pos >= len(src) {
			break
		}
		c := src[pos]
		if c == '#' && (directive || allQuoted) {
			// A comment between quoted pieces, as nginx.conf allows: to
			// the end of its line. (It was read as text, and every line
			// failed to parse.)
			for pos < len(src) && src[pos] != '\n' {
				pos++
			}
			continue
		}
		if c == ';' {
			pos++
			skipSpace()
			if pos < len(src) && src[pos] == '#' { // a comment after the directive
				for pos < len(src) && src[pos] != '\n' {
					pos++
				}
				skipSpace()
			}
			if pos < len(src) {
				return nil, syntaxErrorAt(src, pos, "text after ';'")
			}
			break
		}
		if c == '\'' || c == '"' {
			open := pos
			s.newPiece()
			pos++
			closed := false
			for pos < len(src) {
				ch := src[pos]
				if ch == c {
					closed = true
					pos++
					break
				}
				if ch == '\\' && pos+1 < len(src) {
					switch src[pos+1] {
					case '"', '\'', '\\':
						s.add(src[pos+1], pos+1)
						pos += 2
						continue
					case 't':
						s.add('\t', pos)
						pos += 2
						continue
					case 'r':
						s.add('\r', pos)
						pos += 2
						continue
					case 'n':
						s.add('\n', pos)
						pos += 2
						continue
					}
				}
				s.add(ch, pos)
				pos++
			}
			if !closed {
				return nil, syntaxErrorAt(src, open, "unbalanced quote: "+string(c)+" is never closed")
			}
			continue
		}
		// An unquoted piece: nginx takes it as a word of its own.
		allQuoted = false
		if !directive {
			break
		}
		s.newPiece()
		for pos < len(src) && !isSpace(src[pos]) && src[pos] != ';' {
			// Quotes inside an unquoted word are plain characters, as in
			// nginx.
			s.add(src[pos], pos)
			pos++
		}
	}
	if !allQuoted && !directive {
		// Not nginx.conf quoting after all: the format verbatim.
		s.body, s.origin, s.pieces = s.body[:0], s.origin[:0], nil
		end := len(src)
		for end > bodyStart && (src[end-1] == '\n' || src[end-1] == '\r') {
			end--
		}
		for i := bodyStart; i < end; i++ {
			s.add(src[i], i)
		}
	}
	if len(s.body) == 0 {
		return nil, syntaxErrorAt(src, pos, "empty log_format")
	}
	return s, nil
}

func quote(s string) string { return `"` + s + `"` }

// A compiled format is a leading literal and a list of (variable, following
// literal) items. The literal after the last variable may be empty (the
// variable runs to the end of the line); a literal between two variables may
// be empty too (they are split by character class, see varClass).
type item struct {
	v   int    // index into compiled.vars
	lit []byte // literal after the variable
}

type compiled struct {
	prefix []byte
	items  []item
	vars   []nvar
	escape int
	quotes int // '"' bytes in the literals: a line has these and no more (see nginxParser.Parse)
	// rawQuotes: those no backslash escapes (unescapedQuotes), with
	// escape=json, where a line's escaped '"' are its values'.
	rawQuotes int
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// compileLogFormat compiles the unquoted body exactly as nginx's
// ngx_http_log_compile reads it: "$name" is the longest run of
// [A-Za-z0-9_], "${name}" is braced; a '$' followed by anything else is an
// error, as is a missing '}'. Names are lowercased, as nginx does.
func compileLogFormat(src string, s *source) (*compiled, error) {
	c := &compiled{escape: s.escape}
	b := s.body
	col := func(i int) int {
		if i < len(s.origin) {
			return s.origin[i]
		}
		if len(s.origin) > 0 {
			return s.origin[len(s.origin)-1] + 1
		}
		return len(src)
	}
	var lit []byte
	index := map[string]int{}
	first := true
	for i := 0; i < len(b); {
		if b[i] != '$' {
			lit = append(lit, b[i])
			i++
			continue
		}
		dollar := i
		i++
		if i >= len(b) {
			return nil, syntaxErrorAt(src, col(dollar), "'$' at the end of the format: a variable name must follow")
		}
		if s.pieceStarts(i) {
			return nil, syntaxErrorAt(src, col(dollar), "'$' at the end of a quoted piece: nginx reads each piece on its own, so the name must be in the same piece")
		}
		braced := false
		if b[i] == '{' {
			braced = true
			i++
		}
		start := i
		for i < len(b) && isNameByte(b[i]) && !s.pieceStarts(i) {
			i++
		}
		name := strings.ToLower(string(b[start:i]))
		if braced {
			if i >= len(b) || b[i] != '}' || s.pieceStarts(i) {
				return nil, syntaxErrorAt(src, col(dollar), "unterminated variable ${"+name+": missing '}'")
			}
			i++
		}
		if name == "" {
			return nil, syntaxErrorAt(src, col(dollar), "'$' must be followed by a variable name")
		}
		if first {
			c.prefix = lit
			first = false
		} else {
			c.items[len(c.items)-1].lit = lit
		}
		lit = nil
		vi, seen := index[name]
		if !seen {
			vi = len(c.vars)
			index[name] = vi
			c.vars = append(c.vars, nvar{name: name})
		} else {
			// The same variable twice: the field comes from its first
			// place; later places are matched and dropped.
			vi = len(c.vars)
			c.vars = append(c.vars, nvar{name: name, dup: true})
		}
		c.items = append(c.items, item{v: vi})
	}
	if first {
		c.prefix = lit
	} else {
		c.items[len(c.items)-1].lit = lit
	}
	c.setupVars(index)
	return c, nil
}
