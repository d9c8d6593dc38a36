package sidetrail

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// JSONEncoder writes records as the record JSON every text sink uses:
//
//	{"@timestamp":…,"message":…,"log":{"file":{"path":…},"offset":…,"flags":[…]},"source":…, fields…}
//
// Keys come in that stable order, then the fields in their order. Dotted
// names become nested objects, merged with their siblings where they share a
// prefix ("log.level" joins the "log" object). A JSONEncoder reuses its
// scratch memory, so encoding allocates nothing once warm; it is not safe for
// concurrent use. Its zero value is ready.
type JSONEncoder struct {
	leaves  []leaf
	done    []bool
	scratch []byte
	tree    leafTree // the grouping of records with many leaves

	// msgMask has, for the message being written, specialMask32 of each
	// of its 32-byte blocks (msgMasked says it is computed): a string field
	// cut from a stretch of the message without a marked byte is written
	// by copying it, not scanned again.
	msgMask   []uint32
	msgMasked bool

	// The timestamp's date and time to the second, as last written:
	// records come many to a second.
	tsSec    int64
	tsOK     bool
	tsPrefix [20]byte // "2006-01-02T15:04:05."

	// Field names already written as `,"name":`, in a small hash table on
	// the name's address: the Decoder hands out one string per name, so
	// records of one source find the same entries whatever places their
	// fields take. The path and source are remembered written out too.
	keys         [keyTable]encodedKey
	nkeys        int
	path, source encodedString
}

// keyTable is the size of the name table (a power of two). It is emptied
// when half full: names that keep changing (a log with ever-new keys,
// strings that are not interned) cost rewriting, never a wrong name, since
// an entry is used only for the very string it holds.
const keyTable = 256

type encodedKey struct {
	key    string
	json   []byte // `,"key":`
	dotted bool   // needs the nested form
	used   bool   // holds key (json's memory is kept for reuse when not)
}

// keyFor returns the entry for key, written out. The entry is valid until
// the next call.
func (e *JSONEncoder) keyFor(key string) *encodedKey {
	h := uintptr(unsafe.Pointer(unsafe.StringData(key)))>>3 ^ uintptr(len(key))*0x9e37
	for {
		k := &e.keys[h&(keyTable-1)]
		if !k.used {
			if e.nkeys >= keyTable/2 {
				for i := range e.keys {
					e.keys[i].used, e.keys[i].key = false, ""
				}
				e.nkeys = 0
				continue
			}
			e.nkeys++
			k.key, k.used = key, true
			k.json = append(AppendJSONString(append(k.json[:0], ','), key), ':')
			k.dotted = strings.IndexByte(key, '.') >= 0 || key == "log"
			return k
		}
		if k.key == key {
			return k
		}
		h++
	}
}

type encodedString struct {
	s    string
	json []byte
}

func (c *encodedString) get(s string) []byte {
	if c.s != s || c.json == nil {
		c.s, c.json = s, AppendJSONString(c.json[:0], s)
	}
	return c.json
}

type leaf struct {
	key   string // full dotted key
	kind  Kind
	value []byte
	str   string // the value of a KindString leaf taken from a string field
	flags Flags  // for the log.flags leaf
}

// Internal leaf kinds.
const (
	kindFlags Kind = 255 // the log.flags array
	kindStr   Kind = 254 // a string held in leaf.str
)

// Append appends r's JSON object (no newline) to dst. It may use dst's
// capacity past the returned length as scratch space, as if it had
// appended more and cut it off.
func (e *JSONEncoder) Append(dst []byte, r *Record) []byte {
	start := len(dst)
	if out, ok := e.appendFlat(dst, r); ok {
		return out
	}
	return e.appendNested(dst[:start], r)
}

