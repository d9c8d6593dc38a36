package sidetrail

import (
	"encoding/hex"
	"time"
)

// Kind says how a Field's Value bytes are to be read and encoded.
type Kind uint8

const (
	// KindString: Value holds the string's bytes, unescaped. Invalid UTF-8 is
	// replaced by U+FFFD when encoded as JSON.
	KindString Kind = iota
	// KindInt: Value holds a JSON integer as text ("-12", "18446744073709551615").
	// Kept as text so integers beyond 2^53 survive exactly.
	KindInt
	// KindFloat: Value holds a JSON number as text ("0.004").
	KindFloat
	// KindBool: Value holds "true" or "false".
	KindBool
	// KindNull: Value is ignored; encoded as null.
	KindNull
	// KindJSON: Value holds one complete, valid JSON text (an object or an
	// array), copied into the output verbatim.
	KindJSON
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindBool:
		return "bool"
	case KindNull:
		return "null"
	case KindJSON:
		return "json"
	}
	return "invalid"
}

// Field is one named value of a record. Key is a field name; a dotted name
// ("http.request.method") is encoded as nested objects. Value's bytes are
// borrowed: see Record for who owns them.
type Field struct {
	Key   string
	Kind  Kind
	Value []byte
}

// Flags mark what happened to a record on its way in. They are encoded as
// "log.flags" (the name Filebeat uses for the same purpose).
type Flags uint8

const (
	// FlagParseFailure: the line did not match its source's format and ships
	// raw (only message and the file fields are set).
	FlagParseFailure Flags = 1 << iota
	// FlagFragment: the line was longer than max_line_bytes and this record is
	// one piece of it; the pieces have consecutive offsets.
	FlagFragment
	// FlagTruncated: a sink had to shorten this record's line.
	FlagTruncated
	// FlagFieldsDropped: a sink's line could not hold the parsed fields,
	// so the line carries the message (which they were parsed from) without
	// them.
	FlagFieldsDropped
)

var flagNames = [...]string{"parse_failure", "fragment", "truncated", "fields_dropped"}

// AppendNames appends the names of the set flags to dst.
func (f Flags) AppendNames(dst []string) []string {
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			dst = append(dst, name)
		}
	}
	return dst
}

// Record is one log line after parsing and redaction.
//
// A Record does not own the bytes its slices point at: the parser points them
// into the line it was given, the redactor into Scratch, the decoder into the
// buffer's entry. Whoever hands a Record over says how long those bytes stay
// valid (for a sink: until Send returns). Reset keeps the capacity of Fields
// and Scratch so a Record can be reused for every line without allocating.
type Record struct {
	// FileKey identifies the file the line came from across renames and
	// restarts (device, inode and head fingerprint, hashed with the source
	// name). Together with Offset it makes the record's ID.
	FileKey uint64
	// Offset is the byte offset of the line's first byte in its file.
	Offset int64
	// End is the offset just past the line (its newline) in its file: where
	// reading resumes once this record is safely buffered. Not encoded as
	// JSON.
	End int64
	// Time is the event time: parsed from the line, or the time the line was
	// read when the format carries none. Always set before the record is
	// buffered.
	Time time.Time
	// Ingested is when the record entered the buffer; it measures how long a
	// record waits for its sink.
	Ingested time.Time
	// Source is the name of the configured source; Path the file's path when
	// the line was read.
	Source string
	Path   string
	// Message is the original line, redacted.
	Message []byte
	// Fields are the parsed fields followed by the source's static fields, in
	// a stable order.
	Fields []Field
	Flags  Flags
	// Scratch is spare memory the parser and redactor may append to and point
	// Values into. Slices taken from it stay valid even when a later append
	// moves it, because the old array is not reused until Reset.
	Scratch []byte
	// KeysFromLine says the field keys were taken from the line itself (a
	// JSON object's member names), not from the configuration, so the
	// redactor examines them too. Not encoded.
	KeysFromLine bool
	// Twins says an object inside a KindJSON field may hold a key twice,
	// which the parser leaves for the redactor to see, and which
	// parser.DedupeFields writes once after it. Not encoded.
	Twins bool
	// Statics counts the static fields (from the configuration) at the end
	// of Fields: their values are not the line's, and are not looked for in
	// the message. Not encoded.
	Statics int
	// TimeField is the field the parser took Time from and removed from
	// Fields (a JSON line's time key), for the redactor: when its rules take
	// the value for a secret, Time must not give it back. Not encoded.
	TimeField Field
	// Renamed lists the fields whose key in the line the parser had to
	// rename ("user.email" beside "user" is written "user_email"; a key
	// that came to another's name gets '_' added), for the redactor: a
	// field rule reaches a field by the line's key too. Empty for almost
	// every line. Not encoded.
	Renamed []Rename
}

// Rename is one renamed field of a record: Key is its name now, From the
// key the line gave it.
type Rename struct {
	Key, From string
}

// RenamedFrom returns the key the line gave the field now named key, if
// the parser renamed it.
func (r *Record) RenamedFrom(key string) (string, bool) {
	for _, rn := range r.Renamed {
		if rn.Key == key {
			return rn.From, true
		}
	}
	return "", false
}

// Renaming notes that the field named from is now named to (see Renamed).
// A field renamed twice keeps the line's key as its From.
func (r *Record) Renaming(from, to string) {
	for i := range r.Renamed {
		if r.Renamed[i].Key == from {
			r.Renamed[i].Key = to
			return
		}
	}
	r.Renamed = append(r.Renamed, Rename{Key: to, From: from})
}

// Reset clears r for reuse, keeping the capacity of Fields, Scratch and
// Renamed.
func (r *Record) Reset() {
	fields, scratch, renamed := r.Fields[:0], r.Scratch[:0], r.Renamed[:0]
	*r = Record{} // zeroed in place; a literal with the slices is built aside and copied
	r.Fields, r.Scratch, r.Renamed = fields, scratch, renamed
}

// Add appends a field.
func (r *Record) Add(key string, kind Kind, value []byte) {
	r.Fields = append(r.Fields, Field{Key: key, Kind: kind, Value: value})
}

// Get returns the first field named key.
func (r *Record) Get(key string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// ID is a record's identity: the file it came from and the offset of its
// first byte. Reading the same line again (after a crash, from a rotated
// name) gives the same ID, which is what makes replays idempotent.
type ID struct {
	FileKey uint64
	Offset  uint64
}

// ID returns the record's identity.
func (r *Record) ID() ID { return ID{FileKey: r.FileKey, Offset: uint64(r.Offset)} }

// AppendText appends the ID as 32 lowercase hex digits, the form used as an
// Elasticsearch _id.
func (id ID) AppendText(dst []byte) []byte {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(id.FileKey >> (56 - 8*i))
		b[8+i] = byte(id.Offset >> (56 - 8*i))
	}
	return hex.AppendEncode(dst, b[:])
}

// String returns the ID as AppendText writes it.
func (id ID) String() string { return string(id.AppendText(nil)) }
