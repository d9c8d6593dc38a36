package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
)

// BatchReader is the disk buffer's read side for one cursor
// (buffer.Reader): ReadAppend appends the records' bytes to arena.
type BatchReader interface {
	ReadAppend(ctx context.Context, arena []byte, dst []buffer.Entry, maxRecords, maxBytes int) ([]byte, []buffer.Entry, error)
	Ack(seq uint64) error
}

// ShipperOptions configure a Shipper. Zero values take the defaults noted.
type ShipperOptions struct {
	Name   string
	Sink   sidetrail.Sink
	Reader BatchReader
	// MaxRecords and MaxBytes bound one batch (1000, 5 MiB). A batch is
	// sent when it is full or MaxWait (200ms) after its first record was
	// read, whichever comes first; a negative MaxWait sends what is there.
	MaxRecords int
	MaxBytes   int
	MaxWait    time.Duration
	// InitialBackoff and MaxBackoff bound the wait between attempts
	// (250ms, 30s). There is no attempt limit: dropping is never automatic.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	DeadLetter     *DeadLetter
	// ObserveBatch, if set, is called with each batch's time from read to
	// acknowledgement (a latency histogram's Observe), from one goroutine
	// at a time.
	ObserveBatch func(time.Duration)
	// FailingSince continues a failure that began before this Shipper, in
	// the one a reload replaced: a sink down before the reload is down
	// after it until a delivery says otherwise, so /readyz does not turn
	// healthy for ready_after_failing whenever the configuration is saved.
	FailingSince time.Time
	// FailureLogged says the failure FailingSince continues was logged
	// ("retrying"): its end is logged too ("sink recovered").
	FailureLogged bool
	// Concurrency is how many batches may be in flight at once (default
	// 1). Above 1, Sink.Send must be safe for concurrent use; batches are
	// still acknowledged in order, each only once it and every batch
	// before it are delivered.
	Concurrency int
	Logger      *slog.Logger
}

// Shipper moves one sink's records from the buffer to the sink. Its Run
// method is its only goroutine; Stats, OldestUnacked and FailingSince may be
// called from any goroutine.
type Shipper struct {
	o    ShipperOptions
	more moreReader // o.Reader, when it can say a full buffer sends no more; else nil

	sent, duplicates, retried, deadLettered, batches, sendErrors, ackErrors atomic.Uint64
	deadLetterDiscarded                                                     atomic.Uint64
	oldest                                                                  atomic.Int64 // unix nanos of the oldest unacked record in flight, 0 if none
	filling                                                                 atomic.Int64 // unix nanos of the first record of the batch being gathered, 0 if none
	failingSince                                                            atomic.Int64 // unix nanos the current run of failures began, 0 if healthy
	failingFlights                                                          atomic.Int32 // flights between a failed attempt and their delivery
	inflight                                                                sync.Map     // *flight being delivered (Concurrency > 1)

	logMu     sync.Mutex // guards the failure log's rate limit
	lastLogAt time.Time
	lastCause string
	told      bool // a failure was logged since the last recovery

	// hurried ends when Hurry is called: no more records come, and a
	// partial batch goes at once instead of after MaxWait.
	hurried context.Context
	hurry   context.CancelFunc
}

// ShipperStats are a Shipper's counters.
type ShipperStats struct {
	Sent, Duplicates, Retried, DeadLettered, Batches, SendErrors, AckErrors uint64
	// DeadLetterDiscarded counts rejected records the dead-letter file had
	// no room for.
	DeadLetterDiscarded uint64
}

