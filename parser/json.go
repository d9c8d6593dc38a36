package parser

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

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

// maxDepth bounds the nesting of objects and arrays inside a line, the
// line's own object counted: the record holds the line's members at its top
// level, so it is as deep as the line.
const maxDepth = 1000

// maxNames bounds the key → field-name table of a json parser.
const maxNames = 4096

// jsonParser parses one JSON object per line.
type jsonParser struct {
	timeKeys []string // in order of preference
	// timePath is a dotted time_key split at its dots ("meta.ts"): when no
	// top-level key is named so, the time is looked for in the nested
	// object (parser13 F10: every such event got the read time).
	timePath []string
	timeFmt  int
	layout   string
	// layoutZone: the layout reads a zone abbreviation (MST). Go gives one
	// it does not know (CET, EST, PDT in a UTC process) a zero offset:
	// such times were hours off, with no word (parser13 F9). They are no
	// event time; UTC, GMT and the local zone's are read right.
	layoutZone bool
	// noYear: the layout has no year (syslog's "Jan _2 15:04:05"); the
	// current one is taken (see withYear).
	noYear     bool
	yearDay    bool                // and it reads a day of the year
	loc        *time.Location      // Config.Timezone for the layout's zoneless times (nil: UTC)
	keys       map[string]jsonKey  // raw (unescaped) key → what it becomes
	slots      map[string]*keySlot // field name → its slot
	stack      []byte              // open containers while validating
	okeys      []keySpan           // keys of the objects open in stack (see noteKey)
	obase      []int               // for each entry of stack, where its keys start in okeys
	suspect    bool                // the value skipValue validated may hold a key twice (see noteKey)
	deep       bool                // a value nested deeper than maxDepth was validated
	timeNested bool                // the time was taken from inside an object (it stays there)
	cand       [len(defaultTimeKeys)]int
	line       uint64 // counts Parse calls; stamps keySlot.line
	// The keys of the previous lines by field position: lines of one log
	// mostly repeat their keys in order, and comparing the line's bytes
	// with the expected key is cheaper than scanning the string and hashing
	// it for the map. An entry maps a key's bytes as written (without
	// escapes, so they are also its raw key) to what the key becomes; any
	// entry is a correct mapping, so a stale one only costs a miss.
	last  []jsonKey
	tmp   jsonKey // the current key when it is not in last
	times rfc3339Cache
	paths pathTable // scratch of the path check
	// noSlot places, in the line being parsed, the fields whose names have
	// no slot (the slot table is full): their index and raw key.
	noSlot []noSlotField
	// noSlotNames has, for each name in noSlot, the indexes in noSlot of
	// its first two fields, plus one (0: none). A scan of noSlot per key
	// made a line of 87,000 keys take 6.7 s (parser13 F7).
	noSlotNames map[string][2]int32
	seen        map[string]int // scratch of uniqueNames
}

// noSlotField is a field placed without a slot (see jsonParser.noSlot).
type noSlotField struct {
	idx int
	raw string
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
	raw  string // the raw key placed at idx
	// Another raw key with the same field name ("json.message" written out
	// after "message" was renamed so, or a key that differs only in invalid
	// UTF-8) is another field: the first such one is placed at altIdx in
	// line altLine, so that its own duplicates find it.
	altLine uint64
	altIdx  int
	altRaw  string
	// below is jsonParser.line when a name below this one ("a.b" below
	// "a") was placed: with line, it tells that a name is a value and an
	// object at once without looking at the other fields (see clashes).
	below uint64
	// up are the slots of the names above a dotted name ("a" and "a.b"
	// for "a.b.c"), set by key when upSet is false; a nil entry is a
	// name that has no slot.
	up    []*keySlot
	upSet bool
}

