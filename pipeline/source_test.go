package pipeline

import (
	"context"
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
	"github.com/sidetrail/sidetrail/internal/syncbuf"
	"github.com/sidetrail/sidetrail/tailer"
)

// memAppender keeps appended records decoded; it can fail the first
// failures calls, or block until ctx ends.
type memAppender struct {
	mu       sync.Mutex
	records  []sidetrail.Record
	failures int
	block    bool
	calls    int
	// blockCalls calls wait until ctx ends, as an Append waiting behind
	// another source's write does.
	blockCalls int
	// blockOdd: every other call waits until ctx ends, as each Append
	// does behind a slow sink that frees room a little at a time.
	blockOdd bool
	// roomFor, when set, fails a batch of more records with ENOSPC, as
	// a volume smaller than the batch does however empty the buffer is.
	roomFor int
	// fullAt, when set, fails every Append with ENOSPC once this many
	// records are in: a volume that stays full.
	fullAt int
	sizes  []int // records in each Append that succeeded
}

func (a *memAppender) Append(ctx context.Context, recs [][]byte) (uint64, error) {
	a.mu.Lock()
	a.calls++
	if a.blockCalls > 0 || a.blockOdd && a.calls%2 == 1 {
		a.blockCalls = max(a.blockCalls-1, 0)
		a.mu.Unlock()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if a.failures > 0 {
		a.failures--
		a.mu.Unlock()
		return 0, errors.New("injected: no space left on device")
	}
	if a.block {
		a.mu.Unlock()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	defer a.mu.Unlock()
	if a.roomFor > 0 && len(recs) > a.roomFor || a.fullAt > 0 && len(a.records) >= a.fullAt {
		return 0, fmt.Errorf("buffer: write segment: %w", syscall.ENOSPC)
	}
	a.sizes = append(a.sizes, len(recs))
	var d sidetrail.Decoder
	for _, b := range recs {
		var r sidetrail.Record
		if err := d.Decode(append([]byte(nil), b...), &r); err != nil {
			return 0, err
		}
		a.records = append(a.records, r)
	}
	return uint64(len(a.records)), nil
}

func (a *memAppender) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.records)
}

func writeLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		fmt.Fprintf(f, "line %d\n", i)
	}
	f.Close()
}