// NewShipper returns a Shipper; call Run to start it.
func NewShipper(o ShipperOptions) *Shipper {
	if o.MaxRecords <= 0 {
		o.MaxRecords = 1000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 5 << 20
	}
	if o.MaxWait < 0 {
		o.MaxWait = 0
	} else if o.MaxWait == 0 {
		o.MaxWait = 200 * time.Millisecond
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	s := &Shipper{o: o}
	s.hurried, s.hurry = context.WithCancel(context.Background())
	s.more, _ = o.Reader.(moreReader)
	if !o.FailingSince.IsZero() {
		// The failure went on across a reload: its recovery is logged
		// where its failure was (the last word in the log may be the
		// last shipper's "retrying": regress21b G3; a failure the rate
		// limit kept out of the log ends without a word: regress21c H3).
		s.told = o.FailureLogged
		s.failingSince.Store(o.FailingSince.UnixNano())
	}
	return s
}

// Stats returns the shipper's counters.
func (s *Shipper) Stats() ShipperStats {
	return ShipperStats{
		Sent: s.sent.Load(), Duplicates: s.duplicates.Load(), Retried: s.retried.Load(),
		DeadLettered: s.deadLettered.Load(), Batches: s.batches.Load(),
		SendErrors: s.sendErrors.Load(), AckErrors: s.ackErrors.Load(),
		DeadLetterDiscarded: s.deadLetterDiscarded.Load(),
	}
}

// OldestUnacked returns when the oldest record the shipper holds unacknowledged
// entered the buffer (zero when it holds none).
func (s *Shipper) OldestUnacked() time.Time { return unixTime(s.oldest.Load()) }

// FailingSince returns when the sink's current run of failures began (zero
// while it is healthy).
func (s *Shipper) FailingSince() time.Time { return unixTime(s.failingSince.Load()) }

// FailureLogged reports whether a failure was logged ("retrying") since
// the last recovery.
func (s *Shipper) FailureLogged() bool {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.told
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Run ships until stop ends, finishing the batches in flight first, or
// until abort ends, abandoning them (they are sent again next time: the
// buffer still holds them). abort must end no earlier than stop.
func (s *Shipper) Run(stop, abort context.Context) error {
	if s.o.Concurrency > 1 {
		return s.runConcurrent(stop, abort)
	}
	var (
		f   flight
		dec sidetrail.Decoder
	)
	for {
		if stop.Err() != nil {
			return nil // the batch in flight was finished; take no more
		}
		if err := s.gather(stop, &f.b); err != nil {
			return err
		}
		if len(f.b.seqs) == 0 {
			return nil // stopped with nothing gathered
		}
		if !s.prepare(abort, &f, &dec) || !s.deliver(abort, &f) {
			return nil // aborted: not acknowledged, shipped again next start
		}
		if !s.finish(abort, &f) {
			return nil
		}
	}
}

// flight is one batch between the buffer and its acknowledgement.
type flight struct {
	b       batchBuf
	records []sidetrail.Record
	started time.Time
	oldest  int64 // unix nanos the first record entered the buffer
	ok      chan bool

	// deliver's scratch, kept for the next batch.
	pending []int
	retry   []sidetrail.Record
	results []sidetrail.Result
}

// prepare decodes f's gathered records, dead-lettering any that cannot be
// decoded. It returns false only when abort ended first.
func (s *Shipper) prepare(abort context.Context, f *flight, dec *sidetrail.Decoder) bool {
	f.started = time.Now()
	f.records = f.records[:0]
	var bad []*sidetrail.Record
	var badReasons []string
	for i := range f.b.seqs {
		data := f.b.data(i)
		n := len(f.records)
		if n < cap(f.records) {
			f.records = f.records[:n+1] // reuse the slot's Fields
		} else {
			f.records = append(f.records, sidetrail.Record{})
		}
		if err := dec.Decode(data, &f.records[n]); err != nil {
			// The buffer's CRC passed, so these are the bytes we wrote:
			// a codec bug or a version this build cannot read. Keep them.
			f.records = f.records[:n]
			bad = append(bad, &sidetrail.Record{Message: data, Flags: sidetrail.FlagParseFailure})
			badReasons = append(badReasons, "undecodable buffer record: "+err.Error())
		}
	}
	if len(bad) > 0 && s.deadLetter(abort, bad, badReasons) != nil {
		return false
	}
	f.oldest = 0
	if len(f.records) > 0 {
		f.oldest = f.records[0].Ingested.UnixNano()
		s.oldest.CompareAndSwap(0, f.oldest)
	}
	s.filling.Store(0) // f is its batch, in flight from here
	return true
}

// finish acknowledges a delivered batch. Batches finish in order.
func (s *Shipper) finish(abort context.Context, f *flight) bool {
	if !s.ack(abort, f.b.seqs[len(f.b.seqs)-1]) {
		return false
	}
	s.oldest.Store(0)
	s.batches.Add(1)
	if s.o.ObserveBatch != nil {
		s.o.ObserveBatch(time.Since(f.started))
	}
	return true
}

// runConcurrent is Run with up to Concurrency batches being delivered at
// once. This goroutine gathers and decodes; each batch is delivered on a
// goroutine of its own; an acknowledging goroutine takes the batches in
// the order they were read, waits for each to be delivered and acks it, so
// the cursor never passes an undelivered record. If a delivery is
// abandoned (abort), nothing after it is acknowledged.
func (s *Shipper) runConcurrent(stop, abort context.Context) error {
	n := s.o.Concurrency
	free := make(chan *flight, n)
	for range n {
		free <- &flight{ok: make(chan bool, 1)}
	}
	order := make(chan *flight, n)
	ackerDone := make(chan struct{})
	go func() {
		defer close(ackerDone)
		failed := false
		for f := range order {
			ok := <-f.ok
			if ok && !failed {
				// The oldest unacked record is now the next batch's.
				ok = s.finish(abort, f)
				if next := s.nextOldest(f); next != 0 {
					s.oldest.Store(next)
				}
			}
			failed = failed || !ok
			free <- f
		}
	}()
	var dec sidetrail.Decoder
	var err error
	for stop.Err() == nil {
		var f *flight
		select {
		case f = <-free:
		case <-abort.Done():
		}
		if f == nil {
			break
		}
		if err = s.gather(stop, &f.b); err != nil || len(f.b.seqs) == 0 {
			free <- f
			break
		}
		if !s.prepare(abort, f, &dec) {
			free <- f
			break
		}
		s.inflight.Store(f, struct{}{})
		order <- f
		go func() {
			ok := s.deliver(abort, f)
			s.inflight.Delete(f)
			f.ok <- ok
		}()
	}
	close(order)
	<-ackerDone
	return err
}

// nextOldest returns the oldest record time among batches still in flight
// other than done and the one being gathered, 0 if none.
func (s *Shipper) nextOldest(done *flight) int64 {
	// The batch being gathered holds records unacknowledged too: with
	// concurrency above 1 the gauge read 0 while it filled behind a
	// finished one (regress23b P3).
	oldest := s.filling.Load()
	s.inflight.Range(func(k, _ any) bool {
		if f := k.(*flight); f != done && f.oldest != 0 && (oldest == 0 || f.oldest < oldest) {
			oldest = f.oldest
		}
		return true
	})
	return oldest
}

// batchBuf holds one batch's records, copied out of the buffer's entries
// (which are valid only until the next Read) so a batch can be gathered
// from several Reads.
type batchBuf struct {
	arena   []byte
	ends    []int
	seqs    []uint64
	entries []buffer.Entry
}

func (b *batchBuf) reset() {
	b.arena, b.ends, b.seqs = b.arena[:0], b.ends[:0], b.seqs[:0]
}

func (b *batchBuf) data(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.arena[start:b.ends[i]:b.ends[i]]
}

// Hurry tells the shipper that no more records are coming (the sources
// stopped for a drain): a partial batch goes at once, and later batches
// take what the buffer holds without waiting for MaxWait. With a MaxWait at
// or above drain_timeout, the last batch went only at the drain's deadline
// and was abandoned unacknowledged when the backend was slow (config21 F1).
func (s *Shipper) Hurry() { s.hurry() }

// gather fills b with the next batch: it waits for a first record as long
// as it takes, then keeps reading until the batch is full (MaxRecords or
// MaxBytes) or MaxWait has passed since that first record (or Hurry was
// called). When stop ends, it returns what it has (possibly nothing) so
// the caller can deliver it.
func (s *Shipper) gather(stop context.Context, b *batchBuf) error {
	b.reset()
	// The first read waits as long as it takes.
	if err := s.readInto(stop, stop, b); err != nil || len(b.seqs) == 0 {
		return err
	}
	// The batch holds its first record from now on, unacknowledged: its
	// age shows while the batch fills (it read 0 for all of MaxWait:
	// sinks23 P7).
	if t := sidetrail.IngestedAt(b.data(0)); !t.IsZero() {
		s.filling.Store(t.UnixNano()) // for nextOldest, while batches before it finish
		s.oldest.CompareAndSwap(0, t.UnixNano())
	}
	if s.o.MaxWait <= 0 || s.hurried.Err() != nil {
		return nil // take what is there, wait for nothing more
	}
	ctx, cancel := context.WithTimeout(stop, s.o.MaxWait)
	defer cancel()
	defer context.AfterFunc(s.hurried, cancel)()
	for len(b.seqs) < s.o.MaxRecords && len(b.arena) < s.o.MaxBytes && ctx.Err() == nil {
		n := len(b.seqs)
		if err := s.readInto(ctx, stop, b); err != nil {
			return err
		}
		if s.more != nil && len(b.seqs) == n {
			return nil // the buffer is full: nothing more comes before this batch's ack
		}
	}
	return nil
}

// moreReader is a BatchReader that can tell a batch being filled that no
// record will come before it is acknowledged (buffer.Reader.ReadMore).
type moreReader interface {
	ReadMore(ctx context.Context, arena []byte, dst []buffer.Entry, maxRecords, maxBytes int) ([]byte, []buffer.Entry, error)
}

// readInto reads once into b. A read ended by ctx (stop, or the batch's
// MaxWait) is not an error: the batch is shipped as it is.
func (s *Shipper) readInto(ctx, stop context.Context, b *batchBuf) error {
	// The records' bytes land in the batch's arena: no copy.
	var err error
	end := len(b.arena)
	read := s.o.Reader.ReadAppend
	if s.more != nil && len(b.seqs) > 0 {
		read = s.more.ReadMore
	}
	b.arena, b.entries, err = read(ctx, b.arena, b.entries, s.o.MaxRecords-len(b.seqs), s.o.MaxBytes-len(b.arena))
	if err != nil {
		if ctx.Err() != nil || stop.Err() != nil {
			return nil
		}
		return fmt.Errorf("sink %s: read buffer: %w", s.o.Name, err)
	}
	for _, e := range b.entries {
		end += len(e.Data)
		b.ends = append(b.ends, end)
		b.seqs = append(b.seqs, e.Seq)
	}
	return nil
}

// deliver sends f's records until each is delivered or dead-lettered. It
// returns false only when abort ended first.
func (s *Shipper) deliver(abort context.Context, f *flight) bool {
	records := f.records
	pending := f.pending[:0]
	for i := range records {
		pending = append(pending, i)
	}
	f.pending = pending
	if cap(f.results) < len(records) {
		f.results = make([]sidetrail.Result, len(records))
	}
	results := f.results[:len(records)]
	b := backoff{initial: s.o.InitialBackoff, max: s.o.MaxBackoff}
	failed := false // this flight is among failingFlights
	defer func() {
		if failed {
			s.failingFlights.Add(-1)
		}
	}()
	for attempt := 0; len(pending) > 0; attempt++ {
		batch := records // the first attempt sends them all, in place
		if attempt > 0 {
			s.retried.Add(uint64(len(pending)))
			f.retry = f.retry[:0]
			for _, i := range pending {
				f.retry = append(f.retry, records[i])
			}
			batch = f.retry
		}
		res := results[:len(batch)]
		clear(res)
		err := s.o.Sink.Send(abort, batch, res)
		if abort.Err() != nil {
			return false
		}
		var rejected []*sidetrail.Record
		var reasons []string
		next := pending[:0]
		var lastReason string
		var sent, dups uint64
		for j, i := range pending {
			r := res[j]
			if err != nil && sidetrail.IsPermanent(err) && !r.Status.Delivered() &&
				(r.Status != sidetrail.Rejected || r.Reason == "") {
				// A record the sink rejected keeps the reason it gave
				// (after a 413 split, each had the last half's).
				r = sidetrail.Result{Status: sidetrail.Rejected, Reason: permanentReason(err)}
			}
			switch r.Status {
			case sidetrail.Accepted:
				sent++
			case sidetrail.Duplicate:
				sent++
				dups++
			case sidetrail.Rejected:
				rejected = append(rejected, &records[i])
				reasons = append(reasons, r.Reason)
			default:
				if r.Reason != "" {
					lastReason = r.Reason
				}
				next = append(next, i)
			}
		}
		pending = next
		s.sent.Add(sent)
		s.duplicates.Add(dups)
		if err != nil || sent == 0 {
			// Counted here: a request that delivered no record failed
			// too, with an error or with each record refused or to be
			// sent again (a 200 whose items are all 429: sinks13 F2 saw
			// 37 of them and the counter at 0).
			s.sendErrors.Add(1)
		}
		if len(rejected) > 0 {
			if s.deadLetter(abort, rejected, reasons) != nil {
				return false
			}
		}
		if len(pending) == 0 {
			if failed {
				failed = false
				s.failingFlights.Add(-1)
			}
			// Other flights may still fail (Concurrency > 1): the sink
			// recovered once none does (sinks21 F4: "sink recovered"
			// 4 ms into another batch's 6 s of failures).
			if s.failingFlights.Load() == 0 {
				s.recovered()
			}
			return true
		}
		// Some records are still unsent: wait, then resend only those.
		s.failing()
		if !failed {
			failed = true
			s.failingFlights.Add(1)
		}
		wait := b.next()
		if d, ok := sidetrail.RetryAfter(err); ok && d > wait {
			wait = min(d, 5*time.Minute)
		}
		cause := lastReason
		if err != nil {
			cause = err.Error()
		}
		s.logFailure(len(pending), len(batch), cause, wait)
		if !sleep(abort, wait) {
			return false
		}
	}
	return true
}

// logFailure logs a failed attempt, at most every 10 seconds per sink, or
// every second while the cause keeps changing: a new cause (the backend
// was down, now it refuses the answer) must not hide behind the old one.
func (s *Shipper) logFailure(pending, sent int, cause string, wait time.Duration) {
	s.logMu.Lock()
	now := time.Now()
	since := now.Sub(s.lastLogAt)
	if since < 10*time.Second && (cause == s.lastCause || since < time.Second) {
		s.logMu.Unlock()
		return
	}
	s.lastLogAt, s.lastCause, s.told = now, cause, true
	s.logMu.Unlock()
	s.o.Logger.Warn("sink send failed; retrying", "sink", s.o.Name, "unsent", pending, "of", sent, "cause", cause, "retry_in", wait.Round(time.Millisecond))
}

// deadLetter writes records to the dead-letter file, retrying until it
// succeeds or abort ends: a rejected record is acknowledged only once it is
// safely on disk.
func (s *Shipper) deadLetter(abort context.Context, recs []*sidetrail.Record, reasons []string) error {
	b := backoff{initial: s.o.InitialBackoff, max: s.o.MaxBackoff}
	for {
		var (
			err       error
			discarded int
		)
		if s.o.DeadLetter == nil {
			err = fmt.Errorf("no dead-letter file configured")
		} else {
			discarded, err = s.o.DeadLetter.Write(recs, reasons)
		}
		if err == nil {
			if kept := len(recs) - discarded; kept > 0 {
				s.deadLettered.Add(uint64(kept))
				s.o.Logger.Warn("records rejected by sink; written to the dead-letter file", "sink", s.o.Name, "records", kept, "reason", reasons[0])
			}
			if discarded > 0 {
				s.deadLetterDiscarded.Add(uint64(discarded))
				s.o.Logger.Error("records rejected by sink; discarded: the dead-letter file has no room for them (dead_letter.max_bytes; a record larger than it never fits)", "sink", s.o.Name, "records", discarded, "file", s.o.DeadLetter.Path(), "reason", reasons[0])
			}
			return nil
		}
		// Nothing more is delivered until the write succeeds: the sink
		// is failing, as while acknowledgements fail (sinks18 F1: a full
		// volume, /readyz 200 throughout). Its end is the batch's
		// (deliver, recovered).
		s.failing()
		s.o.Logger.Error("dead-letter write failed; retrying", "sink", s.o.Name, "err", err)
		s.tell()
		if !sleep(abort, b.next()) {
			return abort.Err()
		}
	}
}

// failing starts a run of failures, unless one is on (concurrent flights
// may fail at once: the first one's time stays).
func (s *Shipper) failing() {
	s.failingSince.CompareAndSwap(0, time.Now().UnixNano())
}

// tell notes that a failure was logged: its recovery will be.
func (s *Shipper) tell() {
	s.logMu.Lock()
	s.told = true
	s.logMu.Unlock()
}

// recovered ends a run of failures, saying so in the log where the last
// word there was "retrying": a run whose failures the rate limit kept out
// of the log ends without a word too (sinks21: a 429 for some items of
// every batch logged "sink recovered" 305 times in 10 s).
func (s *Shipper) recovered() {
	since := s.failingSince.Swap(0)
	if since == 0 {
		return
	}
	s.logMu.Lock()
	told := s.told
	s.told = false
	s.logMu.Unlock()
	if told {
		s.o.Logger.Info("sink recovered", "sink", s.o.Name, "failed_for", time.Since(unixTime(since)).Round(time.Millisecond))
	}
}

// ack acknowledges through seq, retrying until it succeeds or abort ends.
func (s *Shipper) ack(abort context.Context, seq uint64) bool {
	b := backoff{initial: s.o.InitialBackoff, max: s.o.MaxBackoff}
	for failed := false; ; failed = true {
		err := s.o.Reader.Ack(seq)
		if err == nil {
			if failed {
				s.recovered()
			}
			return true
		}
		// Nothing more is delivered until an Ack succeeds: the sink is
		// failing (it looked healthy while its buffer directory was
		// read-only, buffer11).
		s.failing()
		s.ackErrors.Add(1)
		s.o.Logger.Error("buffer ack failed; retrying", "sink", s.o.Name, "seq", seq, "err", err)
		s.tell()
		if !sleep(abort, b.next()) {
			return false
		}
	}
}

// permanentReason is a permanent error's text without the "permanent: " of
// its Go form: the backend's reason, for a dead letter.
func permanentReason(err error) string {
	var pe *sidetrail.PermanentError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err.Error()
	}
	return err.Error()
}
