package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/tailer"
)

// LineReader is the tailer as a Source uses it.
type LineReader interface {
	Next(ctx context.Context) (tailer.Line, error)
	Commit(tailer.Position)
}

// Parser turns a line into fields (parser.Parser).
type Parser interface {
	Parse(line []byte, rec *sidetrail.Record) error
}

// Redactor rewrites a record in place and cannot fail (redact.Redactor).
type Redactor interface {
	Apply(rec *sidetrail.Record)
	// ApplyFieldRules runs the field rules alone, for a line whose fields
	// are a parser's guess and do not ship (parser.Error.Guessed).
	ApplyFieldRules(rec *sidetrail.Record)
}

// Appender is the disk buffer's write side: records are durable when
// Append returns.
type Appender interface {
	Append(ctx context.Context, records [][]byte) (uint64, error)
}

// Checkpointer writes the tailer's committed positions to disk now.
type Checkpointer interface {
	Checkpoint() error
}

// Cursor is the source's own buffer cursor: acknowledging seq says every
// record of this source up to seq is covered by a checkpoint on disk.
type Cursor interface {
	Ack(seq uint64) error
}

// SourceOptions configure a Source. Zero values take the defaults noted.
type SourceOptions struct {
	Name      string
	Lines     LineReader
	Transform *Transform
	// Workers, when set, are more Transforms (each with its own parser
	// and redactor): lines are then parsed, redacted and encoded on one
	// goroutine per Transform, Transform included, while this source's
	// goroutine reads and batches; records keep the order of their lines.
	Workers []*Transform
	Buffer  Appender
	// Checkpoint and Cursor, when both are set, make restarts repeat
	// nothing: every CheckpointInterval (1s), and when the source stops, the
	// tailer's checkpoint is written and then Cursor is acknowledged through
	// the buffer's end. Records after the cursor are lines already buffered
	// but perhaps not yet checkpointed; ResumePoints reads them at the next
	// start so the tailer does not read those lines again.
	Checkpoint         Checkpointer
	Cursor             Cursor
	LastSeq            func() uint64 // the buffer's last sequence number
	CheckpointInterval time.Duration
	// OnFull, when set, is called while an Append waits for room: the
	// agent pokes every source then (Poke), so that the cursors of the
	// idle ones, which move once a CheckpointInterval, do not hold the
	// segments the sinks are done with.
	OnFull func()
	// BatchRecords and BatchBytes bound one Append (2048, 2 MiB), or
	// groupFactor times that for a batch that grew while the previous one
	// was still being written; Linger is how long a batch waits for more
	// lines once it has one (20ms).
	BatchRecords int
	BatchBytes   int
	Linger       time.Duration
	Logger       *slog.Logger     // names the source itself (slog.Logger.With); nil discards
	Now          func() time.Time // tests; nil = time.Now
	// AppendFailingSince continues failing appends that began before this
	// Source (a reload of a source of the same name): a full volume is
	// reported after ready_after_failing however often the config is
	// reloaded. The first append that succeeds ends it.
	AppendFailingSince time.Time
	// FullLogged, shared by the Sources of one name across reloads,
	// holds when the "buffer full" warning was last logged (unix nanos):
	// once a minute is once a minute for the process, not for each
	// reload (buffer22 P3). Nil: the Source's own.
	FullLogged *atomic.Int64
}

// Source runs one configured source. Run reads and batches on the calling
// goroutine and starts one to append (and, with Workers, the transform
// pool's); all of them end before Run returns.
type Source struct {
	o     SourceOptions
	stats sourceCounters
	poke  chan struct{} // see Poke

	lastCheckpoint time.Time     // owned by the append stage
	dirty          bool          // lines committed since the last checkpoint
	acked          uint64        // the source cursor's position
	lastForced     time.Time     // the last warning that the cursor moved without a checkpoint
	lastFullLog    *atomic.Int64 // unix nanos of the last "buffer full" warning (SourceOptions.FullLogged)
	fullSince      time.Time     // the start of the window fullWaited sums over
	fullWaited     time.Duration // time Appends waited for room since fullSince
	// partLines and partBytes: of the batch being appended, what its
	// parts written in halves counted already (append).
	partLines int
	partBytes uint64
}

