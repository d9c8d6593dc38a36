package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memReader is a BatchReader over records in memory that records acks.
type memReader struct {
	mu      sync.Mutex
	entries []buffer.Entry
	pos     int
	acked   uint64
	acks    []uint64
	ackErr  error
	ackDown bool // every Ack fails while set
	perRead int  // hand out at most this many records per Read (0: all)
}

func newMemReader(n int) *memReader {
	r := &memReader{}
	for i := 0; i < n; i++ {
		rec := sidetrail.Record{FileKey: 7, Offset: int64(i * 10), Source: "s", Path: "/p",
			Message: []byte(fmt.Sprintf("line %d", i)), Time: time.Unix(1700000000, 0), Ingested: time.Now()}
		r.entries = append(r.entries, buffer.Entry{Seq: uint64(i + 1), Data: sidetrail.AppendBinary(nil, &rec)})
	}
	return r
}

func (r *memReader) ReadAppend(ctx context.Context, arena []byte, dst []buffer.Entry, maxRecords, maxBytes int) ([]byte, []buffer.Entry, error) {
	for {
		r.mu.Lock()
		if r.pos < len(r.entries) {
			if r.perRead > 0 {
				maxRecords = min(maxRecords, r.perRead)
			}
			end := min(len(r.entries), r.pos+maxRecords)
			dst = dst[:0]
			for _, e := range r.entries[r.pos:end] {
				arena = append(arena, e.Data...)
				dst = append(dst, buffer.Entry{Seq: e.Seq, Data: arena[len(arena)-len(e.Data):]})
			}
			r.pos = end
			r.mu.Unlock()
			return arena, dst, nil
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return arena, dst[:0], ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

func (r *memReader) Ack(seq uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ackDown {
		return errors.New("read-only file system")
	}
	if r.ackErr != nil {
		err := r.ackErr
		r.ackErr = nil
		return err
	}
	r.acked = seq
	r.acks = append(r.acks, seq)
	return nil
}

func (r *memReader) ackedSeq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acked
}

// scriptSink answers each Send through a script and records every record
// it accepted, by message.
type scriptSink struct {
	mu       sync.Mutex
	script   func(call int, batch []sidetrail.Record, results []sidetrail.Result) error
	calls    int
	accepted map[string]int
	sizes    []int
}

func (s *scriptSink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.sizes = append(s.sizes, len(batch))
	err := s.script(s.calls, batch, results)
	if s.accepted == nil {
		s.accepted = map[string]int{}
	}
	for i, r := range results {
		if r.Status == sidetrail.Accepted {
			s.accepted[string(batch[i].Message)]++
		}
	}
	return err
}

func (s *scriptSink) Close() error { return nil }

func runShipper(t *testing.T, o ShipperOptions, until func() bool) *Shipper {
	t.Helper()
	o.InitialBackoff, o.MaxBackoff = time.Millisecond, 5*time.Millisecond
	if o.MaxWait == 0 {
		o.MaxWait = -1
	}
	s := NewShipper(o)
	stop, cancelStop := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(stop, abort) }()
	deadline := time.Now().Add(10 * time.Second)
	for !until() {
		if time.Now().After(deadline) {
			cancelAbort()
			cancelStop()
			<-done
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
	cancelStop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancelAbort()
	return s
}

func acceptAll(results []sidetrail.Result) {
	for i := range results {
		results[i].Status = sidetrail.Accepted
	}
}

func TestShipperResendsOnlyFailedRecords(t *testing.T) {
	r := newMemReader(10)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		for i := range res {
			// The first attempt answers 429 for every third record.
			if call == 1 && i%3 == 0 {
				res[i] = sidetrail.Result{Status: sidetrail.Retry, Reason: "429"}
				continue
			}
			res[i].Status = sidetrail.Accepted
		}
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, MaxRecords: 100}, func() bool { return r.ackedSeq() == 10 })
	if got := sink.sizes; len(got) != 2 || got[0] != 10 || got[1] != 4 {
		t.Fatalf("batch sizes = %v, want [10 4]", got)
	}
	for i := 0; i < 10; i++ {
		if n := sink.accepted[fmt.Sprintf("line %d", i)]; n != 1 {
			t.Fatalf("line %d accepted %d times", i, n)
		}
	}
	if st := s.Stats(); st.Sent != 10 || st.Retried != 4 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestShipperDeadLettersRejectedAndAcksAfter(t *testing.T) {
	dir := t.TempDir()
	dl, err := OpenDeadLetter(dir, "es", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	r := newMemReader(5)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		for i := range res {
			if string(batch[i].Message) == "line 2" {
				res[i] = sidetrail.Result{Status: sidetrail.Rejected, Reason: "mapper_parsing_exception: bad status"}
				continue
			}
			res[i].Status = sidetrail.Accepted
		}
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "es", Sink: sink, Reader: r, DeadLetter: dl}, func() bool { return r.ackedSeq() == 5 })
	if st := s.Stats(); st.DeadLettered != 1 || st.Sent != 4 {
		t.Fatalf("stats %+v", st)
	}
	lines := readLines(t, filepath.Join(dir, "es.ndjson"))
	if len(lines) != 1 {
		t.Fatalf("dead letters: %v", lines)
	}
	var dlRec struct {
		Sink, ID, Reason string
		Record           struct{ Message string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &dlRec); err != nil {
		t.Fatal(err)
	}
	if dlRec.Sink != "es" || dlRec.Reason != "mapper_parsing_exception: bad status" || dlRec.Record.Message != "line 2" ||
		len(dlRec.ID) != 32 {
		t.Fatalf("dead letter = %+v", dlRec)
	}
}

func TestShipperPermanentErrorDeadLettersBatch(t *testing.T) {
	dir := t.TempDir()
	dl, _ := OpenDeadLetter(dir, "loki", 0)
	defer dl.Close()
	r := newMemReader(3)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		return sidetrail.Permanent(errors.New("400: entry too far behind"))
	}}
	s := runShipper(t, ShipperOptions{Name: "loki", Sink: sink, Reader: r, DeadLetter: dl}, func() bool { return r.ackedSeq() == 3 })
	// The request failed, though nothing is left to retry: it counts as a
	// send error (sidetrail_sink_send_errors_total stayed 0 for 400s).
	if st := s.Stats(); st.DeadLettered != 3 || sink.calls != 1 || st.SendErrors != 1 {
		t.Fatalf("stats %+v, calls %d", st, sink.calls)
	}
	if n := len(readLines(t, dl.Path())); n != 3 {
		t.Fatalf("%d dead letters", n)
	}
}

