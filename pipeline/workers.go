package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/tailer"
)

// transformPool parses, redacts and encodes a source's lines on several
// goroutines and hands the encoded records back in the order the lines
// were read, so that reading, offsets and commits stay exactly as with one
// goroutine. A feeding goroutine reads lines from the tailer, copies them
// into chunks and gives each chunk to the next free worker; Next walks the
// chunks in read order, waiting for each to be done.
//
// Chunks are recycled; the encoded record Next returns is valid until the
// next call to Next.
type transformPool struct {
	lines LineReader
	now   func() time.Time

	cancel context.CancelFunc
	work   chan *chunk // to the workers
	order  chan *chunk // every chunk, in read order, to Next
	free   chan *chunk
	wg     sync.WaitGroup

	head *chunk // the chunk Next is in (or waits for)
	idx  int    // the next line of head
}

// encoded is one record as Next returns it.
type encoded struct {
	data []byte // AppendBinary of the record
	line tailer.Line
}

// chunk is a run of lines read together. The feeder fills lines (whose
// Bytes point into data); a worker fills out and ends, then closes done.
type chunk struct {
	lines []tailer.Line
	data  []byte
	offs  []int // where each line's bytes start in data
	now   time.Time
	err   error // the read error that ended the source after these lines

	out  []byte
	ends []int
	done chan struct{}
}

const (
	// chunkLines and chunkBytes bound a chunk; chunkLinger is how long
	// the feeder waits for more lines before handing a partial chunk on.
	chunkLines  = 256
	chunkBytes  = 256 << 10
	chunkLinger = time.Millisecond
)

// newTransformPool starts one worker per Transform (each has its own
// parser and redactor) and the feeder. Close stops them.
func newTransformPool(ctx context.Context, lines LineReader, trans []*Transform, now func() time.Time) *transformPool {
	ctx, cancel := context.WithCancel(ctx)
	n := 2*len(trans) + 2 // in flight: one per worker, and some ready
	p := &transformPool{
		lines:  lines,
		now:    now,
		cancel: cancel,
		work:   make(chan *chunk, n),
		order:  make(chan *chunk, n),
		free:   make(chan *chunk, n),
	}
	for range n {
		p.free <- &chunk{}
	}
	for _, t := range trans {
		p.wg.Go(func() { p.worker(t) })
	}
	p.wg.Go(func() {
		p.feed(ctx)
		close(p.work)
	})
	return p
}

// Close stops the feeder and the workers and waits for them. Lines read
// but not returned by Next are dropped: they were never appended, so they
// are not committed either, and are read again at the next start.
func (p *transformPool) Close() {
	p.cancel()
	p.wg.Wait()
}

// feed reads lines into chunks until ctx ends or reading fails.
func (p *transformPool) feed(ctx context.Context) {
	for {
		var c *chunk
		select {
		case c = <-p.free:
		case <-ctx.Done():
			return
		}
		c.lines, c.data, c.offs, c.err = c.lines[:0], c.data[:0], c.offs[:0], nil
		c.done = make(chan struct{})
		// The first line may wait as long as it takes.
		line, err := p.lines.Next(ctx)
		if err == nil {
			c.now = p.now()
			c.add(line)
			lctx, cancel := context.WithTimeout(ctx, chunkLinger)
			for len(c.lines) < chunkLines && len(c.data) < chunkBytes {
				if line, err = p.lines.Next(lctx); err != nil {
					break
				}
				c.add(line)
			}
			cancel()
			if err != nil && lctx.Err() != nil && ctx.Err() == nil {
				err = nil // only the linger ended
			}
		}
		if err != nil && len(c.lines) == 0 && ctx.Err() != nil {
			return // stopping: nobody waits for an empty chunk
		}
		c.err = err
		for i := range c.lines {
			o := c.offs[i]
			c.lines[i].Bytes = c.data[o : o+len(c.lines[i].Bytes) : o+len(c.lines[i].Bytes)]
		}
		p.order <- c // never blocks: there are only cap(order) chunks
		p.work <- c
		if err != nil {
			return
		}
	}
}

// add copies line into the chunk; Bytes are re-pointed once data stops
// growing.
func (c *chunk) add(line tailer.Line) {
	c.offs = append(c.offs, len(c.data))
	c.data = append(c.data, line.Bytes...)
	line.Bytes = line.Bytes[:len(line.Bytes):len(line.Bytes)]
	c.lines = append(c.lines, line)
}

// worker transforms and encodes the chunks it is given.
func (p *transformPool) worker(t *Transform) {
	var rec sidetrail.Record
	for c := range p.work {
		c.out, c.ends = c.out[:0], c.ends[:0]
		for _, line := range c.lines {
			t.Apply(&rec, line, c.now)
			c.out = sidetrail.AppendBinary(c.out, &rec)
			c.ends = append(c.ends, len(c.out))
		}
		close(c.done)
	}
}

// Next returns the next line's encoded record, in read order, waiting
// until ctx ends for one. After the read error that ended the feeder, and
// the records before it, Next returns that error.
func (p *transformPool) Next(ctx context.Context) (encoded, error) {
	for {
		if p.head == nil {
			select {
			case p.head = <-p.order:
				p.idx = 0
			case <-ctx.Done():
				return encoded{}, ctx.Err()
			}
		}
		select {
		case <-p.head.done:
		case <-ctx.Done():
			return encoded{}, ctx.Err() // head stays: Next resumes with it
		}
		c := p.head
		if p.idx < len(c.lines) {
			i := p.idx
			p.idx++
			start := 0
			if i > 0 {
				start = c.ends[i-1]
			}
			return encoded{data: c.out[start:c.ends[i]:c.ends[i]], line: c.lines[i]}, nil
		}
		if c.err != nil {
			return encoded{}, c.err
		}
		p.head = nil
		p.free <- c
	}
}
