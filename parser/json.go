package parser

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sidetrail/sidetrail"
)

// Time formats of the json parser.
const (
	tfAuto = iota
	tfRFC3339
	tfUnix
	tfUnixMs
	tfUnixUs
	tfUnixNs
	tfLayout
)

// defaultTimeKeys are tried in this order of preference when TimeKey is
// unset.
var defaultTimeKeys = [...]string{"@timestamp", "time", "timestamp", "ts"}

// maxDepth bounds the nesting of objects and arrays inside a line.
const maxDepth = 1000

// maxNames bounds the key → field-name table of a json parser.
const maxNames = 4096

// jsonParser parses one JSON object per line.
type jsonParser struct {
	timeKeys []string // in order of preference
	timeFmt  int
	layout   string
	names    map[string]string // raw key → field name (renamed when colliding)
	stack    []byte            // open containers while validating
	cand     [len(defaultTimeKeys)]int
	// The keys of the previous line by position: lines of one log
	// mostly repeat their keys in order, and comparing bytes with the
	// expected key is cheaper than hashing for the map.
	lastRaw  []string
	lastName []string
}

func newJSON(cfg Config) (*jsonParser, error) {
	p := &jsonParser{names: make(map[string]string)}
	if cfg.TimeKey != "" {
		p.timeKeys = []string{cfg.TimeKey}
	} else {
		p.timeKeys = defaultTimeKeys[:]
	}
	switch strings.ToLower(cfg.TimeFormat) {
	case "":
		p.timeFmt = tfAuto
	case "rfc3339", "iso8601":
		p.timeFmt = tfRFC3339
	case "unix":
		p.timeFmt = tfUnix
	case "unix_ms":
		p.timeFmt = tfUnixMs
	case "unix_us":
		p.timeFmt = tfUnixUs
	case "unix_ns":
		p.timeFmt = tfUnixNs
	default:
		// A Go layout must at least format and re-read a known time.
		ref := time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)
		if _, err := time.Parse(cfg.TimeFormat, ref.Format(cfg.TimeFormat)); err != nil || !strings.ContainsAny(cfg.TimeFormat, "0123456789") {
			return nil, fmt.Errorf("time_format %q: want rfc3339, unix, unix_ms, unix_us, unix_ns or a Go time layout", cfg.TimeFormat)
		}
		p.timeFmt, p.layout = tfLayout, cfg.TimeFormat
	}
	return p, nil
}

// fieldName maps a raw key to its field name without allocating for keys
// seen before. The empty key becomes "_empty"; a key with an empty dotted
// segment ("a..b", ".a", "a.") has its dots turned into '_'. Keys that would
// clash with the record's own keys (@timestamp, message, log, log.file,
// log.file.path, log.offset, log.flags, source, or anything below one of
// them) become "json.KEY".
func (p *jsonParser) fieldName(raw []byte) string {
	if s, ok := p.names[string(raw)]; ok {
		return s
	}
	k := string(raw)
	name := k
	switch {
	case k == "":
		name = "_empty"
	case k[0] == '.' || k[len(k)-1] == '.' || strings.Contains(k, ".."):
		// Empty segments make no object path: keep it one flat name.
		name = strings.ReplaceAll(k, ".", "_")
	}
	if collides(name) {
		name = "json." + name
	}
	if len(p.names) < maxNames {
		p.names[k] = name
	}
	return name
}

// remember records that the key at position pos was raw, named name.
func (p *jsonParser) remember(pos int, raw []byte, name string) {
	for len(p.lastRaw) <= pos {
		p.lastRaw = append(p.lastRaw, "")
		p.lastName = append(p.lastName, "")
	}
	if s, ok := p.names[string(raw)]; ok && s == name {
		// The map holds the raw key as a string already; find it
		// without allocating by trusting the name for non-renamed keys.
		if name == string(raw) {
			p.lastRaw[pos], p.lastName[pos] = name, name
			return
		}
	}
	p.lastRaw[pos], p.lastName[pos] = string(raw), name
}

// Parse implements Parser for JSON lines.
//
// The line must be one JSON object (white space around it allowed).
// Top-level keys become fields in their order. Strings are unescaped
// (KindString; invalid UTF-8 is kept as bytes and the encoder writes
// U+FFFD); numbers keep their exact text (KindInt without fraction or
// exponent, else KindFloat); true/false are KindBool; null is KindNull;
// nested objects and arrays are validated and kept verbatim as KindJSON
// (invalid UTF-8 inside them is replaced by \ufffd). A duplicate key keeps
// its first position and its LAST value. Keys clashing with the record's
// own keys are renamed "json.KEY" (see fieldName). The time key's value, if
// it parses in the configured time format, sets rec.Time and is not kept as
// a field; with the default keys, the most preferred key that parses wins
// and the others stay fields.
//
// Anything else (a top-level array, number or string, invalid JSON, an
// empty line, nesting deeper than 1000) returns *Error.
func (p *jsonParser) Parse(line []byte, rec *sidetrail.Record) error {
	line = trimEOL(line)
	nf, ns := len(rec.Fields), len(rec.Scratch)
	off, msg := p.parse(line, rec, nf)
	if msg != "" {
		rec.Fields = rec.Fields[:nf]
		rec.Scratch = rec.Scratch[:ns]
		return newError(FormatJSON, off, msg)
	}
	return nil
}