// With a permanent error, records the sink rejected keep the reason it gave
// each; the others get the error's, without the "permanent: " of its Go
// form. After a 413 split, every dead letter carried the last half's
// reason, another record's size (sinks11).
func TestShipperPermanentErrorKeepsEachRecordsReason(t *testing.T) {
	dir := t.TempDir()
	dl, _ := OpenDeadLetter(dir, "loki", 0)
	defer dl.Close()
	r := newMemReader(3)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		res[0] = sidetrail.Result{Status: sidetrail.Rejected, Reason: "loki: 400 Bad Request: entry too far behind"}
		res[1] = sidetrail.Result{Status: sidetrail.Rejected, Reason: "loki: 413: the record alone is a 5062-byte push"}
		return sidetrail.Permanent(errors.New("loki: 413: the record alone is a 5062-byte push"))
	}}
	runShipper(t, ShipperOptions{Name: "loki", Sink: sink, Reader: r, DeadLetter: dl}, func() bool { return r.ackedSeq() == 3 })
	var got []string
	for _, l := range readLines(t, dl.Path()) {
		var d struct{ Reason string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Reason)
	}
	want := []string{"loki: 400 Bad Request: entry too far behind", "loki: 413: the record alone is a 5062-byte push",
		"loki: 413: the record alone is a 5062-byte push"}
	if !slices.Equal(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
}

// A request answered without an error whose every record was rejected
// (each item refused, or a batch split after 413 down to records refused
// alone) failed too: 57 requests answered 413 and 30 records
// dead-lettered left the counter at 0.
func TestShipperAllRejectedCountsAsSendError(t *testing.T) {
	dir := t.TempDir()
	dl, _ := OpenDeadLetter(dir, "es", 0)
	defer dl.Close()
	r := newMemReader(3)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		for i := range res {
			res[i] = sidetrail.Result{Status: sidetrail.Rejected, Reason: "413: the record alone is too large"}
		}
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "es", Sink: sink, Reader: r, DeadLetter: dl}, func() bool { return r.ackedSeq() == 3 })
	if st := s.Stats(); st.DeadLettered != 3 || st.SendErrors != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A request answered without an error but with every record to be sent
