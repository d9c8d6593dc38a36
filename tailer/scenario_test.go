package tailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The scenario: one writer produces numbered lines through every kind of
// rotation while a consumer reads them the way the pipeline does (batch,
// "append", commit), and checks each line's bytes, offsets and key against
// what the writer wrote.

const bigLineBytes = 5 << 20

// lineContent is line n's bytes without the newline.
func lineContent(n int) []byte {
	fill := (n * 7919) % 120
	b := make([]byte, 0, 9+fill)
	b = fmt.Appendf(b, "%08d ", n)
	for i := 0; i < fill; i++ {
		b = append(b, byte('a'+(n+i)%26))
	}
	return b
}

func bigContent(n int) []byte {
	b := fmt.Appendf(nil, "%08d ", n)
	for len(b) < bigLineBytes {
		b = append(b, "0123456789abcdefghijklmnopqrstuvwxyz"...)
	}
	return b[:bigLineBytes]
}

type expLine struct {
	gen        int
	start, end int64
	big        bool
	window     bool // written between a copytruncate's copy and truncation
}

type scenario struct {
	t    *testing.T
	dir  string
	opts Options

	mu       sync.Mutex
	exp      []expLine
	count    []int
	genKey   map[int]uint64
	keyGen   map[uint64]int
	big      []byte
	bad      []string
	lastSeen int

	// writer state
	w       *os.File
	gen     int
	off     int64
	n       int
	nextGen int
	rng     *rand.Rand

	restart chan chan struct{} // consumer: Close + New, then close the ack
	pause   chan chan struct{} // consumer: stop calling Next until the chan is closed
	dumpReq chan chan string   // consumer: describe the tailer's files (debugging failures)
	crash   bool               // restarts abandon the Tailer instead of closing it
	dups    int
	tailers []*Tailer
}

func newScenario(t *testing.T, opts Options) *scenario {
	return &scenario{
		t: t, dir: filepath.Dir(opts.Paths[0]), opts: opts,
		genKey: map[int]uint64{}, keyGen: map[uint64]int{},
		rng:     rand.New(rand.NewPCG(1, 2)),
		restart: make(chan chan struct{}), pause: make(chan chan struct{}), dumpReq: make(chan chan string),
	}
}

func (s *scenario) path(name string) string { return filepath.Join(s.dir, name) }

