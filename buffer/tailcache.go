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
// its write buffer, not a copy of it. The held bytes are contiguous in the
// ring: a batch that does not fit after them starts the ring over, holding
// only itself.
type tailCache struct {
	seg    *segment
	ring   []byte
	base   int64 // the segment offset of ring[0]
	lo, hi int64 // the segment bytes [lo, hi) are held, at ring[lo-base:hi-base]
}

// defaultTailCache is the ring's size: a few of the source's 2 MiB batches.
const defaultTailCache = 4 << 20

// reserve returns the ring memory (length 0, capacity n) to frame the n
// bytes that are about to be written to seg at off, or nil when the ring
// cannot hold them. It stops holding whatever that memory held; since
// Readers only view the ring under Buffer.mu, the caller may fill it
// after releasing the lock.
func (c *tailCache) reserve(seg *segment, off int64, n int) []byte {
	size := int64(len(c.ring))
	if int64(n) > size {
		c.seg, c.base, c.lo, c.hi = nil, 0, 0, 0
		return nil
	}
	if c.seg != seg || off != c.hi || off+int64(n)-c.base > size {
		c.seg, c.base, c.lo, c.hi = seg, off, off, off
	}
	p := off - c.base
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
		c.seg, c.base, c.lo, c.hi = nil, 0, 0, 0
	}
}

// readAt fills p with seg's bytes at off if the cache holds all of them.
func (c *tailCache) readAt(seg *segment, p []byte, off int64) bool {
	if c.seg != seg || seg == nil || off < c.lo || off+int64(len(p)) > c.hi {
		return false
	}
	copy(p, c.ring[off-c.base:])
	return true
}

// viewAt returns the cache's own memory for seg's bytes [off, off+n) if it
// holds them.
func (c *tailCache) viewAt(seg *segment, off int64, n int) ([]byte, bool) {
	if c.seg != seg || seg == nil || off < c.lo || off+int64(n) > c.hi {
		return nil, false
	}
	i := off - c.base
	return c.ring[i : i+int64(n) : i+int64(n)], true
}

// segReader reads a segment through the tail cache. Use it under
// Buffer.mu only.
type segReader struct {
	b   *Buffer
	seg *segment
}

// view lends the tail cache's memory (no copy) while Buffer.mu is held;
// the Reader drops the view before releasing it.
func (r segReader) view(off int64, n int) ([]byte, bool) {
	b, ok := r.b.tail.viewAt(r.seg, off, n)
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