// again (Elasticsearch's 200 whose items are all 429) failed: it counts,
// as a request refused whole does. One that delivered some records does
// not (sinks13 F2: 37 such requests, the counter at 0).
func TestShipperNothingDeliveredCountsAsSendError(t *testing.T) {
	r := newMemReader(4)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		for i := range res {
			switch {
			case call <= 3:
				res[i] = sidetrail.Result{Reason: "429 es_rejected_execution_exception"}
			case call == 4 && i == 0:
				res[i] = sidetrail.Result{Reason: "429 es_rejected_execution_exception"}
			default:
				res[i] = sidetrail.Result{Status: sidetrail.Accepted}
			}
		}
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "es", Sink: sink, Reader: r, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, func() bool { return r.ackedSeq() == 4 })
	if st := s.Stats(); st.SendErrors != 3 || st.Sent != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestShipperRetriesWholeBatchErrorsForever(t *testing.T) {
	r := newMemReader(4)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		if call <= 20 {
			if call%2 == 0 {
				return &sidetrail.RetryAfterError{After: time.Millisecond, Err: errors.New("503")}
			}
			return errors.New("connection reset")
		}
		acceptAll(res)
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r}, func() bool { return r.ackedSeq() == 4 })
	if sink.calls != 21 {
		t.Fatalf("calls = %d", sink.calls)
	}
	if st := s.Stats(); st.Sent != 4 || st.SendErrors != 20 || st.Retried != 80 {
		t.Fatalf("stats %+v", st)
	}
	if !s.FailingSince().IsZero() {
		t.Fatal("still failing after success")
	}
}

func TestShipperNeverAcksUndelivered(t *testing.T) {
	r := newMemReader(3)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		return errors.New("down")
	}}
	s := NewShipper(ShipperOptions{Name: "t", Sink: sink, Reader: r, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	stop, cancelStop := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(stop, abort) }()
	for sink.callCount() < 5 {
		time.Sleep(time.Millisecond)
	}
	if s.FailingSince().IsZero() || s.OldestUnacked().IsZero() {
		t.Fatal("failing shipper reports healthy")
	}
	cancelStop() // a graceful stop waits for the batch in flight...
	select {
	case <-done:
		t.Fatal("stopped with a batch in flight")
	case <-time.After(20 * time.Millisecond):
	}
	cancelAbort() // ...until aborted
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := r.ackedSeq(); a != 0 {
		t.Fatalf("acked %d with nothing delivered", a)
	}
}

func (s *scriptSink) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func TestShipperRetriesAck(t *testing.T) {
	r := newMemReader(2)
	r.ackErr = errors.New("disk full")
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		acceptAll(res)
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r}, func() bool { return r.ackedSeq() == 2 })
	if st := s.Stats(); st.AckErrors != 1 || sink.calls != 1 {
		t.Fatalf("stats %+v calls %d", st, sink.calls)
	}
}

// startShipper runs s until the function it returns is called.
func startShipper(s *Shipper) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ctx) }()
	return func() { cancel(); <-done }
}

// A sink whose acknowledgements fail is failing: it delivers nothing more
// until one succeeds. The health said it was fine (buffer11: the buffer
// directory read-only, /readyz 200 throughout).
func TestShipperFailingWhileAcksFail(t *testing.T) {
	r := newMemReader(2)
	r.ackDown = true
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		acceptAll(res)
		return nil
	}}
	s := NewShipper(ShipperOptions{Name: "t", Sink: sink, Reader: r, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxWait: -1})
	defer startShipper(s)()
	waitUntil(t, "failing while acks fail", func() bool { return !s.FailingSince().IsZero() })
	r.mu.Lock()
	r.ackDown = false
	r.mu.Unlock()
	waitUntil(t, "healthy once acked", func() bool { return r.ackedSeq() == 2 && s.FailingSince().IsZero() })
}

// A sink whose dead-letter writes fail (a full volume, a directory in the
// file's place) is failing too: it delivers nothing more until one
// succeeds. It looked healthy (sinks18 F1: /readyz 200 while stuck).
func TestShipperFailingWhileDeadLetterWritesFail(t *testing.T) {
	dl, err := OpenDeadLetter(t.TempDir(), "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	var full atomic.Bool
	full.Store(true)
	writeFile = func(f *os.File, b []byte) (int, error) {
		if full.Load() {
			return 0, syscall.ENOSPC
		}
		return f.Write(b)
	}
	defer func() { writeFile = (*os.File).Write }()
	r := newMemReader(2)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		for i := range res {
			res[i] = sidetrail.Result{Status: sidetrail.Rejected, Reason: "400: bad"}
		}
		return nil
	}}
	s := NewShipper(ShipperOptions{Name: "t", Sink: sink, Reader: r, DeadLetter: dl, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxWait: -1})
	defer startShipper(s)()
	waitUntil(t, "failing while dead-letter writes fail", func() bool { return !s.FailingSince().IsZero() })
	if a := r.ackedSeq(); a != 0 {
		t.Fatalf("acked %d with nothing dead-lettered", a)
	}
	full.Store(false)
	waitUntil(t, "healthy once dead-lettered", func() bool { return r.ackedSeq() == 2 && s.FailingSince().IsZero() })
	if st := s.Stats(); st.DeadLettered != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestShipperDeadLettersUndecodableRecords(t *testing.T) {
	dir := t.TempDir()
	dl, _ := OpenDeadLetter(dir, "t", 0)
	defer dl.Close()
	r := newMemReader(3)
	r.entries[1].Data = []byte{99, 1, 2, 3}
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		acceptAll(res)
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, DeadLetter: dl}, func() bool { return r.ackedSeq() == 3 })
	if st := s.Stats(); st.Sent != 2 || st.DeadLettered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestBackoffBounds(t *testing.T) {
	b := backoff{initial: 100 * time.Millisecond, max: time.Second}
	prev := time.Duration(0)
	for i := 0; i < 20; i++ {
		d := b.next()
		if d < 50*time.Millisecond || d > time.Second {
			t.Fatalf("attempt %d: %v out of bounds", i, d)
		}
		_ = prev
		prev = d
	}
}

