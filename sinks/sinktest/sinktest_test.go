package sinktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

// memBackend is a deduplicating in-memory backend, keyed like Elasticsearch
// by record ID, that can hold requests like a stalled server.
type memBackend struct {
	mu      sync.Mutex
	docs    map[sidetrail.ID]sinktest.Stored
	stall   chan struct{} // non-nil: requests wait for it to close
	arrived chan struct{}
}

// memSink copies what it stores, so it retains nothing of the caller's.
type memSink struct {
	b      *memBackend
	closed bool
}

func (s *memSink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	if s.closed {
		return fmt.Errorf("mem sink: %w", sidetrail.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	s.b.mu.Lock()
	stall, arrived := s.b.stall, s.b.arrived
	s.b.mu.Unlock()
	if stall != nil {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-stall:
		case <-ctx.Done():
			return fmt.Errorf("mem sink: %w", ctx.Err())
		}
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for i := range batch {
		r := &batch[i]
		if _, ok := s.b.docs[r.ID()]; ok {
			results[i].Status = sidetrail.Duplicate
			continue
		}
		s.b.docs[r.ID()] = sinktest.Stored{
			Message: string(r.Message), Offset: r.Offset, Path: r.Path, Source: r.Source, Time: r.Time,
		}
		results[i].Status = sidetrail.Accepted
	}
	return nil
}

func (s *memSink) Close() error { s.closed = true; return nil }

func TestSuiteAgainstMemorySink(t *testing.T) {
	var b *memBackend
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) sidetrail.Sink {
			b = &memBackend{docs: map[sidetrail.ID]sinktest.Stored{}}
			return &memSink{b: b}
		},
		Stored: func(t *testing.T) []sinktest.Stored {
			b.mu.Lock()
			defer b.mu.Unlock()
			var out []sinktest.Stored
			for _, d := range b.docs {
				// Store invalid UTF-8 the way the JSON encoder does.
				d.Message = string(sidetrail.AppendJSONString(nil, d.Message))
				d.Message = unquote(t, d.Message)
				out = append(out, d)
			}
			return out
		},
		Dedupes: true,
		Stall: func(t *testing.T) (<-chan struct{}, func()) {
			b.mu.Lock()
			defer b.mu.Unlock()
			stall, arrived := make(chan struct{}), make(chan struct{}, 1)
			b.stall, b.arrived = stall, arrived
			var once sync.Once
			release := func() {
				once.Do(func() {
					close(stall)
					b.mu.Lock()
					b.stall = nil
					b.mu.Unlock()
				})
			}
			t.Cleanup(release)
			return arrived, release
		},
	})
}

func unquote(t *testing.T, q string) string {
	var s string
	if err := json.Unmarshal([]byte(q), &s); err != nil {
		t.Fatalf("unquote %s: %v", q, err)
	}
	return s
}
