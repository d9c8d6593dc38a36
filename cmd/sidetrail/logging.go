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
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(newRateLimit(h, 5, 10*time.Second))
}

// rateLimit passes at most burst records with the same level and message per
// window; the first record after a window with suppressions says how many
// were suppressed.
type rateLimit struct {
	next   slog.Handler
	burst  int
	window time.Duration
	state  *rateState
}

type rateState struct {
	mu   sync.Mutex
	seen map[rateKey]*rateCount
}

type rateKey struct {
	level slog.Level
	msg   string
}

type rateCount struct {
	start      time.Time
	n          int
	suppressed int
}

func newRateLimit(next slog.Handler, burst int, window time.Duration) *rateLimit {
	return &rateLimit{next: next, burst: burst, window: window, state: &rateState{seen: map[rateKey]*rateCount{}}}
}

func (h *rateLimit) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *rateLimit) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	k := rateKey{r.Level, r.Message}
	h.state.mu.Lock()
	c := h.state.seen[k]
	if c == nil {
		if len(h.state.seen) > 1000 {
			clear(h.state.seen)
		}
		c = &rateCount{start: r.Time}
		h.state.seen[k] = c
	}
	if r.Time.Sub(c.start) > h.window {
		if c.suppressed > 0 {
			r.AddAttrs(slog.Int("suppressed_similar", c.suppressed))
		}
		c.start, c.n, c.suppressed = r.Time, 0, 0
	}
	c.n++
	pass := c.n <= h.burst
	if !pass {
		c.suppressed++
	}
	h.state.mu.Unlock()
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *rateLimit) WithAttrs(as []slog.Attr) slog.Handler {
	return &rateLimit{next: h.next.WithAttrs(as), burst: h.burst, window: h.window, state: h.state}
}

func (h *rateLimit) WithGroup(name string) slog.Handler {
	return &rateLimit{next: h.next.WithGroup(name), burst: h.burst, window: h.window, state: h.state}
}
