package stdout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sidetrail/sidetrail"
)

// Config is the stdout sink's own configuration: it has no keys.
type Config struct{}

// Validate reports problems in c; there are none to have.
func (c *Config) Validate() error { return nil }

// Sink writes records as JSON lines. Send and Close may not be called
// concurrently with each other (the Sink contract); Stats may be called at
// any time.
type Sink struct {
	w      io.Writer
	enc    sidetrail.JSONEncoder
	buf    []byte
	mu     sync.Mutex
	closed bool
	lines  atomic.Uint64
	bytes  atomic.Uint64
	errors atomic.Uint64
}

// Stats are the sink's counters.
type Stats struct {
	Lines, Bytes, WriteErrors uint64
}

// New returns a sink writing to w; nil means os.Stdout.
func New(w io.Writer) *Sink {
	if w == nil {
		w = os.Stdout
	}
	return &Sink{w: w}
}

// flushChunk bounds the memory held for one Send: the batch is written in
// pieces of about this size.
const flushChunk = 256 << 10

// Send writes every record of batch, one JSON object per line, and marks each
// Accepted once the bytes holding it were written. A failed write returns
// the error; the records not yet written stay Unsent and are sent again.
func (s *Sink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return sidetrail.ErrClosed
	}
	written := 0 // records whose bytes are in s.buf
	flush := func(upto int) error {
		if len(s.buf) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := s.w.Write(s.buf)
		s.bytes.Add(uint64(n))
		if err == nil && n < len(s.buf) {
			err = io.ErrShortWrite
		}
		if err != nil {
			s.errors.Add(1)
			return fmt.Errorf("stdout: write: %w", err)
		}
		for i := written; i < upto; i++ {
			results[i] = sidetrail.Result{Status: sidetrail.Accepted}
		}
		s.lines.Add(uint64(upto - written))
		written = upto
		s.buf = s.buf[:0]
		return nil
	}
	s.buf = s.buf[:0]
	for i := range batch {
		s.buf = s.enc.Append(s.buf, &batch[i])
		s.buf = append(s.buf, '\n')
		if len(s.buf) >= flushChunk {
			if err := flush(i + 1); err != nil {
				return err
			}
		}
	}
	if err := flush(len(batch)); err != nil {
		return err
	}
	return nil
}

// Close marks the sink closed; it does not close the writer. Idempotent.
func (s *Sink) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	return Stats{Lines: s.lines.Load(), Bytes: s.bytes.Load(), WriteErrors: s.errors.Load()}
}