// appendFlat writes a record none of whose field names has a dot (nor is
// "log"): the common case, written straight through. At the first name
// that needs nesting it stops and reports false; dst's bytes past its
// length are then garbage.
func (e *JSONEncoder) appendFlat(dst []byte, r *Record) ([]byte, bool) {
	dst = append(dst, `{"@timestamp":"`...)
	dst = e.appendTime(dst, r.Time)
	dst = append(dst, `","message":`...)
	e.msgMask = e.msgMask[:0]
	dst = appendJSONBytesMasks(dst, r.Message, &e.msgMask)
	e.msgMasked = false
	dst = append(dst, `,"log":{"file":{"path":`...)
	dst = append(dst, e.path.get(r.Path)...)
	dst = append(dst, `},"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	if r.Flags != 0 {
		dst = append(dst, `,"flags":`...)
		dst = appendLeafValue(dst, leaf{kind: kindFlags, flags: r.Flags})
	}
	dst = append(dst, `},"source":`...)
	dst = append(dst, e.source.get(r.Source)...)
	for i := range r.Fields {
		f := &r.Fields[i]
		k := e.keyFor(f.Key)
		if k.dotted {
			return dst, false
		}
		dst = append(dst, k.json...)
		switch f.Kind {
		case KindString:
			if off, ok := within(r.Message, f.Value); ok && e.plainIn(r.Message, off, len(f.Value)) {
				dst = append(dst, '"')
				dst = append(dst, f.Value...)
				dst = append(dst, '"')
				continue
			}
			dst = appendJSONBytes(dst, f.Value)
		case KindInt, KindFloat, KindBool, KindJSON:
			if len(f.Value) == 0 {
				dst = append(dst, "null"...)
			} else {
				dst = append(dst, f.Value...)
			}
		default:
			dst = appendLeafValue(dst, leaf{kind: f.Kind, value: f.Value})
		}
	}
	return append(dst, '}'), true
}

// appendTime is AppendTimestamp reusing the text up to the second of the
// previous call when t falls in the same second.
func (e *JSONEncoder) appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	sec, ns := t.Unix(), t.Nanosecond()
	if !e.tsOK || sec != e.tsSec {
		start := len(dst)
		dst = AppendTimestamp(dst, t)
		e.tsOK = len(dst)-start == 30 // not for years AppendTimestamp writes otherwise
		if e.tsOK {
			e.tsSec = sec
			copy(e.tsPrefix[:], dst[start:])
		}
		return dst
	}
	var b [30]byte
	copy(b[:], e.tsPrefix[:])
	for i := 28; i >= 20; i-- {
		b[i] = byte('0' + ns%10)
		ns /= 10
	}
	b[29] = 'Z'
	return append(dst, b[:]...)
}

// plainIn reports whether msg[off:off+n] holds no byte appendJSONBytes
// must look at (a quote, a backslash, a control or a non-ASCII byte): then
// its JSON string is the bytes between quotes.
func (e *JSONEncoder) plainIn(msg []byte, off, n int) bool {
	if !e.msgMasked {
		// appendJSONBytesMasks gave the whole blocks' masks; the last,
		// partial block's is computed now.
		if i := len(e.msgMask) * 32; i < len(msg) {
			var last [32]byte // the rest, padded with a plain byte
			copy(last[copy(last[:], msg[i:]):], plainPad[:])
			e.msgMask = append(e.msgMask, specialMask32(&last[0]))
		}
		e.msgMasked = true
	}
	if bit := off & 31; bit+n <= 32 {
		return e.msgMask[off>>5]>>bit&(1<<n-1) == 0
	}
	for k, end := off, off+n; k < end; {
		bit := k & 31
		take := min(32-bit, end-k)
		m := e.msgMask[k>>5] >> bit
		if take < 32 {
			m &= 1<<take - 1
		}
		if m != 0 {
			return false
		}
		k += take
	}
	return true
}

// plainPad fills the last block of a message for specialMask32 with
// bytes it does not mark.
var plainPad = [32]byte([]byte(strings.Repeat("a", 32)))

// appendNested writes a record with dotted field names through the general
// grouping below.
func (e *JSONEncoder) appendNested(dst []byte, r *Record) []byte {
	e.scratch = e.scratch[:0]
	e.scratch = AppendTimestamp(e.scratch, r.Time)
	ts := len(e.scratch)
	e.scratch = strconv.AppendInt(e.scratch, r.Offset, 10)

	e.leaves = append(e.leaves[:0],
		leaf{key: "@timestamp", kind: KindString, value: e.scratch[:ts]},
		leaf{key: "message", kind: KindString, value: r.Message},
		leaf{key: "log.file.path", kind: kindStr, str: r.Path},
		leaf{key: "log.offset", kind: KindInt, value: e.scratch[ts:]},
	)
	if r.Flags != 0 {
		e.leaves = append(e.leaves, leaf{key: "log.flags", kind: kindFlags, flags: r.Flags})
	}
	e.leaves = append(e.leaves, leaf{key: "source", kind: kindStr, str: r.Source})
	for _, f := range r.Fields {
		e.leaves = append(e.leaves, leaf{key: f.Key, kind: f.Kind, value: f.Value})
	}
	if len(e.leaves) > treeLeaves {
		return e.tree.append(dst, e.leaves)
	}
	if cap(e.done) < len(e.leaves) {
		e.done = make([]bool, len(e.leaves))
	}
	e.done = e.done[:len(e.leaves)]
	clear(e.done)
	return e.appendObject(dst, 0, len(e.leaves), "")
}

// treeLeaves is the most leaves appendObject groups; more go through a
// leafTree. appendObject scans the leaves after a group's first once per
// group, which is quick for a record's few groups, and took seconds for a
// line of 87,000 keys such as "a.b123.c" (parser13 F7).
const treeLeaves = 64

// leafTree groups leaves as appendObject does, in time linear in their
// keys' length: each object is a node whose entries (leaves and nested
// objects) keep the order of their first leaf.
type leafTree struct {
	nodes   []treeNode
	entries []treeEntry
	groups  map[treeGroup]int32 // a node's nested object by its name
}

type treeNode struct{ first, last int32 } // entries; -1: none

type treeEntry struct {
	next  int32
	leaf  int32 // the leaf's index, or -1 for a nested object
	child int32 // the nested object's node
	name  string
}

type treeGroup struct {
	node int32
	name string
}

func (t *leafTree) append(dst []byte, leaves []leaf) []byte {
	t.nodes, t.entries = t.nodes[:0], t.entries[:0]
	if t.groups == nil || len(t.groups) > 1024 {
		// A map grown by one wide record would cost every later one its
		// size to clear.
		t.groups = make(map[treeGroup]int32)
	}
	clear(t.groups)
	root := t.node()
	for i, l := range leaves {
		n, at := root, 0
		for {
			rest := l.key[at:]
			dot := strings.IndexByte(rest, '.')
			if dot > 0 {
				// A nested object of this name takes every later leaf
				// under it, even one ("d.") that would not start one.
				g := treeGroup{n, rest[:dot]}
				c, ok := t.groups[g]
				if !ok && dot < len(rest)-1 {
					c, ok = t.node(), true
					t.groups[g] = c
					t.add(n, treeEntry{leaf: -1, child: c, name: g.name})
				}
				if ok {
					n, at = c, at+dot+1
					continue
				}
			}
			t.add(n, treeEntry{leaf: int32(i), child: -1, name: rest})
			break
		}
	}
	return t.write(dst, root, leaves)
}

func (t *leafTree) node() int32 {
	t.nodes = append(t.nodes, treeNode{first: -1, last: -1})
	return int32(len(t.nodes) - 1)
}

func (t *leafTree) add(n int32, en treeEntry) {
	en.next = -1
	t.entries = append(t.entries, en)
	j := int32(len(t.entries) - 1)
	if nd := &t.nodes[n]; nd.last < 0 {
		nd.first, nd.last = j, j
	} else {
		t.entries[nd.last].next = j
		nd.last = j
	}
}

func (t *leafTree) write(dst []byte, n int32, leaves []leaf) []byte {
	dst = append(dst, '{')
	for j := t.nodes[n].first; j >= 0; j = t.entries[j].next {
		if j != t.nodes[n].first {
			dst = append(dst, ',')
		}
		en := t.entries[j]
		dst = AppendJSONString(dst, en.name)
		dst = append(dst, ':')
		if en.leaf >= 0 {
			dst = appendLeafValue(dst, leaves[en.leaf])
		} else {
			dst = t.write(dst, en.child, leaves)
		}
	}
	return append(dst, '}')
}

// appendObject writes, as one object, the leaves in [from, to) that are not
// done and whose keys start with prefix ("" at the top, "log.file." deeper).
// Leaves sharing the next segment are gathered into one nested object.
func (e *JSONEncoder) appendObject(dst []byte, from, to int, prefix string) []byte {
	dst = append(dst, '{')
	first := true
	for i := from; i < to; i++ {
		l := e.leaves[i]
		if e.done[i] || !strings.HasPrefix(l.key, prefix) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		rest := l.key[len(prefix):]
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 || dot == len(rest)-1 {
			e.done[i] = true
			dst = AppendJSONString(dst, rest)
			dst = append(dst, ':')
			dst = appendLeafValue(dst, l)
			continue
		}
		dst = AppendJSONString(dst, rest[:dot])
		dst = append(dst, ':')
		dst = e.appendObject(dst, i, to, l.key[:len(prefix)+dot+1])
	}
	return append(dst, '}')
}

func appendLeafValue(dst []byte, l leaf) []byte {
	switch l.kind {
	case KindString:
		return AppendJSONString(dst, l.value)
	case kindStr:
		return AppendJSONString(dst, l.str)
	case KindInt, KindFloat, KindBool, KindJSON:
		if len(l.value) == 0 {
			return append(dst, "null"...)
		}
		return append(dst, l.value...)
	case kindFlags:
		dst = append(dst, '[')
		for i, name := range flagNames {
			if l.flags&(1<<i) != 0 {
				if dst[len(dst)-1] != '[' {
					dst = append(dst, ',')
				}
				dst = append(dst, '"')
				dst = append(dst, name...)
				dst = append(dst, '"')
			}
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// AppendTimestamp appends t in UTC as RFC 3339 with nanoseconds
// ("2024-01-02T15:04:05.123456789Z"), the form Elasticsearch and Loki read.
// A zero t is written as the Unix epoch.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000000000Z07:00")
	}
	hour, minute, sec := t.Clock()
	ns := t.Nanosecond()
	var b [30]byte
	put2 := func(i, v int) { b[i], b[i+1] = byte('0'+v/10), byte('0'+v%10) }
	put2(0, year/100)
	put2(2, year%100)
	b[4] = '-'
	put2(5, int(month))
	b[7] = '-'
	put2(8, day)
	b[10] = 'T'
	put2(11, hour)
	b[13] = ':'
	put2(14, minute)
	b[16] = ':'
	put2(17, sec)
	b[19] = '.'
	for i := 28; i >= 20; i-- {
		b[i] = byte('0' + ns%10)
		ns /= 10
	}
	b[29] = 'Z'
	return append(dst, b[:]...)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string. Control characters,
// quotes and backslashes are escaped; invalid UTF-8 becomes U+FFFD.
func AppendJSONString[T string | []byte](dst []byte, s T) []byte {
	switch v := any(s).(type) {
	case string:
		// Read only: the bytes of v are never written.
		return appendJSONBytes(dst, unsafe.Slice(unsafe.StringData(v), len(v)))
	case []byte:
		return appendJSONBytes(dst, v)
	}
	panic("unreachable")
}

func appendJSONBytes(dst []byte, s []byte) []byte {
	return appendJSONBytesMasks(dst, s, nil)
}

// appendJSONBytesMasks is appendJSONBytes appending to *masks, when not
// nil, specialMask32 of each whole 32-byte block of s. With masks it may
// also write scratch bytes into dst's capacity past the returned length
// (JSONEncoder.Append's contract allows it; AppendJSONString's does not).
func appendJSONBytesMasks(dst []byte, s []byte, masks *[]uint32) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is plain and not yet copied
	i := 0
	// 32 bytes at a time: a mask of the bytes that need a look, then only
	// those. skip is the end of the last valid multi-byte rune, whose
	// continuation bytes are in the mask but are not looked at again.
	skip := 0
	for i+32 <= len(s) {
		m := specialMask32(&s[i])
		if masks != nil {
			*masks = append(*masks, m)
		}
		if m != 0 && masks != nil && cap(dst)-len(dst) < quoteRoom {
			dst = slices.Grow(dst, quoteRoom)
		}
		for m != 0 {
			j := i + bits.TrailingZeros32(m)
			m &= m - 1
			if j < skip {
				continue
			}
			c := s[j]
			if masks != nil && (c == '"' || c == '\\') && j-start <= 16 && start+16 <= len(s) && cap(dst)-len(dst) >= 18 {
				// A quote-dense string (a JSON line as a message): copy
				// the short run before the quote as one 16-byte move and
				// put the escape over its tail, instead of a memmove call
				// per quote. The bytes written past the new length are
				// spare capacity, overwritten by what comes next.
				n, k := len(dst), j-start
				d := dst[n : n+18]
				*(*[16]byte)(d) = *(*[16]byte)(s[start:])
				d[k], d[k+1] = '\\', c
				dst = dst[:n+k+2]
				start = j + 1
				continue
			}
			if c >= utf8.RuneSelf {
				if r, size := utf8.DecodeRune(s[j:]); r != utf8.RuneError || size != 1 {
					skip = j + size
					continue
				}
				dst = append(dst, s[start:j]...)
				dst = append(dst, `\ufffd`...)
				start = j + 1
				continue
			}
			dst = append(dst, s[start:j]...)
			dst = appendEscape(dst, c)
			start = j + 1
		}
		i += 32 // blocks stay aligned for masks; a rune's tail is skipped by skip
	}
	i = max(i, skip)
	for i < len(s) {
		// Skip eight plain bytes at a time (no control character, quote,
		// backslash or non-ASCII byte among them), then straight to the
		// first byte that is not plain.
		for i+8 <= len(s) {
			if m := special8(binary.LittleEndian.Uint64(s[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscape(dst, c)
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// quoteRoom is the spare capacity appendJSONBytesMasks keeps for a block
// with escapes: each quote or backslash of 32 bytes doubled, and the
// 16-byte moves' overhang.
const quoteRoom = 2*32 + 18

// appendEscape appends the escape of c: a quote, a backslash or a control
// character.
func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special8 returns a mask with the top bit of each of x's bytes (in memory
// order, little endian) that may need escaping in a JSON string. The lowest
// set bit is always a byte that does: the subtraction tricks can only flag
// bytes above a true match falsely (a borrow runs upwards).
func special8(x uint64) uint64 {
	ctl := (x - 0x20*lsb) &^ x // a byte below 0x20 sets its top bit
	q := x ^ ('"' * lsb)       // a quote becomes zero
	bs := x ^ ('\\' * lsb)     // a backslash becomes zero
	zq := (q - lsb) &^ q       // a zero byte sets its top bit
	zbs := (bs - lsb) &^ bs
	return (ctl | zq | zbs | x) & msb // x&msb: non-ASCII
}

// recordKeys are the keys JSONEncoder writes for every record.
var recordKeys = [...]string{"@timestamp", "message", "log.file.path", "log.offset", "log.flags", "source"}

// MeetsRecordKey reports whether a field named key would clash with a key
// JSONEncoder writes for every record: one of them, or a dotted name above
// ("log", "log.file") or below ("message.x") one, which would make the
// object hold one key twice. Parsers rename such fields (json.<key>) and
// the configuration refuses them as static fields.
func MeetsRecordKey(key string) bool {
	for _, r := range recordKeys {
		if key == r ||
			len(r) > len(key) && r[len(key)] == '.' && r[:len(key)] == key ||
			len(key) > len(r) && key[len(r)] == '.' && key[:len(r)] == r {
			return true
		}
	}
	return false
}