func newJSON(cfg Config) (*jsonParser, error) {
	p := &jsonParser{keys: make(map[string]jsonKey), slots: make(map[string]*keySlot)}
	p.paths.small = smallPaths
	if cfg.TimeKey != "" {
		p.timeKeys = []string{cfg.TimeKey}
		if strings.Contains(cfg.TimeKey, ".") {
			p.timePath = strings.Split(cfg.TimeKey, ".")
		}
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
		ref := time.Date(2024, 3, 17, 15, 4, 5, 0, time.UTC) // no field 1, none like another
		if _, err := time.Parse(cfg.TimeFormat, ref.Format(cfg.TimeFormat)); err != nil || !strings.ContainsAny(cfg.TimeFormat, "0123456789") {
			return nil, fmt.Errorf("time_format %q: want rfc3339, unix, unix_ms, unix_us, unix_ns or a Go time layout", cfg.TimeFormat)
		}
		p.timeFmt, p.layout = tfLayout, cfg.TimeFormat
		// A month and a day, no year: syslog's. A layout without a date
		// at all stays no date (regress19b F4: dated January 1).
		if t, _ := time.Parse(cfg.TimeFormat, ref.Format(cfg.TimeFormat)); t.Year() == 0 && t.Month() == ref.Month() && t.Day() == ref.Day() {
			p.noYear = true
			// A day of the year ("__2", "002") counts in the year taken,
			// not in year 0, a leap year (regress19c R6: day 60 was Feb 29).
			p.yearDay = strings.Contains(cfg.TimeFormat, "__2") || strings.Contains(cfg.TimeFormat, "002")
		}
		// With a numeric offset beside it ("-0700 MST"), the offset
		// counts (regress13b N2: "+0000 WET").
		p.layoutZone = strings.Contains(cfg.TimeFormat, "MST") && !strings.Contains(cfg.TimeFormat, "-07") && !strings.Contains(cfg.TimeFormat, "Z07")
	}
	// An application's local wall-clock times ("2006-01-02 15:04:05",
	// Python's and Java's defaults) were read as UTC, hours off, with no
	// way to say otherwise (parser17 F). UTC, the default, goes anywhere.
	loc, err := loadZone(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	if loc != nil && p.timeFmt != tfLayout {
		return nil, fmt.Errorf("timezone %q: a json source takes one only with a time_format layout (its zoneless times), not %q", cfg.Timezone, cmp.Or(cfg.TimeFormat, "the default"))
	}
	p.loc = loc
	return p, nil
}

// fieldName maps a raw key to its field name. Invalid UTF-8 becomes
// U+FFFD, byte by byte, as the encoder writes it (so keys that differ only
// there are one name, as a JSON reader sees them). The empty key becomes
// "_empty"; a key with an empty dotted segment ("a..b", ".a", "a.") has its
// dots turned into '_'. Keys that would clash with the record's own keys
// (@timestamp, message, log, log.file, log.file.path, log.offset,
// log.flags, source, or anything below one of them) become "json.KEY".
func fieldName(k string) string {
	name := k
	if !utf8.ValidString(name) {
		name = validUTF8(name)
	}
	switch {
	case name == "":
		name = "_empty"
	case name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, ".."):
		// Empty segments make no object path: keep it one flat name.
		name = strings.ReplaceAll(name, ".", "_")
	}
	if sidetrail.MeetsRecordKey(name) {
		name = "json." + name
	}
	return name
}

// placeNoSlot finds where a key whose name has no slot goes, as the slots
// do for the others: the field of the same raw key, or of the first other
// raw key with that name, or a new field (-1; taken when a field has the
// name already).
func (p *jsonParser) placeNoSlot(rec *sidetrail.Record, key *jsonKey) (idx int, taken bool) {
	if p.noSlotNames == nil {
		p.noSlotNames = make(map[string][2]int32)
	}
	at := p.noSlotNames[key.name]
	first, second := int(at[0])-1, int(at[1])-1
	switch {
	case first >= 0 && p.noSlot[first].raw == key.raw:
		return p.noSlot[first].idx, false
	case second >= 0 && p.noSlot[second].raw == key.raw:
		return p.noSlot[second].idx, false
	}
	p.noSlot = append(p.noSlot, noSlotField{idx: len(rec.Fields), raw: key.raw})
	switch {
	case first < 0:
		at[0] = int32(len(p.noSlot))
	case second < 0:
		at[1] = int32(len(p.noSlot))
	}
	p.noSlotNames[key.name] = at
	return -1, first >= 0
}

