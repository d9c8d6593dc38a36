package buffer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	sidetrail "github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir) // never returns
	}
	goleak.VerifyTestMain(m)
}

// open opens a buffer and closes it at the end of the test.
func open(t testing.TB, dir string, opts buffer.Options) *buffer.Buffer {
	t.Helper()
	b, err := buffer.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// payload is the deterministic content of record i.
func payload(i int) []byte {
	return fmt.Appendf(nil, "record %d %s", i, strings.Repeat(string(rune('a'+i%26)), i%50))
}

// appendRange appends records payload(from..to-1) in batches of batch.
func appendRange(t testing.TB, b *buffer.Buffer, from, to, batch int) uint64 {
	t.Helper()
	var last uint64
	for i := from; i < to; i += batch {
		var recs [][]byte
		for j := i; j < min(i+batch, to); j++ {
			recs = append(recs, payload(j))
		}
		seq, err := b.Append(context.Background(), recs)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		last = seq
	}
	return last
}

// readN reads exactly n records (copying them) or fails after a deadline.
func readN(t testing.TB, r *buffer.Reader, n int) []buffer.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, dst []buffer.Entry
	for len(out) < n {
		var err error
		dst, err = r.Read(ctx, dst, n-len(out), 0)
		if err != nil {
			t.Fatalf("Read after %d of %d records: %v", len(out), n, err)
		}
		for _, e := range dst {
			out = append(out, buffer.Entry{Seq: e.Seq, Data: bytes.Clone(e.Data)})
		}
	}
	return out
}

// readAvailable reads until no record arrives for a short while. Used only
// to prove that nothing more is readable.
func readAvailable(t testing.TB, r *buffer.Reader) []buffer.Entry {
	t.Helper()
	var out, dst []buffer.Entry
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		var err error
		dst, err = r.Read(ctx, dst, 0, 0)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		for _, e := range dst {
			out = append(out, buffer.Entry{Seq: e.Seq, Data: bytes.Clone(e.Data)})
		}
	}
}

// checkEntries checks that entries are payload(from...) with seqs seq0...
func checkEntries(t testing.TB, got []buffer.Entry, seq0 uint64, from int) {
	t.Helper()
	for i, e := range got {
		if e.Seq != seq0+uint64(i) {
			t.Fatalf("entry %d: seq %d, want %d", i, e.Seq, seq0+uint64(i))
		}
		if want := payload(from + i); !bytes.Equal(e.Data, want) {
			t.Fatalf("entry %d (seq %d): data %q, want %q", i, e.Seq, e.Data, want)
		}
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir, buffer.Options{Cursors: []string{"es"}, SegmentBytes: 4096})
	last := appendRange(t, b, 0, 1000, 37)
	if last != 1000 {
		t.Fatalf("last seq %d, want 1000", last)
	}
	r, err := b.Reader("es")
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, readN(t, r, 1000), 1, 0)
	if len(segFiles(t, dir)) < 5 {
		t.Fatalf("want several segments with SegmentBytes 4096, got %d", len(segFiles(t, dir)))
	}
	st := b.Stats()
	if st.Records != 1000 || st.Appended != 1000 || st.NextSeq != 1001 || st.Corrupt != 0 {
		t.Fatalf("stats %+v", st)
	}
	if lr, lb := r.Lag(); lr != 1000 || lb <= 0 {
		t.Fatalf("lag before ack: %d records %d bytes", lr, lb)
	}
	if err := r.Ack(1000); err != nil {
		t.Fatal(err)
	}
	if lr, lb := r.Lag(); lr != 0 || lb != 0 {
		t.Fatalf("lag after ack: %d records %d bytes", lr, lb)
	}
	buffer.Reap(b)
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments after acking everything, want 1 (the active one)", n)
	}
}

