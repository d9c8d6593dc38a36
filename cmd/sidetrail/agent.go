package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
	"github.com/sidetrail/sidetrail/pipeline"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/tailer"
)

// generation is one configuration's running pipeline: a buffer, a tailer and
// Source per source, a sink and Shipper per sink. A reload stops one
// generation in order and starts the next; nothing is shared between them
// but the files on disk.
type generation struct {
	cfg      *config.Config
	logger   *slog.Logger
	buf      *buffer.Buffer
	redactor *redact.Redactor
	sources  []*sourceUnit
	sinks    []*sinkUnit

	srcCancel  context.CancelFunc
	shipStop   context.CancelFunc
	shipAbort  context.CancelFunc
	srcWG      sync.WaitGroup
	shipWG     sync.WaitGroup
	failed     chan error
	stopOnce   sync.Once
	stopErr    error
	observeLat func(sink string, d time.Duration)
}

type sourceUnit struct {
	name   string
	tailer *tailer.Tailer
	source *pipeline.Source
}

type sinkUnit struct {
	cfg     config.Sink
	sink    sidetrail.Sink
	reader  *buffer.Reader
	dl      *pipeline.DeadLetter
	shipper *pipeline.Shipper
}

// lasting is what the generations of one process share: the buffer damage
// counted (once per process, not again by each generation that reopens
// it: the metrics add generations up), when the tailers last logged
// their once-a-minute errors, and the files rotated away that a tailer
// still read when a reload stopped it.
type lasting struct {
	seen    *buffer.DamageSeen
	riskLog *tailer.LogLimit
	handoff *tailer.Handoff
	// fullLogged: when each source last warned that the buffer is full
	// (pipeline.SourceOptions.FullLogged). Generations run one after
	// another: no lock.
	fullLogged map[string]*atomic.Int64
}

func newLasting() *lasting {
	return &lasting{seen: &buffer.DamageSeen{}, riskLog: tailer.NewLogLimit(), handoff: tailer.NewHandoff(),
		fullLogged: map[string]*atomic.Int64{}}
}

// fullLoggedFor returns the source's "buffer full" warning time, made at
// its first generation.
func (l *lasting) fullLoggedFor(source string) *atomic.Int64 {
	if l.fullLogged[source] == nil {
		l.fullLogged[source] = new(atomic.Int64)
	}
	return l.fullLogged[source]
}

