package parser

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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
	keys     map[string]jsonKey  // raw (unescaped) key → what it becomes
	slots    map[string]*keySlot // field name → its slot
	stack    []byte              // open containers while validating
	cand     [len(defaultTimeKeys)]int
	line     uint64 // counts Parse calls; stamps keySlot.line
	// The keys of the previous lines by field position: lines of one log
	// mostly repeat their keys in order, and comparing the line's bytes
	// with the expected key is cheaper than scanning the string and hashing
	// it for the map. An entry maps a key's bytes as written (without
	// escapes, so they are also its raw key) to what the key becomes; any
	// entry is a correct mapping, so a stale one only costs a miss.
	last  []jsonKey
	tmp   jsonKey // the current key when it is not in last
	times rfc3339Cache
}

// jsonKey is what one raw key becomes. Everything in it is a function of
// the raw key alone, so it can be cached by the key's bytes.
type jsonKey struct {
	raw    string // the raw key, unescaped
	name   string // the field name (see fieldName)
	rank   int    // preference among p.timeKeys, -1 when not a time key
	dotted bool   // name contains '.'
	valid  bool   // set for every jsonKey that was built (cache entries)
	// word and mask hold raw followed by its closing quote, as
	// little-endian bytes, when that fits in 8 bytes (mask 0 otherwise):
	// keyAt then compares a key with one load.
	word, mask uint64
	// slot finds a duplicate key in O(1). All keys with one field name
	// share one slot; nil when the slot table is full, and then the name
	// has no slot for the life of the parser (the table only grows), so
	// duplicates of it are found by comparing names.
	slot *keySlot
}

// keySlot says where a field name was placed in the line being parsed.
type keySlot struct {
	line uint64 // jsonParser.line when idx was set
	idx  int    // index in rec.Fields
}

func newJSON(cfg Config) (*jsonParser, error) {
	p := &jsonParser{keys: make(map[string]jsonKey), slots: make(map[string]*keySlot)}
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

// fieldName maps a raw key to its field name. The empty key becomes
// "_empty"; a key with an empty dotted segment ("a..b", ".a", "a.") has its
// dots turned into '_'. Keys that would clash with the record's own keys
// (@timestamp, message, log, log.file, log.file.path, log.offset,
// log.flags, source, or anything below one of them) become "json.KEY".
func fieldName(k string) string {
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
	return name
}

// key returns what raw becomes, without allocating for keys seen before.
// Both tables are bounded (maxNames): an adversarial log with endless
// distinct keys costs an allocation per unseen key once they are full,
// never unbounded memory.
func (p *jsonParser) key(raw []byte) jsonKey {
	if k, ok := p.keys[string(raw)]; ok {
		return k
	}
	k := jsonKey{raw: string(raw), rank: -1, valid: true}
	if n := len(raw) + 1; n <= 8 {
		var b [8]byte
		copy(b[:], raw)
		b[len(raw)] = '"'
		k.word = binary.LittleEndian.Uint64(b[:])
		k.mask = ^uint64(0) >> (64 - 8*n)
	}
	k.name = fieldName(k.raw)
	k.dotted = strings.IndexByte(k.name, '.') >= 0
	for r, tk := range p.timeKeys {
		if k.raw == tk {
			k.rank = r
			break
		}
	}
	k.slot = p.slots[k.name]
	if k.slot == nil && len(p.slots) < maxNames {
		k.slot = &keySlot{}
		p.slots[k.name] = k.slot
	}
	if k.slot != nil && len(p.keys) < maxNames {
		p.keys[k.raw] = k
	}
	return k
}

// keyAt returns the cached key for position pos when line[i:] starts with
// it as a plain JSON string, and the index after its closing quote; nil
// when it does not.
func (p *jsonParser) keyAt(line []byte, i, pos int) (*jsonKey, int) {
	if pos >= len(p.last) {
		return nil, 0
	}
	k := &p.last[pos]
	if k.mask != 0 && i+9 <= len(line) {
		if binary.LittleEndian.Uint64(line[i+1:])&k.mask != k.word {
			return nil, 0
		}
		return k, i + 2 + len(k.raw)
	}
	// The cached raw key came from a string without escapes: it holds no
	// '"', '\\' or control character, so a match is that whole string.
	end := i + 1 + len(k.raw)
	if !k.valid || end >= len(line) || line[end] != '"' || string(line[i+1:end]) != k.raw {
		return nil, 0
	}
	return k, end + 1
}

// maxLast bounds the positions remembered in jsonParser.last.
const maxLast = 64

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
	rec.KeysFromLine = true
	return nil
}

