package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// On-disk format. All integers are big endian.
//
// Segment file NNNNNNNNNNNNNNNNNNNN.seg (N = first sequence number, 20 digits):
//
//	offset 0                                                            20
//	+-------------+-----------+-------------+-------------+-------------+
//	| magic "STSG"| version=1 | reserved 0  | first seq   | CRC32C      |
//	|   4 bytes   |  1 byte   |  3 bytes    |  u64        | u32 of 0:16 |
//	+-------------+-----------+-------------+-------------+-------------+
//	then frames, back to back, until the end of the file:
//	+------------+------------+-------------+------------------------+
//	| length u32 | CRC32C u32 | seq u64     | payload (length bytes) |
//	+------------+------------+-------------+------------------------+
//	CRC32C (Castagnoli) covers length ‖ seq ‖ payload.
//
// Frames in a segment carry strictly increasing sequence numbers starting at
// the segment's first seq; all are below the next segment's first seq. A
// frame at offset off therefore has seq ≤ first + (off-segHeaderSize)/frameHeaderSize,
// which, with the CRC, lets recovery resynchronise after a damaged region
// without trusting a random match.
//
// Cursor file NAME.cursor (written NAME.cursor.tmp, fsync, rename, fsync dir):
//
//	+-------------+-----------+------------+------------+-------------+
//	| magic "STCR"| version=1 | reserved 0 | acked seq  | CRC32C      |
//	|   4 bytes   |  1 byte   |  3 bytes   |  u64       | u32 of 0:16 |
//	+-------------+-----------+------------+------------+-------------+
const (
	segMagic        = "STSG"
	cursorMagic     = "STCR"
	formatVersion   = 1
	segHeaderSize   = 20
	cursorFileSize  = 20
	frameHeaderSize = 16
	segSuffix       = ".seg"
	cursorSuffix    = ".cursor"
	tmpSuffix       = ".tmp"
	segNameDigits   = 20
	readChunk       = 64 << 10
	maxRecordBytes  = 1 << 30 // Append refuses larger records
	defaultMaxBytes = 1 << 30
	defaultSegBytes = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameCRC computes a frame's checksum from its 16-byte header and payload.
func frameCRC(hdr, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, hdr[0:4])
	c = crc32.Update(c, castagnoli, hdr[8:16])
	return crc32.Update(c, castagnoli, payload)
}

// appendFrame appends one frame to dst.
// The header is built inside dst: a local array would escape to the heap
// through crc32's indirect call.
func appendFrame(dst []byte, seq uint64, payload []byte) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = append(dst, payload...)
	f := dst[start:]
	binary.BigEndian.PutUint32(f[4:8], frameCRC(f[:frameHeaderSize], f[frameHeaderSize:]))
	return dst
}

// appendFileHeader appends a segment or cursor header (both share a shape).
func appendFileHeader(dst []byte, magic string, v uint64) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = append(dst, formatVersion, 0, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, v)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:start+16], castagnoli))
}