// uniqueNames gives each field that has the name of a field before it a
// name of its own, by the suffixes pathTable.fix uses ("a_", "a__", ...,
// "a_9"), skipping names any field has.
func (p *jsonParser) uniqueNames(fs []sidetrail.Field, rec *sidetrail.Record) {
	if p.seen == nil {
		p.seen = make(map[string]int)
	}
	clear(p.seen)
	for i := range fs {
		p.seen[fs[i].Key]++
	}
	next := map[string]int{} // rare: a line with twins
	var buf []byte
	for i := range fs {
		k := fs[i].Key
		if p.seen[k] < 0 { // the first field of this name keeps it
			for n := next[k] + 1; ; n++ {
				buf = appendSuffix(append(buf[:0], k...), n)
				if _, used := p.seen[string(buf)]; !used {
					next[k] = n
					break
				}
			}
			fs[i].Key = string(buf)
			rec.Renaming(k, fs[i].Key)
			p.seen[fs[i].Key] = 1
			continue
		}
		p.seen[k] = -1
	}
	if len(p.seen) > maxNames {
		p.seen = nil
	}
}

// validUTF8 returns s with each byte that is not part of valid UTF-8
// replaced by U+FFFD.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
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
	k.slot = p.slot(k.name)
	if k.dotted && k.slot != nil && !k.slot.upSet {
		k.slot.upSet = true
		// Each name above costs a hash of it: past maxUp of them, leave
		// the check to pathTable.fix.
		if strings.Count(k.name, ".") > maxUp {
			k.slot.up = []*keySlot{nil}
		} else {
			for j := 0; j < len(k.name); j++ {
				if k.name[j] == '.' {
					k.slot.up = append(k.slot.up, p.slot(k.name[:j]))
				}
			}
		}
	}
	if k.slot != nil && len(p.keys) < maxNames {
		p.keys[k.raw] = k
	}
	return k
}

// slot returns the slot of a field name, nil when it has none and the
// table is full.
func (p *jsonParser) slot(name string) *keySlot {
	sl := p.slots[name]
	if sl == nil && len(p.slots) < maxNames {
		sl = &keySlot{}
		p.slots[name] = sl
	}
	return sl
}

