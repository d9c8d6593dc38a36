package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
)

// gateSink blocks every Send whose batch starts with a held message until
// it is released, and accepts everything else at once. Safe for concurrent
// use, as Concurrency > 1 requires.
type gateSink struct {
	mu       sync.Mutex
	held     map[string]chan struct{}
	fail     map[string]bool // a batch starting here fails (Retry) while set
	accepted map[string]int
	calls    int
}

func newGateSink() *gateSink {
	return &gateSink{held: map[string]chan struct{}{}, fail: map[string]bool{}, accepted: map[string]int{}}
}

func (g *gateSink) hold(msg string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := make(chan struct{})
	g.held[msg] = ch
	return ch
}

func (g *gateSink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	first := string(batch[0].Message)
	g.mu.Lock()
	g.calls++
	gate := g.held[first]
	fail := g.fail[first]
	g.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return errors.New("injected failure")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range batch {
		results[i].Status = sidetrail.Accepted
		g.accepted[string(batch[i].Message)]++
	}
	return nil
}

func (g *gateSink) Close() error { return nil }

func (g *gateSink) count(msg string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.accepted[msg]
}

// TestConcurrentShipperAcksInOrder: with batch 1 held at the sink while
// batches 2 and 3 are delivered, the cursor must not move at all; released,
// it moves to the end.
func TestConcurrentShipperAcksInOrder(t *testing.T) {
	r := newMemReader(30)
	r.perRead = 10
	g := newGateSink()
	release := g.hold("line 0")
	s := NewShipper(ShipperOptions{Name: "t", Sink: g, Reader: r, MaxRecords: 10, MaxWait: -1, Concurrency: 3,
		InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	stop, cancelStop := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	defer cancelAbort()
	done := make(chan error, 1)
	go func() { done <- s.Run(stop, abort) }()
	waitUntil(t, "batches 2 and 3 delivered", func() bool { return g.count("line 10") == 1 && g.count("line 29") == 1 })
	time.Sleep(20 * time.Millisecond) // give a wrong ack time to happen
	if a := r.ackedSeq(); a != 0 {
		t.Fatalf("acked through %d while batch 1 (seqs 1-10) is undelivered", a)
	}
	if o := s.OldestUnacked(); o.IsZero() {
		t.Error("OldestUnacked is zero with batch 1 in flight")
	}
	close(release)
	waitUntil(t, "everything acked", func() bool { return r.ackedSeq() == 30 })
	cancelStop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	acks := append([]uint64(nil), r.acks...)
	r.mu.Unlock()
	for i := 1; i < len(acks); i++ {
		if acks[i] <= acks[i-1] {
			t.Fatalf("acks not increasing: %v", acks)
		}
	}
	if st := s.Stats(); st.Batches != 3 || st.Sent != 30 {
		t.Errorf("stats %+v; want 3 batches, 30 sent", st)
	}
}

// TestConcurrentShipperAbortAcksNothingPastAHole: batch 1 never gets
// through; batch 2 does (batch 3 waits: two batches are unacknowledged,
// which is the limit). Aborting must leave the cursor before batch 1, so a
// restart sends both again: duplicates, never a loss.
func TestConcurrentShipperAbortAcksNothingPastAHole(t *testing.T) {
	r := newMemReader(30)
	r.perRead = 10
	g := newGateSink()
	g.fail["line 0"] = true
	s := NewShipper(ShipperOptions{Name: "t", Sink: g, Reader: r, MaxRecords: 10, MaxWait: -1, Concurrency: 2,
		InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	stop, cancelStop := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(stop, abort) }()
	waitUntil(t, "batch 2 delivered", func() bool { return g.count("line 10") == 1 })
	time.Sleep(20 * time.Millisecond)
	if g.count("line 20") != 0 {
		t.Error("batch 3 was sent with two batches unacknowledged and concurrency 2")
	}
	cancelStop()
	select {
	case <-done:
		t.Fatal("stopped with batch 1 undelivered")
	case <-time.After(20 * time.Millisecond):
	}
	cancelAbort()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := r.ackedSeq(); a != 0 {
		t.Fatalf("acked through %d past the undelivered batch 1", a)
	}
}

// TestConcurrentShipperRetriesAndDelivers: many batches, some failing a
// few times, with concurrency 4: every record delivered, the cursor at the
// end, and (-race) no data race between the deliveries.
func TestConcurrentShipperRetriesAndDelivers(t *testing.T) {
	const n = 2000
	r := newMemReader(n)
	r.perRead = 37
	var mu sync.Mutex
	tries := map[string]int{}
	sink := &concurrentScriptSink{script: func(batch []sidetrail.Record, res []sidetrail.Result) error {
		mu.Lock()
		defer mu.Unlock()
		for i := range batch {
			m := string(batch[i].Message)
			tries[m]++
			// Every 7th record fails its first two attempts.
			if len(m)%7 == 0 && tries[m] <= 2 {
				res[i].Status = sidetrail.Retry
				continue
			}
			res[i].Status = sidetrail.Accepted
		}
		return nil
	}}
	runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, MaxRecords: 50, Concurrency: 4},
		func() bool { return r.ackedSeq() == n })
	mu.Lock()
	defer mu.Unlock()
	if len(tries) != n {
		t.Fatalf("%d distinct records reached the sink, want %d", len(tries), n)
	}
}

type concurrentScriptSink struct {
	script func(batch []sidetrail.Record, res []sidetrail.Result) error
}

func (s *concurrentScriptSink) Send(_ context.Context, batch []sidetrail.Record, res []sidetrail.Result) error {
	return s.script(batch, res)
}

func (s *concurrentScriptSink) Close() error { return nil }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConcurrentShipperRecoversOnlyWhenNoFlightFails: batch 1 fails while
// batch 2 is delivered: the sink is still failing, and says it recovered
// only once batch 1 gets through. Before, batch 2's delivery logged "sink
// recovered" 4 ms into batch 1's 6 s of failures and cleared the failing
// state (sinks21 F4).
func TestConcurrentShipperRecoversOnlyWhenNoFlightFails(t *testing.T) {
	r := newMemReader(20)
	r.perRead = 10
	g := newGateSink()
	g.fail["line 0"] = true
	release := g.hold("line 10") // batch 2 ends after batch 1 failed
	var logs syncbuf.Buffer
	s := NewShipper(ShipperOptions{Name: "t", Sink: g, Reader: r, MaxRecords: 10, MaxWait: -1, Concurrency: 2,
		InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	stop, cancelStop := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	defer cancelAbort()
	done := make(chan error, 1)
	go func() { done <- s.Run(stop, abort) }()
	waitUntil(t, "batch 1 failing", func() bool { return !s.FailingSince().IsZero() })
	close(release)
	waitUntil(t, "batch 2 delivered", func() bool { return g.count("line 10") == 1 })
	time.Sleep(20 * time.Millisecond) // batch 1 fails on meanwhile
	if strings.Contains(logs.String(), "sink recovered") || s.FailingSince().IsZero() {
		t.Fatalf("recovered while batch 1 fails (failing since %v):\n%s", s.FailingSince(), logs.String())
	}
	g.mu.Lock()
	g.fail["line 0"] = false
	g.mu.Unlock()
	waitUntil(t, "everything acked", func() bool { return r.ackedSeq() == 20 })
	cancelStop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "sink recovered"); n != 1 || !s.FailingSince().IsZero() {
		t.Errorf("%d recoveries logged, failing since %v:\n%s", n, s.FailingSince(), logs.String())
	}
}