func (p *jsonParser) parse(line []byte, rec *sidetrail.Record, nf int) (int, string) {
	for i := range p.cand {
		p.cand[i] = -1
	}
	dotted := false
	i := skipWS(line, 0)
	if i >= len(line) {
		return i, "empty line"
	}
	if line[i] != '{' {
		return i, "not a JSON object"
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return i, "expected a key"
			}
			kstart := i + 1
			end, esc, ok := scanString(line, i)
			if !ok {
				return i, "invalid string"
			}
			raw := line[kstart : end-1]
			if esc {
				s := len(rec.Scratch)
				rec.Scratch, _ = appendUnescapeJSON(rec.Scratch, raw)
				raw = rec.Scratch[s:]
				rec.Scratch = rec.Scratch[:s] // the key is interned; the bytes can go
			}
			var key string
			if pos := len(rec.Fields) - nf; pos < len(p.lastRaw) && p.lastRaw[pos] == string(raw) {
				key = p.lastName[pos]
			} else {
				key = p.fieldName(raw)
				if pos < 64 {
					p.remember(pos, raw, key)
				}
			}
			rank := -1
			for r, k := range p.timeKeys {
				if string(raw) == k {
					rank = r
					break
				}
			}
			i = skipWS(line, end)
			if i >= len(line) || line[i] != ':' {
				return i, "expected ':'"
			}
			i = skipWS(line, i+1)
			if i >= len(line) {
				return i, "expected a value"
			}
			var kind sidetrail.Kind
			var val []byte
			switch c := line[i]; {
			case c == '"':
				end, esc, ok := scanString(line, i)
				if !ok {
					return i, "invalid string"
				}
				kind, val = sidetrail.KindString, line[i+1:end-1]
				if esc {
					s := len(rec.Scratch)
					rec.Scratch, _ = appendUnescapeJSON(rec.Scratch, val)
					val = rec.Scratch[s:len(rec.Scratch):len(rec.Scratch)]
				}
				i = end
			case c == '{' || c == '[':
				end, ok := p.skipValue(line, i)
				if !ok {
					return i, "invalid JSON value"
				}
				kind, val = sidetrail.KindJSON, line[i:end]
				if !utf8.Valid(val) {
					s := len(rec.Scratch)
					rec.Scratch = appendValidUTF8(rec.Scratch, val)
					val = rec.Scratch[s:len(rec.Scratch):len(rec.Scratch)]
				}
				i = end
			case c == '-' || c >= '0' && c <= '9':
				end, isInt, ok := scanNumber(line, i)
				if !ok {
					return i, "invalid number"
				}
				kind, val = sidetrail.KindFloat, line[i:end]
				if isInt {
					kind = sidetrail.KindInt
				}
				i = end
			case c == 't' && hasLit(line, i, "true"):
				kind, val = sidetrail.KindBool, line[i:i+4]
				i += 4
			case c == 'f' && hasLit(line, i, "false"):
				kind, val = sidetrail.KindBool, line[i:i+5]
				i += 5
			case c == 'n' && hasLit(line, i, "null"):
				kind, val = sidetrail.KindNull, line[i:i+4]
				i += 4
			default:
				return i, "invalid JSON value"
			}
			idx := -1
			for j := nf; j < len(rec.Fields); j++ {
				if rec.Fields[j].Key == key {
					idx = j
					break
				}
			}
			if !dotted && strings.IndexByte(key, '.') >= 0 {
				dotted = true
			}
			if idx >= 0 {
				rec.Fields[idx].Kind, rec.Fields[idx].Value = kind, val
			} else {
				idx = len(rec.Fields)
				rec.Add(key, kind, val)
			}
			if rank >= 0 {
				p.cand[rank] = idx
			}
			i = skipWS(line, i)
			if i < len(line) && line[i] == ',' {
				i = skipWS(line, i+1)
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return i, "expected ',' or '}'"
		}
	}
	if i = skipWS(line, i); i != len(line) {
		return i, "text after the JSON object"
	}
	if dotted {
		fixPathConflicts(rec.Fields[nf:])
	}
	for r := range p.timeKeys {
		idx := p.cand[r]
		if idx < 0 {
			continue
		}
		if t, ok := p.parseTime(rec.Fields[idx]); ok {
			rec.Time = t
			rec.Fields = append(rec.Fields[:idx], rec.Fields[idx+1:]...)
			break
		}
	}
	return 0, ""
}

