package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
)

// newLogger returns the agent's own logger: stderr, text or JSON, with
// repeated messages rate-limited. It never writes to stdout, where the stdout
// sink's records go.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	var h slog.Handler
	if c.Format == "json" {
		// Durations as the configuration writes them ("2s"), not as
		// nanoseconds.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(newRateLimit(h, 5, 10*time.Second))
}

// rateLimit passes at most burst records with the same level and message per
// window (lossBurst for lossMessages) for each source and sink: a logger
// With its own attributes, or a record's own source or sink attribute, has
// a budget of its own. When the window ends with records suppressed, one
// record with the message, the logger's attributes, the record's source or
// sink and suppressed_similar=N says so, whether or not the message comes
// again. (One budget for all: two sources failing alike shared it, and the
// summary named one of them or none; ops15 F8, regress16 F5.)
type rateLimit struct {
	next   slog.Handler
	burst  int
	window time.Duration
	state  *rateState
	scope  string // the logger's attributes and groups, as text
}

// lossMessages are the messages that each name data lost, damaged or set
// aside (a corrupt region, a truncated file's lost bytes, a dead-lettered
// batch, a path not read): every one is needed to find that data, and they
// come once per event, not once per retry. lossBurst bounds them still.
var lossMessages = map[string]bool{
	"buffer: skipping corrupt data": true,
	"buffer: records written are missing and cannot be delivered: a segment was truncated, emptied or removed outside sidetrail, or (fsync: interval) a power failure lost them": true,
	"tailer: truncated file's unread bytes not found in any copy: lost":                                                                          true,
	"tailer: file waiting for a descriptor (max_open_files) went away before it could be read: lost":                                             true,
	"tailer: copytruncate lost bytes written between copy and truncation":                                                                        true,
	"tailer: compressed file skipped; add it to exclude":                                                                                         true,
	"tailer: skipping path; retried at every scan, logged at most once a minute":                                                                 true,
	"records rejected by sink; discarded: the dead-letter file has no room for them (dead_letter.max_bytes; a record larger than it never fits)": true,
	"records rejected by sink; written to the dead-letter file":                                                                                  true,
}

const lossBurst = 1000

type rateState struct {
	mu   sync.Mutex
	seen map[rateKey]*rateCount
}

type rateKey struct {
	level slog.Level
	msg   string
	scope string
}

type rateCount struct {
	start      time.Time
	n          int
	suppressed int
	summary    *time.Timer // sums up the window's suppressed records at its end
	who        []slog.Attr // the record's source or sink, for the summary
}

func newRateLimit(next slog.Handler, burst int, window time.Duration) *rateLimit {
	return &rateLimit{next: next, burst: burst, window: window, state: &rateState{seen: map[rateKey]*rateCount{}}}
}

func (h *rateLimit) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *rateLimit) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	who := whose(r)
	scope := h.scope
	for _, a := range who {
		scope += a.String() + "\x00"
	}
	k := rateKey{r.Level, r.Message, scope}
	burst := h.burst
	if lossMessages[r.Message] {
		burst = lossBurst
	}
	h.state.mu.Lock()
	c := h.state.seen[k]
	if c == nil {
		if len(h.state.seen) > 1000 {
			for _, c := range h.state.seen {
				if c.summary != nil {
					c.summary.Stop()
				}
			}
			clear(h.state.seen)
		}
		c = &rateCount{start: r.Time, who: who}
		h.state.seen[k] = c
	}
	if r.Time.Sub(c.start) > h.window {
		if c.suppressed > 0 {
			r.AddAttrs(slog.Int("suppressed_similar", c.suppressed))
		}
		if c.summary != nil {
			c.summary.Stop()
			c.summary = nil
		}
		c.start, c.n, c.suppressed = r.Time, 0, 0
	}
	c.n++
	pass := c.n <= burst
	if !pass {
		c.suppressed++
		if c.summary == nil {
			next := h.next
			c.summary = time.AfterFunc(time.Until(c.start.Add(h.window)), func() { h.sumUp(ctx, next, k, c) })
		}
	}
	h.state.mu.Unlock()
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// sumUp logs, at the end of c's window, how many records it suppressed,
// and starts a new window.
func (h *rateLimit) sumUp(ctx context.Context, next slog.Handler, k rateKey, c *rateCount) {
	h.state.mu.Lock()
	n := c.suppressed
	c.summary = nil
	c.start, c.n, c.suppressed = time.Now(), 0, 0
	h.state.mu.Unlock()
	if n == 0 {
		return
	}
	r := slog.NewRecord(time.Now(), k.level, k.msg, 0)
	r.AddAttrs(c.who...)
	r.AddAttrs(slog.Int("suppressed_similar", n), slog.Duration("window", h.window))
	_ = next.Handle(ctx, r)
}

// whose returns the record's own source and sink attributes.
func whose(r slog.Record) []slog.Attr {
	var who []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "source" || a.Key == "sink" {
			who = append(who, a)
		}
		return true
	})
	return who
}

func (h *rateLimit) WithAttrs(as []slog.Attr) slog.Handler {
	scope := h.scope
	for _, a := range as {
		scope += a.String() + "\x00"
	}
	return &rateLimit{next: h.next.WithAttrs(as), burst: h.burst, window: h.window, state: h.state, scope: scope}
}

func (h *rateLimit) WithGroup(name string) slog.Handler {
	return &rateLimit{next: h.next.WithGroup(name), burst: h.burst, window: h.window, state: h.state, scope: h.scope + "[" + name + "]\x00"}
}