func newTailer(t *testing.T, dir string) *tailer.Tailer {
	t.Helper()
	tl, err := tailer.New(tailer.Options{
		Source: "s", Paths: []string{filepath.Join(dir, "*.log")},
		CheckpointPath: filepath.Join(dir, "checkpoint.json"),
		ScanInterval:   20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func runSource(t *testing.T, s *Source, until func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !until() && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !until() {
		t.Fatal("condition not reached in 10s")
	}
}

// failParser fails lines containing "bad".
type failParser struct{}

func (failParser) Parse(line []byte, rec *sidetrail.Record) error {
	rec.Add("parsed", sidetrail.KindBool, []byte("true"))
	if strings.Contains(string(line), "bad") {
		return errors.New("no match")
	}
	rec.Time = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return nil
}

func TestSourceRecordsAndRetriesAppend(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.log")
	writeLines(t, log, 0, 100)
	os.WriteFile(filepath.Join(dir, "b.log"), []byte("a bad line\n"), 0o644)
	tl := newTailer(t, dir)
	defer tl.Close()
	app := &memAppender{failures: 3}
	s := NewSource(SourceOptions{
		Name: "s", Lines: tl, Buffer: app,
		Transform: &Transform{Source: "s", Parser: failParser{}, Fields: []sidetrail.Field{{Key: "env", Value: []byte("test")}}},
	})
	failing := false // AppendFailingSince said so while appends failed
	runSource(t, s, func() bool {
		failing = failing || !s.AppendFailingSince().IsZero()
		return app.count() >= 101
	})
	if !failing || !s.AppendFailingSince().IsZero() {
		t.Errorf("AppendFailingSince: failing seen %v, now %v (want seen, then zero)", failing, s.AppendFailingSince())
	}
	if n := app.count(); n != 101 {
		t.Fatalf("%d records appended, want 101 (retries must not duplicate)", n)
	}
	st := s.Stats()
	if st.AppendErrors != 3 || st.ParseFailures != 1 || st.Lines != 101 {
		t.Fatalf("stats %+v", st)
	}
	offset := int64(0)
	for _, r := range app.records {
		if r.Path != log {
			if r.Flags&sidetrail.FlagParseFailure == 0 || len(r.Fields) != 1 || r.Fields[0].Key != "env" {
				t.Fatalf("failed line: %+v", r)
			}
			continue
		}
		if r.Offset != offset || r.Source != "s" || r.FileKey == 0 {
			t.Fatalf("record %q: offset %d want %d, %+v", r.Message, r.Offset, offset, r)
		}
		offset += int64(len(r.Message)) + 1
		if len(r.Fields) != 2 || r.Fields[0].Key != "parsed" || r.Fields[1].Key != "env" || r.Time.Year() != 2024 {
			t.Fatalf("fields %+v time %v", r.Fields, r.Time)
		}
		if r.Ingested.IsZero() {
			t.Fatal("no ingest time")
		}
	}
}

// A batch larger than the room the volume has is written in parts (docs14
// F3: on a volume smaller than one batch, the source retried the whole
// batch forever after the sinks had emptied the buffer).
func TestSourceSplitsABatchTheVolumeCannotHold(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.log")
	writeLines(t, log, 0, 500)
	tl := newTailer(t, dir)
	defer tl.Close()
	app := &memAppender{roomFor: 7}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app, Transform: &Transform{Source: "s", Parser: failParser{}}})
	runSource(t, s, func() bool { return app.count() >= 500 })
	if n := app.count(); n != 500 {
		t.Fatalf("%d records appended, want 500", n)
	}
	for i, r := range app.records {
		if want := fmt.Sprintf("line %d", i); string(r.Message) != want {
			t.Fatalf("record %d is %q, want %q", i, r.Message, want)
		}
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if slices.Max(app.sizes) > 7 || len(app.sizes) > 200 {
		t.Fatalf("appends of %v records", app.sizes)
	}
	if st := s.Stats(); st.Lines != 500 {
		t.Fatalf("stats %+v", st)
	}
}

// A stop while a batch is appended in halves does not read the halves
// already written again: their lines are committed as each is written.
// Committed only with the whole batch, they were read again after a
// reload (regress15 F1: 1,375 lines twice).
func TestSourceStopBetweenHalvesRepeatsNothing(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 100)
	tl := newTailer(t, dir)
	app := &memAppender{roomFor: 7, fullAt: 20}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app})
	runSource(t, s, func() bool { return app.count() >= 20 })
	if err := tl.Close(); err != nil { // the reload: the last checkpoint
		t.Fatal(err)
	}
	tl2 := newTailer(t, dir)
	defer tl2.Close()
	app2 := &memAppender{}
	s2 := NewSource(SourceOptions{Name: "s", Lines: tl2, Buffer: app2})
	runSource(t, s2, func() bool { return app.count()+app2.count() >= 100 })
	seen := map[string]int{}
	for _, r := range append(app.records, app2.records...) {
		seen[string(r.Message)]++
	}
	for i := range 100 {
		if n := seen[fmt.Sprintf("line %d", i)]; n != 1 {
			t.Errorf("line %d buffered %d times", i, n)
		}
	}
	if n := app.count() + app2.count(); n != 100 {
		t.Fatalf("%d records, want 100 (%d before the stop)", n, app.count())
	}
}

// The parts of a batch written in halves count in the source's lines and
// bytes as they are written, not once the whole batch is: on a volume that
// stayed full, sidetrail_source_lines_total lagged the buffer by thousands
// (docs17 F4: 1,920 counted, 3,284 buffered).
func TestSourceCountsTheHalvesWritten(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 100)
	tl := newTailer(t, dir)
	defer tl.Close()
	app := &memAppender{roomFor: 7, fullAt: 20}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app})
	runSource(t, s, func() bool { return app.count() >= 20 })
	var bytes uint64
	for _, r := range app.records {
		bytes += uint64(len(r.Message)) + 1 // with its newline
	}
	if st := s.Stats(); st.Lines != uint64(app.count()) || st.Bytes != bytes {
		t.Fatalf("lines %d, bytes %d counted; %d records of %d bytes buffered", st.Lines, st.Bytes, app.count(), bytes)
	}
}

