package loki

import (
	"bytes"
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sidetrail/sidetrail"
)

// TruncatedSuffix ends a line cut short by on_long_line: truncate when the
// line is the bare message (line: json marks log.flags "truncated" instead).
const TruncatedSuffix = "...[truncated]"

// fallbackLabels is the stream of a record for which no label is configured
// or present: Loki refuses a stream without labels.
const fallbackLabels = `{job="sidetrail"}`

// labelSlot is one configured label, in label-name order: static (value
// set) or taken from a record field.
type labelSlot struct {
	name   string
	value  string // static value; "" for a field label
	field  string // record field for a field label
	static bool
}

// metaSlot is one structured-metadata field.
type metaSlot struct {
	name, field string
}

// span is a range of the encoder's arena.
type span struct{ off, end int32 }

// entry is one Loki entry of the batch being encoded.
type entry struct {
	ts   int64 // unix nanoseconds, see entryTime
	line span
	meta span // range of encoder.pairs
	size int  // encoded EntryAdapter size (protobuf only)
	rec  int32
}

// pair is one structured-metadata pair: a metaSlot index and a value.
type pair struct {
	slot int
	val  span
}

// stream collects the entries of one label set.
type stream struct {
	key     string // Prometheus form, {a="b", c="d"}
	json    []byte // JSON object form, json encoding only
	entries []int32
	size    int
}

// encodeStats counts what the encoder did to lines for one batch.
type encodeStats struct {
	truncated, split, streamLimited, fieldsDropped uint64
}

// encoder turns a batch into a push request body. It keeps its buffers
// between batches, so encoding allocates little once warm (one string per
// distinct stream per batch). Not safe for concurrent use.
type encoder struct {
	scratch    []byte // a metadata value being made valid UTF-8
	protobuf   bool
	gzip       bool
	lineJSON   bool
	split      bool
	maxLine    int
	maxStreams int
	slots      []labelSlot
	meta       []metaSlot
	staticKey  string
	staticJSON []byte

	jsonEnc sidetrail.JSONEncoder
	arena   []byte
	keybuf  []byte
	entries []entry
	pairs   []pair
	streams []stream
	index   map[string]int
	seen    map[string]struct{} // label sets opened since New, ≤ maxStreams
	opened  []string            // of seen, those the last encode added
	gz      *gzip.Writer
	raw     []byte // uncompressed protobuf or gzip input
	body    []byte
	stats   encodeStats
}

// newEncoder builds an encoder for a validated, defaulted config.
func newEncoder(c Config) *encoder {
	e := &encoder{
		protobuf:   c.Encoding == EncodingProtobuf,
		gzip:       c.Encoding == EncodingJSON && c.Compression == CompressionGzip,
		lineJSON:   c.Line == LineJSON,
		split:      c.OnLongLine == LongLineSplit,
		maxLine:    int(c.MaxLineBytes),
		maxStreams: c.MaxStreams,
		index:      map[string]int{},
		seen:       map[string]struct{}{},
	}
	for name, value := range c.Labels {
		e.slots = append(e.slots, labelSlot{name: name, value: value, static: true})
	}
	for _, f := range c.LabelFields {
		e.slots = append(e.slots, labelSlot{name: labelName(f), field: f})
	}
	sort.Slice(e.slots, func(i, j int) bool { return e.slots[i].name < e.slots[j].name })
	for _, f := range c.MetadataFields {
		e.meta = append(e.meta, metaSlot{name: labelName(f), field: f})
	}
	e.staticKey = string(e.appendKey(nil, nil, true))
	e.staticJSON = e.appendLabelsJSON(nil, nil, true)
	return e
}

// fieldValue returns the text of a record field, as a string or as bytes
// (whichever it already is, so nothing is converted): the pseudo-fields
// "source", "log.file.path", "log.offset" and "message", else the first
// parsed or static field of that name (null fields have none), else a
// member inside a JSON object field that the dotted name reaches
// (nestedField). log.offset
// is formatted into scratch.
func fieldValue(r *sidetrail.Record, field string, scratch []byte) (str string, b, newScratch []byte) {
	switch field {
	case "source":
		return r.Source, nil, scratch
	case "log.file.path":
		return r.Path, nil, scratch
	case "log.offset":
		n := len(scratch)
		scratch = strconv.AppendInt(scratch, r.Offset, 10)
		return "", scratch[n:], scratch
	case "message":
		return "", r.Message, scratch
	}
	f, ok := r.Get(field)
	if !ok && strings.IndexByte(field, '.') > 0 {
		if str, b, ok := nestedField(r, field); ok {
			return str, b, scratch
		}
	}
	if !ok || f.Kind == sidetrail.KindNull {
		return "", nil, scratch
	}
	return "", f.Value, scratch
}