// create starts a new logical file at name and makes it the writer's target.
func (s *scenario) create(name string) {
	if s.w != nil {
		s.w.Close()
	}
	f, err := os.OpenFile(s.path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	s.w, s.off = f, 0
	s.nextGen++
	s.gen = s.nextGen
}

// write appends k numbered lines to the current target in a few writes cut
// at random points (so the reader sees partial lines).
func (s *scenario) write(k int, window bool) {
	var buf []byte
	for i := 0; i < k; i++ {
		c := lineContent(s.n)
		s.record(expLine{gen: s.gen, start: s.off + int64(len(buf)), end: s.off + int64(len(buf)+len(c)+1), window: window})
		buf = append(append(buf, c...), '\n')
	}
	s.flush(buf)
}

func (s *scenario) record(e expLine) {
	s.mu.Lock()
	s.exp = append(s.exp, e)
	s.count = append(s.count, 0)
	s.mu.Unlock()
	s.n++
}

func (s *scenario) flush(buf []byte) {
	for len(buf) > 0 {
		cut := len(buf)
		if len(buf) > 1 && s.rng.IntN(3) > 0 {
			cut = 1 + s.rng.IntN(len(buf)-1)
		}
		if _, err := s.w.Write(buf[:cut]); err != nil {
			s.t.Fatal(err)
		}
		s.off += int64(cut)
		buf = buf[cut:]
	}
}

// writeMany writes total lines in batches of up to 200.
func (s *scenario) writeMany(total int) {
	for total > 0 {
		k := min(total, 1+s.rng.IntN(200))
		s.write(k, false)
		total -= k
	}
}

// waitDelivered waits until every line so far (but window lines) arrived.
func (s *scenario) waitDelivered(within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		s.mu.Lock()
		missing := -1
		for n := s.lastSeen; n < len(s.exp); n++ {
			if s.count[n] == 0 && !s.exp[n].window {
				missing = n
				break
			}
			s.lastSeen = n + 1
		}
		s.mu.Unlock()
		if missing < 0 {
			return
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			e := s.exp[missing]
			s.mu.Unlock()
			r := make(chan string)
			select {
			case s.dumpReq <- r:
				s.t.Log(<-r)
			case <-time.After(time.Second):
			}
			s.t.Fatalf("line %d (gen %d at %d) not delivered within %v", missing, e.gen, e.start, within)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

func (s *scenario) fail(format string, args ...any) {
	s.mu.Lock()
	if len(s.bad) < 20 {
		s.bad = append(s.bad, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
}

// check verifies one complete line (reassembled if fragmented).
func (s *scenario) check(key uint64, start, end int64, b []byte, big bool) {
	if len(b) < 9 {
		s.fail("short line %q at %d", b, start)
		return
	}
	n, err := strconv.Atoi(string(b[:8]))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || n < 0 || n >= len(s.exp) {
		if len(s.bad) < 20 {
			s.bad = append(s.bad, fmt.Sprintf("unknown line %.40q at %d", b, start))
		}
		return
	}
	e := s.exp[n]
	want := lineContent(n)
	if e.big {
		want = s.big
	}
	msg := ""
	switch {
	case e.big != big:
		msg = "fragmented differently than expected"
	case e.start != start || e.end != end:
		msg = fmt.Sprintf("offsets [%d,%d) want [%d,%d)", start, end, e.start, e.end)
	case !bytes.Equal(b, want):
		msg = "content differs"
	}
	if k, ok := s.genKey[e.gen]; !ok {
		s.genKey[e.gen] = key
		if g, ok := s.keyGen[key]; ok && g != e.gen {
			msg = fmt.Sprintf("key %x of gen %d reused for gen %d", key, g, e.gen)
		}
		s.keyGen[key] = e.gen
	} else if k != key {
		msg = fmt.Sprintf("gen %d key %x, earlier %x", e.gen, key, k)
	}
	if msg != "" && len(s.bad) < 20 {
		s.bad = append(s.bad, fmt.Sprintf("line %d: %s", n, msg))
	}
	s.count[n]++
	if s.count[n] > 1 {
		s.dups++
	}
}

// consume runs the pipeline side until ctx ends.
func (s *scenario) consume(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tl, err := New(s.opts)
	if err != nil {
		s.fail("New: %v", err)
		return
	}
	s.mu.Lock()
	s.tailers = append(s.tailers, tl)
	s.mu.Unlock()
	pending := map[uint64]Position{}
	commit := func() {
		for k, p := range pending {
			tl.Commit(p)
			delete(pending, k)
		}
	}
	type asm struct {
		start int64
		buf   []byte
	}
	frag := map[uint64]*asm{}
	batch := 0
	for {
		select {
		case ack := <-s.restart:
			if s.crash {
				// Commit what the batch "appended", then die: only what the
				// flusher already persisted survives.
				commit()
				tl.shutdown(false)
			} else {
				commit()
				if err := tl.Close(); err != nil {
					s.fail("Close: %v", err)
				}
			}
			if tl, err = New(s.opts); err != nil {
				s.fail("New: %v", err)
				close(ack)
				return
			}
			s.mu.Lock()
			s.tailers = append(s.tailers, tl)
			s.mu.Unlock()
			close(ack)
		case release := <-s.pause:
			<-release
		case r := <-s.dumpReq:
			r <- tl.dump() + fmt.Sprintf("%+v", tl.Stats())
		default:
		}
		lctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		l, err := tl.Next(lctx)
		cancel()
		if err != nil {
			commit() // the batch times out: append + commit
			batch = 0
			if ctx.Err() != nil {
				tl.Close()
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				s.fail("Next: %v", err)
				return
			}
			continue
		}
		pending[l.Key] = l.Pos
		if batch++; batch >= 500 {
			commit()
			batch = 0
		}
		if l.Fragment {
			// Assemblies are kept after completion so that a replay after a
			// crash (or a restart inside the line) continues them.
			a := frag[l.Key]
			if a == nil || l.Start > a.start+int64(len(a.buf)) || l.Start < a.start {
				a = &asm{start: l.Start}
				frag[l.Key] = a
			}
			a.buf = append(a.buf[:l.Start-a.start], l.Bytes...)
			if l.End == l.Start+int64(len(l.Bytes))+1 {
				s.check(l.Key, a.start, l.End, a.buf, true)
			}
			continue
		}
		s.check(l.Key, l.Start, l.End, l.Bytes, false)
	}
}

func (s *scenario) requestRestart() {
	ack := make(chan struct{})
	s.restart <- ack
	<-ack
}

func (s *scenario) pauseConsumer() chan struct{} {
	release := make(chan struct{})
	s.pause <- release
	return release
}

// consumeInBackground runs consume until the returned stop is called
// (more than once is fine).
func (s *scenario) consumeInBackground() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go s.consume(ctx, done)
	return func() {
		cancel()
		<-done
	}
}

// run executes the writer's script; lines is the rough total.
func (s *scenario) run(scale int) {
	t := s.t
	s.big = bigContent(0) // number patched below
	stop := s.consumeInBackground()
	defer stop()

	// gen1: the live file.
	s.create("app.log")
	s.writeMany(scale)

	// Rename rotation; the writer keeps appending to the renamed file
	// until it "reopens".
	if err := os.Rename(s.path("app.log"), s.path("app.log.1")); err != nil {
		t.Fatal(err)
	}
	newFile, err := os.OpenFile(s.path("app.log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	newFile.Close()
	s.writeMany(scale / 20)
	s.w.Close()
	s.w, err = os.OpenFile(s.path("app.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.nextGen++
	s.gen, s.off = s.nextGen, 0
	s.writeMany(scale / 2)
	s.requestRestart() // a clean restart mid-stream
	s.writeMany(scale / 2)

	// copytruncate: copy, a window of lines, truncate.
	s.waitDelivered(30 * time.Second)
	src, err := os.Open(s.path("app.log"))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(s.path("app.log.2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	windowFrom := s.n
	s.write(300, true)
	windowTo := s.n
	if err := os.Truncate(s.path("app.log"), 0); err != nil {
		t.Fatal(err)
	}
	s.nextGen++
	s.gen, s.off = s.nextGen, 0
	s.writeMany(scale)

	// Truncate and regrow past the old size while the tailer is not
	// looking (between two scans).
	s.waitDelivered(30 * time.Second)
	release := s.pauseConsumer()
	if err := os.Truncate(s.path("app.log"), 0); err != nil {
		t.Fatal(err)
	}
	oldSize := s.off
	s.nextGen++
	s.gen, s.off = s.nextGen, 0
	var buf []byte
	for int64(len(buf)) <= oldSize+1000 {
		c := lineContent(s.n)
		s.record(expLine{gen: s.gen, start: int64(len(buf)), end: int64(len(buf) + len(c) + 1)})
		buf = append(append(buf, c...), '\n')
	}
	if _, err := s.w.Write(buf); err != nil {
		t.Fatal(err)
	}
	s.off = int64(len(buf))
	close(release)

	// A deleted file, unread when deleted (the tailer holds it open).
	mainW, mainGen, mainOff := s.w, s.gen, s.off
	s.w = nil
	s.create("app.log.del")
	s.write(1, false)
	s.waitDelivered(30 * time.Second)
	s.writeMany(scale / 2)
	if err := os.Remove(s.path("app.log.del")); err != nil {
		t.Fatal(err)
	}
	s.w.Close()
	s.w, s.gen, s.off = mainW, mainGen, mainOff
	// A deleted file cannot be found again after a restart: let it be read
	// before the next one.
	s.waitDelivered(30 * time.Second)

	// A 5 MiB line, written in pieces.
	s.writeMany(100)
	copy(s.big, fmt.Appendf(nil, "%08d ", s.n))
	s.record(expLine{gen: s.gen, start: s.off, end: s.off + bigLineBytes + 1, big: true})
	for b := append(s.big[:len(s.big):len(s.big)], '\n'); len(b) > 0; {
		k := min(len(b), 1<<20+12345)
		if _, err := s.w.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		s.off += int64(k)
		b = b[k:]
	}
	s.requestRestart() // restart again, maybe in the middle of the big line
	s.writeMany(scale / 2)

	// End without a newline, then rotate away: the tail is emitted once the
	// file is finished.
	c := lineContent(s.n)
	s.record(expLine{gen: s.gen, start: s.off, end: s.off + int64(len(c))})
	s.flush(c)
	if err := os.Rename(s.path("app.log"), s.path("app.log.3")); err != nil {
		t.Fatal(err)
	}
	s.w.Close()

	s.waitDelivered(60 * time.Second)
	// Linger to catch duplicates.
	deadline := time.Now().Add(3 * s.opts.RotateWait)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // waiting for nothing more to arrive
	}
	stop()
	s.verify(fmt.Sprintf("copytruncate window lines %d..%d", windowFrom, windowTo))
}

// verify checks, once the consumer stopped, that every line but window lines
// arrived, with no duplicate unless restarts were crashes, and logs counts.
func (s *scenario) verify(note string) {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bad {
		t.Error(b)
	}
	var lost, windowLost, windowGot int
	for n, c := range s.count {
		e := s.exp[n]
		switch {
		case e.window && c == 0:
			windowLost++
		case e.window:
			windowGot++
		case c == 0:
			lost++
		}
		if c > 1 && !s.crash {
			t.Errorf("line %d delivered %d times", n, c)
		}
	}
	var st Stats
	for _, tl := range s.tailers {
		x := tl.Stats()
		st.TruncatedBytesLost += x.TruncatedBytesLost
		st.Truncations += x.Truncations
		st.Copies += x.Copies
		st.Rotations += x.Rotations
		st.Fragments += x.Fragments
		st.LinesRead += x.LinesRead
	}
	t.Logf("%d lines in %d logical files; lost %d; duplicates %d; %s: %d delivered, %d lost; "+
		"stats: truncations %d, copies %d, rotations %d, fragments %d, lines read %d, TruncatedBytesLost %d",
		len(s.exp), s.nextGen, lost, s.dups, note, windowGot, windowLost,
		st.Truncations, st.Copies, st.Rotations, st.Fragments, st.LinesRead, st.TruncatedBytesLost)
	if lost != 0 {
		t.Errorf("%d lines lost", lost)
	}
	if !s.crash && s.dups != 0 {
		t.Errorf("%d duplicates", s.dups)
	}
}

func scenarioOptions(t *testing.T) Options {
	dir := t.TempDir()
	return Options{
		Source:             "scenario",
		Paths:              []string{filepath.Join(dir, "app.log*")},
		Exclude:            []string{"*.gz"},
		ScanInterval:       50 * time.Millisecond,
		RotateWait:         300 * time.Millisecond,
		CheckpointPath:     filepath.Join(t.TempDir(), "checkpoint.json"),
		CheckpointInterval: 50 * time.Millisecond,
		Logger:             testLogger(),
	}
}

func scenarioScale() int {
	if os.Getenv("SIDETRAIL_SOAK") != "" {
		return 400_000
	}
	return 50_000 // ≈ 3.3 × scale lines = 200,000
}

func TestScenarioExactlyOnce(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "fsnotify", true: "poll"}[poll], func(t *testing.T) {
			o := scenarioOptions(t)
			o.Poll = poll
			s := newScenario(t, o)
			s.run(scenarioScale())
			if len(s.exp) < 200_000 {
				t.Errorf("only %d lines", len(s.exp))
			}
		})
	}
}

func TestScenarioCrash(t *testing.T) {
	o := scenarioOptions(t)
	s := newScenario(t, o)
	s.crash = true
	s.run(scenarioScale())
}