// clashes reports whether the name of k, just placed in the line, cannot
// be a field together with a name placed before it: one is the other's
// dotted prefix ("a" and "a.b"). It also reports true when it cannot tell
// (a name without a slot); pathTable.fix then decides.
func (p *jsonParser) clashes(k *jsonKey) bool {
	sl := k.slot
	if sl == nil || sl.below == p.line {
		return true
	}
	for _, up := range sl.up {
		if up == nil || up.line == p.line {
			return true
		}
		up.below = p.line
	}
	return false
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

// maxUp bounds the names above a dotted name that keySlot.up holds.
const maxUp = 16

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
// own keys are renamed "json.KEY" (see fieldName). Two different keys that
// come to one name (a renamed "message" and a "json.message", or keys that
// differ only in invalid UTF-8) are two fields: the later one's name gets
// '_' added, as below, until no field has it. The time key's value, if
// it parses in the configured time format, sets rec.Time and is not kept as
// a field; with the default keys, the most preferred key that parses wins
// and the others stay fields.
//
// A dotted name is a path of nested objects in the record JSON, so one
// name must not be the dotted prefix of another ("a" and "a.b", "a.b" and
// "a.b.c": "a" would be a value and an object at once, written twice).
// Then the deeper name is made flat, its dots turned into '_' ("a.b" →
// "a_b"); if that name is taken, '_' is added until it is free ("a_b_",
// "a_b__"; past eight of them, '_' and a number: "a_b_9"). A flat name
// that is the prefix of another dotted name ("a_b" and "a_b.c") makes that
// one flat too. No value is lost, and the fields keep their order. The
// time key, not being a field, conflicts with nothing. Only lines with a
// dotted name pay for the check, and only lines with a conflict for the
// renaming.
//
// Anything else (a top-level array, number or string, invalid JSON, an
// empty line) returns *Error. So does valid JSON nested deeper than 1000,
// with its fields kept for the field rules (Error.Guessed).
func (p *jsonParser) Parse(line []byte, rec *sidetrail.Record) error {
	line = trimEOL(line)
	if bytes.HasPrefix(line, utf8BOM) {
		// A file a Windows tool wrote starts with a byte order mark: not
		// the line's JSON, nor its message (parser11: the first line of
		// such a file was a parse_failure).
		if len(rec.Message) >= len(line) && unsafe.SliceData(rec.Message) == unsafe.SliceData(line) {
			rec.Message = rec.Message[len(utf8BOM):]
		}
		line = line[len(utf8BOM):]
	}
	nf, ns := len(rec.Fields), len(rec.Scratch)
	p.deep, p.timeNested = false, false
	off, msg := p.parse(line, rec, nf)
	if msg != "" {
		rec.Fields = rec.Fields[:nf]
		rec.Scratch = rec.Scratch[:ns]
		return newError(FormatJSON, off, msg)
	}
	rec.KeysFromLine = true
	if p.deep {
		// Valid JSON nested deeper than maxDepth: a parse failure, whose
		// fields are kept for the field rules to take their values out
		// of the message. Dropped there, a client whose body the app
		// logs chose, by nesting it deep, that the line's protected
		// values shipped (parser19 J1).
		// The time key is a field again, for a field rule that names it
		// (regress19b F3: it shipped); a nested one is in its object.
		if rec.TimeField.Key != "" && !p.timeNested {
			rec.Fields = append(rec.Fields, rec.TimeField)
		}
		rec.Time, rec.TimeField = time.Time{}, sidetrail.Field{}
		return &Error{Format: FormatJSON, Offset: -1, Msg: "nesting deeper than 1000 levels", guessed: true}
	}
	return nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

func (p *jsonParser) parse(line []byte, rec *sidetrail.Record, nf int) (int, string) {
	for i := range p.cand {
		p.cand[i] = -1
	}
	p.line++
	if len(p.noSlot) > 0 {
		p.noSlot = p.noSlot[:0]
		if len(p.noSlotNames) > maxNames {
			p.noSlotNames = nil // grown by one wide line: not cleared for every later one
		}
		clear(p.noSlotNames)
	}
	// dotted: a dotted name was placed; clash: two names may conflict
	// (see clashes), for pathTable.fix to settle; twins: two fields have
	// one name, for uniqueNames.
	dotted, clash, twins := false, false, false
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
				// An object in it may hold a key twice: written once
				// after the redaction, which must see every value
				// (see DedupeFields).
				rec.Twins = rec.Twins || p.suspect
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
				switch {
				case sl.line != p.line:
					sl.line, sl.idx, sl.raw = p.line, len(rec.Fields), key.raw
				case sl.raw == key.raw:
					idx = sl.idx // a duplicate key: its last value wins
				case sl.altLine == p.line && sl.altRaw == key.raw:
					idx = sl.altIdx
				default:
					if sl.altLine != p.line {
						sl.altLine, sl.altIdx, sl.altRaw = p.line, len(rec.Fields), key.raw
					}
					twins = true
				}
			} else {
				var taken bool
				idx, taken = p.placeNoSlot(rec, key)
				twins = twins || taken
			}
			if dotted || key.dotted {
				dotted = true
				clash = clash || p.clashes(key)
			}
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
	for r := range p.timeKeys {
		idx := p.cand[r]
		if idx < 0 {
			continue
		}
		// A time the buffer cannot hold stays a field; the record gets
		// the read time.
		if t, ok := p.parseTime(rec.Fields[idx]); ok && sidetrail.TimeInRange(t) {
			rec.Time = t
			rec.TimeField = rec.Fields[idx]
			rec.Fields = append(rec.Fields[:idx], rec.Fields[idx+1:]...)
			break
		}
	}
	if p.timePath != nil && rec.Time.IsZero() {
		p.nestedTime(rec, nf)
	}
	if twins {
		p.uniqueNames(rec.Fields[nf:], rec)
		clash = true
	}
	// After the time key is gone: it is no field, and holds no name up.
	if clash {
		p.paths.fix(rec.Fields[nf:], rec)
	}
	return 0, ""
}

// maxUnderscores is how many '_' pathTable.fix adds to make a flat name
// unique before it adds '_' and a number: names that flatten alike cannot
// grow the record by the square of their count.
const maxUnderscores = 8

// smallPaths is how many fields pathTable.fix compares with each other
// rather than hash: below it, comparing costs less.
const smallPaths = 32

// pathTable is the scratch of fix. With more than small fields it holds
// the line's field names in an open-addressing hash table with a seeded
// hash (maphash), so that no line can make its names collide on purpose;
// with fewer, find compares the names.
type pathTable struct {
	small  int  // smallPaths; 0 in tests that want the table
	hashed bool // this line's names are in ents
	hash   maphash.Hash
	ents   []pathEnt // a power of two long, at most half full
	order  []int32   // the dotted fields, shortest first
	buf    []byte
	flat   map[string]string // dotted name → the flat name it was last given
}

type pathEnt struct {
	sum uint64 // hash of the name
	idx int    // 1 + the field's index; 0: empty
}

// fix makes the deeper name of each pair of fields where one name is the
// dotted prefix of the other flat (see Parse), and notes each renaming in
// rec when it is not nil. Its cost is linear in the length of the names,
// bar the sort of the dotted ones, and it allocates nothing once it has
// given each flat name once.
func (t *pathTable) fix(fs []sidetrail.Field, rec *sidetrail.Record) {
	t.hashed = len(fs) > t.small
	if t.hashed {
		size := 16
		for size < 4*len(fs) { // the names and as many new ones
			size *= 2
		}
		if cap(t.ents) < size {
			t.ents = make([]pathEnt, size)
		} else {
			t.ents = t.ents[:size]
			clear(t.ents)
		}
	}
	t.order = t.order[:0]
	for i := range fs {
		k := fs[i].Key
		if t.hashed {
			t.hash.Reset()
			t.hash.WriteString(k)
			t.insert(t.hash.Sum64(), i)
		}
		if strings.IndexByte(k, '.') >= 0 {
			t.order = append(t.order, int32(i))
		}
	}
	// Shortest first: a name made flat is at least as long as the dotted
	// name it was, so it can only be the prefix of a longer one, checked
	// later. Names that flatten alike are next to each other, in
	// the line's order, so that they number themselves in one run.
	slices.SortFunc(t.order, func(a, b int32) int {
		ka, kb := fs[a].Key, fs[b].Key
		if len(ka) != len(kb) {
			return len(ka) - len(kb)
		}
		for i := 0; i < len(ka); i++ {
			if ca, cb := flatByte(ka[i]), flatByte(kb[i]); ca != cb {
				return int(ca) - int(cb)
			}
		}
		return int(a - b)
	})
	// The field made flat last, the length of its name before, and the
	// number appendSuffix gave it.
	last, lastLen, n := -1, 0, 0
	for _, i := range t.order {
		k := fs[i].Key
		t.buf = append(t.buf[:0], k...)
		if !t.under(fs, t.buf) {
			continue
		}
		for j, c := range t.buf {
			t.buf[j] = flatByte(c)
		}
		n1 := 0
		if last >= 0 && lastLen == len(k) && fs[last].Key[:len(k)] == string(t.buf) {
			n1 = n + 1 // the numbers up to n are taken
		}
		var sum uint64
		for ; ; n1++ {
			t.buf = appendSuffix(t.buf[:len(k)], n1)
			if t.hashed {
				t.hash.Reset()
				t.hash.Write(t.buf)
				sum = t.hash.Sum64()
			}
			if !t.find(fs, sum, t.buf) {
				break
			}
		}
		fs[i].Key = t.name(k, t.buf)
		if rec != nil {
			rec.Renaming(k, fs[i].Key)
		}
		if t.hashed {
			t.insert(sum, int(i))
		}
		last, lastLen, n = int(i), len(k), n1
	}
	if len(t.ents) > 1<<12 {
		t.ents = nil // after an unusual line: do not keep its memory
	}
	if cap(t.buf) > 1<<12 {
		t.buf = nil
	}
	if cap(t.order) > 1<<12 {
		t.order = nil
	}
}

func flatByte(c byte) byte {
	if c == '.' {
		return '_'
	}
	return c
}

// under reports whether a dotted prefix of name ("a" or "a.b" of "a.b.c")
// is a field name. The hash is fed the name piece by piece: each prefix
// costs its new bytes only.
func (t *pathTable) under(fs []sidetrail.Field, name []byte) bool {
	if t.hashed {
		t.hash.Reset()
	}
	from := 0
	for j := range name {
		if name[j] != '.' {
			continue
		}
		var sum uint64
		if t.hashed {
			t.hash.Write(name[from:j])
			from = j
			sum = t.hash.Sum64()
		}
		if t.find(fs, sum, name[:j]) {
			return true
		}
	}
	return false
}

// find reports whether a field is named name (whose hash is sum when the
// names are hashed). A field made flat is found by its new name only: the
// entry of its old one compares with the new.
func (t *pathTable) find(fs []sidetrail.Field, sum uint64, name []byte) bool {
	if !t.hashed {
		for i := range fs {
			if fs[i].Key == string(name) {
				return true
			}
		}
		return false
	}
	mask := len(t.ents) - 1
	for h := int(sum) & mask; ; h = (h + 1) & mask {
		e := t.ents[h]
		if e.idx == 0 {
			return false
		}
		if e.sum == sum && fs[e.idx-1].Key == string(name) {
			return true
		}
	}
}

func (t *pathTable) insert(sum uint64, i int) {
	mask := len(t.ents) - 1
	h := int(sum) & mask
	for t.ents[h].idx != 0 {
		h = (h + 1) & mask
	}
	t.ents[h] = pathEnt{sum: sum, idx: i + 1}
}

// name returns flat as a string, the one given to dotted before when it is
// the same (a log whose lines all hold one conflict allocates nothing).
func (t *pathTable) name(dotted string, flat []byte) string {
	if s, ok := t.flat[dotted]; ok && s == string(flat) {
		return s
	}
	s := string(flat)
	if t.flat == nil {
		t.flat = make(map[string]string)
	}
	if _, ok := t.flat[dotted]; ok || len(t.flat) < maxNames {
		t.flat[dotted] = s
	}
	return s
}

// appendSuffix appends what tells the n-th field that flattens to one name
// from the others: n underscores, after maxUnderscores '_' and n.
func appendSuffix(b []byte, n int) []byte {
	if n > maxUnderscores {
		return strconv.AppendInt(append(b, '_'), int64(n), 10)
	}
	for ; n > 0; n-- {
		b = append(b, '_')
	}
	return b
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
			var t time.Time
			var err error
			zone := time.Local // where Parse looks a zone abbreviation up
			if p.loc != nil {
				t, err = time.ParseInLocation(p.layout, string(f.Value), p.loc)
				zone = p.loc
			} else {
				t, err = time.Parse(p.layout, string(f.Value))
			}
			if err == nil && p.layoutZone && t.Location() != zone && t.Location() != time.UTC {
				// Not the local zone's abbreviation (read with its offset,
				// in time.Local: WET in Lisbon, regress13b N2).
				if name, off := t.Zone(); off == 0 && name != "UTC" && name != "GMT" {
					return time.Time{}, false // an abbreviation Go does not know
				}
			}
			if err == nil && p.noYear {
				if p.yearDay {
					t = withYearDay(t, time.Now())
				} else {
					t = withYear(t, time.Now())
				}
			}
			return t.UTC(), err == nil
		}
	}
	return time.Time{}, false
}