// appendKey appends r's label set in Prometheus form: names sorted, values
// quoted with Go escapes (what Loki's parser reads), ", " between pairs.
// Labels with empty values are left out. staticOnly skips field labels.
func (e *encoder) appendKey(dst []byte, r *sidetrail.Record, staticOnly bool) []byte {
	start := len(dst)
	dst = append(dst, '{')
	var scratch [24]byte
	for _, s := range e.slots {
		str, b := s.value, []byte(nil)
		if !s.static {
			if staticOnly {
				continue
			}
			str, b, _ = fieldValue(r, s.field, scratch[:0])
			str, b = capLabelValue(str), capLabelValue(b)
		}
		if len(str) == 0 && len(b) == 0 {
			continue
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',', ' ')
		}
		dst = append(dst, s.name...)
		dst = append(dst, '=')
		if str != "" {
			dst = appendQuoted(dst, str)
		} else {
			dst = appendQuoted(dst, b)
		}
	}
	if len(dst)-start == 1 {
		return append(dst[:start], fallbackLabels...)
	}
	return append(dst, '}')
}

// appendLabelsJSON appends r's label set as a JSON object for the json
// encoding; the same labels as appendKey.
func (e *encoder) appendLabelsJSON(dst []byte, r *sidetrail.Record, staticOnly bool) []byte {
	start := len(dst)
	dst = append(dst, '{')
	var scratch [24]byte
	for _, s := range e.slots {
		str, b := s.value, []byte(nil)
		if !s.static {
			if staticOnly {
				continue
			}
			str, b, _ = fieldValue(r, s.field, scratch[:0])
			str, b = capLabelValue(str), capLabelValue(b)
		}
		if len(str) == 0 && len(b) == 0 {
			continue
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = sidetrail.AppendJSONString(dst, s.name)
		dst = append(dst, ':')
		if str != "" {
			dst = sidetrail.AppendJSONString(dst, str)
		} else {
			dst = sidetrail.AppendJSONString(dst, b)
		}
	}
	if len(dst)-start == 1 {
		return append(dst[:start], `{"job":"sidetrail"}`...)
	}
	return append(dst, '}')
}

// maxLabelValueBytes caps label values taken from record fields, half of
// Loki's default max_label_value_length (2048): one record with an
// overlong value would otherwise get its whole batch refused with a 400.
const maxLabelValueBytes = 1024

// capLabelValue cuts v to maxLabelValueBytes on a UTF-8 boundary.
func capLabelValue[T string | []byte](v T) T {
	if len(v) <= maxLabelValueBytes {
		return v
	}
	cut := maxLabelValueBytes
	for cut > maxLabelValueBytes-utf8.UTFMax && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// Timestamps. An entry's timestamp must be the same every time its record is
// sent (so Loki drops a replay as a duplicate) and different for two records
// of one stream (so two equal lines never collapse). entryTime makes it
//
//	seconds = the event time truncated to the second
//	nanos   = (FileKey + Offset) mod 1e9
//
// Within one file, lines of the same second differ in nanos unless they are
// 1 GB apart; across files of one stream, two equal lines of the same second
// collide only if their offsets differ by exactly the difference of their
// file keys mod 1e9 (about 1 in 1e9 per such pair). Sub-second precision of
// the event time is given up in Loki's timestamp (it stays in the line with
// line: json, and in the original text with line: message); within a second
// Loki orders one file's entries by offset, which is file order.
const nanosPerSecond = 1_000_000_000

// maxEntrySeconds keeps seconds*1e9 inside int64 (year 2255).
const maxEntrySeconds = 9_000_000_000

func entryTime(r *sidetrail.Record) int64 {
	t := r.Time
	if t.IsZero() {
		t = r.Ingested
	}
	var sec int64
	if !t.IsZero() {
		sec = min(max(t.Unix(), 0), maxEntrySeconds)
	}
	sub := (r.FileKey%nanosPerSecond + uint64(r.Offset)%nanosPerSecond) % nanosPerSecond
	return sec*nanosPerSecond + int64(sub)
}

// reset clears the per-batch state, keeping capacity (and dropping buffers
// a huge batch left behind).
func (e *encoder) reset() {
	const keep = 32 << 20
	if cap(e.arena) > keep {
		e.arena = nil
	}
	if cap(e.body) > keep {
		e.body = nil
	}
	if cap(e.raw) > keep {
		e.raw = nil
	}
	e.arena = e.arena[:0]
	e.entries = e.entries[:0]
	e.pairs = e.pairs[:0]
	for i := range e.streams {
		e.streams[i].entries = e.streams[i].entries[:0]
		e.streams[i].json = e.streams[i].json[:0]
	}
	e.streams = e.streams[:0]
	clear(e.index)
	e.stats = encodeStats{}
}

// encode builds the request body for batch into e.body (snappy-compressed
// protobuf, or JSON, gzip-compressed if configured) and returns it. The body
// is valid until the next encode.
func (e *encoder) encode(batch []sidetrail.Record) []byte {
	e.reset()
	e.opened = nil // handed to the push, which may encode halves meanwhile
	for i := range batch {
		e.add(&batch[i], int32(i))
	}
	for i := range e.streams {
		s := &e.streams[i]
		cmpTS := func(a, b int32) int { return cmp.Compare(e.entries[a].ts, e.entries[b].ts) }
		if !slices.IsSortedFunc(s.entries, cmpTS) {
			slices.SortStableFunc(s.entries, cmpTS)
		}
	}
	if e.protobuf {
		e.raw = e.appendProto(e.raw[:0])
		n := s2.MaxEncodedLen(len(e.raw))
		if cap(e.body) < n {
			e.body = make([]byte, n)
		}
		// Snappy block format without S2's extensions, at S2's speed.
		e.body = s2.EncodeSnappy(e.body[:n], e.raw)
		return e.body
	}
	if !e.gzip {
		e.body = e.appendJSON(e.body[:0])
		return e.body
	}
	e.raw = e.appendJSON(e.raw[:0])
	if e.gz == nil {
		e.gz, _ = gzip.NewWriterLevel(nil, gzip.DefaultCompression) // a valid level cannot fail
	}
	buf := bytes.NewBuffer(e.body[:0])
	e.gz.Reset(buf)
	_, _ = e.gz.Write(e.raw) // writes to a bytes.Buffer do not fail
	_ = e.gz.Close()
	e.body = buf.Bytes()
	return e.body
}

// forget takes label sets a push opened out of seen again: Loki did not
// take the push, so it opened none of its streams. Kept, the label sets of
// a push answered 400 counted against max_streams, and later records went
// with the static labels alone (sinks21 F3).
func (e *encoder) forget(opened []string) {
	for _, k := range opened {
		delete(e.seen, k)
	}
}

// streamFor returns the stream index for r, opening a stream if needed.
func (e *encoder) streamFor(r *sidetrail.Record) int {
	e.keybuf = e.appendKey(e.keybuf[:0], r, false)
	if i, ok := e.index[string(e.keybuf)]; ok {
		return i
	}
	staticOnly := false
	if _, ok := e.seen[string(e.keybuf)]; !ok {
		if len(e.seen) >= e.maxStreams && string(e.keybuf) != e.staticKey {
			staticOnly = true
			e.stats.streamLimited++
			e.keybuf = append(e.keybuf[:0], e.staticKey...)
			if i, ok := e.index[e.staticKey]; ok {
				return i
			}
		} else {
			e.seen[string(e.keybuf)] = struct{}{}
			e.opened = append(e.opened, string(e.keybuf))
		}
	}
	key := string(e.keybuf)
	i := len(e.streams)
	if cap(e.streams) > i {
		e.streams = e.streams[:i+1]
	} else {
		e.streams = append(e.streams, stream{})
	}
	s := &e.streams[i]
	s.key = key
	if !e.protobuf {
		if staticOnly {
			s.json = append(s.json[:0], e.staticJSON...)
		} else {
			s.json = e.appendLabelsJSON(s.json[:0], r, false)
		}
	}
	e.index[key] = i
	return i
}

// add appends r's entries (one, or several when split).
func (e *encoder) add(r *sidetrail.Record, rec int32) {
	si := e.streamFor(r)
	ts := entryTime(r)

	mstart := int32(len(e.pairs))
	for i, m := range e.meta {
		start := len(e.arena)
		var str string
		var b []byte
		str, b, e.arena = fieldValue(r, m.field, e.arena)
		if len(e.arena) == start { // the value is not in the arena yet
			e.arena = append(e.arena, str...)
			e.arena = append(e.arena, b...)
		}
		if v := e.arena[start:]; !utf8.Valid(v) {
			// The protobuf push carries it as it is (sinks23 P4).
			e.scratch = append(e.scratch[:0], v...)
			e.arena = appendValidUTF8(e.arena[:start], e.scratch)
		}
		if len(e.arena) == start {
			continue // missing or empty
		}
		e.pairs = append(e.pairs, pair{slot: i, val: span{int32(start), int32(len(e.arena))}})
	}
	meta := span{mstart, int32(len(e.pairs))}

	start := len(e.arena)
	e.arena = e.appendLine(e.arena, r, r.Message, 0)
	if len(e.arena)-start <= e.maxLine {
		e.addEntry(si, entry{ts: ts, line: span{int32(start), int32(len(e.arena))}, meta: meta, rec: rec})
		return
	}
	e.arena = e.arena[:start]
	if e.lineJSON && len(r.Fields) > 0 {
		// The whole message fits without the parsed fields: it is
		// neither truncated nor split, and not flagged or counted so
		// (user23 P2).
		bare := *r
		bare.Fields = nil
		e.arena = e.appendLine(e.arena, &bare, r.Message, sidetrail.FlagFieldsDropped)
		if len(e.arena)-start <= e.maxLine {
			e.stats.fieldsDropped++
			e.addEntry(si, entry{ts: ts, line: span{int32(start), int32(len(e.arena))}, meta: meta, rec: rec})
			return
		}
		e.arena = e.arena[:start]
	}
	if !e.split {
		e.stats.truncated++
		e.arena, _ = e.appendFitted(e.arena, r, 0, sidetrail.FlagTruncated, true)
		e.addEntry(si, entry{ts: ts, line: span{int32(start), int32(len(e.arena))}, meta: meta, rec: rec})
		return
	}
	e.stats.split++
	for from, n := 0, int64(0); from < len(r.Message) || n == 0; n++ {
		s := len(e.arena)
		e.arena, from = e.appendFitted(e.arena, r, from, sidetrail.FlagFragment, false)
		e.addEntry(si, entry{ts: ts + n, line: span{int32(s), int32(len(e.arena))}, meta: meta, rec: rec})
	}
}

func (e *encoder) addEntry(si int, en entry) {
	if e.protobuf {
		en.size = e.entrySize(&en)
	}
	e.streams[si].entries = append(e.streams[si].entries, int32(len(e.entries)))
	e.entries = append(e.entries, en)
}

// appendLine appends the entry line for r with msg as its message: msg
// itself, or the record JSON with msg as message and flags added.
func (e *encoder) appendLine(dst []byte, r *sidetrail.Record, msg []byte, flags sidetrail.Flags) []byte {
	if !e.lineJSON {
		return appendValidUTF8(dst, msg)
	}
	if flags == 0 && len(msg) == len(r.Message) {
		return e.jsonEnc.Append(dst, r)
	}
	cp := *r
	cp.Message = msg
	cp.Flags |= flags
	return e.jsonEnc.Append(dst, &cp)
}

// appendFitted appends a line for the message piece starting at from that
// fits maxLine, taking as much of the message as fits and cutting it on a
// UTF-8 boundary, and returns where the piece ended. truncate adds the
// suffix (line: message) and the flag (line: json). With line: json, when
// the parsed fields leave no room for any of the rest of the message, the
// line leaves them out (FlagFieldsDropped, counted): the message they were
// parsed from still holds them, and cutting the JSON would make a line no
// query can read. Only if the record's own keys (time, file, source) do not
// fit either is the line cut bytewise, and the rest of the message consumed.
func (e *encoder) appendFitted(dst []byte, r *sidetrail.Record, from int, flag sidetrail.Flags, truncate bool) ([]byte, int) {
	msg := r.Message
	start := len(dst)
	if !e.lineJSON {
		room := e.maxLine
		if truncate {
			room -= len(TruncatedSuffix)
		}
		to := runeStart(msg, from, min(len(msg), from+room))
		if utf8.Valid(msg[from:to]) {
			dst = append(dst, msg[from:to]...)
		} else {
			to = fitValidUTF8(msg, from, room)
			dst = appendValidUTF8(dst, msg[from:to])
		}
		if truncate {
			dst = append(dst, TruncatedSuffix...)
		}
		return dst, to
	}
	if dst, to, ok := e.fitJSON(dst, r, from, flag, truncate); ok {
		return dst, to
	}
	if len(r.Fields) > 0 {
		bare := *r
		bare.Fields = nil
		if dst, to, ok := e.fitJSON(dst, &bare, from, flag|sidetrail.FlagFieldsDropped, truncate); ok {
			if from == 0 {
				e.stats.fieldsDropped++
			}
			return dst, to
		}
	}
	dst = e.appendLine(dst[:start], r, nil, flag|sidetrail.FlagTruncated)
	return dst[:runeStart(dst, start, start+e.maxLine)], len(msg)
}

// fitJSON appends r's JSON line with as much of the message from from as
// fits maxLine. It fails (dst unchanged) when no progress is possible: not
// even an empty piece fits, or (split) not one byte of what is left.
func (e *encoder) fitJSON(dst []byte, r *sidetrail.Record, from int, flag sidetrail.Flags, truncate bool) ([]byte, int, bool) {
	msg := r.Message
	start := len(dst)
	to := min(len(msg), from+e.maxLine)
	base := -1 // the line's size with an empty piece, once needed
	for range 8 {
		dst = e.appendLine(dst[:start], r, msg[from:to], flag)
		over := len(dst) - start - e.maxLine
		if over <= 0 {
			if to == from && from < len(msg) && !truncate {
				break // no progress possible: the rest of the record is too big
			}
			return dst, to, true
		}
		if to == from {
			break
		}
		n := to - from
		if n > over {
			to = runeStart(msg, from, to-over)
			continue
		}
		// The piece is written longer than it is (escapes; U+FFFD for
		// bytes that are not UTF-8, 6 bytes each): shrink it by its
		// ratio, not to nothing (sinks23 P4's lines lost their whole
		// message so).
		if base < 0 {
			base = len(e.appendLine(dst[:start], r, nil, flag)) - start
		}
		piece := len(dst) - start - base
		if room := e.maxLine - base; room > 0 && piece > 0 {
			to = runeStart(msg, from, from+n*room/piece)
		} else {
			to = from
		}
	}
	return dst[:start], from, false
}

// appendValidUTF8 appends b with each byte that is not part of valid UTF-8
// written as U+FFFD, as the record's JSON writes it. A line: message entry
// or a metadata value went into a protobuf push as it was: the same record
// was stored differently by encoding, and in VictoriaLogs such a line made
// the whole answer to a query invalid JSON (sinks23 P4).
func appendValidUTF8(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return append(dst, b...)
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return dst
}

// fitValidUTF8 returns the end of the longest piece of msg from from whose
// appendValidUTF8 form fits room bytes (at least one character).
func fitValidUTF8(msg []byte, from, room int) int {
	n, to := 0, from
	for to < len(msg) {
		r, size := utf8.DecodeRune(msg[to:])
		w := size
		if r == utf8.RuneError && size == 1 {
			w = len("\uFFFD")
		}
		if n+w > room && to > from {
			break
		}
		n += w
		to += size
	}
	return to
}

// appendQuoted appends v as a double-quoted label value the way
// strconv.Quote does (Go escapes, which Loki's and VictoriaLogs' label
// parsers unquote), without converting v to a string.
func appendQuoted[T string | []byte](dst []byte, v T) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(string(v[i:min(i+utf8.UTFMax, len(v))]))
			switch {
			case r == utf8.RuneError && size == 1:
				// Invalid UTF-8: U+FFFD, as in the record's JSON. A
				// "\xff" unquotes to a label value that is not UTF-8,
				// which Prometheus-style label validation refuses.
				dst = append(dst, "\uFFFD"...)
			case !unicode.IsPrint(r):
				if r < 0x10000 {
					dst = append(dst, '\\', 'u')
					dst = appendHex(dst, uint32(r), 4)
				} else {
					dst = append(dst, '\\', 'U')
					dst = appendHex(dst, uint32(r), 8)
				}
			default:
				dst = append(dst, v[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

func appendHex(dst []byte, v uint32, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*i))&0xf])
	}
	return dst
}