// A batch gathers records from many small reads until it is full; only the
// last, partial batch waits for MaxWait.
func TestShipperGathersBatchesAcrossReads(t *testing.T) {
	r := newMemReader(25)
	r.perRead = 1
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		acceptAll(res)
		return nil
	}}
	runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, MaxRecords: 10, MaxWait: 50 * time.Millisecond},
		func() bool { return r.ackedSeq() == 25 })
	if got := sink.sizes; len(got) != 3 || got[0] != 10 || got[1] != 10 || got[2] != 5 {
		t.Fatalf("batch sizes %v, want [10 10 5]", got)
	}
	for i := 0; i < 25; i++ {
		if sink.accepted[fmt.Sprintf("line %d", i)] != 1 {
			t.Fatalf("line %d delivered %d times", i, sink.accepted[fmt.Sprintf("line %d", i)])
		}
	}
}

// Failures are logged at most every 10 s, but a new cause is logged after
// a second: a backend that was down and now refuses the answers must not
// go on being reported as down.
func TestFailureLogFollowsTheCause(t *testing.T) {
	var buf bytes.Buffer
	s := &Shipper{o: ShipperOptions{Name: "out", Logger: slog.New(slog.NewTextHandler(&buf, nil))}}
	s.logFailure(1, 1, "connection refused", time.Second)
	s.logFailure(1, 1, "connection refused", time.Second) // same cause: quiet
	s.logFailure(1, 1, "bad answer", time.Second)         // new cause, too soon: quiet
	time.Sleep(1100 * time.Millisecond)
	s.logFailure(1, 1, "bad answer", time.Second) // new cause: said
	s.logFailure(1, 1, "bad answer", time.Second) // same again: quiet
	out := buf.String()
	if strings.Count(out, "connection refused") != 1 || strings.Count(out, "bad answer") != 1 {
		t.Fatalf("log:\n%s", out)
	}
}

// Records rejected once the dead-letter file is full are acknowledged,
// counted as discarded, not as dead-lettered.
func TestShipperCountsDeadLettersDiscarded(t *testing.T) {
	dir := t.TempDir()
	// Full but for a byte, from an earlier run.
	if err := os.WriteFile(filepath.Join(dir, "es.ndjson"), append(bytes.Repeat([]byte("x"), 64<<10-2), '\n'), 0o640); err != nil {
		t.Fatal(err)
	}
	dl, err := OpenDeadLetter(dir, "es", 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	r := newMemReader(5)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		for i := range res {
			res[i] = sidetrail.Result{Status: sidetrail.Rejected, Reason: "mapper_parsing_exception"}
		}
		return nil
	}}
	s := runShipper(t, ShipperOptions{Name: "es", Sink: sink, Reader: r, DeadLetter: dl}, func() bool { return r.ackedSeq() == 5 })
	if st := s.Stats(); st.DeadLettered != 0 || st.DeadLetterDiscarded != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// A sink that failed and then delivered says so once: the log's last word
// stayed "retrying" (ops12 M12).
func TestShipperLogsRecovery(t *testing.T) {
	var logs syncbuf.Buffer
	r := newMemReader(3)
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		if call <= 2 {
			return errors.New("connection refused")
		}
		acceptAll(res)
		return nil
	}}
	runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		func() bool { return r.ackedSeq() == 3 })
	if n := strings.Count(logs.String(), "sink recovered"); n != 1 {
		t.Fatalf("%d recovery lines, want 1:\n%s", n, logs.String())
	}
}