// Acknowledged segments are deleted by the buffer's own goroutine, not
// by the Ack (or Append) that let go of them; Close deletes what is left.
func TestAckedSegmentsDeletedInBackground(t *testing.T) {
	dir := t.TempDir()
	b, err := buffer.Open(dir, buffer.Options{Cursors: []string{"es"}, SegmentBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, b, 0, 300, 10)
	r, err := b.Reader("es")
	if err != nil {
		t.Fatal(err)
	}
	n0 := len(segFiles(t, dir))
	if n0 < 5 {
		t.Fatalf("want several segments, got %d", n0)
	}
	readN(t, r, 150)
	if err := r.Ack(150); err != nil {
		t.Fatal(err)
	}
	want := b.Stats().Segments // the log let go of them at once
	if want >= n0 || want <= 1 {
		t.Fatalf("after acking half: %d segments in the log, from %d", want, n0)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(segFiles(t, dir)) != want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := len(segFiles(t, dir)); n != want {
		t.Fatalf("%d segment files 10 s after the ack, want %d", n, want)
	}
	readN(t, r, 150)
	if err := r.Ack(300); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segment files after acking everything and Close, want 1", n)
	}
}

func TestReadLimits(t *testing.T) {
	b := open(t, t.TempDir(), buffer.Options{Cursors: []string{"a"}})
	big := bytes.Repeat([]byte("x"), 10000)
	if _, err := b.Append(context.Background(), [][]byte{[]byte("one"), []byte("two"), big, []byte("four")}); err != nil {
		t.Fatal(err)
	}
	r, _ := b.Reader("a")
	ctx := context.Background()
	got, err := r.Read(ctx, nil, 1, 0)
	if err != nil || len(got) != 1 || string(got[0].Data) != "one" {
		t.Fatalf("maxRecords 1: %v %v", got, err)
	}
	got, err = r.Read(ctx, got, 0, 100) // "two" fits, big does not
	if err != nil || len(got) != 1 || string(got[0].Data) != "two" {
		t.Fatalf("maxBytes 100: %d entries, %v", len(got), err)
	}
	got, err = r.Read(ctx, got, 0, 100) // big alone: at least one record
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, big) || got[0].Seq != 3 {
		t.Fatalf("oversized record: %d entries, %v", len(got), err)
	}
	got, err = r.Read(ctx, got, 0, 0)
	if err != nil || len(got) != 1 || string(got[0].Data) != "four" || got[0].Seq != 4 {
		t.Fatalf("last: %v %v", got, err)
	}
}

func TestReadBlocksUntilAppend(t *testing.T) {
	b := open(t, t.TempDir(), buffer.Options{Cursors: []string{"a"}})
	r, _ := b.Reader("a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Read(ctx, nil, 10, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read on empty buffer: %v, want deadline exceeded", err)
	}
	done := make(chan []buffer.Entry)
	go func() {
		got, err := r.Read(context.Background(), nil, 10, 0)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	if _, err := b.Append(context.Background(), [][]byte{[]byte("hello")}); err != nil {
		t.Fatal(err)
	}
	if got := <-done; len(got) != 1 || string(got[0].Data) != "hello" {
		t.Fatalf("got %v", got)
	}
}

func TestRestartContinues(t *testing.T) {
	dir := t.TempDir()
	opts := buffer.Options{Cursors: []string{"es", "loki"}, SegmentBytes: 2048}
	b, err := buffer.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, b, 0, 300, 10)
	es, _ := b.Reader("es")
	loki, _ := b.Reader("loki")
	readN(t, es, 250) // read, but ack only 200
	if err := es.Ack(200); err != nil {
		t.Fatal(err)
	}
	if err := loki.Ack(50); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.Append(context.Background(), [][]byte{[]byte("x")}); !errors.Is(err, sidetrail.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := es.Read(context.Background(), nil, 1, 0); !errors.Is(err, sidetrail.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}

	b = open(t, dir, opts)
	if st := b.Stats(); st.NextSeq != 301 || st.Cursors[0].Acked != 200 || st.Cursors[1].Acked != 50 || st.TornBytes != 0 || st.Corrupt != 0 ||
		st.Cursors[0].LagRecords != 100 || st.Cursors[1].LagRecords != 250 || st.Cursors[1].LagBytes <= st.Cursors[0].LagBytes {
		t.Fatalf("after reopen: %+v", st)
	}
	if last := appendRange(t, b, 300, 310, 10); last != 310 {
		t.Fatalf("seq after reopen: %d, want 310", last)
	}
	es, _ = b.Reader("es")
	checkEntries(t, readN(t, es, 110), 201, 200)
	loki, _ = b.Reader("loki")
	checkEntries(t, readN(t, loki, 260), 51, 50)
}