// runeStart moves cut back to the start of the UTF-8 sequence it falls in,
// never before from (or not at all if it would reach from, so pieces of
// invalid text still make progress).
func runeStart(b []byte, from, cut int) int {
	if cut >= len(b) {
		return len(b)
	}
	for i := cut; i > from && i > cut-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return cut
}

// Protobuf (logproto, as Loki's push.proto defines it):
//
//	PushRequest      { repeated StreamAdapter streams = 1; }
//	StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
//	                   repeated LabelPairAdapter structuredMetadata = 3; }
//	Timestamp        { int64 seconds = 1; int32 nanos = 2; }
//	LabelPairAdapter { string name = 1; string value = 2; }
//
// hash is left out (Loki computes it). Sizes are computed first so each
// message is written once, in order.

func splitTS(ts int64) (sec, nsec int64) {
	return ts / nanosPerSecond, ts % nanosPerSecond // ts ≥ 0 (entryTime)
}

func tsSize(ts int64) int {
	sec, nsec := splitTS(ts)
	n := 0
	if sec != 0 {
		n += 1 + protowire.SizeVarint(uint64(sec))
	}
	if nsec != 0 {
		n += 1 + protowire.SizeVarint(uint64(nsec))
	}
	return n
}

func (e *encoder) pairSize(p pair) int {
	name := e.meta[p.slot].name
	vl := int(p.val.end - p.val.off)
	return 1 + protowire.SizeBytes(len(name)) + 1 + protowire.SizeBytes(vl)
}

