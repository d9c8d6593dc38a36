package elasticsearch

import (
	"encoding/json"
	"errors"
	"fmt"
)

// A _bulk answer is read by a small hand-written scanner instead of
// encoding/json: the sink reads one item per record, and reflection-based
// decoding cost more per record (about 2.8 µs and one allocation) than
// encoding the record did. The scanner allocates nothing for successful
// items; an item's error object is decoded with encoding/json only when the
// item failed.
//
// It reads exactly what it needs and skips the rest:
//
//	{ ..., "items": [ { "<op>": { ..., "_id": "...", "status": N, ..., "error": {...} } }, ... ], ... }

// itemStatus is one answered item: its HTTP status and, for a failure, the
// raw JSON of its "error" value (a slice of the response; nil when absent).
type itemStatus struct {
	status int
	err    []byte
	id     []byte // the raw JSON of its "_id" value (a slice of the response); nil when absent
}

var errSyntax = errors.New("malformed JSON")

// scanner walks a JSON text. Its methods set err and return zero values
// once anything is wrong.
type scanner struct {
	b   []byte
	i   int
	err error
}

func (s *scanner) fail(what string) {
	if s.err == nil {
		s.err = fmt.Errorf("%w at byte %d: %s", errSyntax, s.i, what)
	}
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) {
	if s.peek() != c {
		s.fail(fmt.Sprintf("want %q", c))
		return
	}
	s.i++
}

// str reads a string and returns its raw (still escaped) contents.
func (s *scanner) str() []byte {
	if s.peek() != '"' {
		s.fail("want a string")
		return nil
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			raw := s.b[start:s.i]
			s.i++
			return raw
		}
		s.i++
	}
	s.fail("unterminated string")
	return nil
}

// value skips one value and returns its raw bytes.
func (s *scanner) value() []byte {
	c := s.peek()
	start := s.i
	switch {
	case c == '"':
		s.str()
	case c == '{' || c == '[':
		// Skip to the matching bracket, minding strings.
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i]
				}
			}
			s.i++
		}
		s.fail("unterminated " + string(c))
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.b[start:s.i]
			}
			s.i++
		}
	default:
		s.fail("want a value")
	}
	if s.err != nil {
		return nil
	}
	return s.b[start:s.i]
}

// object calls fn for each member of an object; fn must consume the value.
func (s *scanner) object(fn func(key []byte)) {
	s.expect('{')
	if s.peek() == '}' {
		s.i++
		return
	}
	for s.err == nil {
		key := s.str()
		s.expect(':')
		if s.err != nil {
			return
		}
		fn(key)
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail("want , or }")
		}
	}
}

// array calls fn for each element of an array; fn must consume the element.
func (s *scanner) array(fn func()) {
	s.expect('[')
	if s.peek() == ']' {
		s.i++
		return
	}
	for s.err == nil {
		fn()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail("want , or ]")
		}
	}
}

// int reads a non-negative integer.
func (s *scanner) int() int {
	raw := s.value()
	if len(raw) == 0 || len(raw) > 9 {
		s.fail("want a small integer")
		return 0
	}
	n := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			s.fail("want a small integer")
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// scanBulk reads a _bulk answer, appending one itemStatus per item to dst.
// An item without an operation or a status is an error.
func scanBulk(dst []itemStatus, body []byte) ([]itemStatus, error) {
	s := &scanner{b: body}
	sawItems := false
	s.object(func(key []byte) {
		if string(key) != "items" {
			s.value()
			return
		}
		sawItems = true
		s.array(func() {
			n := 0
			var it itemStatus
			s.object(func(op []byte) {
				n++
				s.object(func(k []byte) {
					switch string(k) {
					case "status":
						it.status = s.int()
					case "error":
						it.err = s.value()
					case "_id":
						it.id = s.value()
					default:
						s.value()
					}
				})
			})
			if s.err == nil && (n != 1 || it.status == 0) {
				s.fail(fmt.Sprintf("item %d has no operation or no status", len(dst)))
			}
			dst = append(dst, it)
		})
	})
	if s.err == nil {
		if s.peek() != 0 {
			s.fail("trailing data")
		} else if !sawItems {
			s.err = errors.New("no items")
		}
	}
	return dst, s.err
}

// itemReason renders an item's error as "type: reason (caused by ...)".
func itemReason(status int, rawErr []byte) string {
	if len(rawErr) == 0 {
		return statusText(status)
	}
	var e itemError
	if json.Unmarshal(rawErr, &e) == nil && e.Type != "" {
		return e.String()
	}
	var str string
	if json.Unmarshal(rawErr, &str) == nil && str != "" {
		return str
	}
	return statusText(status) + ": " + string(rawErr)
}
