package buffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	sidetrail "github.com/sidetrail/sidetrail"
)

// Entry is one record handed out by Reader.Read.
type Entry struct {
	// Seq is the record's sequence number: pass the last one done to Ack.
	Seq uint64
	// Data is the record's bytes, owned by the Reader and valid until the
	// next Read or Rewind on it. Copy what must live longer.
	Data []byte
}

// Reader reads the log for one named cursor. Read, Rewind, Ack and Lag may
// be called from different goroutines, but Read and Rewind must not be
// called concurrently with themselves or each other (a Reader hands out
// memory it reuses). Buffer.Reader returns the same Reader for a name every
// time.
type Reader struct {
	b *Buffer
	c *cursor

	// Guarded by b.mu.
	pos    position // where the next frame is read
	skipTo uint64   // frames with seq ≤ skipTo are passed over (already acked)
	sc     scanner
	scSeg  *segment
	marks  []mark // one per Read since the last Ack: where that batch ended
	arena  []byte // holds the Data of the last Read (not ReadAppend)

	ackMu sync.Mutex // serialises Acks, so cursor files are written in order
}

// mark remembers where a Read batch ended, so an Ack of its last seq knows
// the byte position of the first unacked record (for Lag).
type mark struct {
	last uint64
	pos  position
}

const maxMarks = 4096

// Reader returns the Reader of the named cursor; name must be one of
// Options.Cursors. The Reader starts after the cursor's persisted position
// (a new cursor at the oldest retained record).
func (b *Buffer) Reader(name string) (*Reader, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, sidetrail.ErrClosed
	}
	for _, c := range b.cursors {
		if c.name == name {
			if c.reader == nil {
				c.reader = &Reader{b: b, c: c, pos: c.ackPos, skipTo: c.acked}
			}
			return c.reader, nil
		}
	}
	return nil, fmt.Errorf("buffer: no cursor named %q (known: %v)", name, b.opts.Cursors)
}

// Name returns the cursor's name.
func (r *Reader) Name() string { return r.c.name }

// Read blocks until at least one record after the reader's read position
// exists (or ctx ends, or the buffer closes), then returns up to
// maxRecords records and about maxBytes of payload, appended to dst[:0]:
// at least one record even if it is larger than maxBytes. A value ≤ 0 means
// no limit; a single Read returns records from one segment at most. The
// entries' Data is valid until the next Read or Rewind.
//
// Reading does not acknowledge: after a restart, reading starts after the
// last Ack. Each record read from a segment file has passed its CRC check
// (one lent by the tail cache is the bytes Append framed and checksummed,
// never read back from the disk); corrupt regions are skipped, counted in
// Stats.Corrupt and logged. If DropOldest deleted
// records the reader had not reached, it continues at the oldest retained
// record.
func (r *Reader) Read(ctx context.Context, dst []Entry, maxRecords, maxBytes int) ([]Entry, error) {
	r.arena = r.arena[:0]
	var err error
	r.arena, dst, err = r.read(ctx, r.arena, dst, maxRecords, maxBytes, false)
	return dst, err
}

// ReadAppend is Read with the records' bytes appended to arena, which it
// returns, instead of kept in the Reader's memory: the entries' Data point
// into the returned arena and stay valid as long as the caller keeps it.
// A caller that gathers a batch from several reads then copies nothing.
func (r *Reader) ReadAppend(ctx context.Context, arena []byte, dst []Entry, maxRecords, maxBytes int) ([]byte, []Entry, error) {
	return r.read(ctx, arena, dst, maxRecords, maxBytes, false)
}

// ReadMore is ReadAppend for a batch that has records already: it does not
// wait while an Append waits for room, and returns no entries then. Those
// records cannot come before the batch is acknowledged, and waiting for
// them made each fill of a small buffer cost a batch's max_wait (buffer13
// F2: 1,230 lines/s with max_bytes 64KiB and a fast sink).
func (r *Reader) ReadMore(ctx context.Context, arena []byte, dst []Entry, maxRecords, maxBytes int) ([]byte, []Entry, error) {
	return r.read(ctx, arena, dst, maxRecords, maxBytes, true)
}