// A reload carries the start of failing appends over to the source of the
// same name, until an append succeeds: with a clock that started again at
// every reload, /readyz hid a full volume from reloads more often than
// ready_after_failing (ops15 F3).
func TestSourceCarriesAppendFailingSince(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 10)
	tl := newTailer(t, dir)
	defer tl.Close()
	since := time.Now().Add(-time.Hour).Truncate(time.Second)
	app := &memAppender{failures: 2}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app, AppendFailingSince: since})
	if got := s.AppendFailingSince(); !got.Equal(since) {
		t.Fatalf("AppendFailingSince %v, want %v", got, since)
	}
	kept := true // while appends failed, the carried start stayed
	runSource(t, s, func() bool {
		if got := s.AppendFailingSince(); !got.IsZero() && !got.Equal(since) {
			kept = false
		}
		return app.count() >= 10
	})
	if !kept || !s.AppendFailingSince().IsZero() {
		t.Fatalf("kept %v, now %v: want the carried start, then zero", kept, s.AppendFailingSince())
	}
}

// A source stopped while its Append cannot complete commits nothing: the
// next tailer reads those lines again.
func TestSourceCommitsOnlyAppendedLines(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 50)

	tl := newTailer(t, dir)
	app := &memAppender{block: true}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app})
	runSource(t, s, func() bool { app.mu.Lock(); defer app.mu.Unlock(); return app.calls > 0 })
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}

	tl2 := newTailer(t, dir)
	defer tl2.Close()
	app2 := &memAppender{}
	s2 := NewSource(SourceOptions{Name: "s", Lines: tl2, Buffer: app2})
	runSource(t, s2, func() bool { return app2.count() >= 50 })
	if n := app2.count(); n != 50 || string(app2.records[0].Message) != "line 0" {
		t.Fatalf("after restart: %d records, first %q", n, app2.records[0].Message)
	}
	if err := tl2.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything is committed now: a third tailer reads only new lines.
	writeLines(t, filepath.Join(dir, "a.log"), 50, 55)
	tl3 := newTailer(t, dir)
	defer tl3.Close()
	app3 := &memAppender{}
	s3 := NewSource(SourceOptions{Name: "s", Lines: tl3, Buffer: app3})
	runSource(t, s3, func() bool { return app3.count() >= 5 })
	if n := app3.count(); n != 5 || string(app3.records[0].Message) != "line 50" {
		t.Fatalf("third run: %d records, first %q", n, app3.records[0].Message)
	}
}

func TestStaticFieldsNeverDuplicateParsedNames(t *testing.T) {
	tr := &Transform{Source: "s", Parser: failParser{}, Fields: []sidetrail.Field{
		{Key: "parsed", Kind: sidetrail.KindString, Value: []byte("static")},
		{Key: "env", Kind: sidetrail.KindString, Value: []byte("prod")},
	}}
	var rec sidetrail.Record
	tr.Apply(&rec, tailer.Line{Bytes: []byte("ok")}, time.Now())
	if len(rec.Fields) != 2 || rec.Fields[0].Key != "parsed" || string(rec.Fields[0].Value) != "true" || rec.Fields[1].Key != "env" {
		t.Fatalf("fields %+v", rec.Fields)
	}
}

// events records the order of checkpoint writes and cursor acks.
type events struct {
	mu      sync.Mutex
	log     []string
	failCkp bool
}

func (e *events) add(s string) { e.mu.Lock(); e.log = append(e.log, s); e.mu.Unlock() }

func (e *events) String() string { e.mu.Lock(); defer e.mu.Unlock(); return strings.Join(e.log, ",") }

type eventCheckpointer struct{ e *events }

func (c eventCheckpointer) Checkpoint() error {
	c.e.mu.Lock()
	fail := c.e.failCkp
	c.e.mu.Unlock()
	if fail {
		c.e.add("checkpoint-failed")
		return errors.New("injected: no space left on device")
	}
	c.e.add("checkpoint")
	return nil
}

type eventCursor struct{ e *events }

