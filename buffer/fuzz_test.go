package buffer

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"testing"
)

// FuzzSegmentDecode feeds random bytes to the segment decoder as a segment
// file: it must not panic or hang, and every record it returns must carry a
// valid CRC, lie inside the data, and have a strictly increasing seq within
// the segment's bounds.
func FuzzSegmentDecode(f *testing.F) {
	valid := appendFileHeader(nil, segMagic, 7)
	for i := range 5 {
		valid = appendFrame(valid, 7+uint64(i), bytes.Repeat([]byte{byte('a' + i)}, i*7))
	}
	f.Add(valid, uint64(7))
	f.Add(valid[:len(valid)-3], uint64(7))
	f.Add(append(bytes.Clone(valid), make([]byte, 64)...), uint64(7))
	broken := bytes.Clone(valid)
	broken[segHeaderSize+20] ^= 0xff
	f.Add(broken, uint64(7))
	f.Add([]byte{}, uint64(1))
	f.Add(make([]byte, 100), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, first uint64) {
		var s scanner
		s.reset(bytes.NewReader(data), first, 0, segHeaderSize, int64(len(data)), 0)
		var prev uint64
		var regions int
		s.onCorrupt = func(off, end int64, _ uint64, err error) {
			if end <= off || end > int64(len(data)) {
				t.Fatalf("corrupt region [%d,%d) outside data of %d", off, end, len(data))
			}
			regions++
		}
		n := 0
		for s.Next() {
			off := s.frameOff
			h := data[off : off+frameHeaderSize]
			length := binary.BigEndian.Uint32(h[0:4])
			payload := data[off+frameHeaderSize : off+frameHeaderSize+int64(length)]
			if !bytes.Equal(payload, s.Data()) {
				t.Fatalf("record at %d: data differs from the file bytes", off)
			}
			msg := append(append(bytes.Clone(h[0:4]), h[8:16]...), payload...)
			if crc32.Checksum(msg, crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(h[4:8]) {
				t.Fatalf("record at %d returned with a bad CRC", off)
			}
			if s.Seq() <= prev && n > 0 || s.Seq() < first {
				t.Fatalf("seq %d after %d (first %d)", s.Seq(), prev, first)
			}
			prev = s.Seq()
			n++
		}
		if s.Err() != nil {
			t.Fatalf("I/O error from a bytes.Reader: %v", s.Err())
		}
		// The full-segment scan agrees with the streaming one.
		res, err := scanSegment(bytes.NewReader(data), "fuzz.seg", first, 0, int64(len(data)), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) >= segHeaderSize && (res.records != int64(n) || len(res.corrupt) != regions) {
			t.Fatalf("scanSegment found %d records/%d regions, scanner %d/%d", res.records, len(res.corrupt), n, regions)
		}
	})
}