func (r *Reader) read(ctx context.Context, arena []byte, dst []Entry, maxRecords, maxBytes int, more bool) ([]byte, []Entry, error) {
	b := r.b
	dst = dst[:0]
	base := len(arena)
	b.mu.Lock()
	defer b.mu.Unlock()
	defer r.sc.dropView() // the tail cache may change once mu is released
	for {
		if b.closed {
			return arena, dst, sidetrail.ErrClosed
		}
		i := b.findSeg(r.pos.seg)
		if i == len(b.segs) {
			// The position is past every segment: an empty sealed segment
			// was replaced and its successor is not there yet. Wait.
			if err := r.wait(ctx); err != nil {
				return arena, dst, err
			}
			continue
		}
		seg := b.segs[i]
		if seg.first != r.pos.seg {
			// The segment was dropped: continue at the next one.
			r.pos = position{seg: seg.first, off: segHeaderSize}
		}
		var next uint64
		if i+1 < len(b.segs) {
			next = b.segs[i+1].first
		}
		if r.scSeg != seg || r.sc.off != r.pos.off || r.sc.prev != r.pos.prev {
			r.sc.reset(segReader{b, seg}, seg.first, next, r.pos.off, seg.size, r.pos.prev)
			r.scSeg = seg
		}
		r.sc.next, r.sc.limit = next, seg.size
		r.sc.onCorrupt = func(off, end int64, lost uint64, err error) {
			b.countCorrupt(seg, &CorruptionError{Segment: seg.name, Offset: off, End: end, Lost: lost, Err: err})
		}
		n := 0
		for maxRecords <= 0 || len(dst) < maxRecords {
			if !r.sc.Next() {
				break
			}
			if r.sc.Seq() <= r.skipTo {
				continue
			}
			data := r.sc.Data()
			if len(dst) > 0 && maxBytes > 0 && n+len(data) > maxBytes {
				r.sc.unread()
				break
			}
			n += len(data)
			start := len(arena)
			arena = append(arena, data...)
			dst = append(dst, Entry{Seq: r.sc.Seq(), Data: arena[start:len(arena):len(arena)]})
		}
		r.sc.onCorrupt = nil
		if err := r.sc.Err(); errors.Is(err, io.ErrUnexpectedEOF) {
			// The file ends before the data it was known to hold: cut by
			// something else while we run. Damage, as a bad checksum is:
			// counted and skipped. It stopped the whole agent (buffer11).
			end := next
			if end == 0 {
				end = b.nextSeq
			}
			b.countCorrupt(seg, &CorruptionError{Segment: seg.name, Offset: r.sc.off, End: seg.size, Lost: r.sc.lostBefore(end),
				Err: fmt.Errorf("%w: the segment file ends before its data (%v)", ErrCorrupt, err)})
			r.sc.reset(segReader{b, seg}, seg.first, next, seg.size, seg.size, r.sc.prev)
		} else if err != nil {
			r.scSeg = nil
			if len(dst) == 0 {
				return arena, dst, fmt.Errorf("buffer: read %s: %w", seg.name, err)
			}
		}
		if r.sc.tail {
			// Bytes below the published size with no valid frame: damage
			// that happened after Open. Skip to the end of the data.
			var lost uint64
			if next != 0 {
				lost = r.sc.lostBefore(next)
			}
			b.countCorrupt(seg, &CorruptionError{Segment: seg.name, Offset: r.sc.tailOffset, End: seg.size, Lost: lost, Err: fmt.Errorf("%w: no valid frame after this offset", ErrCorrupt)})
			r.sc.reset(segReader{b, seg}, seg.first, next, seg.size, seg.size, r.sc.prev)
		}
		r.pos.off, r.pos.prev = r.sc.off, r.sc.prev
		if len(dst) > 0 {
			// Re-point Data: appends to arena may have moved it.
			off := base
			for j := range dst {
				l := len(dst[j].Data)
				dst[j].Data = arena[off : off+l : off+l]
				off += l
			}
			if len(r.marks) == maxMarks {
				r.marks = slices.Delete(r.marks, 0, maxMarks/2)
			}
			r.marks = append(r.marks, mark{last: dst[len(dst)-1].Seq, pos: r.pos})
			return arena, dst, nil
		}
		if r.pos.off >= seg.size && i+1 < len(b.segs) {
			r.pos = position{seg: b.segs[i+1].first, off: segHeaderSize}
			continue
		}
		if more && b.stats.blocked > 0 {
			return arena, dst, nil
		}
		if err := r.wait(ctx); err != nil {
			return arena, dst, err
		}
	}
}

// wait releases b.mu until records are published, ctx ends or the buffer
// closes, and takes it again.
func (r *Reader) wait(ctx context.Context) error {
	b := r.b
	r.sc.dropView() // the tail cache may change while mu is released
	data := b.dataCh
	b.mu.Unlock()
	defer b.mu.Lock()
	select {
	case <-data:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.closedCh:
	}
	return nil
}

