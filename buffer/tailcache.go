package buffer

// tailCache keeps the newest bytes written to the active segment in memory,
// so a Reader that keeps up with the appender copies its records from
// memory instead of reading back the file it has just written (measured:
// reading back was about a tenth of the agent's CPU time). It holds only
// bytes whose write succeeded, at the offsets they were written to; the
// segment file stays the truth: a Reader that falls further behind than the
// cache holds, or reads any other segment, reads the file. Guarded by
// Buffer.mu.
//
// The appender frames a batch straight into the ring (reserve), writes it
// to the file from there, and then declares it held (commit): the ring is
// its write buffer, not a copy of it. A batch that does not fit after the
// newest bytes starts again at the ring's beginning; what was held stays
// held, as the older piece, except the memory the new batches take as
// they grow up the ring. So the cache holds the newest segment bytes in
// two pieces at most, each contiguous in the ring, and no frame spans two:
//
//	ring: | newest piece [lo, hi) | rest of the older piece [oldLo, oldHi) | unused |
//
// with oldHi == lo whenever the older piece holds anything. A Reader that
// trails the appender by a batch or two (the shipper usually does) still
// reads from memory after the ring wraps; with a single piece it read the
// file back after every wrap.
type tailCache struct {
	seg  *segment
	ring []byte
	// The newest piece: segment bytes [lo, hi) at ring[lo-base:hi-base].
	base, lo, hi int64
	// The older piece: segment bytes [oldLo, oldHi) at
	// ring[oldLo-oldBase:oldHi-oldBase]; empty when oldLo == oldHi.
	oldBase, oldLo, oldHi int64
}

// defaultTailCache is the ring's size: a few of the source's 2 MiB batches.
const defaultTailCache = 4 << 20

// reset holds nothing, then (seg non-nil) starts the newest piece at
// ring[0] for seg's offset off.
func (c *tailCache) reset(seg *segment, off int64) {
	c.seg, c.base, c.lo, c.hi = seg, off, off, off
	c.oldBase, c.oldLo, c.oldHi = 0, 0, 0
}

// reserve returns the ring memory (length 0, capacity n) to frame the n
// bytes that are about to be written to seg at off, or nil when the ring
// cannot hold them. It stops holding whatever that memory held; since
// Readers only view the ring under Buffer.mu, the caller may fill it
// after releasing the lock.
func (c *tailCache) reserve(seg *segment, off int64, n int) []byte {
	size := int64(len(c.ring))
	if int64(n) > size {
		c.reset(nil, 0)
		return nil
	}
	switch {
	case c.seg != seg || off != c.hi:
		// Not the continuation of what is held (another segment, or a
		// write that failed and was cut back): start over.
		c.reset(seg, off)
	case off+int64(n)-c.base > size:
		// Wrap: the newest piece becomes the older one.
		c.oldBase, c.oldLo, c.oldHi = c.base, c.lo, c.hi
		c.base, c.lo = off, off
	}
	p := off - c.base
	// The older piece loses what this batch's memory overlaps.
	if c.oldLo < c.oldHi {
		if end := p + int64(n); c.oldLo-c.oldBase < end {
			c.oldLo = min(c.oldBase+end, c.oldHi)
		}
		if c.oldLo == c.oldHi {
			c.oldBase, c.oldLo, c.oldHi = 0, 0, 0
		}
	}
	return c.ring[p : p : p+int64(n)]
}

// commit declares held the bytes framed in reserve's memory, now written
// to seg at off.
func (c *tailCache) commit(seg *segment, off int64, n int) {
	if c.seg == seg && c.hi == off && off+int64(n)-c.base <= int64(len(c.ring)) {
		c.hi = off + int64(n)
	}
}

// forget drops the cache if it holds seg's bytes.
func (c *tailCache) forget(seg *segment) {
	if c.seg == seg {
		c.reset(nil, 0)
	}
}

// piece returns the ring memory of seg's bytes [off, off+n) and up to max
// bytes after them within the same piece, if the cache holds them.
func (c *tailCache) piece(seg *segment, off int64, n, max int) ([]byte, bool) {
	if c.seg != seg || seg == nil || n > max {
		return nil, false
	}
	base, hi := c.base, c.hi
	switch {
	case off >= c.lo && off+int64(n) <= c.hi:
	case off >= c.oldLo && off+int64(n) <= c.oldHi:
		base, hi = c.oldBase, c.oldHi
	default:
		return nil, false
	}
	end := min(off+int64(max), hi)
	return c.ring[off-base : end-base : end-base], true
}

// readAt fills p with seg's bytes at off if the cache holds all of them.
func (c *tailCache) readAt(seg *segment, p []byte, off int64) bool {
	for len(p) > 0 {
		b, ok := c.piece(seg, off, 1, len(p))
		if !ok {
			return false
		}
		n := copy(p, b)
		p, off = p[n:], off+int64(n)
	}
	return true
}

// viewAt returns the cache's own memory for seg's bytes from off: at least
// n bytes and at most max, within one piece, if it holds them.
func (c *tailCache) viewAt(seg *segment, off int64, n, max int) ([]byte, bool) {
	return c.piece(seg, off, n, max)
}

// segReader reads a segment through the tail cache. Use it under
// Buffer.mu only.
type segReader struct {
	b   *Buffer
	seg *segment
}

// view lends the tail cache's memory (no copy) while Buffer.mu is held;
// the Reader drops the view before releasing it.
func (r segReader) view(off int64, n, max int) ([]byte, bool) {
	b, ok := r.b.tail.viewAt(r.seg, off, n, max)
	if ok {
		r.b.stats.tailCacheReads++
	}
	return b, ok
}

func (r segReader) ReadAt(p []byte, off int64) (int, error) {
	if r.b.tail.readAt(r.seg, p, off) {
		r.b.stats.tailCacheReads++
		return len(p), nil
	}
	return r.seg.file.ReadAt(p, off)
}