func (c eventCursor) Ack(seq uint64) error { c.e.add(fmt.Sprintf("ack%d", seq)); return nil }

// A generation's first checkpoint is written before its cursor moves,
// even when it has committed nothing: the tailer may have resumed past
// lines the buffer held after a crash, an offset only in memory. Moving
// the cursor past those records first, a second crash re-read all of them
// (the probe: 20,000 duplicates from one crash).
func TestSourceFirstCheckpointBeforeCursorMoves(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 10)
	tl := newTailer(t, dir)
	defer tl.Close()
	ev := &events{}
	app := &memAppender{block: true} // full: the append path checkpoints after 50 ms
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app,
		Checkpoint: eventCheckpointer{ev}, Cursor: eventCursor{ev}, LastSeq: func() uint64 { return 7 }})
	runSource(t, s, func() bool { return strings.Contains(ev.String(), "ack7") })
	if got := ev.String(); !strings.HasPrefix(got, "checkpoint,ack7") {
		t.Fatalf("events %q: the cursor moved before a checkpoint", got)
	}
	if st := s.Stats(); st.Lines != 0 {
		t.Fatalf("%d lines counted, none was buffered", st.Lines)
	}
}

// An Append failing for want of space releases the source's cursor even if
// the checkpoint cannot be written either: on a volume the buffer filled,
// the cursor was all that held delivered segments, and the source stopped
// for good (the probe: 25,344 of 200,000 lines, then nothing).
func TestSourceReleasesCursorWhenAppendFails(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 10)
	tl := newTailer(t, dir)
	defer tl.Close()
	ev := &events{failCkp: true}
	app := &memAppender{failures: 1 << 30}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app,
		Checkpoint: eventCheckpointer{ev}, Cursor: eventCursor{ev}, LastSeq: func() uint64 { return 9 }})
	runSource(t, s, func() bool { return strings.Contains(ev.String(), "ack9") })
	if got := ev.String(); !strings.HasPrefix(got, "checkpoint-failed,ack9") {
		t.Fatalf("events %q", got)
	}
}

// "buffer full: reading paused" is said only of a wait of a second: an
// Append that waits 50 ms behind another source's write was taken for a
// full buffer (the config probe saw it 20 times with 170 KB of 256 MiB
// buffered).
func TestSourceFullWarningOnlyForLongWaits(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  *memAppender
		want bool
	}{
		{"short waits", &memAppender{blockCalls: 3}, false},
		{"a full buffer", &memAppender{blockCalls: 30}, true},
		// Each Append waits a little, and reading is paused most of the
		// time (delivery20 F4: nothing was said).
		{"many short waits", &memAppender{blockOdd: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(w, s time.Duration) { fullWindow, fullShare = w, s }(fullWindow, fullShare)
			fullWindow, fullShare = 5*time.Second, 300*time.Millisecond
			dir := t.TempDir()
			writeLines(t, filepath.Join(dir, "a.log"), 0, 10)
			tl := newTailer(t, dir)
			defer tl.Close()
			var logs syncbuf.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: tc.app, Logger: logger, BatchRecords: 1})
			runSource(t, s, func() bool { return tc.app.count() >= 10 })
			said := strings.Contains(logs.String(), "buffer full")
			if said != tc.want {
				t.Fatalf("warned %v, want %v:\n%s", said, tc.want, logs.String())
			}
		})
	}
}

// The Sources of one name across reloads share when the "buffer full"
// warning was last said: once a minute is for the process, not for each
// reload (buffer22 P3: said again right after a reload).
func TestSourceFullWarningOnceAMinuteAcrossReloads(t *testing.T) {
	var shared atomic.Int64
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for gen := range 2 {
		dir := t.TempDir()
		writeLines(t, filepath.Join(dir, "a.log"), 0, 10)
		tl := newTailer(t, dir)
		app := &memAppender{blockCalls: 30}
		s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app, Logger: logger, BatchRecords: 1, FullLogged: &shared})
		runSource(t, s, func() bool { return app.count() >= 10 })
		tl.Close()
		if n := strings.Count(logs.String(), "buffer full"); n != 1 {
			t.Fatalf("generation %d: warned %d times, want once:\n%s", gen, n, logs.String())
		}
	}
}
