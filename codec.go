package sidetrail

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// The binary form of a Record, as the buffer stores it. The buffer frames and
// checksums each one; this layout only has to be compact and quick to decode.
//
//	version   u8    (codecVersion)
//	flags     u8
//	filekey   u64   big endian
//	offset    uvarint
//	length    uvarint  End - offset
//	time      varint  unix nanoseconds
//	ingested  varint  unix nanoseconds
//	source    uvarint length + bytes
//	path      uvarint length + bytes
//	message   uvarint length + bytes
//	nfields   uvarint
//	  key     uvarint length + bytes
//	  kind    u8        top bit set (version 2): the value is a slice of message
//	  value   uvarint length + bytes, or with the top bit: uvarint offset + uvarint length
//
// Version 2 added the slice form: a parser's field values are mostly
// slices of the line, and storing them again nearly doubled each record.
// Version 1 records (no slice form) are still read.
const codecVersion = 2

// kindRef marks, in the encoded kind byte, a value stored as a slice of
// the message.
const kindRef = 0x80

// ErrBadRecord reports bytes that are not a record this version can decode.
var ErrBadRecord = errors.New("malformed record")

// AppendBinary appends the binary form of r to dst. Scratch is not stored.
func AppendBinary(dst []byte, r *Record) []byte {
	dst = append(dst, codecVersion, byte(r.Flags))
	dst = binary.BigEndian.AppendUint64(dst, r.FileKey)
	dst = binary.AppendUvarint(dst, uint64(r.Offset))
	dst = binary.AppendUvarint(dst, uint64(max(r.End-r.Offset, 0)))
	dst = binary.AppendVarint(dst, unixNano(r.Time))
	dst = binary.AppendVarint(dst, unixNano(r.Ingested))
	dst = appendBytes(dst, r.Source)
	dst = appendBytes(dst, r.Path)
	dst = appendBytes(dst, r.Message)
	dst = binary.AppendUvarint(dst, uint64(len(r.Fields)))
	for _, f := range r.Fields {
		dst = appendBytes(dst, f.Key)
		if off, ok := within(r.Message, f.Value); ok {
			dst = append(dst, byte(f.Kind)|kindRef)
			dst = binary.AppendUvarint(dst, uint64(off))
			dst = binary.AppendUvarint(dst, uint64(len(f.Value)))
			continue
		}
		dst = append(dst, byte(f.Kind))
		dst = appendBytes(dst, f.Value)
	}
	return dst
}

// within reports where v lies inside msg, if v is a slice of msg's bytes.
// Only addresses are compared; no pointer is made from an integer.
func within(msg, v []byte) (int, bool) {
	if len(v) < 4 || len(msg) == 0 { // short values: a reference saves nothing
		return 0, false
	}
	m := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	if p < m || p-m > uintptr(len(msg)-len(v)) || len(v) > len(msg) {
		return 0, false
	}
	return int(p - m), true
}