func TestSegmentDeletionWaitsForEveryCursor(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir, buffer.Options{Cursors: []string{"a", "b"}, SegmentBytes: 1024})
	appendRange(t, b, 0, 200, 5)
	n0 := len(segFiles(t, dir))
	ra, _ := b.Reader("a")
	rb, _ := b.Reader("b")
	readN(t, ra, 200)
	if err := ra.Ack(200); err != nil {
		t.Fatal(err)
	}
	buffer.Reap(b)
	if n := len(segFiles(t, dir)); n != n0 {
		t.Fatalf("segments deleted while cursor b has acked nothing: %d -> %d", n0, n)
	}
	got := readN(t, rb, 100)
	if err := rb.Ack(got[99].Seq); err != nil {
		t.Fatal(err)
	}
	buffer.Reap(b)
	mid := len(segFiles(t, dir))
	if mid >= n0 || mid <= 1 {
		t.Fatalf("after b acked half: %d segments (from %d)", mid, n0)
	}
	// What remains still holds everything after 100 for b.
	checkEntries(t, readN(t, rb, 100), 101, 100)
	if err := rb.Ack(200); err != nil {
		t.Fatal(err)
	}
	buffer.Reap(b)
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("after both acked all: %d segments, want 1", n)
	}
	if st := b.Stats(); st.Segments != 1 || st.Records != 0 && st.Records > 200 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCursorsAddedAndRemoved(t *testing.T) {
	dir := t.TempDir()
	b, err := buffer.Open(dir, buffer.Options{Cursors: []string{"old", "keep"}, SegmentBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, b, 0, 100, 10)
	old, _ := b.Reader("old")
	keep, _ := b.Reader("keep")
	if err := old.Ack(100); err != nil {
		t.Fatal(err)
	}
	if err := keep.Ack(40); err != nil {
		t.Fatal(err)
	}
	oldest := b.Stats()
	b.Close()
	if _, err := os.Stat(filepath.Join(dir, "old.cursor")); err != nil {
		t.Fatalf("cursor file: %v", err)
	}

	b = open(t, dir, buffer.Options{Cursors: []string{"keep", "new"}, SegmentBytes: 1024})
	if _, err := os.Stat(filepath.Join(dir, "old.cursor")); !os.IsNotExist(err) {
		t.Fatalf("removed cursor's file still there: %v", err)
	}
	if _, err := b.Reader("old"); err == nil {
		t.Fatal("Reader for a removed cursor succeeded")
	}
	// The new cursor starts at the oldest retained record: the start of the
	// segment that holds 41 (segments before it were deleted).
	nw, _ := b.Reader("new")
	got := readN(t, nw, 1)
	if got[0].Seq > 41 || got[0].Seq < 2 {
		t.Fatalf("new cursor starts at %d; want the oldest retained record (≤ 41, segments were deleted)", got[0].Seq)
	}
	rest := readAvailable(t, nw)
	checkEntries(t, append(got, rest...), got[0].Seq, int(got[0].Seq)-1)
	if last := rest[len(rest)-1].Seq; last != 100 {
		t.Fatalf("new cursor ends at %d", last)
	}
	_ = oldest
	if _, err := buffer.Open(t.TempDir(), buffer.Options{Cursors: []string{"a/b"}}); err == nil {
		t.Fatal("cursor name with a slash accepted")
	}
	if _, err := buffer.Open(t.TempDir(), buffer.Options{Cursors: []string{"a", "a"}}); err == nil {
		t.Fatal("duplicate cursor accepted")
	}
}

func TestAckRules(t *testing.T) {
	b := open(t, t.TempDir(), buffer.Options{Cursors: []string{"a"}})
	appendRange(t, b, 0, 10, 10)
	r, _ := b.Reader("a")
	if err := r.Ack(11); err == nil {
		t.Fatal("Ack beyond the last record succeeded")
	}
	if err := r.Ack(5); err != nil {
		t.Fatal(err)
	}
	if err := r.Ack(3); err != nil {
		t.Fatalf("Ack below the cursor: %v", err)
	}
	if st := b.Stats(); st.Cursors[0].Acked != 5 {
		t.Fatalf("acked %d", st.Cursors[0].Acked)
	}
	// Acking ahead of reading moves the read position forward.
	checkEntries(t, readN(t, r, 5), 6, 5)
	// Rewind hands out the unacked records again.
	if err := r.Rewind(); err != nil {
		t.Fatal(err)
	}
	checkEntries(t, readN(t, r, 5), 6, 5)
	if err := r.Ack(8); err != nil {
		t.Fatal(err)
	}
	r.Rewind()
	checkEntries(t, readN(t, r, 2), 9, 8)
}

func TestCloseWakesWaiters(t *testing.T) {
	b, err := buffer.Open(t.TempDir(), buffer.Options{Cursors: []string{"a"}, MaxBytes: 1024, SegmentBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for b.Stats().Bytes < 700 { // fill it so that a 400-byte record blocks
		appendRange(t, b, n, n+1, 1)
		n++
	}
	r, _ := b.Reader("a")
	readN(t, r, n)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, err := r.Read(context.Background(), nil, 1, 0)
		errs <- err
	}()
	go func() {
		defer wg.Done()
		_, err := b.Append(context.Background(), [][]byte{bytes.Repeat([]byte("y"), 400)})
		errs <- err
	}()
	waitFor(t, "Append to block", func() bool { return b.Stats().Full })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, sidetrail.ErrClosed) {
			t.Fatalf("waiter woke with %v, want ErrClosed", err)
		}
	}
	if err := r.Ack(1); !errors.Is(err, sidetrail.ErrClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentAppendersAndReaders(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir, buffer.Options{Cursors: []string{"a", "b"}, SegmentBytes: 16 << 10, MaxBytes: 256 << 10})
	const writers, perWriter = 4, 500
	total := writers * perWriter
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i += 10 {
				var recs [][]byte
				for j := i; j < i+10; j++ {
					recs = append(recs, fmt.Appendf(nil, "w%d-%d", w, j))
				}
				if _, err := b.Append(context.Background(), recs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	results := make([][]string, 2)
	for i, name := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := b.Reader(name)
			var dst []buffer.Entry
			var want uint64 = 1
			for len(results[i]) < total {
				var err error
				dst, err = r.Read(context.Background(), dst, 64, 0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range dst {
					if e.Seq != want {
						t.Errorf("reader %s: seq %d, want %d", name, e.Seq, want)
						return
					}
					want++
					results[i] = append(results[i], string(e.Data))
				}
				if err := r.Ack(dst[len(dst)-1].Seq); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range results {
		if len(results[i]) != total {
			t.Fatalf("reader %d got %d records", i, len(results[i]))
		}
		// Each writer's records arrive in its order.
		next := make([]int, writers)
		for _, s := range results[i] {
			var w, j int
			fmt.Sscanf(s, "w%d-%d", &w, &j)
			if j != next[w] {
				t.Fatalf("reader %d: writer %d record %d, want %d", i, w, j, next[w])
			}
			next[w]++
		}
	}
	if !slices.Equal(results[0], results[1]) {
		t.Fatal("the two cursors saw different logs")
	}
}

func TestFsyncIntervalAndAlways(t *testing.T) {
	for _, p := range []buffer.FsyncPolicy{buffer.FsyncInterval, buffer.FsyncAlways} {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := buffer.Options{Cursors: []string{"a"}, Fsync: p, FsyncInterval: 5 * time.Millisecond, SegmentBytes: 1024}
			b, err := buffer.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			appendRange(t, b, 0, 100, 7)
			r, _ := b.Reader("a")
			checkEntries(t, readN(t, r, 100), 1, 0)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = open(t, dir, opts)
			r, _ = b.Reader("a")
			checkEntries(t, readN(t, r, 100), 1, 0)
		})
	}
}

func TestEmptyAppend(t *testing.T) {
	b := open(t, t.TempDir(), buffer.Options{})
	if seq, err := b.Append(context.Background(), nil); err != nil || seq != 0 {
		t.Fatalf("empty Append on empty buffer: %d %v", seq, err)
	}
	appendRange(t, b, 0, 3, 3)
	if seq, err := b.Append(context.Background(), nil); err != nil || seq != 3 {
		t.Fatalf("empty Append: %d %v", seq, err)
	}
}

// ReadAppend hands out what Read does, in the caller's memory: one cursor
// reads with Read, another with ReadAppend into one growing arena, in
// random limits, across segments; the records and the arena must match.
func TestReadAppendMatchesRead(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir, buffer.Options{Cursors: []string{"read", "append"}, SegmentBytes: 2048, TailCache: 1000})
	appendRange(t, b, 0, 500, 7)
	r1, _ := b.Reader("read")
	r2, _ := b.Reader("append")
	rnd := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	var want [][]byte
	for len(want) < 500 {
		got, err := r1.Read(ctx, nil, 1+rnd.IntN(50), rnd.IntN(3000))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			want = append(want, bytes.Clone(e.Data))
		}
	}
	arena := []byte("prefix the arena already held")
	var seqs []uint64
	var ends []int
	for len(seqs) < 500 {
		var got []buffer.Entry
		var err error
		end := len(arena)
		arena, got, err = r2.ReadAppend(ctx, arena, nil, 1+rnd.IntN(50), rnd.IntN(3000))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			end += len(e.Data)
			if !bytes.Equal(e.Data, arena[end-len(e.Data):end]) {
				t.Fatalf("seq %d: Data is not the arena's bytes", e.Seq)
			}
			ends = append(ends, end)
			seqs = append(seqs, e.Seq)
		}
	}
	if !bytes.HasPrefix(arena, []byte("prefix the arena already held")) {
		t.Fatal("ReadAppend changed what the arena held")
	}
	start := len("prefix the arena already held")
	for i, seq := range seqs {
		if seq != uint64(i+1) || !bytes.Equal(arena[start:ends[i]], want[i]) {
			t.Fatalf("record %d: seq %d, %q, want %q", i, seq, arena[start:ends[i]], want[i])
		}
		start = ends[i]
	}
}

// closedSegments appends n records to a buffer in dir, in segments of 1
// KiB, and closes it. It returns the options it used and the segment files,
// at least min of them.
func closedSegments(t *testing.T, dir string, n, min int) (buffer.Options, []string) {
	t.Helper()
	opts := buffer.Options{Cursors: []string{"a"}, SegmentBytes: 1024}
	b := open(t, dir, opts)
	appendRange(t, b, 0, n, 10)
	b.Close()
	segs := segFiles(t, dir)
	if len(segs) < min {
		t.Fatalf("%d segments", len(segs))
	}
	return opts, segs
}