// A sink that fails the first try of every batch (a 429 for some items)
// logs its recoveries no more often than its failures, which the rate
// limit keeps to one in 10 s: it logged "sink recovered" for every batch
// (sinks21: 305 lines in 10 s).
func TestShipperRecoveryLoggedOnlyAfterALoggedFailure(t *testing.T) {
	var logs syncbuf.Buffer
	r := newMemReader(200)
	r.perRead = 10
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		if call%2 == 1 {
			return errors.New("429 for some items")
		}
		acceptAll(res)
		return nil
	}}
	runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, MaxRecords: 10, MaxWait: -1,
		InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		func() bool { return r.ackedSeq() == 200 })
	failed, recovered := strings.Count(logs.String(), "sink send failed"), strings.Count(logs.String(), "sink recovered")
	if failed != 1 || recovered != 1 {
		t.Fatalf("%d failures and %d recoveries logged for 20 batches, want 1 and 1:\n%s", failed, recovered, logs.String())
	}
}

// A failure carried over a reload (FailingSince) is reported recovered: the
// last word in the log may be the previous shipper's "retrying" (regress21b
// G3: no "sink recovered" after a reload during a logged failure).
func TestShipperLogsRecoveryOfAFailureCarriedOverAReload(t *testing.T) {
	sink := &scriptSink{script: func(call int, batch []sidetrail.Record, res []sidetrail.Result) error {
		acceptAll(res)
		return nil
	}}
	for _, logged := range []bool{true, false} {
		var logs syncbuf.Buffer
		r := newMemReader(3)
		s := runShipper(t, ShipperOptions{Name: "t", Sink: sink, Reader: r, FailingSince: time.Now().Add(-time.Second),
			FailureLogged: logged, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, func() bool { return r.ackedSeq() == 3 })
		// A failure the rate limit kept out of the log ends without a
		// word (regress21c H3: an extra "sink recovered").
		want := map[bool]int{true: 1, false: 0}[logged]
		if n := strings.Count(logs.String(), "sink recovered"); n != want || !s.FailingSince().IsZero() {
			t.Fatalf("logged %v: %d recovery lines, failing since %v:\n%s", logged, n, s.FailingSince(), logs.String())
		}
	}
}

// A batch filling for MaxWait holds its first record unacknowledged: its
// age shows meanwhile (sinks23 P7: 0 for all of max_wait), also once a
// batch sent before it is acknowledged with concurrency above 1
// (regress23b P3: 0 from that ack until the filling batch was sent).
func TestOldestUnackedWhileTheBatchFills(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		r := newMemReader(1)
		sink := &releaseSink{started: make(chan struct{}, 8), release: make(chan struct{})}
		close(sink.release)
		s := NewShipper(ShipperOptions{Name: "t", Sink: sink, Reader: r, MaxRecords: 2, MaxWait: 5 * time.Second})
		defer startShipper(s)()
		waitUntil(t, "the gauge", func() bool { return !s.OldestUnacked().IsZero() })
		if len(sink.started) != 0 {
			t.Fatal("sent before max_wait")
		}
	})
	t.Run("behind a batch in flight", func(t *testing.T) {
		// A first batch full at once (sent), then one record that
		// fills the second batch behind it.
		r := newMemReader(3)
		held := r.entries[2]
		r.entries = r.entries[:2]
		sink := &releaseSink{started: make(chan struct{}, 8), release: make(chan struct{})}
		s := NewShipper(ShipperOptions{Name: "t", Sink: sink, Reader: r, MaxRecords: 2, MaxWait: 5 * time.Second, Concurrency: 2})
		stop := startShipper(s)
		defer func() {
			select {
			case <-sink.release:
			default:
				close(sink.release)
			}
			stop()
		}()
		<-sink.started
		r.mu.Lock()
		r.entries = append(r.entries, held)
		r.mu.Unlock()
		waitUntil(t, "the second batch's first record read", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.pos == 3 })
		close(sink.release)
		waitUntil(t, "the first batch acknowledged", func() bool { return r.ackedSeq() == 2 })
		time.Sleep(20 * time.Millisecond)
		if o := s.OldestUnacked(); o.IsZero() || len(sink.started) != 0 {
			t.Fatalf("oldest %v, %d more sends: the filling batch's record does not show", o, len(sink.started))
		}
	})
}

// releaseSink signals each Send on started and answers it, accepting every
// record, once release is closed (or its context ends).
type releaseSink struct {
	started, release chan struct{}
}

func (g *releaseSink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	acceptAll(results)
	return nil
}

func (g *releaseSink) Close() error { return nil }
