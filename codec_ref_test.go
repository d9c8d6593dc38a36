package sidetrail

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// decodeReference is Decode as it was before the field loop kept its
// position in a local variable and names in two-way slots: the
// reference FuzzDecodeReference compares Decode with.
func (d *Decoder) decodeReference(data []byte, r *Record) error {
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
	r.Source = d.intern(p.bytes())
	r.Path = d.intern(p.bytes())
	r.Message = p.bytes()
	n := p.uvarint()
	if n > uint64(len(data)) { // each field takes at least 3 bytes
		return fmt.Errorf("%w: %d fields in %d bytes", ErrBadRecord, n, len(data))
	}
	// Fields are written in place: appending each built Field cost a
	// third of the decoding.
	if uint64(cap(r.Fields)) < n {
		r.Fields = make([]Field, 0, n)
	}
	r.Fields = r.Fields[:n]
	for i := uint64(0); i < n; i++ {
		if p.err != nil {
			r.Fields = r.Fields[:i]
			break
		}
		key := d.intern(p.bytes())
		kind := Kind(p.byte())
		var value []byte
		if kind&kindRef != 0 && version >= 2 {
			kind &^= kindRef
			off, n := p.uvarint(), p.uvarint()
			if off > uint64(len(r.Message)) || n > uint64(len(r.Message))-off {
				r.Fields = r.Fields[:i]
				return fmt.Errorf("%w: field %q slice [%d:+%d] outside a %d-byte message", ErrBadRecord, key, off, n, len(r.Message))
			}
			value = r.Message[off : off+n : off+n]
		} else {
			value = p.bytes()
		}
		if kind > KindJSON {
			r.Fields = r.Fields[:i]
			return fmt.Errorf("%w: field %q has kind %d", ErrBadRecord, key, kind)
		}
		f := &r.Fields[i]
		f.Key, f.Kind, f.Value = key, kind, value
	}
	if p.err != nil {
		return p.err
	}
	if len(p.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadRecord, len(p.b))
	}
	return nil
}

// refRecords are records whose fields come and go between places, as an
// nginx source's request_query does, with values that are slices of the
// message (the compact form) and copies.
func refRecords() [][]byte {
	var out [][]byte
	msg := []byte(`10.0.0.1 - - [02/Jan/2024:15:04:05 +0000] "GET /a?token=x HTTP/1.1" 200 5 "-" "curl/8"`)
	for k := 0; k < 6; k++ {
		r := &Record{FileKey: uint64(k), Offset: int64(k * 300), End: int64(k*300 + 90), Time: time.Unix(int64(k), 5), Source: "s", Path: "/p", Message: msg}
		r.Add("remote_addr", KindString, msg[0:8])
		if k%2 == 1 {
			r.Add("request_query", KindString, msg[51:58])
		}
		if k%3 == 2 {
			r.Add("extra", KindString, []byte("copied value"))
		}
		r.Add("request", KindString, msg[44:67])
		r.Add("status", KindInt, msg[69:72])
		r.Add("http_user_agent", KindString, msg[len(msg)-7:len(msg)-1])
		out = append(out, AppendBinary(nil, r))
	}
	return append(out, AppendBinary(nil, sampleRecord()))
}

// sameRecord reports how a and b differ, or "".
func sameRecord(a, b *Record) string {
	if a.FileKey != b.FileKey || a.Offset != b.Offset || a.End != b.End || !a.Time.Equal(b.Time) ||
		!a.Ingested.Equal(b.Ingested) || a.Source != b.Source || a.Path != b.Path ||
		string(a.Message) != string(b.Message) || a.Flags != b.Flags {
		return fmt.Sprintf("header %+v vs %+v", a, b)
	}
	if len(a.Fields) != len(b.Fields) {
		return fmt.Sprintf("%d fields vs %d", len(a.Fields), len(b.Fields))
	}
	for i := range a.Fields {
		fa, fb := a.Fields[i], b.Fields[i]
		if fa.Key != fb.Key || fa.Kind != fb.Kind || string(fa.Value) != string(fb.Value) {
			return fmt.Sprintf("field %d: %s=%q (%v) vs %s=%q (%v)", i, fa.Key, fa.Value, fa.Kind, fb.Key, fb.Value, fb.Kind)
		}
	}
	return ""
}

// TestDecodeMatchesReference decodes records whose names move between
// places through one Decoder, in every order, and compares each with the
// reference decoder's result.
func TestDecodeMatchesReference(t *testing.T) {
	recs := refRecords()
	var d, ref Decoder
	var got, want Record
	for round := 0; round < 3; round++ {
		for i := range recs {
			for _, j := range []int{i, (i * 5) % len(recs), len(recs) - 1 - i} {
				err1, err2 := d.Decode(recs[j], &got), ref.decodeReference(recs[j], &want)
				if err1 != nil || err2 != nil {
					t.Fatalf("record %d: %v, reference %v", j, err1, err2)
				}
				if diff := sameRecord(&got, &want); diff != "" {
					t.Fatalf("record %d: %s", j, diff)
				}
			}
		}
	}
}

// FuzzDecodeReference: a warm Decoder and the reference agree on any bytes:
// both fail, or both give the same record.
func FuzzDecodeReference(f *testing.F) {
	for _, r := range refRecords() {
		f.Add(r)
	}
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d, ref Decoder
		var got, want Record
		for _, r := range refRecords() { // warm the name slots
			if err := d.Decode(r, &got); err != nil {
				t.Fatal(err)
			}
		}
		err1, err2 := d.Decode(data, &got), ref.decodeReference(data, &want)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%x: Decode %v, reference %v", data, err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrBadRecord) {
				t.Fatalf("%x: %v is not ErrBadRecord", data, err1)
			}
			return
		}
		if diff := sameRecord(&got, &want); diff != "" {
			t.Fatalf("%x: %s", data, diff)
		}
	})
}