func (p *jsonParser) parse(line []byte, rec *sidetrail.Record, nf int) (int, string) {
	for i := range p.cand {
		p.cand[i] = -1
	}
	p.line++
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
			pos := len(rec.Fields) - nf
			key, end := p.keyAt(line, i, pos)
			if key == nil {
				kstart := i + 1
				var esc, ok bool
				end, esc, ok = scanString(line, i)
				if !ok {
					return i, "invalid string"
				}
				raw := line[kstart : end-1]
				if esc {
					s := len(rec.Scratch)
					rec.Scratch, _ = appendUnescapeJSON(rec.Scratch, raw)
					raw = rec.Scratch[s:]
					rec.Scratch = rec.Scratch[:s] // the key is copied; the bytes can go
				}
				key = &p.tmp
				*key = p.key(raw)
				if !esc && pos < maxLast {
					for len(p.last) <= pos {
						p.last = append(p.last, jsonKey{})
					}
					p.last[pos] = *key
					key = &p.last[pos]
				}
			}
			i = end
			if i >= len(line) || line[i] != ':' {
				i = skipWS(line, i)
				if i >= len(line) || line[i] != ':' {
					return i, "expected ':'"
				}
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
			if sl := key.slot; sl != nil {
				if sl.line == p.line {
					idx = sl.idx
				} else {
					sl.line, sl.idx = p.line, len(rec.Fields)
				}
			} else {
				for j := nf; j < len(rec.Fields); j++ {
					if rec.Fields[j].Key == key.name {
						idx = j
						break
					}
				}
			}
			dotted = dotted || key.dotted
			if idx >= 0 {
				f := &rec.Fields[idx]
				f.Kind, f.Value = kind, val
			} else {
				idx = len(rec.Fields)
				addField(rec, key.name, kind, val)
			}
			if key.rank >= 0 {
				p.cand[key.rank] = idx
			}
			if i < len(line) && line[i] == ',' {
				i = skipWS(line, i+1)
				continue
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
			if t, ok := p.times.parse(f.Value); ok {
				return t, true
			}
		}
		if str || num {
			return parseEpoch(f.Value, -1)
		}
	case tfRFC3339:
		if str {
			return p.times.parse(f.Value)
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
	// Most bytes are above ' ': one comparison says so.
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
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
	for {
		// Skip 8 plain bytes at a time (no '"', no '\\', nothing below
		// 0x20) and jump straight to the first byte that is not: the
		// lowest flagged byte of hasLess and hasByte is always a true one.
		for j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			m := hasLess(x, 0x20) | hasByte(x, '"') | hasByte(x, '\\')
			if m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(b) {
			return 0, false, false
		}
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
				j += 2
			case 'u':
				if _, n := hex4(b[j+2:]); n == 0 {
					return 0, false, false
				}
				j += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		default:
			// Fewer than 8 bytes left: one at a time.
			j++
		}
	}
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
		j = skipDigits(b, j+1)
	default:
		return 0, false, false
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		k := j + 1
		if j = skipDigits(b, k); j == k {
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
		if j = skipDigits(b, k); j == k {
			return 0, false, false
		}
	}
	return j, isInt, true
}

// skipDigits returns the index of the first byte at or after b[j] that is
// not a decimal digit.
func skipDigits(b []byte, j int) int {
	for j < len(b) && b[j]-'0' < 10 {
		j++
	}
	return j
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
