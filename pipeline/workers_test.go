package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/tailer"
)

func workerTransforms(n int) []*Transform {
	var ts []*Transform
	for range n {
		ts = append(ts, &Transform{Source: "s", Parser: failParser{}})
	}
	return ts
}

// TestSourceWorkersKeepLineOrder: 60,000 lines of varied length in three
// files, some failing to parse, through three transforming goroutines:
// every line appended once, in its file's order, with its exact offsets,
// and the counters summed over the workers.
func TestSourceWorkersKeepLineOrder(t *testing.T) {
	dir := t.TempDir()
	const perFile = 20000
	for _, name := range []string{"a", "b", "c"} {
		f, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range perFile {
			bad := ""
			if i%97 == 0 {
				bad = " bad"
			}
			fmt.Fprintf(f, "%s %d%s %s\n", name, i, bad, strings.Repeat("x", i%300))
		}
		f.Close()
	}
	tl := newTailer(t, dir)
	defer tl.Close()
	app := &memAppender{}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app,
		Transform: &Transform{Source: "s", Parser: failParser{}}, Workers: workerTransforms(2)})
	runSource(t, s, func() bool { return app.count() >= 3*perFile })
	if n := app.count(); n != 3*perFile {
		t.Fatalf("%d records, want %d", n, 3*perFile)
	}
	next := map[string]int{}
	offset := map[string]int64{}
	failures := 0
	for _, r := range app.records {
		name := filepath.Base(r.Path)[:1]
		i := next[name]
		bad := ""
		if i%97 == 0 {
			bad = " bad"
			failures++
		}
		want := fmt.Sprintf("%s %d%s %s", name, i, bad, strings.Repeat("x", i%300))
		if string(r.Message) != want {
			t.Fatalf("%s: record %d is %.40q, want %.40q", name, i, r.Message, want)
		}
		if r.Offset != offset[name] || r.End != offset[name]+int64(len(want))+1 {
			t.Fatalf("%s line %d: offsets [%d,%d), want [%d,%d)", name, i, r.Offset, r.End, offset[name], offset[name]+int64(len(want))+1)
		}
		if (bad != "") != (r.Flags&sidetrail.FlagParseFailure != 0) {
			t.Fatalf("%s line %d: parse failure flag %v", name, i, r.Flags)
		}
		next[name]++
		offset[name] = r.End
	}
	if st := s.Stats(); st.Lines != 3*perFile || st.ParseFailures != uint64(failures) {
		t.Fatalf("stats %+v, want %d lines, %d parse failures", st, 3*perFile, failures)
	}
}

// TestSourceWorkersCommitOnlyAppendedLines is TestSourceCommitsOnlyAppendedLines
// with workers: lines the pool read ahead but never appended are read
// again by the next tailer.
func TestSourceWorkersCommitOnlyAppendedLines(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 5000)
	tl := newTailer(t, dir)
	app := &memAppender{block: true}
	s := NewSource(SourceOptions{Name: "s", Lines: tl, Buffer: app, Workers: workerTransforms(1)})
	runSource(t, s, func() bool { app.mu.Lock(); defer app.mu.Unlock(); return app.calls > 0 })
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	tl2 := newTailer(t, dir)
	defer tl2.Close()
	app2 := &memAppender{}
	s2 := NewSource(SourceOptions{Name: "s", Lines: tl2, Buffer: app2, Workers: workerTransforms(1)})
	runSource(t, s2, func() bool { return app2.count() >= 5000 })
	if n := app2.count(); n != 5000 || string(app2.records[0].Message) != "line 0" || string(app2.records[4999].Message) != "line 4999" {
		t.Fatalf("after restart: %d records", n)
	}
}

// scriptLines is a LineReader that hands out n lines, then fails with err.
type scriptLines struct {
	mu      sync.Mutex
	n, i    int
	err     error
	commits []tailer.Position
}

func (l *scriptLines) Next(ctx context.Context) (tailer.Line, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.i >= l.n {
		return tailer.Line{}, l.err
	}
	b := []byte(fmt.Sprintf("line %d", l.i))
	line := tailer.Line{Key: 1, Path: "/p", Start: int64(l.i) * 10, End: int64(l.i)*10 + 10, Bytes: b}
	l.i++
	return line, nil
}

func (l *scriptLines) Commit(pos tailer.Position) {
	l.mu.Lock()
	l.commits = append(l.commits, pos)
	l.mu.Unlock()
}

// TestSourceWorkersReturnReadError: a read error ends Run with that error,
// after every line read before it was appended.
func TestSourceWorkersReturnReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	lines := &scriptLines{n: 1234, err: boom}
	app := &memAppender{}
	s := NewSource(SourceOptions{Name: "s", Lines: lines, Buffer: app, Workers: workerTransforms(2)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Run(ctx); !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want %v", err, boom)
	}
	if n := app.count(); n != 1234 {
		t.Fatalf("%d records appended before the error, want 1234", n)
	}
	for i, r := range app.records {
		if want := fmt.Sprintf("line %d", i); string(r.Message) != want {
			t.Fatalf("record %d: %q", i, r.Message)
		}
	}
}

// TestSourceWorkersIdleStopsPromptly: with nothing to read, stopping the
// source ends the pool's goroutines (goleak checks the rest).
func TestSourceWorkersIdleStopsPromptly(t *testing.T) {
	lines := &scriptLines{n: 0, err: nil}
	blocking := &blockingLines{scriptLines: lines}
	s := NewSource(SourceOptions{Name: "s", Lines: blocking, Buffer: &memAppender{}, Workers: workerTransforms(2)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// blockingLines waits for ctx when it has nothing to hand out, as the
// tailer does.
type blockingLines struct{ *scriptLines }

func (b *blockingLines) Next(ctx context.Context) (tailer.Line, error) {
	<-ctx.Done()
	return tailer.Line{}, ctx.Err()
}