func (e *encoder) entrySize(en *entry) int {
	n := 1 + protowire.SizeBytes(tsSize(en.ts))
	n += 1 + protowire.SizeBytes(int(en.line.end-en.line.off))
	for _, p := range e.pairs[en.meta.off:en.meta.end] {
		n += 1 + protowire.SizeBytes(e.pairSize(p))
	}
	return n
}

func (e *encoder) appendProto(dst []byte) []byte {
	for i := range e.streams {
		s := &e.streams[i]
		s.size = 1 + protowire.SizeBytes(len(s.key))
		for _, ei := range s.entries {
			s.size += 1 + protowire.SizeBytes(e.entries[ei].size)
		}
	}
	for i := range e.streams {
		s := &e.streams[i]
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(s.size))
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendString(dst, s.key)
		for _, ei := range s.entries {
			en := &e.entries[ei]
			dst = protowire.AppendTag(dst, 2, protowire.BytesType)
			dst = protowire.AppendVarint(dst, uint64(en.size))
			// timestamp
			dst = protowire.AppendTag(dst, 1, protowire.BytesType)
			dst = protowire.AppendVarint(dst, uint64(tsSize(en.ts)))
			sec, nsec := splitTS(en.ts)
			if sec != 0 {
				dst = protowire.AppendTag(dst, 1, protowire.VarintType)
				dst = protowire.AppendVarint(dst, uint64(sec))
			}
			if nsec != 0 {
				dst = protowire.AppendTag(dst, 2, protowire.VarintType)
				dst = protowire.AppendVarint(dst, uint64(nsec))
			}
			// line
			dst = protowire.AppendTag(dst, 2, protowire.BytesType)
			dst = protowire.AppendBytes(dst, e.arena[en.line.off:en.line.end])
			// structured metadata
			for _, p := range e.pairs[en.meta.off:en.meta.end] {
				dst = protowire.AppendTag(dst, 3, protowire.BytesType)
				dst = protowire.AppendVarint(dst, uint64(e.pairSize(p)))
				dst = protowire.AppendTag(dst, 1, protowire.BytesType)
				dst = protowire.AppendString(dst, e.meta[p.slot].name)
				dst = protowire.AppendTag(dst, 2, protowire.BytesType)
				dst = protowire.AppendBytes(dst, e.arena[p.val.off:p.val.end])
			}
		}
	}
	return dst
}

// appendJSON appends the JSON push body:
//
//	{"streams":[{"stream":{"app":"nginx"},"values":[["<unix ns>","<line>",{"<meta>":"<value>"}]]}]}
func (e *encoder) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"streams":[`...)
	for i := range e.streams {
		s := &e.streams[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"stream":`...)
		dst = append(dst, s.json...)
		dst = append(dst, `,"values":[`...)
		for j, ei := range s.entries {
			en := &e.entries[ei]
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `["`...)
			dst = strconv.AppendInt(dst, en.ts, 10)
			dst = append(dst, `",`...)
			dst = sidetrail.AppendJSONString(dst, e.arena[en.line.off:en.line.end])
			if en.meta.end > en.meta.off {
				dst = append(dst, ",{"...)
				for k, p := range e.pairs[en.meta.off:en.meta.end] {
					if k > 0 {
						dst = append(dst, ',')
					}
					dst = sidetrail.AppendJSONString(dst, e.meta[p.slot].name)
					dst = append(dst, ':')
					dst = sidetrail.AppendJSONString(dst, e.arena[p.val.off:p.val.end])
				}
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}