// parseFileHeader checks a segment or cursor header and returns its value.
func parseFileHeader(b []byte, magic string) (uint64, error) {
	if len(b) < 20 {
		return 0, fmt.Errorf("%w: short header (%d bytes)", ErrCorrupt, len(b))
	}
	if string(b[0:4]) != magic {
		return 0, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[0:4])
	}
	if crc32.Checksum(b[0:16], castagnoli) != binary.BigEndian.Uint32(b[16:20]) {
		return 0, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	if b[4] != formatVersion {
		return 0, fmt.Errorf("%w: unknown version %d", ErrCorrupt, b[4])
	}
	return binary.BigEndian.Uint64(b[8:16]), nil
}

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// parseSegName returns the first seq encoded in a segment file name.
func parseSegName(name string) (uint64, bool) {
	if len(name) != segNameDigits+len(segSuffix) || name[segNameDigits:] != segSuffix {
		return 0, false
	}
	var v uint64
	for _, c := range name[:segNameDigits] {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if v == 0 || v > maxSeq {
		return 0, false
	}
	return v, true
}

// maxSeq bounds the sequence numbers a buffer gives: at a million records
// a second they last 290,000 years. A larger one in a cursor file or a
// segment's name is damage, not a position: a cursor at 2^64-1 wrapped the
// next sequence number around, below itself, so that its sink took every
// record appended after for acknowledged (buffer15 F1: 25,000 lines).
const maxSeq = 1<<63 - 1

// maxCursor bounds the cursors taken for positions beyond the records the
// buffer holds: a larger one is damage. A cursor at maxSeq was taken for a
// position, and the records appended after it took sequence numbers beyond
// maxSeq, in segments whose names the next start refused: lost (buffer18
// F1). Below maxCursor, the buffer has 2^62 sequence numbers left after
// any cursor; one that reached past it since is within the records held.
const maxCursor = 1 << 62

// parseCursor reads a cursor file's contents: the last acknowledged
// sequence number, or an error wrapping ErrCorrupt. held is the highest
// sequence number the segments hold (or the one before an empty
// segment's first).
func parseCursor(data []byte, held uint64) (uint64, error) {
	v, err := parseFileHeader(data, cursorMagic)
	if err == nil && (v > maxSeq || v > maxCursor && v > held) {
		err = fmt.Errorf("%w: sequence number %d is beyond any a buffer gives", ErrCorrupt, v)
	}
	return v, err
}

var (
	errShortFrame = fmt.Errorf("%w: frame runs past the end of the data", ErrCorrupt)
	errBadCRC     = fmt.Errorf("%w: frame checksum mismatch", ErrCorrupt)
	errBadSeq     = fmt.Errorf("%w: frame sequence number out of order", ErrCorrupt)
)

// scanner reads the frames of one segment like bufio.Scanner: Next, then
// Seq/Data, and Err at the end. It validates every frame (length, sequence
// number, CRC); on a damaged frame it resynchronises by searching for the
// next offset holding a valid frame, reports the skipped region through
// onCorrupt and continues. If no valid frame follows, it stops and sets
// Tail: the bytes from TailOffset to limit are garbage (for the last segment
// at open: a torn tail to cut).
//
// A scanner is not safe for concurrent use. Data is valid until the next
// call to Next.
type scanner struct {
	r        io.ReaderAt
	first    uint64 // the segment's first seq
	next     uint64 // the next segment's first seq; 0 = none (no upper bound)
	limit    int64  // only bytes [0, limit) are read
	off      int64  // offset of the next frame
	prev     uint64 // seq of the previous frame; 0 = none
	buf      []byte // file bytes [bufOff, bufOff+len(buf))
	bufOff   int64
	own      []byte // buf's backing array when buf is not a view
	viewing  bool   // buf is a view of memory the scanner does not own (dropView)
	seq      uint64
	data     []byte
	frameOff int64
	prevPrev uint64 // prev before the current frame, for unread

	tail       bool
	tailOffset int64
	err        error
	// onCorrupt reports a skipped region and how many records it held,
	// known from the sequence numbers around it (frames of a segment are
	// numbered consecutively).
	onCorrupt func(off, end int64, lost uint64, err error)
}

// reset points the scanner at off in a segment, keeping its buffer.
func (s *scanner) reset(r io.ReaderAt, first, next uint64, off, limit int64, prev uint64) {
	s.r, s.first, s.next, s.off, s.limit, s.prev = r, first, next, off, limit, prev
	s.dropView()
	s.bufOff, s.buf = 0, s.buf[:0]
	s.tail, s.tailOffset, s.err = false, 0, nil
	s.seq, s.data, s.frameOff = 0, nil, 0
}

// bytesAt returns file bytes [off, off+n); the caller has checked that
// off+n <= limit.
func (s *scanner) bytesAt(off int64, n int) ([]byte, error) {
	if off >= s.bufOff && off+int64(n) <= s.bufOff+int64(len(s.buf)) {
		return s.buf[off-s.bufOff:][:n], nil
	}
	want := int64(max(n, readChunk))
	if off+want > s.limit {
		want = s.limit - off
	}
	if v, ok := s.r.(viewer); ok {
		if b, ok := v.view(off, n, int(want)); ok {
			s.buf, s.bufOff, s.viewing = b, off, true
			return s.buf[:n], nil
		}
	}
	s.dropView()
	if int64(cap(s.own)) < want {
		s.own = make([]byte, want)
	}
	s.buf = s.own[:want]
	s.bufOff = off
	m, err := s.r.ReadAt(s.buf, off)
	if m < n {
		// Short of what the frame needs (a file cut shorter than its
		// data); bytes read ahead of it may be missing, and are not asked
		// for.
		s.buf = s.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	s.buf = s.buf[:m]
	return s.buf[:n], nil
}

// viewer is a ReaderAt that can also lend its own memory for the bytes
// from off: at least n of them and at most max. The memory is valid until
// the lender changes it (see scanner.dropView).
type viewer interface {
	view(off int64, n, max int) ([]byte, bool)
}

// dropView forgets a buffer lent by a viewer. Callers must call it before
// the lender may change that memory (for the tail cache: before Buffer.mu
// is released).
func (s *scanner) dropView() {
	if s.viewing {
		s.buf, s.bufOff, s.viewing = s.own[:0], 0, false
	}
}

// frameAt checks the frame at off. It returns a nil reason if the frame is
// valid, the reason it is not otherwise, and an I/O error separately.
func (s *scanner) frameAt(off int64) (seq uint64, payload []byte, reason, ioErr error) {
	if off+frameHeaderSize > s.limit {
		return 0, nil, errShortFrame, nil
	}
	h, err := s.bytesAt(off, frameHeaderSize)
	if err != nil {
		return 0, nil, nil, err
	}
	n := int64(binary.BigEndian.Uint32(h[0:4]))
	seq = binary.BigEndian.Uint64(h[8:16])
	if n > s.limit-off-frameHeaderSize {
		return 0, nil, errShortFrame, nil
	}
	if seq <= s.prev || seq < s.first || (s.next != 0 && seq >= s.next) ||
		off < segHeaderSize || seq-s.first > uint64(off-segHeaderSize)/frameHeaderSize {
		return 0, nil, errBadSeq, nil
	}
	f, err := s.bytesAt(off, frameHeaderSize+int(n))
	if err != nil {
		return 0, nil, nil, err
	}
	// Frames lent by the tail cache are the bytes appendFrame checksummed
	// moments ago, copied from memory, never read back from the disk: the
	// checksum guards the disk, so it is checked on every byte read from a
	// file and not again on these (it was a twentieth of the agent's CPU).
	if !s.viewing && frameCRC(f, f[frameHeaderSize:]) != binary.BigEndian.Uint32(f[4:8]) {
		return 0, nil, errBadCRC, nil
	}
	return seq, f[frameHeaderSize:], nil, nil
}

// Next advances to the next valid frame. It returns false at the end of the
// data, on an I/O error (Err) or at a garbage tail (Tail).
func (s *scanner) Next() bool {
	if s.err != nil || s.tail {
		return false
	}
	for s.off < s.limit {
		seq, payload, reason, err := s.frameAt(s.off)
		if err != nil {
			s.err = err
			return false
		}
		if reason == nil {
			s.prevPrev, s.prev = s.prev, seq
			s.seq, s.data, s.frameOff = seq, payload, s.off
			s.off += frameHeaderSize + int64(len(payload))
			return true
		}
		next, nextSeq, found, err := s.resync(s.off + 1)
		if err != nil {
			s.err = err
			return false
		}
		if !found {
			s.tail, s.tailOffset = true, s.off
			return false
		}
		if s.onCorrupt != nil {
			s.onCorrupt(s.off, next, s.lostBefore(nextSeq), reason)
		}
		s.off = next
	}
	return false
}

// unread steps back over the frame Next just returned.
func (s *scanner) unread() {
	s.off, s.prev = s.frameOff, s.prevPrev
}

// resync finds the first offset ≥ from that holds a valid frame.
func (s *scanner) resync(from int64) (int64, uint64, bool, error) {
	for p := from; p+frameHeaderSize <= s.limit; p++ {
		seq, _, reason, err := s.frameAt(p)
		if err != nil {
			return 0, 0, false, err
		}
		if reason == nil {
			return p, seq, true, nil
		}
	}
	return 0, 0, false, nil
}

// lostBefore returns how many sequence numbers lie between the previous
// valid frame (or the segment's start) and next: the records a damaged
// region held.
func (s *scanner) lostBefore(next uint64) uint64 {
	from := max(s.prev+1, s.first)
	if next <= from {
		return 0
	}
	return next - from
}

// Seq returns the current frame's sequence number.
func (s *scanner) Seq() uint64 { return s.seq }

// Data returns the current frame's payload, valid until the next Next.
func (s *scanner) Data() []byte { return s.data }

// Err returns the I/O error that stopped the scan, if any.
func (s *scanner) Err() error { return s.err }
