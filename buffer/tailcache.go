package buffer

// tailCache keeps the newest bytes written to the active segment in memory,
// so a Reader that keeps up with the appender copies its records from
// memory instead of reading back the file it has just written (measured:
// reading back was about a tenth of the agent's CPU time). It holds only
// bytes whose write succeeded, at the offsets they were written to; the
// segment file stays the truth: a Reader that falls further behind than the
// cache holds, or reads any other segment, reads the file. Guarded by
// Buffer.mu.
type tailCache struct {
	seg    *segment
	ring   []byte // segment offset o is at ring[o%len(ring)]
	lo, hi int64  // the segment bytes [lo, hi) are held
}

// defaultTailCache is the ring's size: a few of the source's 2 MiB batches.
const defaultTailCache = 4 << 20

// add records that p was written to seg at off.
func (c *tailCache) add(seg *segment, off int64, p []byte) {
	n := int64(len(c.ring))
	if n == 0 {
		return
	}
	if c.seg != seg || off != c.hi {
		c.seg, c.lo, c.hi = seg, off, off
	}
	if int64(len(p)) > n {
		skip := int64(len(p)) - n
		p = p[skip:]
		c.lo, c.hi = c.hi+skip, c.hi+skip
	}
	for len(p) > 0 {
		k := copy(c.ring[c.hi%n:], p)
		p = p[k:]
		c.hi += int64(k)
	}
	c.lo = max(c.lo, c.hi-n)
}

// forget drops the cache if it holds seg's bytes.
func (c *tailCache) forget(seg *segment) {
	if c.seg == seg {
		c.seg, c.lo, c.hi = nil, 0, 0
	}
}

// readAt fills p with seg's bytes at off if the cache holds all of them.
func (c *tailCache) readAt(seg *segment, p []byte, off int64) bool {
	if c.seg != seg || seg == nil || off < c.lo || off+int64(len(p)) > c.hi {
		return false
	}
	n := int64(len(c.ring))
	for k := 0; k < len(p); {
		k += copy(p[k:], c.ring[(off+int64(k))%n:])
	}
	return true
}

// viewAt returns the cache's own memory for seg's bytes [off, off+n) if it
// holds them contiguously (not across the ring's end).
func (c *tailCache) viewAt(seg *segment, off int64, n int) ([]byte, bool) {
	if c.seg != seg || seg == nil || off < c.lo || off+int64(n) > c.hi {
		return nil, false
	}
	i := off % int64(len(c.ring))
	if i+int64(n) > int64(len(c.ring)) {
		return nil, false
	}
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