type sourceCounters struct {
	lines, bytes, appendErrors, checkpointErrors atomic.Uint64
	appendFailing                                atomic.Int64 // unix ns of the first of the failing appends; 0: none
}

// SourceStats are a Source's counters.
type SourceStats struct {
	Lines, Bytes, ParseFailures, Fragments, AppendErrors, CheckpointErrors uint64
}

// NewSource returns a Source; call Run to start it.
func NewSource(o SourceOptions) *Source {
	if o.BatchRecords <= 0 {
		o.BatchRecords = 2048
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 2 << 20
	}
	if o.Linger <= 0 {
		o.Linger = 20 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transform == nil {
		o.Transform = &Transform{Source: o.Name}
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	s := &Source{o: o, poke: make(chan struct{}, 1), lastFullLog: o.FullLogged}
	if s.lastFullLog == nil {
		s.lastFullLog = new(atomic.Int64)
	}
	if !o.AppendFailingSince.IsZero() {
		s.stats.appendFailing.Store(o.AppendFailingSince.UnixNano())
	}
	return s
}

// Stats returns the source's counters; safe to call at any time.
// AppendFailingSince is when the buffer appends that keep failing (not a
// full buffer: errors, such as a full volume) began, or the zero time.
// Safe from any goroutine.
func (s *Source) AppendFailingSince() time.Time {
	if ns := s.stats.appendFailing.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

func (s *Source) Stats() SourceStats {
	st := SourceStats{
		Lines: s.stats.lines.Load(), Bytes: s.stats.bytes.Load(),
		AppendErrors: s.stats.appendErrors.Load(), CheckpointErrors: s.stats.checkpointErrors.Load(),
	}
	for _, t := range append([]*Transform{s.o.Transform}, s.o.Workers...) {
		st.ParseFailures += t.parseFailures.Load()
		st.Fragments += t.fragments.Load()
	}
	return st
}

// groupFactor bounds group commit: a batch read while the append stage is
// busy grows to at most this many times BatchRecords / BatchBytes.
// groupCheckEvery is how often (in records) a grown batch checks whether
// the append stage has become free.
const (
	groupFactor     = 2
	groupCheckEvery = 128
	arenaSlack      = 64 << 10
)

// pending is one batch on its way from the reading goroutine to the
// appending one.
type pending struct {
	arena   []byte
	batch   [][]byte
	commits []commit
	// pos holds each record's line position, for a batch the buffer
	// takes in parts (a full volume): the lines of each part are
	// committed once it is written.
	pos   []tailer.Position
	sizes []uint32 // each record's line length, for such a part's count
	bytes uint64   // of the lines read, counted once per batch
}

func (p *pending) reset() {
	p.arena, p.batch, p.commits, p.pos, p.sizes, p.bytes = p.arena[:0], p.batch[:0], p.commits[:0], p.pos[:0], p.sizes[:0], 0
}

// Run reads, encodes and appends until ctx ends, then writes a last
// checkpoint and returns nil. Lines read but not yet appended when ctx ends
// are not committed, so the tailer reads them again next time: nothing is
// lost and nothing is appended twice.
//
// Run is two stages, so reading and parsing go on while the previous batch
// is written and fsynced: this goroutine reads lines into a batch; a second
// one appends it to the buffer, then commits its lines and checkpoints. Two
// batches circulate between them.
func (s *Source) Run(ctx context.Context) error {
	full := make(chan *pending) // batches to append; nil = "idle, checkpoint if due"
	free := make(chan *pending, 2)
	free <- &pending{}
	free <- &pending{}
	appendErr := make(chan error, 1)
	go func() { appendErr <- s.appendLoop(ctx, full, free) }()

	err := s.readLoop(ctx, full, free)
	close(full)
	if aerr := <-appendErr; err == nil {
		err = aerr
	}
	return err
}

// readLoop fills batches and hands them to the append stage.
func (s *Source) readLoop(ctx context.Context, full, free chan *pending) error {
	r := lineReader{s: s}
	if len(s.o.Workers) > 0 {
		r.pool = newTransformPool(ctx, s.o.Lines, append([]*Transform{s.o.Transform}, s.o.Workers...), s.o.Now)
		defer r.pool.Close()
	}
	for {
		var p *pending
		select {
		case p = <-free:
		case <-ctx.Done():
			return nil
		}
		p.reset()
		if cap(p.arena) == 0 {
			// Sized once for a grown batch (plus room for the record that
			// crosses the limit), rather than doubled up to it: the
			// doubling's garbage raised the peak RSS (measured again:
			// 64 KiB grown by append gave nginx 42.1 against 34.2 MiB,
			// and 62-66 against 54.5 MiB into VictoriaLogs).
			p.arena = make([]byte, 0, groupFactor*s.o.BatchBytes+arenaSlack)
		}
		// The first line of a batch may wait, but the append stage still
		// hears from us once per checkpoint interval.
		wait, cancel := context.WithTimeout(ctx, s.o.CheckpointInterval)
		err := r.next(wait)
		idle := wait.Err() == context.DeadlineExceeded
		cancel()
		if err != nil {
			free <- p
			if ctx.Err() != nil || errors.Is(err, sidetrail.ErrClosed) || errors.Is(err, tailer.ErrFinished) {
				return nil
			}
			if idle {
				select {
				case full <- nil:
				default: // the append stage is busy, so it checkpoints anyway
				}
				continue
			}
			return err
		}
		now := s.o.Now()
		r.add(now, p)

		// Then take what is ready, for up to Linger. A full batch goes to
		// the append stage as soon as that is free; while it is still busy
		// writing (and fsyncing) the previous batch, keep reading, up to
		// groupFactor batches: one write and one fsync for all of them,
		// instead of a reader waiting on the disk (group commit).
		if len(p.batch) < s.o.BatchRecords && len(p.arena) < s.o.BatchBytes {
			lctx, cancel := context.WithDeadline(ctx, now.Add(s.o.Linger))
			for len(p.batch) < groupFactor*s.o.BatchRecords && len(p.arena) < groupFactor*s.o.BatchBytes {
				if (len(p.batch) >= s.o.BatchRecords || len(p.arena) >= s.o.BatchBytes) && len(p.batch)%groupCheckEvery == 0 {
					select {
					case full <- p:
						p = nil
					default:
					}
					if p == nil {
						break
					}
				}
				if err = r.next(lctx); err != nil {
					break
				}
				r.add(now, p)
			}
			cancel()
			if err != nil && lctx.Err() == nil && ctx.Err() == nil && !errors.Is(err, sidetrail.ErrClosed) && !errors.Is(err, tailer.ErrFinished) {
				return err
			}
			if p == nil {
				if errors.Is(err, tailer.ErrFinished) {
					return nil
				}
				continue // handed over
			}
		}
		select {
		case full <- p:
		case <-ctx.Done():
			return nil // not appended, not committed: read again next time
		}
		if errors.Is(err, tailer.ErrFinished) {
			return nil // every file read to its end (Finish): appended as Run ends
		}
	}
}

// lineReader is where readLoop's lines come from: the tailer, transformed
// here, or the transform pool, transformed already.
type lineReader struct {
	s    *Source
	pool *transformPool
	rec  sidetrail.Record
	line tailer.Line
	enc  encoded
}

// next reads the next line (and, from the pool, its record).
func (r *lineReader) next(ctx context.Context) error {
	var err error
	if r.pool != nil {
		r.enc, err = r.pool.Next(ctx)
	} else {
		r.line, err = r.s.o.Lines.Next(ctx)
	}
	return err
}

// add puts the line next read into p.
func (r *lineReader) add(now time.Time, p *pending) {
	start := len(p.arena)
	if r.pool != nil {
		p.arena = append(p.arena, r.enc.data...)
		r.s.added(p, start, r.enc.line)
		return
	}
	r.s.o.Transform.Apply(&r.rec, r.line, now)
	p.arena = sidetrail.AppendBinary(p.arena, &r.rec)
	r.s.added(p, start, r.line)
}

// appendLoop appends each batch, then commits its lines and checkpoints. It
// is the only goroutine that touches the checkpoint state.
func (s *Source) appendLoop(ctx context.Context, full <-chan *pending, free chan<- *pending) error {
	s.lastCheckpoint = time.Now()
	// The first checkpoint is written even if this generation commits
	// nothing: the tailer may have resumed past lines the buffer held after
	// a crash, an offset only in memory so far. Moving the source's cursor
	// past those records without it, a second crash read them all again.
	s.dirty = true
	defer s.checkpoint()
	for {
		var p *pending
		select {
		case q, ok := <-full:
			if !ok {
				return nil
			}
			p = q
		case <-s.poke:
			s.checkpoint()
			continue
		}
		if p == nil {
			s.maybeCheckpoint()
			continue
		}
		s.partLines, s.partBytes = 0, 0
		if err := s.append(ctx, p.batch, p.pos, p.sizes, false); err != nil {
			free <- p
			continue // ctx ended: not written, not committed; drain and stop
		}
		// Counted per batch, not per line (two atomic adds per line were
		// 1.5% of a raw run's CPU), and once appended: a batch still
		// waiting, or dropped at a stop and read again, is not buffered.
		// The parts of a batch a full volume took in halves were counted
		// as each was written (append).
		s.stats.lines.Add(uint64(len(p.batch) - s.partLines))
		s.stats.bytes.Add(p.bytes - s.partBytes)
		for _, c := range p.commits {
			s.o.Lines.Commit(c.pos)
		}
		free <- p
		s.dirty = true
		s.maybeCheckpoint()
	}
}

// Poke asks the source to checkpoint now, which moves its buffer cursor
// to the buffer's end when it has nothing unwritten: another source waits
// for room. An idle source's cursor, moved once a CheckpointInterval, held
// a small buffer full with every sink caught up: about max_bytes a second
// went through (buffer22 P4: 1,918 lines/s at 256 KiB instead of 60,000).
func (s *Source) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// tryAppender is an Appender that can say it is full instead of waiting
// (buffer.Buffer.TryAppend).
type tryAppender interface {
	TryAppend(ctx context.Context, records [][]byte) (uint64, error)
}

// fullCheckpointDelay is how long an Append may wait for room before the
// source checkpoints to release its hold on the buffer's oldest segments.
const fullCheckpointDelay = 50 * time.Millisecond

// maybeCheckpoint checkpoints when the interval has passed.
func (s *Source) maybeCheckpoint() {
	if time.Since(s.lastCheckpoint) >= s.o.CheckpointInterval {
		s.checkpoint()
	}
}

// checkpoint writes the tailer's checkpoint, then moves the source's cursor
// to the buffer's end. Every record of this source up to that end was
// committed before the checkpoint was written (this goroutine is the only
// one appending for the source), so the checkpoint covers them all.
func (s *Source) checkpoint() {
	s.lastCheckpoint = time.Now()
	if s.o.Checkpoint == nil || s.o.Cursor == nil || s.o.LastSeq == nil {
		return
	}
	end := s.o.LastSeq()
	if s.dirty {
		if err := s.o.Checkpoint.Checkpoint(); err != nil {
			s.stats.checkpointErrors.Add(1)
			s.o.Logger.Error("checkpoint write failed; will retry", "err", err)
			return
		}
		s.dirty = false
	}
	if end == 0 || end == s.acked {
		return
	}
	if err := s.o.Cursor.Ack(end); err != nil {
		s.stats.checkpointErrors.Add(1)
		s.o.Logger.Error("source cursor ack failed; will retry", "err", err)
		return
	}
	s.acked = end
}

// countPart counts a written part of a batch (see append).
func (s *Source) countPart(part bool, n int, sizes []uint32) {
	if !part {
		return
	}
	var b uint64
	for _, z := range sizes {
		b += uint64(z)
	}
	s.stats.lines.Add(uint64(n))
	s.stats.bytes.Add(b)
	s.partLines += n
	s.partBytes += b
}

// commitEach commits the line of each position: the records of a part of
// a batch are in the buffer.
func (s *Source) commitEach(pos []tailer.Position) {
	for _, p := range pos {
		s.o.Lines.Commit(p)
	}
	s.dirty = true
}

// commit is the last line of one file within a batch.
type commit struct {
	key  uint64
	path string
	pos  tailer.Position
}

// added records that p.arena[start:] is line's encoded record.
func (s *Source) added(p *pending, start int, line tailer.Line) {
	p.batch = append(p.batch, p.arena[start:len(p.arena):len(p.arena)])
	p.pos = append(p.pos, line.Pos)
	p.sizes = append(p.sizes, uint32(line.End-line.Start))
	p.bytes += uint64(line.End - line.Start)

	if n := len(p.commits); n > 0 && p.commits[n-1].key == line.Key && p.commits[n-1].path == line.Path {
		p.commits[n-1].pos = line.Pos
	} else {
		p.commits = append(p.commits, commit{key: line.Key, path: line.Path, pos: line.Pos})
	}
}

// addStatic appends the static fields. A parsed field wins over a static
// one of the same name, or one above or below it ("k8s" and "k8s.pod": the
// record JSON nests dotted names, so "k8s" would be a value and an object
// at once): it is the line's own evidence, and one key twice would make
// documents Elasticsearch rejects. Static fields must not conflict so with
// each other (the configuration's validation rejects them). addStatic
// allocates nothing beyond growing rec.Fields; without static fields it
// does nothing.
func (t *Transform) addStatic(rec *sidetrail.Record) {
	parsed := len(rec.Fields)
outer:
	for _, f := range t.Fields {
		for i := 0; i < parsed; i++ {
			// Equal, or one the other's dotted prefix. Most names differ
			// in their first byte already.
			short, long := rec.Fields[i].Key, f.Key
			if len(short) > 0 && len(long) > 0 && short[0] != long[0] {
				continue
			}
			if len(short) > len(long) {
				short, long = long, short
			}
			if (len(short) == len(long) || long[len(short)] == '.') && long[:len(short)] == short {
				continue outer
			}
		}
		rec.Fields = append(rec.Fields, f)
	}
	rec.Statics = len(rec.Fields) - parsed
}

// Transform turns a line into a record: parse (or mark the failure), stamp
// the time, add the static fields, redact. It is the same code for the
// running agent and for `sidetrail parse`. Not safe for concurrent use; its
// counters are.
type Transform struct {
	Source   string
	Parser   Parser   // nil: raw lines
	Redactor Redactor // nil: none
	Fields   []sidetrail.Field

	parseFailures, fragments atomic.Uint64
}

// Apply fills rec from line. rec's slices point into line.Bytes and
// rec.Scratch, so rec is valid until the line's bytes are reused.
func (t *Transform) Apply(rec *sidetrail.Record, line tailer.Line, now time.Time) {
	rec.Reset()
	rec.FileKey = line.Key
	rec.Offset = line.Start
	rec.End = line.End
	rec.Source = t.Source
	rec.Path = line.Path
	rec.Message = line.Bytes
	switch {
	case line.Fragment:
		// A piece of an overlong line cannot be parsed; it ships raw, marked.
		rec.Flags |= sidetrail.FlagFragment
		t.fragments.Add(1)
	case t.Parser != nil:
		if err := t.Parser.Parse(line.Bytes, rec); err != nil {
			if g, ok := err.(interface{ Guessed() bool }); ok && g.Guessed() && t.Redactor != nil {
				// A line too ambiguous to split, with the fields of a
				// guess: they ship not, but the field rules take their
				// values out of the message, which a client could
				// otherwise make ship them in clear (parser17 A2).
				t.Redactor.ApplyFieldRules(rec)
			}
			rec.Fields = rec.Fields[:0]
			rec.Time, rec.TimeField, rec.Renamed = time.Time{}, sidetrail.Field{}, rec.Renamed[:0]
			rec.KeysFromLine = false
			rec.Flags |= sidetrail.FlagParseFailure
			t.parseFailures.Add(1)
		}
	}
	if rec.Time.IsZero() || !sidetrail.TimeInRange(rec.Time) {
		rec.Time = now
	}
	t.addStatic(rec)
	rec.Ingested = now
	if t.Redactor != nil {
		t.Redactor.Apply(rec)
		if rec.Time.IsZero() { // the line's time held a secret
			rec.Time = now
		}
	}
	// An object in a JSON line's field holding a key twice is written
	// with it once, after the redactor saw every value (the parser's
	// Dedupe: Elasticsearch refuses a key twice).
	if rec.Twins {
		if d, ok := t.Parser.(interface{ Dedupe(*sidetrail.Record) }); ok {
			d.Dedupe(rec)
		}
	}
}

// fullWindow and fullShare: reading paused for fullShare of fullWindow,
// in waits each shorter than a second, is a full buffer too (delivery20
// F4: a slow sink kept it full 10.9 s of 12 with nothing said).
var fullWindow, fullShare = 10 * time.Second, 5 * time.Second

// waitedForRoom adds an Append's wait for room to the window's, and warns
// once the window's share is reached (at most once a minute).
func (s *Source) waitedForRoom(d time.Duration) {
	now := time.Now()
	if now.Sub(s.fullSince) > fullWindow {
		s.fullSince, s.fullWaited = now.Add(-d), 0
	}
	s.fullWaited += d
	if s.fullWaited >= fullShare && s.fullLogAllowed(now) {
		s.o.Logger.Warn(fullWarning, "paused", s.fullWaited.Round(time.Millisecond), "of", now.Sub(s.fullSince).Round(time.Millisecond))
	}
}

// fullLogAllowed reports whether the "buffer full" warning may be logged
// now (at most once a minute, across reloads), and notes it.
func (s *Source) fullLogAllowed(now time.Time) bool {
	last := s.lastFullLog.Load()
	return now.UnixNano()-last >= int64(time.Minute) && s.lastFullLog.CompareAndSwap(last, now.UnixNano())
}

// fullWarning is the "buffer full" warning (README, Troubleshooting).
const fullWarning = "buffer full: reading paused until the sinks catch up (sidetrail_buffer_full); the log files hold the unread lines until then: rotate by rename, and keep rotated files matching paths, or lines rotated away are lost"

// append writes the batch, retrying failures (a full disk, an I/O error)
// with backoff until it succeeds or ctx ends. The tailer is paused meanwhile:
// the files on disk are the upstream buffer.
//
// A part (of a batch a full volume takes in halves) is counted in the
// source's lines and bytes once written, as it is committed then:
// sidetrail_source_lines_total lagged the buffer by thousands while the
// volume stayed full (docs17 F4). appendLoop counts the rest.
func (s *Source) append(ctx context.Context, batch [][]byte, pos []tailer.Position, sizes []uint32, part bool) error {
	if len(batch) == 0 {
		return nil
	}
	b := backoff{initial: 100 * time.Millisecond, max: 5 * time.Second}
	var waiting time.Time // since when this Append waits for room
	start, wasFull := time.Now(), false
	if t, ok := s.o.Buffer.(tryAppender); ok {
		// Full now: move the source's cursor before waiting, not 50 ms
		// into the wait (buffer13 F2: with max_bytes 64KiB the agent
		// shipped 1,230 lines/s to a fast sink).
		_, err := t.TryAppend(ctx, batch)
		if err == nil {
			s.stats.appendFailing.Store(0)
			s.countPart(part, len(batch), sizes)
			return nil
		}
		if errors.Is(err, buffer.ErrFull) {
			s.release()
			s.pokeOthers()
			wasFull = true
		}
		// Any other error: the loop below retries and reports it.
	}
	for {
		// A full buffer blocks Append. Checkpoint soon when it does: the
		// source's cursor must not hold back the segment deletion that
		// would make room (segments go once every cursor passed them).
		actx, cancel := context.WithTimeout(ctx, fullCheckpointDelay)
		_, err := s.o.Buffer.Append(actx, batch)
		full := actx.Err() == context.DeadlineExceeded
		cancel()
		if err == nil {
			s.stats.appendFailing.Store(0)
			s.countPart(part, len(batch), sizes)
			if wasFull || full || !waiting.IsZero() {
				s.waitedForRoom(time.Since(start))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if full {
			// A write slower than fullCheckpointDelay lands here too; only
			// a wait of a second is called full.
			if waiting.IsZero() {
				waiting = time.Now()
			} else if time.Since(waiting) >= time.Second && s.fullLogAllowed(time.Now()) {
				s.o.Logger.Warn(fullWarning)
			}
			s.release()
			s.pokeOthers()
			continue // still full: nothing was written
		}
		s.stats.appendErrors.Add(1)
		s.stats.appendFailing.CompareAndSwap(0, time.Now().UnixNano())
		if errors.Is(err, syscall.ENOSPC) && len(batch) > 1 {
			// The batch may be larger than all the volume can hold, and
			// then it never fits, however much the sinks free (docs14
			// F3): write it in halves, down to one record, which waits
			// below. Halves cost log2(len(batch)) more appends while the
			// volume is full. The lines of each half are committed once it
			// is written, as a whole batch's are: the source's cursor may
			// then pass its records (it must, for delivered segments to
			// go), and a stop in between does not read them again
			// (regress15 F1: 1,375 lines twice after a reload).
			h := len(batch) / 2
			if err := s.append(ctx, batch[:h], pos[:h], sizes[:h], true); err != nil {
				return err
			}
			s.commitEach(pos[:h])
			return s.append(ctx, batch[h:], pos[h:], sizes[h:], true)
		}
		wait := b.next()
		if errors.Is(err, syscall.ENOSPC) {
			s.o.Logger.Error("buffer append failed: no space left in data_dir; retrying. The volume must hold buffer.max_bytes: lower it or grow the volume",
				"records", len(batch), "err", err, "retry_in", wait)
		} else {
			s.o.Logger.Error("buffer append failed; retrying", "records", len(batch), "err", err, "retry_in", wait)
		}
		// The space may be held by segments every sink is done with,
		// kept only by this source's cursor.
		s.release()
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// release moves the source's cursor to the buffer's end while an Append is
// blocked, so that it does not hold back the deletion of segments every
// sink is done with: a full buffer, or a volume the buffer filled (the
// source stopped for good there, with its sink idle). It checkpoints
// first; if the checkpoint cannot be written (the full volume), the cursor
// moves all the same, and a warning says that a crash before the next
// checkpoint reads again the lines since the last one: duplicates, where
// the alternative was a source stopped until a restart.
// pokeOthers calls OnFull (see SourceOptions).
func (s *Source) pokeOthers() {
	if s.o.OnFull != nil {
		s.o.OnFull()
	}
}

func (s *Source) release() {
	s.checkpoint()
	if !s.dirty || s.o.Cursor == nil || s.o.LastSeq == nil {
		return // written, or nothing to write
	}
	end := s.o.LastSeq()
	if end == 0 || end == s.acked {
		return
	}
	if err := s.o.Cursor.Ack(end); err != nil {
		return // checkpoint already counted and logged the failure
	}
	s.acked = end
	if time.Since(s.lastForced) >= time.Minute {
		s.lastForced = time.Now()
		s.o.Logger.Warn("checkpoint cannot be written; moved the source's buffer cursor anyway so that delivered segments can be deleted. A crash before the next checkpoint reads again the lines since the last one")
	}
}