func appendBytes[T string | []byte](dst []byte, b T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// Times the codec can hold: Unix nanoseconds in an int64.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// TimeInRange reports whether t survives the disk buffer: from 1677-09-21
// to 2262-04-11. An event time outside it is none (the record gets the
// read time), rather than one that wraps around into another century.
func TimeInRange(t time.Time) bool {
	return !t.Before(minTime) && !t.After(maxTime)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Decoder decodes binary records. It interns field names, sources and paths,
// so decoding allocates nothing once those have been seen. A Decoder is not
// safe for concurrent use; its zero value is ready.
type Decoder struct {
	strings map[string]string
	// Records of one source repeat the same names in the same places, so
	// the names decoded last at each place are tried before the map. Two
	// per place: a field that comes and goes (nginx's request_query)
	// moves the ones after it between two places.
	source, path string
	keys         []keySlot
}

// keySlot holds the two names seen last at a place, a the more recent.
type keySlot struct{ a, b string }

// keyAt returns the interned name b at field place i.
func (d *Decoder) keyAt(i int, b []byte) string {
	if i >= len(d.keys) {
		return d.intern(b)
	}
	s := &d.keys[i]
	if s.a == string(b) {
		return s.a
	}
	if s.b == string(b) {
		s.a, s.b = s.b, s.a
		return s.a
	}
	k := d.intern(b)
	s.a, s.b = k, s.a
	return k
}

// maxInterned bounds the intern table: names come from a log's own JSON keys,
// which an adversarial log could make endless.
const maxInterned = 4096

// internAt is intern with a one-entry cache in *last.
func (d *Decoder) internAt(b []byte, last *string) string {
	if *last == string(b) {
		return *last
	}
	*last = d.intern(b)
	return *last
}

func (d *Decoder) intern(b []byte) string {
	if s, ok := d.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.strings == nil {
		d.strings = make(map[string]string)
	}
	if len(d.strings) < maxInterned {
		d.strings[s] = s
	}
	return s
}

// Decode decodes data into r, reusing r's Fields. r's Message and Values
// point into data, so they are valid as long as data is.
// IngestedAt reads only the time a record entered the buffer from its
// binary form (zero if it cannot), for what must not decode it all.
func IngestedAt(data []byte) time.Time {
	p := decoder{b: data}
	if v := p.byte(); v != codecVersion && v != 1 {
		return time.Time{}
	}
	p.byte()
	p.uint64()
	p.uvarint()
	p.uvarint()
	p.varint()
	ns := p.varint()
	if p.err != nil || ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func (d *Decoder) Decode(data []byte, r *Record) error {
	r.Reset()
	p := decoder{b: data}
	version := p.byte()
	if version != codecVersion && version != 1 {
		if p.err == nil {
			return fmt.Errorf("%w: version %d", ErrBadRecord, version)
		}
		return p.err
	}
	r.Flags = Flags(p.byte())
	r.FileKey = p.uint64()
	r.Offset = int64(p.uvarint())
	r.End = r.Offset + int64(p.uvarint())
	if ns := p.varint(); ns != 0 {
		r.Time = time.Unix(0, ns).UTC()
	}
	if ns := p.varint(); ns != 0 {
		r.Ingested = time.Unix(0, ns).UTC()
	}
	r.Source = d.internAt(p.bytes(), &d.source)
	r.Path = d.internAt(p.bytes(), &d.path)
	r.Message = p.bytes()
	n := p.uvarint()
	if n > uint64(len(data)) { // each field takes at least 3 bytes
		return fmt.Errorf("%w: %d fields in %d bytes", ErrBadRecord, n, len(data))
	}
	if p.err != nil {
		return p.err
	}
	if n > uint64(len(d.keys)) && n <= maxInterned {
		d.keys = append(d.keys, make([]keySlot, n-uint64(len(d.keys)))...)
	}
	// Fields are written in place: appending each built Field cost a
	// third of the decoding. The position is a local variable, not p.b,
	// so it stays in a register.
	if uint64(cap(r.Fields)) < n {
		r.Fields = make([]Field, 0, n)
	}
	r.Fields = r.Fields[:n]
	b, i := p.b, 0
	msg := r.Message
	for f := range int(n) {
		var kl uint64
		if kl, i = uvarintAt(b, i); i < 0 || kl > uint64(len(b)-i) {
			r.Fields = r.Fields[:f]
			return fmt.Errorf("%w: short bytes", ErrBadRecord)
		}
		key := d.keyAt(f, b[i:i+int(kl)])
		i += int(kl)
		if i >= len(b) {
			r.Fields = r.Fields[:f]
			return fmt.Errorf("%w: short byte", ErrBadRecord)
		}
		kind := Kind(b[i])
		i++
		var value []byte
		if kind&kindRef != 0 && version >= 2 {
			kind &^= kindRef
			var off, vl uint64
			off, i = uvarintAt(b, i)
			if i >= 0 {
				vl, i = uvarintAt(b, i)
			}
			if i < 0 {
				r.Fields = r.Fields[:f]
				return fmt.Errorf("%w: short uvarint", ErrBadRecord)
			}
			if off > uint64(len(msg)) || vl > uint64(len(msg))-off {
				r.Fields = r.Fields[:f]
				return fmt.Errorf("%w: field %q slice [%d:+%d] outside a %d-byte message", ErrBadRecord, key, off, vl, len(msg))
			}
			value = msg[off : off+vl : off+vl]
		} else {
			var vl uint64
			if vl, i = uvarintAt(b, i); i < 0 || vl > uint64(len(b)-i) {
				r.Fields = r.Fields[:f]
				return fmt.Errorf("%w: short bytes", ErrBadRecord)
			}
			value = b[i : i+int(vl) : i+int(vl)]
			i += int(vl)
		}
		if kind > KindJSON {
			r.Fields = r.Fields[:f]
			return fmt.Errorf("%w: field %q has kind %d", ErrBadRecord, key, kind)
		}
		fl := &r.Fields[f]
		fl.Key, fl.Kind, fl.Value = key, kind, value
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadRecord, len(b)-i)
	}
	return nil
}

// uvarintAt reads the uvarint at b[i:] and returns it with the index after
// it, or an index of -1 when b holds no complete uvarint there.
func uvarintAt(b []byte, i int) (uint64, int) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1
	}
	return uvarintAtSlow(b, i)
}

func uvarintAtSlow(b []byte, i int) (uint64, int) {
	if i < 0 || i >= len(b) {
		return 0, -1
	}
	v, n := binary.Uvarint(b[i:])
	if n <= 0 {
		return 0, -1
	}
	return v, i + n
}

// decoder reads the binary form; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (p *decoder) fail(what string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: short %s", ErrBadRecord, what)
	}
	p.b = nil
}

func (p *decoder) byte() byte {
	if len(p.b) < 1 {
		p.fail("byte")
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *decoder) uint64() uint64 {
	if len(p.b) < 8 {
		p.fail("uint64")
		return 0
	}
	v := binary.BigEndian.Uint64(p.b)
	p.b = p.b[8:]
	return v
}

func (p *decoder) uvarint() uint64 {
	if len(p.b) > 0 && p.b[0] < 0x80 { // one byte: most lengths and offsets
		v := p.b[0]
		p.b = p.b[1:]
		return uint64(v)
	}
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		p.fail("uvarint")
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *decoder) varint() int64 {
	v, n := binary.Varint(p.b)
	if n <= 0 {
		p.fail("varint")
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *decoder) bytes() []byte {
	n := p.uvarint()
	if n > uint64(len(p.b)) {
		p.fail("bytes")
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}