// Rewind moves the read position back to the first unacknowledged record,
// so the next Read hands out again what was read but not acked (after a
// failed send the shipper may re-read instead of keeping the batch).
// It invalidates the Data of the last Read.
func (r *Reader) Rewind() error {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return sidetrail.ErrClosed
	}
	r.pos, r.skipTo = r.c.ackPos, r.c.acked
	r.marks = r.marks[:0]
	// What was in flight in deleted segments is not read again: lost.
	n := uint64(0)
	for _, h := range r.c.held {
		n += h.hi - h.lo + 1
	}
	r.c.held, r.c.dropped = nil, r.c.dropped+n
	b.stats.dropped += n
	r.scSeg = nil
	return nil
}

// Ack records that every record with seq ≤ seq is done for this cursor:
// the cursor file is written before Ack returns, so it survives a crash of
// the process. At most every Options.CursorSync it is written the durable
// way (temp file, fsync, rename, fsync of the directory); the Acks in
// between overwrite it in place without fsync, so a power failure can only
// make the cursor older (or damaged, which restarts it at the oldest
// record): records sent again, never lost. Then the segments every cursor has passed are deleted, which
// may unblock Append. Acking a seq at or below the current one is a no-op;
// acking beyond the last appended record is an error. Ack does not move
// the read position back; it moves it forward past seq.
//
// Ack is safe for concurrent use with Read and with other Acks; on an error
// the cursor is unchanged and Ack may be retried.
func (r *Reader) Ack(seq uint64) error {
	b := r.b
	r.ackMu.Lock()
	defer r.ackMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return sidetrail.ErrClosed
	}
	if seq <= r.c.acked {
		b.mu.Unlock()
		return nil
	}
	if seq >= b.nextSeq {
		last := b.nextSeq - 1
		b.mu.Unlock()
		return fmt.Errorf("buffer: ack %d beyond the last appended record %d", seq, last)
	}
	b.mu.Unlock()

	sync := b.opts.CursorSync < 0 || time.Since(r.c.lastSync) >= b.opts.CursorSync
	var err error
	memOnly := false // no file holds this Ack
	if !sync && r.c.file != nil {
		err = b.overwriteCursor(r.c, seq)
	} else if err = b.writeCursor(r.c.name, seq, sync); err == nil {
		b.reopenCursor(r.c)
	} else if noSpace(err) {
		// A full volume refuses the temp file. The Acks failed for as
		// long as it stayed full, and the segments they would have freed
		// stayed too: delivery stopped until something else made room
		// (buffer11). The cursor file takes its 20 bytes in place. A
		// cursor with no file yet (a sink added while the volume was
		// full, regress11b) moves in memory only: a crash now restarts
		// it at the oldest record, which repeats records but skips none.
		// Later Acks try to write its file again.
		if b.overwriteCursorFull(r.c, seq, sync) == nil {
			err = nil
		} else if !b.cursorFileExists(r.c.name) {
			err, memOnly = nil, true
		}
	}
	if err != nil {
		// Where the file now stands is unknown: the next Ack writes anew.
		b.closeCursor(r.c)
		b.mu.Lock()
		b.stats.ackErrors++
		b.mu.Unlock()
		return fmt.Errorf("buffer: ack: %w", err)
	}
	switch {
	case memOnly: // nothing on disk to sync; the next Ack writes a file
	case sync:
		r.c.lastSync, r.c.unsynced = time.Now(), false
	default:
		r.c.unsynced = true
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	r.c.acked = seq
	r.c.ackHeld(seq)
	if seq > r.skipTo {
		r.skipTo = seq
	}
	k := 0
	for k < len(r.marks) && r.marks[k].last <= seq {
		r.c.ackPos = r.marks[k].pos
		k++
	}
	r.marks = slices.Delete(r.marks, 0, k)
	if p := b.firstPosAfter(seq); p.seg > r.c.ackPos.seg {
		// Acked past the marks (or without reading through this Reader):
		// the start of the segment holding seq+1 is a safe position.
		r.c.ackPos = p
	}
	if !b.closed {
		b.collect()
		// Wake a blocked Append even if no segment was deleted: a batch
		// that does not fit is accepted once everything is acknowledged.
		b.signalSpace()
	}
	return nil
}

// Lag returns how many retained records this cursor has not acknowledged
// and about how many bytes of segment data they occupy (from the end of
// the last acknowledged Read batch).
func (r *Reader) Lag() (records uint64, bytes int64) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lag(r.c)
}

// lag computes a cursor's lag. b.mu is held.
func (b *Buffer) lag(c *cursor) (uint64, int64) {
	records := b.recordsAfter(c.acked)
	if records == 0 {
		return 0, 0
	}
	var bytes int64
	for _, s := range b.segs {
		switch {
		case s.first > c.ackPos.seg:
			bytes += s.size - segHeaderSize
		case s.first == c.ackPos.seg:
			bytes += max(0, s.size-c.ackPos.off)
		}
	}
	return records, bytes
}