// withYearDay gives t, read with a layout of a day of the year without a
// year (in year 0), now's year in t's zone, or the year before where that
// puts t more than a day after now, the day counted in that year.
func withYearDay(t, now time.Time) time.Time {
	now = now.In(t.Location())
	at := func(year int) time.Time {
		return time.Date(year, 1, t.YearDay(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	}
	if y := at(now.Year()); y.Sub(now) <= 24*time.Hour {
		return y
	}
	return at(now.Year() - 1)
}

// withYear gives t, read with a layout without a year (year 0), now's year
// in t's zone, or the year before where that puts t more than a day after
// now (a December line read in January). Go reads year 0, which the buffer
// cannot hold: every record got the read time (parser19 T1).
//
// Feb 29 is of the last leap year that puts it no more than a day ahead
// (not Mar 1 of a year without one).
func withYear(t, now time.Time) time.Time {
	now = now.In(t.Location())
	at := func(year int) time.Time {
		return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	}
	year := now.Year()
	if at(year).Sub(now) > 24*time.Hour {
		year--
	}
	for i := 0; i < 8 && at(year).Month() != t.Month(); i++ {
		year-- // Feb 29 in a year without one
	}
	return at(year)
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

// nestedTime takes rec's time from the member at p.timePath inside a
// top-level object. The member stays in its object.
func (p *jsonParser) nestedTime(rec *sidetrail.Record, nf int) {
	path := p.timePath
	var v []byte
	// The record writes "a.b" and {"a":{"b":…}} alike, so each dot of
	// time_key may part two names or belong to one (regress13 R7): the
	// top-level key is "a", "a.b", …, and so are the names below.
	for k := 1; k < len(path) && v == nil; k++ {
		// The line's key: its field is renamed if the record has the
		// name ("log" is "json.log"), and was missed (parser17 G).
		name := strings.Join(path[:k], ".")
		own := fieldName(name)
		for _, f := range rec.Fields[nf:] {
			if f.Kind == sidetrail.KindJSON && (f.Key == name || f.Key == own) {
				v = p.nestedMember(f.Value, path[k:])
			}
		}
	}
	if len(v) == 0 {
		return
	}
	tf := sidetrail.Field{Key: strings.Join(path, "."), Kind: sidetrail.KindString, Value: v}
	switch {
	case len(v) >= 2 && v[0] == '"':
		end, esc, ok := scanString(v, 0)
		if !ok || esc || end != len(v) {
			return // a time holds no escapes
		}
		tf.Value = v[1 : len(v)-1]
	case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
		tf.Kind = sidetrail.KindFloat
	default:
		return
	}
	if t, ok := p.parseTime(tf); ok && sidetrail.TimeInRange(t) {
		rec.Time, rec.TimeField = t, tf
		p.timeNested = true
	}
}

// nestedMember returns the value at path inside the JSON object obj, each
// dot of the path parting two names or belonging to one; nil if none.
func (p *jsonParser) nestedMember(obj []byte, path []string) []byte {
	for k := 1; k <= len(path); k++ {
		v := p.member(obj, strings.Join(path[:k], "."))
		switch {
		case v == nil:
		case k == len(path):
			return v
		case v[0] == '{':
			if w := p.nestedMember(v, path[k:]); w != nil {
				return w
			}
		}
	}
	return nil
}

// member returns the value of the member named name (written without
// escapes) of the JSON object obj, or nil. Of a name given twice, the last
// counts, as the parser keeps it (regress13 R7).
func (p *jsonParser) member(obj []byte, name string) []byte {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	var found []byte
	for i = skipWS(obj, i+1); i < len(obj) && obj[i] == '"'; {
		end, _, ok := scanString(obj, i)
		if !ok {
			return nil
		}
		key := obj[i+1 : end-1]
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil
		}
		vs := skipWS(obj, i+1)
		ve, ok := p.valueEnd(obj, vs)
		if !ok {
			return nil
		}
		if string(key) == name {
			found = obj[vs:ve]
		}
		i = skipWS(obj, ve)
		if i >= len(obj) || obj[i] != ',' {
			return found
		}
		i = skipWS(obj, i+1)
	}
	return found
}

// valueEnd returns the end of the JSON value at b[i].
func (p *jsonParser) valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		return p.skipValue(b, i)
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '-' || c >= '0' && c <= '9':
		end, _, ok := scanNumber(b, i)
		return end, ok
	case hasLit(b, i, "true"):
		return i + 4, true
	case hasLit(b, i, "false"):
		return i + 5, true
	case hasLit(b, i, "null"):
		return i + 4, true
	}
	return 0, false
}

// skipValue validates the object or array starting at b[i] and returns the
// index after it. It keeps its own stack of open containers (no recursion),
// bounded by maxDepth.
func (p *jsonParser) skipValue(b []byte, i int) (int, bool) {
	p.stack = p.stack[:0]
	p.okeys, p.obase, p.suspect = p.okeys[:0], p.obase[:0], false
	// Expectation after each token, per the innermost container.
	for {
		// A value is expected at b[i].
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(p.stack)+1 >= maxDepth { // +1: the line's own object
				// Validated on (the stack is at most the line's size),
				// for the field rules to reach the line (see Parse).
				p.deep = true
			}
			p.stack = append(p.stack, c)
			p.obase = append(p.obase, len(p.okeys))
			i = skipWS(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				p.stack = p.stack[:len(p.stack)-1]
				p.obase = p.obase[:len(p.obase)-1]
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
				p.okeys = p.okeys[:p.obase[len(p.obase)-1]]
				p.obase = p.obase[:len(p.obase)-1]
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
		end, esc, ok := scanString(b, i)
		if !ok {
			return 0, false
		}
		if !p.suspect {
			p.suspect = p.noteKey(b, i+1, end-1, esc)
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