// parseTime reads f as the event time in p's time format.
func (p *jsonParser) parseTime(f sidetrail.Field) (time.Time, bool) {
	str := f.Kind == sidetrail.KindString
	num := f.Kind == sidetrail.KindInt || f.Kind == sidetrail.KindFloat
	switch p.timeFmt {
	case tfAuto:
		if str {
			if t, ok := parseRFC3339(f.Value); ok {
				return t, true
			}
		}
		if str || num {
			return parseEpoch(f.Value, -1)
		}
	case tfRFC3339:
		if str {
			return parseRFC3339(f.Value)
		}
	case tfUnix, tfUnixMs, tfUnixUs, tfUnixNs:
		if str || num {
			return parseEpoch(f.Value, 3*(p.timeFmt-tfUnix))
		}
	case tfLayout:
		if str {
			t, err := time.Parse(p.layout, string(f.Value))
			return t.UTC(), err == nil
		}
	}
	return time.Time{}, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// scanString validates the JSON string starting at b[i] == '"' and returns
// the index after its closing quote and whether it holds escapes. Raw
// control characters and malformed escapes make it invalid; bytes >= 0x80
// are not checked (invalid UTF-8 is the encoder's to replace).
func scanString(b []byte, i int) (end int, esc, ok bool) {
	j := i + 1
	// Skip 8 plain bytes at a time: no '"', no '\\', nothing below 0x20.
	for ; j+8 <= len(b); j += 8 {
		x := binary.LittleEndian.Uint64(b[j:])
		if hasLess(x, 0x20)|hasByte(x, '"')|hasByte(x, '\\') != 0 {
			break
		}
	}
	for ; j < len(b); j++ {
		c := b[j]
		switch {
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

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasLess is non-zero when a byte of x is below n (n <= 128).
func hasLess(x uint64, n byte) uint64 { return (x - lsb*uint64(n)) &^ x & msb }

// hasByte is non-zero when a byte of x equals c.
func hasByte(x uint64, c byte) uint64 { return hasLess(x^(lsb*uint64(c)), 1) }

// scanNumber validates the JSON number starting at b[i] and returns the
// index after it and whether it is an integer (no fraction, no exponent).
func scanNumber(b []byte, i int) (end int, isInt, ok bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return 0, false, false
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false, false
		}
	}
	return j, isInt, true
}

// jsonNumber reports whether all of b is one JSON number, and whether it is
// an integer.
func jsonNumber(b []byte) (isInt, ok bool) {
	end, isInt, ok := scanNumber(b, 0)
	return isInt, ok && end == len(b)
}

// isJSONInt reports whether all of b is a JSON integer ("0", "200", "-3";
// not "007", not "1.0").
func isJSONInt(b []byte) bool {
	isInt, ok := jsonNumber(b)
	return ok && isInt
}

// skipValue validates the object or array starting at b[i] and returns the
// index after it. It keeps its own stack of open containers (no recursion),
// bounded by maxDepth.
func (p *jsonParser) skipValue(b []byte, i int) (int, bool) {
	p.stack = p.stack[:0]
	// Expectation after each token, per the innermost container.
	for {
		// A value is expected at b[i].
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(p.stack) >= maxDepth {
				return 0, false
			}
			p.stack = append(p.stack, c)
			i = skipWS(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				p.stack = p.stack[:len(p.stack)-1]
				i++
				goto after
			}
			if c == '{' {
				goto key
			}
			continue
		case c == '"':
			end, _, ok := scanString(b, i)
			if !ok {
				return 0, false
			}
			i = end
		case c == '-' || c >= '0' && c <= '9':
			end, _, ok := scanNumber(b, i)
			if !ok {
				return 0, false
			}
			i = end
		case c == 't' && hasLit(b, i, "true"):
			i += 4
		case c == 'f' && hasLit(b, i, "false"):
			i += 5
		case c == 'n' && hasLit(b, i, "null"):
			i += 4
		default:
			return 0, false
		}
	after:
		// After a value: a separator or the end of containers.
		for {
			if len(p.stack) == 0 {
				return i, true
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			top := p.stack[len(p.stack)-1]
			if b[i] == ',' {
				i++
				if top == '{' {
					goto key
				}
				break // next value
			}
			if top == '{' && b[i] == '}' || top == '[' && b[i] == ']' {
				p.stack = p.stack[:len(p.stack)-1]
				i++
				continue
			}
			return 0, false
		}
		continue
	key:
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		end, _, ok := scanString(b, i)
		if !ok {
			return 0, false
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i++
	}
}

// appendValidUTF8 appends b with every invalid UTF-8 byte replaced by the
// six bytes `\ufffd` (b is valid JSON, so such bytes sit inside strings,
// where that escape is the replacement character).
func appendValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
			i++
			continue
		}
		dst = append(dst, b[i:i+n]...)
		i += n
	}
	return dst
}
