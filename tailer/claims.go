package tailer

import "sync"

// Claims is shared by the tailers of one agent. A file (device and inode)
// that two sources tail ships its lines once per source, each copy under
// its own record IDs (the source is part of the key): duplicates no backend
// can drop. Vector and Filebeat warn against overlapping inputs too; the
// second source to open such a file says so, once. Safe for concurrent use.
type Claims struct {
	mu sync.Mutex
	by map[devIno]string
}

// NewClaims returns an empty registry.
func NewClaims() *Claims { return &Claims{by: make(map[devIno]string)} }

// claim records that source tails id. It returns the other source that
// tailed it first, or "".
func (c *Claims) claim(id devIno, source string) string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if other, ok := c.by[id]; ok && other != source {
		return other
	}
	c.by[id] = source
	return ""
}

// release forgets source's claim on id.
func (c *Claims) release(id devIno, source string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.by[id] == source {
		delete(c.by, id)
	}
	c.mu.Unlock()
}
