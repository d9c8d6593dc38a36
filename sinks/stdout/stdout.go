package stdout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sidetrail/sidetrail"
	"golang.org/x/sys/unix"
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
	ends   []int // where each record's line ends in buf
	cut    bool  // a failed write left a line unfinished: the next write ends it first
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
	s := &Sink{w: w}
	if f, ok := w.(*os.File); ok {
		s.cut = endsCut(f)
	}
	return s
}

// endsCut reports whether f is a regular file whose last line is
// unfinished: the head of a record a write cut before the last stop (a full
// volume, a batch abandoned at drain_timeout). The first write then ends
// it, so the record written again whole is not glued to it (regress21 F2).
// f is read through /proc/self/fd, as standard output is open for writing
// only; where that cannot be read, nothing is assumed.
//
// The byte looked at is the one before where the next write goes: the end
// of a file open for appending, else the descriptor's offset (a file open
// read-write without appending, systemd's StandardOutput=file:, writes
// over an older one from its start: a break at its old end's cut put an
// empty line at every start and reload, regress21b G7).
func endsCut(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return false
	}
	at := st.Size()
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err != nil {
		return false
	} else if fl&unix.O_APPEND == 0 {
		if at, err = f.Seek(0, io.SeekCurrent); err != nil || at == 0 {
			return false
		}
	}
	r, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return false
	}
	defer r.Close()
	var last [1]byte
	if n, _ := r.ReadAt(last[:], at-1); n != 1 {
		return false
	}
	return last[0] != '\n'
}

// flushChunk bounds the memory held for one Send: the batch is written in
// pieces of about this size.
const flushChunk = 256 << 10

// Send writes every record of batch, one JSON object per line, and marks each
// Accepted once the bytes holding it were written. A failed write returns
// the error; the records not yet written whole stay Unsent and are sent
// again. A write that fails partway (ENOSPC on a file) may have cut a line:
// the next write starts with a line break, so the cut head stays a line of
// its own, never glued to the record written again after it (sinks21 F1).
func (s *Sink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return sidetrail.ErrClosed
	}
	written := 0 // records before those whose lines are in s.buf
	reset := func() {
		s.buf, s.ends = s.buf[:0], s.ends[:0]
		if s.cut {
			s.buf = append(s.buf, '\n')
		}
	}
	flush := func() error {
		if len(s.ends) == 0 {
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
		// A record's JSON holds no raw line break: what went out ends
		// a line exactly where its last byte is one.
		if n > 0 {
			s.cut = s.buf[n-1] != '\n'
		}
		whole := 0
		for whole < len(s.ends) && s.ends[whole] <= n {
			whole++
		}
		for i := written; i < written+whole; i++ {
			results[i] = sidetrail.Result{Status: sidetrail.Accepted}
		}
		s.lines.Add(uint64(whole))
		written += whole
		if err != nil {
			s.errors.Add(1)
			return fmt.Errorf("stdout: write: %w", err)
		}
		reset()
		return nil
	}
	reset()
	for i := range batch {
		s.buf = s.enc.Append(s.buf, &batch[i])
		s.buf = append(s.buf, '\n')
		s.ends = append(s.ends, len(s.buf))
		if len(s.buf) >= flushChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
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