// startGeneration opens everything cfg describes and starts its goroutines.
// On error, whatever was opened is closed again.
func startGeneration(cfg *config.Config, stdout io.Writer, logger *slog.Logger, observeLat func(string, time.Duration), keep *lasting, failing failingSince) (g *generation, err error) {
	trans, red, err := transforms(cfg, logger)
	if err != nil {
		return nil, err
	}
	g = &generation{cfg: cfg, logger: logger, redactor: red, failed: make(chan error, 1), observeLat: observeLat}
	started := g // a failing return sets g to nil before this runs
	defer func() {
		if err != nil {
			started.closeAll()
			g = nil
		}
	}()
	if err = os.MkdirAll(filepath.Join(cfg.DataDir, "checkpoints"), 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	lostCheckpoint := lostCheckpoints(cfg) // before Open makes every cursor's file
	g.buf, err = buffer.Open(bufferDir(cfg.DataDir), bufferOptions(cfg, logger, keep.seen))
	if err != nil {
		return nil, fmt.Errorf("open buffer: %w", err)
	}
	for _, sc := range cfg.Sinks {
		u := &sinkUnit{cfg: sc}
		g.sinks = append(g.sinks, u)
		if u.sink, err = newSink(sc, stdout, logger); err != nil {
			return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
		}
		if u.reader, err = g.buf.Reader(sc.Name); err != nil {
			return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
		}
		// The stdout sink rejects nothing: it gets no dead-letter file (it
		// got an empty one). A rejection would be retried, never lost.
		if sc.Stdout == nil {
			// A file that cannot be opened is no reason to stop: the sink
			// runs, and a rejected record waits in the buffer until the
			// file can be made (regress16 F6: a reload both of whose
			// configurations had the sink ended the agent).
			if u.dl, err = pipeline.OpenDeadLetter(filepath.Join(cfg.DataDir, "deadletter"), sc.Name, int64(sc.DeadLetter.MaxBytes)); err != nil {
				logger.Error("dead-letter file cannot be opened: records the backend rejects wait in the buffer, retried, until it can", "sink", sc.Name, "err", err)
			}
		}
		name := sc.Name
		concurrency := 1
		if sc.Elasticsearch != nil {
			concurrency = sc.Elasticsearch.WithDefaults().Concurrency
		}
		u.shipper = pipeline.NewShipper(pipeline.ShipperOptions{
			Name: sc.Name, Sink: u.sink, Reader: u.reader, Concurrency: concurrency, FailingSince: failing.sinks[sc.Name],
			FailureLogged: failing.told[sc.Name],
			MaxRecords:    sc.Batch.MaxRecords, MaxBytes: int(sc.Batch.MaxBytes), MaxWait: sc.Batch.MaxWait,
			InitialBackoff: sc.Retry.InitialBackoff, MaxBackoff: sc.Retry.MaxBackoff,
			DeadLetter: u.dl, Logger: logger,
			ObserveBatch: func(d time.Duration) {
				if observeLat != nil {
					observeLat(name, d)
				}
			},
		})
	}
	maxOpen := openFilesBudget(cfg.Sources, nofileLimit(), logger)
	claims := tailer.NewClaims()
	for _, sc := range cfg.Sources {
		cursor, err := g.buf.Reader(sourceCursor(sc.Name))
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
		// Lines buffered after the last checkpoint (a crash came between)
		// are not read again.
		resume, err := pipeline.ResumePoints(context.Background(), cursor, sc.Name)
		if err != nil {
			return nil, fmt.Errorf("source %s: reading the buffer for resume points: %w", sc.Name, err)
		}
		workers, err := sourceWorkers(&sc, trans[sc.Name], red, red != nil && len(cfg.Redact) > 0)
		if err != nil {
			return nil, err
		}
		topts := tailerOptions(cfg, sc, logger)
		if !lostCheckpoint[sc.Name] && len(resume.Points) > 0 && checkpointMissing(cfg, sc.Name) {
			// The buffer holds the source's records and its cursor has
			// no file: a source added while the volume was full (its
			// cursor and checkpoint could not be written), then a
			// crash or a stop. The start took itself for a first one,
			// and with start_at: end skipped what was written since
			// (buffer22 P5, P6: 451 of 500 lines).
			lostCheckpoint[sc.Name] = true
		}
		if lostCheckpoint[sc.Name] {
			// Not a first start: start_at: end would skip what was
			// written since the last checkpoint.
			logger.Warn("source: checkpoint missing, though the buffer shows the source ran on this data_dir: it was deleted or lost, or the first start stopped before its first checkpoint; every file is read from the beginning (lines shipped before ship again, start_at included)",
				"source", sc.Name, "checkpoint", topts.CheckpointPath)
			topts.StartAt = tailer.Beginning
		}
		topts.Resume, topts.ResumePaths, topts.ResumeFragments = resume.Points, resume.Paths, resume.Frags
		if len(resume.Points) > 0 {
			// The tailer reads the last buffered line of a file back
			// before it resumes after it, and compares it through a
			// transform of its own (the tailer's goroutine runs it).
			check, err := transformLike(&sc, trans[sc.Name], red, red != nil && len(cfg.Redact) > 0)
			if err != nil {
				return nil, err
			}
			topts.ResumeStarts = resume.Starts
			topts.ResumeSame = func(key uint64, raw []byte) bool { return resume.Same(check, key, raw) }
		}
		topts.MaxOpenFiles = maxOpen[sc.Name]
		topts.Claims = claims
		topts.RiskLog = keep.riskLog
		topts.Handoff = keep.handoff
		t, err := tailer.New(topts)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
		buf := g.buf
		g.sources = append(g.sources, &sourceUnit{
			name:   sc.Name,
			tailer: t,
			source: pipeline.NewSource(pipeline.SourceOptions{
				Name: sc.Name, Lines: t, Transform: trans[sc.Name], Workers: workers, Buffer: g.buf,
				// A batch (grown by group commit to twice this) is at most
				// an eighth of the buffer, so blocking on a full buffer
				// happens with it nearly full, not a batch short.
				BatchBytes: int(min(2<<20, int64(cfg.Buffer.MaxBytes)/16)),
				Checkpoint: t, Cursor: cursor,
				LastSeq: func() uint64 {
					if n := buf.Stats().NextSeq; n > 0 {
						return n - 1
					}
					return 0
				},
				Logger:             logger.With("source", sc.Name),
				AppendFailingSince: failing.sources[sc.Name],
				FullLogged:         keep.fullLoggedFor(sc.Name),
				// Every source's cursor moves when one waits for room
				// (g.sources is complete before any source runs).
				OnFull: func() {
					for _, u := range g.sources {
						u.source.Poke()
					}
				},
			}),
		})
	}

	srcCtx, srcCancel := context.WithCancel(context.Background())
	stopCtx, shipStop := context.WithCancel(context.Background())
	abortCtx, shipAbort := context.WithCancel(context.Background())
	g.srcCancel, g.shipStop, g.shipAbort = srcCancel, shipStop, shipAbort
	for _, u := range g.sinks {
		g.shipWG.Add(1)
		go func() {
			defer g.shipWG.Done()
			if err := u.shipper.Run(stopCtx, abortCtx); err != nil {
				g.fail(err)
			}
		}()
	}
	for _, u := range g.sources {
		g.srcWG.Add(1)
		go func() {
			defer g.srcWG.Done()
			if err := u.source.Run(srcCtx); err != nil {
				g.fail(fmt.Errorf("source %s: %w", u.name, err))
			}
		}()
	}
	return g, nil
}

func (g *generation) fail(err error) {
	select {
	case g.failed <- err:
	default:
	}
}

// stop ends the generation in the order that loses and repeats nothing:
//  1. if drain, the sources read every file to its end as it is now, until
//     the timeout; then they stop reading; what they appended is
//     committed, the rest of what they read is read again next time;
//  2. if drain, the shippers keep sending until the buffer is empty for
//     every sink or the timeout passes; then they finish the batch in
//     flight (bounded by the same timeout) and stop;
//  3. the tailers close, writing their checkpoints and handing their open
//     files to the next generation. Until then they go on scanning (not
//     reading): a file made and rotated away while a sink finished its
//     batch, up to drain_timeout, is held open for the next generation to
//     read (tailer16 F1: closed first, such files were never read);
//  4. the buffer closes. Whatever was not delivered is still in it.
//
// A sink stuck past the timeout in a write nothing can interrupt (stdout
// into a pipe nobody reads) is left behind, with errStuckSink, when the
// process is about to exit: after stuckWait more when draining for exit,
// or when quit closes (a SIGTERM during a reload).
func (g *generation) stop(drain bool, timeout time.Duration, quit <-chan struct{}) error {
	g.stopOnce.Do(func() {
		deadline := time.Now().Add(timeout)
		if drain {
			g.finishReading(deadline)
		}
		g.srcCancel()
		g.srcWG.Wait()
		var errs []error
		closeTailers := func() {
			for _, u := range g.sources {
				if err := u.tailer.Close(); err != nil {
					errs = append(errs, fmt.Errorf("source %s: %w", u.name, err))
				}
			}
		}
		if drain {
			// Nothing more is appended: partial batches go at once.
			for _, u := range g.sinks {
				u.shipper.Hurry()
			}
			g.waitDrained(deadline)
		}
		g.shipStop()
		done := make(chan struct{})
		go func() { g.shipWG.Wait(); close(done) }()
		select {
		case <-done:
		case <-quit:
			// SIGTERM during a reload: what the sinks hold stays in the
			// buffer for the finish that follows (regress19 F-E), rather
			// than wait out drain_timeout for a failing one here.
			g.shipAbort()
			select {
			case <-done:
			case <-time.After(stuckWait):
			}
		case <-time.After(time.Until(deadline) + time.Second):
			g.logger.Warn("drain timeout: abandoning batches in flight; they stay in the buffer for the next start (unless when_full: drop_oldest deleted them: then counted dropped)")
			g.shipAbort()
			var giveUp <-chan time.Time
			if drain {
				giveUp = time.After(stuckWait)
			}
			select {
			case <-done:
			case <-giveUp:
			case <-quit:
				// The process is about to exit. An aborted sink returns
				// at once unless a write holds it: give it that moment
				// (SIGTERM during a reload left a retrying sink behind
				// as stuck, and exited 1).
				select {
				case <-done:
				case <-time.After(stuckWait):
				}
			}
		}
		g.shipAbort()
		select {
		case <-done:
		default:
			// A shipper is still in its sink: do not close the sink
			// under it. What it was sending stays in the buffer.
			g.logger.Error("a sink is stuck in a write that cannot be interrupted (stdout into a pipe nobody reads?); leaving it behind: its batch stays in the buffer for the next start")
			if drain {
				g.warnUndelivered() // every sink's count, the stuck one's too (regress21 F5)
			}
			closeTailers()
			if g.buf != nil {
				errs = append(errs, g.buf.Close())
			}
			g.stopErr = errors.Join(append(errs, errStuckSink)...)
			return
		}
		if drain {
			g.warnUndelivered()
		}
		closeTailers()
		errs = append(errs, g.closeAll())
		g.stopErr = errors.Join(errs...)
	})
	return g.stopErr
}

// finishReading has the sources read every file to its end as it is now
// and append what they read, until the deadline: on SIGTERM, the lines
// written just before it were left for a next start, which a deleted pod
// (its emptyDir deleted with it) never has (docs19 F7).
func (g *generation) finishReading(deadline time.Time) {
	for _, u := range g.sources {
		u.tailer.Finish()
	}
	done := make(chan struct{})
	go func() { g.srcWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		g.logger.Warn("drain timeout while reading the files to their end; the rest is read at the next start")
	}
}

// errStuckSink is stop's error when a sink could not be stopped.
var errStuckSink = errors.New("a sink is stuck in an uninterruptible write")

// stuckWait is how long stop, draining for exit, waits for an aborted sink.
const stuckWait = 2 * time.Second

// waitDrained waits until no sink lags behind the buffer, or the deadline.
func (g *generation) waitDrained(deadline time.Time) {
	for time.Now().Before(deadline) {
		behind := uint64(0)
		for _, u := range g.sinks {
			n, _ := u.reader.Lag()
			behind += n
		}
		if behind == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// warnUndelivered names the records the drain left in the buffer, once the
// shippers stopped: counted at the deadline, it named the batch in flight
// that was delivered a moment later (config21 F1).
func (g *generation) warnUndelivered() {
	for _, u := range g.sinks {
		if n, _ := u.reader.Lag(); n > 0 {
			g.logger.Warn("drain timeout: records stay in the buffer for the next start", "sink", u.cfg.Name, "records", n)
		}
	}
}

// closeAll closes what is open, for stop and for a failed start.
func (g *generation) closeAll() error {
	var errs []error
	for _, u := range g.sinks {
		if u.sink != nil {
			errs = append(errs, u.sink.Close())
		}
		if u.dl != nil {
			errs = append(errs, u.dl.Close())
		}
	}
	if g.srcCancel == nil { // a failed start: tailers were never run
		for _, u := range g.sources {
			errs = append(errs, u.tailer.Close())
		}
	}
	if g.buf != nil {
		errs = append(errs, g.buf.Close())
	}
	return errors.Join(errs...)
}

// failingSince holds when the failures of each failing sink and each
// source whose appends fail began, by name, for the next generation.
type failingSince struct {
	sinks, sources map[string]time.Time
	told           map[string]bool // sinks whose failure was logged ("retrying")
}

// failing returns when the failures of each failing sink and source began.
// Taken once the generation stopped: a sink that recovered while it
// drained is not failing (ops15 F5: /readyz said so until a line shipped).
func (g *generation) failing() failingSince {
	out := failingSince{sinks: map[string]time.Time{}, sources: map[string]time.Time{}, told: map[string]bool{}}
	for _, u := range g.sinks {
		if since := u.shipper.FailingSince(); !since.IsZero() {
			out.sinks[u.cfg.Name] = since
			out.told[u.cfg.Name] = u.shipper.FailureLogged()
		}
	}
	for _, u := range g.sources {
		if since := u.source.AppendFailingSince(); !since.IsZero() {
			out.sources[u.name] = since
		}
	}
	return out
}

// ready reports why the generation is not ready, or nil: a sink failing
// for longer than its ready_after_failing, or a source whose buffer appends
// have failed (a full volume, not a full buffer) for longer than the
// shortest of them.
func (g *generation) ready() error {
	after := time.Duration(0)
	for _, u := range g.sinks {
		since := u.shipper.FailingSince()
		if !since.IsZero() && time.Since(since) > u.cfg.ReadyAfterFailing {
			return fmt.Errorf("sink %s failing since %s", u.cfg.Name, since.UTC().Format(time.RFC3339))
		}
		if after == 0 || u.cfg.ReadyAfterFailing < after {
			after = u.cfg.ReadyAfterFailing
		}
	}
	for _, u := range g.sources {
		since := u.source.AppendFailingSince()
		if !since.IsZero() && time.Since(since) > after {
			return fmt.Errorf("source %s cannot write to the buffer since %s", u.name, since.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// lostCheckpoints names the sources whose checkpoint file is missing while
// their cursor's file in the buffer shows they ran on this data_dir before:
// a deleted checkpoint re-read every file without a word (buffer13 F3), and
// with start_at: end would have skipped what was unread.
func lostCheckpoints(cfg *config.Config) map[string]bool {
	lost := map[string]bool{}
	for _, sc := range cfg.Sources {
		if checkpointMissing(cfg, sc.Name) && buffer.HasCursorFile(bufferDir(cfg.DataDir), sourceCursor(sc.Name)) {
			lost[sc.Name] = true
		}
	}
	return lost
}

// checkpointMissing reports whether the source's checkpoint file does not
// exist.
func checkpointMissing(cfg *config.Config, source string) bool {
	_, err := os.Stat(checkpointPath(cfg, source))
	return errors.Is(err, fs.ErrNotExist)
}
