package tailer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCopyTruncateGenerations: logrotate's copytruncate, rotation after
// rotation, shifting the generations (.1 -> .2 -> .3 ...) before each copy,
// with lines written throughout. Each shift of the newest copy lands only
// after scans that miss it (a rename in flight while the tailer globs), by
// which time the copy is read to its end and quiet, so it is closed while out
// of sight. Every line must arrive exactly once, under its original's key, at
// its original offsets, whichever name the copy has when it is read.
func TestCopyTruncateGenerations(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "fsnotify", true: "poll"}[poll], func(t *testing.T) {
			o := scenarioOptions(t)
			o.Poll = poll
			o.ScanInterval = 10 * time.Millisecond
			o.RotateWait = 50 * time.Millisecond
			s := newScenario(t, o)
			stop := s.consumeInBackground()
			defer stop()

			s.create("app.log")
			s.writeMany(500)
			const rotations = 4
			for r := 0; r < rotations; r++ {
				s.waitDelivered(10 * time.Second)
				s.shiftGenerations(r)
				s.copyTruncate(50)
				s.writeMany(500)
			}
			s.waitDelivered(10 * time.Second)
			s.linger(3 * o.RotateWait)
			stop()
			s.verify(fmt.Sprintf("%d copytruncate rotations", rotations))
		})
	}
}

// shiftGenerations renames app.log.N to app.log.N+1, highest first, for the
// gens copies made so far. The newest (app.log.1) goes through a name outside
// the globs and stays there until the tailer has closed it (it is read to its
// end and quiet, and no scan finds it), writing lines meanwhile.
func (s *scenario) shiftGenerations(gens int) {
	for n := gens; n >= 2; n-- {
		if err := os.Rename(s.path(fmt.Sprintf("app.log.%d", n)), s.path(fmt.Sprintf("app.log.%d", n+1))); err != nil {
			s.t.Fatal(err)
		}
	}
	if gens == 0 {
		return
	}
	inflight := s.path("renaming")
	if err := os.Rename(s.path("app.log.1"), inflight); err != nil {
		s.t.Fatal(err)
	}
	s.waitOpenFiles(1) // only the live file
	if err := os.Rename(inflight, s.path("app.log.2")); err != nil {
		s.t.Fatal(err)
	}
}

// copyTruncate copies app.log to a new app.log.1, writes window lines to
// app.log (they may be lost, never duplicated), truncates it and carries on
// writing there as a new logical file.
func (s *scenario) copyTruncate(window int) {
	src, err := os.Open(s.path("app.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(s.path("app.log.1"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		s.t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		s.t.Fatal(err)
	}
	s.write(window, true)
	if err := os.Truncate(s.path("app.log"), 0); err != nil {
		s.t.Fatal(err)
	}
	s.nextGen++
	s.gen, s.off = s.nextGen, 0
}

// waitOpenFiles writes a line at a time to the live file until the current
// tailer holds n descriptors.
func (s *scenario) waitOpenFiles(n int) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		tl := s.tailers[len(s.tailers)-1]
		s.mu.Unlock()
		st := tl.Stats()
		if st.OpenFiles == n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("open files %d, want %d", st.OpenFiles, n)
		}
		s.write(1, false)
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// linger waits d for duplicates to show up.
func (s *scenario) linger(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // waiting for nothing more to arrive
	}
}

// A copy is the copy of the live file whose head it holds longest: a file
// holding only a banner has it whole as its head, and a copytruncate copy
// of a longer file sharing that banner was held as the banner file's copy.
// The real original's unread lines were then counted lost at its
// truncation (tailer10: 7,022 of 8,060 lines).
func TestCopyOfLongestAgreeingOriginal(t *testing.T) {
	dir := t.TempDir()
	const banner3 = "#Software: Example App 1.0\n#Version: 1.0\n#Fields: date time cs-method cs-uri"
	bannerFile(t, filepath.Join(dir, "app-error.log"), banner3, "", 0)
	app := filepath.Join(dir, "app.log")
	first := bannerFile(t, app, banner3, "app", 40)
	opts := testOptions(dir)
	tl := mustNew(t, opts)
	collect(t, tl, 3+2+len(first), 5*time.Second) // the banner is three lines

	// Lines the tailer has not read yet; then copytruncate.
	var behind []string
	for i := 0; i < 30; i++ {
		behind = append(behind, fmt.Sprintf("behind %02d", i))
	}
	appendFile(t, app, strings.Join(behind, "\n")+"\n")
	b, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(app+".1", b, 0o644)
	os.Truncate(app, 0)
	appendFile(t, app, "after 1\n")

	got := collect(t, tl, len(behind)+1, 5*time.Second)
	want := append(behind, "after 1")
	slices.Sort(want)
	var texts []string
	for _, g := range got {
		texts = append(texts, g.Bytes)
	}
	slices.Sort(texts)
	if !slices.Equal(texts, want) {
		t.Fatalf("read %q\nwant %q", texts, want)
	}
	expectQuiet(t, tl, 3*opts.RotateWait)
}

// A copytruncate copy of a file that had given its descriptor up, made
// just before a stop (or reload), continues the file's checkpoint entry
// even when it waits for a descriptor longer than rotate_wait: the entry's
// orphan is kept while files wait. Before, the whole copy was read again
// (tailer10: 100 duplicates after a clean stop or reload).
func TestCopyWaitingForDescriptorAfterRestart(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(dir, "ck.json")
	o.MaxOpenFiles = 2
	b, c := filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	a := copyTruncatedWhileStopped(t, o, dir, b, c)

	// b.log and c.log are busy: the copy waits for a descriptor well past
	// rotate_wait, then gets one when they go quiet.
	stop := keepBusy(t, o.RotateWait/4, b, c)
	tl2 := mustNew(t, o)
	ls := readUntil(t, tl2, nil, 5*o.RotateWait)
	stop()
	ls = readUntil(t, tl2, ls, 10*time.Second, "a2", "a3")
	checkCopyContinued(t, a, ls)
	expectQuiet(t, tl2, 3*o.RotateWait)
}

// A copy written in pieces smaller than 64 bytes is still told from a new
// file: while what it holds agrees with its original's head, it waits.
// Before, a copy first seen with under 64 bytes was read as a new file,
// whole (tailer10: 230 duplicates of 240 lines).
func TestCopyWrittenInSmallPieces(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	a := filepath.Join(dir, "a.log")
	var content string
	for i := 0; i < 20; i++ {
		content += fmt.Sprintf("line %02d of a\n", i)
	}
	appendFile(t, a, content)
	tl := mustNew(t, o)
	collect(t, tl, 20, 5*time.Second)
	cp := a + ".1"
	for i := 0; i < len(content); i += 32 {
		appendFile(t, cp, content[i:min(i+32, len(content))])
		expectQuiet(t, tl, 30*time.Millisecond) // scans see the copy grow; nothing to read
	}
	os.Truncate(a, 0)
	appendFile(t, a, "after 1\n")
	if ls := collect(t, tl, 1, 5*time.Second); ls[0].Bytes != "after 1" {
		t.Fatalf("lines %q", texts(ls))
	}
	expectQuiet(t, tl, 3*o.RotateWait)
}

// The file that is truncated is the copy's original, whichever file the
// copy was held for: two files sharing a long head cannot be told apart
// when the copy appears, and the original's head may not be read whole
// yet (sidetrail behind). regress10 lost 8,000 of 8,010 lines to a copy
// held under the other file.
func TestCopyHeldForAnotherFileGoesToTheTruncatedOne(t *testing.T) {
	for _, other := range []string{"zz.log", "aa.log"} { // sorting after app.log, and before
		t.Run(other, func(t *testing.T) { copyHeldForAnotherFile(t, other) })
	}
}

func copyHeldForAnotherFile(t *testing.T, other string) {
	dir := t.TempDir()
	var shared string
	for i := 0; len(shared) < 2700; i++ {
		shared += fmt.Sprintf("# shared header line %03d of the application's log files\n", i)
	}
	appendFile(t, filepath.Join(dir, other), shared)
	app := filepath.Join(dir, "app.log")
	cut := strings.Index(shared[300:], "\n") + 301 // app.log is first read with ~340 bytes of it
	appendFile(t, app, shared[:cut])
	o := testOptions(dir)
	tl := mustNew(t, o)
	collect(t, tl, strings.Count(shared, "\n")+strings.Count(shared[:cut], "\n"), 5*time.Second)

	// Behind: the rest of the head and new lines are not read before the copytruncate.
	var behind []string
	for i := 0; i < 30; i++ {
		behind = append(behind, fmt.Sprintf("behind %02d", i))
	}
	appendFile(t, app, shared[cut:]+strings.Join(behind, "\n")+"\n")
	copyTruncate(t, app, app+".1")
	appendFile(t, app, "after 1\n")

	want := append(strings.Split(strings.TrimSuffix(shared[cut:], "\n"), "\n"), behind...)
	want = append(want, "after 1")
	got := texts(collect(t, tl, len(want), 5*time.Second))
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("read %q\nwant %q", got, want)
	}
	expectQuiet(t, tl, 3*o.RotateWait)
}

// A new file that starts with the banner a quiet live file holds whole is
// held as its copy only until it outgrows it, or stays complete for
// rotate_wait while the original is not truncated: held for good, its
// lines were never read, and lost once it was rotated away (regress10: 0 of
// 118 lines in 30 s).
func TestNewFileSharingABannerFileIsRead(t *testing.T) {
	const banner3 = "#Software: Example App 1.0\n#Version: 1.0\n#Fields: date time cs-method cs-uri\n"
	for _, grow := range []bool{true, false} {
		t.Run(fmt.Sprintf("grows=%v", grow), func(t *testing.T) {
			dir := t.TempDir()
			appendFile(t, filepath.Join(dir, "app-error.log"), banner3)
			o := testOptions(dir)
			tl := mustNew(t, o)
			collect(t, tl, 3, 5*time.Second)
			p := filepath.Join(dir, "app.log")
			appendFile(t, p, banner3)
			expectQuiet(t, tl, 50*time.Millisecond) // held as a copy
			if grow {
				appendFile(t, p, "first line of its own\n")
			}
			n := 3 + btoi(grow)
			ls := collect(t, tl, n, 5*time.Second)
			if ls[0].Path != p || ls[0].Start != 0 {
				t.Fatalf("lines %q from %s at %d", texts(ls), ls[0].Path, ls[0].Start)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A truncation seen while running leaves two checkpoint entries for one
// inode: the old content's, waiting for a copy, and the new content's. A
// clean stop within rotate_wait then a start read the new lines again:
// only one entry per inode was kept (regress10: 10 of 10 lines, 5 of 5
// runs).
func TestStopRightAfterTruncationRepeatsNothing(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(dir, "ck.json")
	o.RotateWait = 2 * time.Second
	a := filepath.Join(dir, "a.log")
	for i := 0; i < 20; i++ {
		appendFile(t, a, fmt.Sprintf("old line %02d of a.log, long enough\n", i))
	}
	tl, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	collect(t, tl, 20, 5*time.Second)
	os.Truncate(a, 0)
	appendFile(t, a, "new 1\nnew 2\n")
	collect(t, tl, 2, 5*time.Second)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	tl2 := mustNew(t, o)
	expectQuiet(t, tl2, 500*time.Millisecond)
	appendFile(t, a, "new 3\n")
	if ls := collect(t, tl2, 1, 5*time.Second); ls[0].Bytes != "new 3" {
		t.Fatalf("lines %q", texts(ls))
	}
}

// A copy that waits for a descriptor through two restarts (or reloads)
// still continues its original: the orphan waiting for it is kept in the
// checkpoint. Held only in memory, it was gone after the second, and the
// whole copy was read again (regress10: 100 duplicates).
func TestCopyWaitingThroughTwoRestarts(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(dir, "ck.json")
	o.MaxOpenFiles = 2
	b := filepath.Join(dir, "0b.log") // sorts first: opened first at a start
	a := copyTruncatedWhileStopped(t, o, dir, b)

	// 0b.log and a.log stay busy through two restarts: the copy waits for
	// a descriptor, after the first found a.log truncated.
	stop := keepBusy(t, o.RotateWait/4, b, a)
	var ls []got
	for range 2 {
		tl2, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		ls = readUntil(t, tl2, ls, 3*o.RotateWait)
		if err := tl2.Close(); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	tl3 := mustNew(t, o)
	ls = readUntil(t, tl3, ls, 10*time.Second, "a2", "a3")
	checkCopyContinued(t, a, ls)
}

// A new file sharing the banner of a file that gave its descriptor up
// (parked, quiet) is read too: held as its copy, it was never read, since
// a quiet parked file is never opened again (regress10b: 85 of 85 lines
// unshipped, lost once rotated away).
func TestNewFileSharingAParkedBannerFileIsRead(t *testing.T) {
	const banner3 = "#Software: Example App 1.0\n#Version: 1.0\n#Fields: date time cs-method cs-uri\n"
	dir := t.TempDir()
	o := testOptions(dir)
	o.MaxOpenFiles = 2
	busy := filepath.Join(dir, "0b.log")
	appendFile(t, busy, "b0\n")
	appendFile(t, filepath.Join(dir, "app-error.log"), banner3)
	tl := mustNew(t, o)
	collect(t, tl, 4, 5*time.Second)
	defer keepBusy(t, o.RotateWait/4, busy)()
	p := filepath.Join(dir, "app.log")
	appendFile(t, p, banner3+"own 1\n")
	var fromApp []string
	deadline := time.Now().Add(5 * time.Second)
	for len(fromApp) < 4 {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		l, err := tl.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("read from app.log only %q: %v", fromApp, err)
		}
		tl.Commit(l.Pos)
		if l.Path == p {
			fromApp = append(fromApp, string(l.Bytes))
		}
	}
}

// Of two files sharing a long head, the copy may be held under the one
// that is not its original; growing past that one, it is held under the
// other, large enough, instead of being read as a new file (regress10b:
// 20,090 of 20,190 lines read twice).
func TestCopyOutgrowingTheWrongOriginal(t *testing.T) {
	dir := t.TempDir()
	var shared string
	for i := 0; len(shared) < 2700; i++ {
		shared += fmt.Sprintf("# shared header line %03d of the application's log files\n", i)
	}
	appendFile(t, filepath.Join(dir, "a.log"), shared)
	b := filepath.Join(dir, "b.log")
	var body string
	for i := 0; i < 300; i++ {
		body += fmt.Sprintf("b line %03d\n", i)
	}
	appendFile(t, b, shared+body)
	o := testOptions(dir)
	tl := mustNew(t, o)
	collect(t, tl, 2*strings.Count(shared, "\n")+300, 5*time.Second)

	// The copy appears with the shared head only (held under a.log, which
	// sorts first), then outgrows a.log; then b.log is truncated.
	content := shared + body
	appendFile(t, b+".1", content[:len(shared)+10])
	expectQuiet(t, tl, 100*time.Millisecond)
	appendFile(t, b+".1", content[len(shared)+10:])
	expectQuiet(t, tl, 100*time.Millisecond)
	os.Truncate(b, 0)
	appendFile(t, b, "after 1\n")
	if ls := collect(t, tl, 1, 5*time.Second); ls[0].Bytes != "after 1" {
		t.Fatalf("lines %q", texts(ls))
	}
	expectQuiet(t, tl, 3*o.RotateWait)
}

// copyTruncatedWhileStopped runs a tailer (o) over dir/a.log, a line of
// 100 a's, and the others (a line each), stops it, and then, as before a
// stop or reload, appends "a2" to a.log unread, copytruncates it to
// a.log.1 and appends "a3". It returns a.log's path.
func copyTruncatedWhileStopped(t *testing.T, o Options, dir string, others ...string) string {
	t.Helper()
	a := filepath.Join(dir, "a.log")
	appendFile(t, a, strings.Repeat("a", 100)+"\n")
	for _, p := range others {
		appendFile(t, p, "0\n")
	}
	tl, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	collect(t, tl, 1+len(others), 5*time.Second)
	appendFile(t, a, "a2\n") // unread
	copyTruncate(t, a, a+".1")
	appendFile(t, a, "a3\n")
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	return a
}

// keepBusy appends a line to each of files now and every period until the
// returned stop is called (a file written keeps its descriptor).
func keepBusy(t *testing.T, period time.Duration, files ...string) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			for _, p := range files {
				appendFile(t, p, fmt.Sprintf("%s %d\n", filepath.Base(p), i))
			}
			select {
			case <-quit:
				return
			case <-time.After(period):
			}
		}
	}()
	return func() { close(quit); <-done }
}

// readUntil reads from tl (committing) into ls until every one of want
// was read, or, with none, for within; it fails the test if want are not
// all read within.
func readUntil(t *testing.T, tl *Tailer, ls []got, within time.Duration, want ...string) []got {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		missing := 0
		byText := indexByText(ls)
		for _, w := range want {
			if _, ok := byText[w]; !ok {
				missing++
			}
		}
		if len(want) > 0 && missing == 0 {
			return ls
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		l, err := tl.Next(ctx)
		cancel()
		if err != nil {
			if len(want) > 0 {
				t.Fatalf("%q not all read: %q", want, texts(ls))
			}
			return ls
		}
		ls = append(ls, got{Key: l.Key, Path: l.Path, Start: l.Start, End: l.End, Bytes: string(l.Bytes)})
		tl.Commit(l.Pos)
	}
}

// checkCopyContinued: a.log's copy continued it (a2 at 101 in a.log.1),
// not read again from its start.
func checkCopyContinued(t *testing.T, a string, ls []got) {
	t.Helper()
	for _, l := range ls {
		if strings.HasPrefix(l.Bytes, "aaaa") {
			t.Fatalf("the copy was read again from %d: %q", l.Start, texts(ls))
		}
	}
	if a2 := indexByText(ls)["a2"]; a2.Start != 101 || a2.Path != a+".1" {
		t.Fatalf("a2 at %d in %q, want at 101 in the copy", a2.Start, a2.Path)
	}
}

// A parked file copytruncated after its copy was held (max_open_files full,
// another file busy) hands its stream to the copy at once, and its new
// lines are read as soon as a descriptor is free. Before, the held copy
// kept its descriptor and the original waited for one to show its
// truncation: its new lines waited for as long as the other file was
// written (regress10c S1: 0 of 10 in 40 s).
func TestParkedOriginalTruncatedAfterItsCopyIsHeld(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.MaxOpenFiles = 2
	o.RotateWait = 1500 * time.Millisecond
	a := filepath.Join(dir, "app.log")
	var content string
	for i := 0; i < 300; i++ {
		content += fmt.Sprintf("app line %03d\n", i)
	}
	appendFile(t, a, content)
	busy0, busy1 := filepath.Join(dir, "busy0.log"), filepath.Join(dir, "busy1.log")
	appendFile(t, busy0, "busy0 0\n")
	tl := mustNew(t, o)
	ls := readUntil(t, tl, nil, 5*time.Second, "app line 299", "busy0 0")
	defer keepBusy(t, o.RotateWait/5, busy0)()

	// busy1.log waits for a descriptor until app.log, quiet, parks.
	stop1 := keepBusy(t, o.RotateWait/5, busy1)
	ls = readUntil(t, tl, ls, 3*o.RotateWait, "busy1.log 1")
	stop1()

	// The copy waits for busy1.log's descriptor, and is held as app.log's
	// copy once busy1.log parks in turn.
	time.Sleep(o.RotateWait / 2)
	cp := a + ".1"
	appendFile(t, cp, content)
	// busy1.log parks after RotateWait of quiet and a scan: under a loaded
	// CI machine with -race that took more than 3*RotateWait once.
	deadline := time.Now().Add(6 * o.RotateWait)
	for held := false; !held; {
		if time.Now().After(deadline) {
			t.Fatal("the copy was not held")
		}
		ls = readUntil(t, tl, ls, 20*time.Millisecond)
		tl.nextMu.Lock()
		for _, f := range tl.order {
			held = held || (f.path == cp && f.copyOf != nil && f.copyOf.path == a && f.copyOf.parked)
		}
		tl.nextMu.Unlock()
	}
	os.Truncate(a, 0)
	var want []string
	for i := 1; i <= 10; i++ {
		appendFile(t, a, fmt.Sprintf("new %d\n", i))
		want = append(want, fmt.Sprintf("new %d", i))
	}
	ls = readUntil(t, tl, ls, 3*o.RotateWait, want...)
	seen := map[string]int{}
	for _, l := range ls {
		if seen[l.Bytes]++; seen[l.Bytes] > 1 && !strings.HasPrefix(l.Bytes, "busy") {
			t.Errorf("%q read twice (%s)", l.Bytes, l.Path)
		}
	}
}

// Two copytruncate rotations close together (tailer14 F1), as the probe
// ran them: A written and read; A copied to app.log.1 and app.log
// truncated; B written at once (as long as A); app.log.1 shifted to
// app.log.2, app.log (B) copied to app.log.1 and truncated 50 ms later.
// A scan that found app.log truncated and still empty left it without an
// identity; the next identified the new app.log.1 before app.log: B's
// head matched no file being read, so app.log.1 was read from its
// beginning as a new file, and app.log right after as another. Every line
// of B shipped twice, in about half the runs.
func TestTwoCopyTruncatesCloseTogether(t *testing.T) {
	for run := 0; run < 4; run++ {
		dir := t.TempDir()
		app := filepath.Join(dir, "app.log")
		line := func(gen string, i int) string { return fmt.Sprintf("%s %04d %s", gen, i, strings.Repeat("x", 60)) }
		var a, b []string
		for i := 0; i < 2000; i++ {
			a = append(a, line("A", i))
			b = append(b, line("B", i))
		}
		appendFile(t, app, strings.Join(a, "\n")+"\n")
		o := testOptions(dir)
		o.ScanInterval = 250 * time.Millisecond
		o.RotateWait = time.Second
		tl := mustNew(t, o)
		collect(t, tl, len(a), 5*time.Second)

		lines := make(chan got, 10000)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				l, err := tl.Next(context.Background())
				if err != nil {
					return
				}
				lines <- got{Bytes: string(l.Bytes)}
				tl.Commit(l.Pos)
			}
		}()
		copyTruncate(t, app, app+".1")
		f, err := os.OpenFile(app, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range b {
			f.WriteString(l + "\n") // one write a line, as a logger does
		}
		f.Close()
		if err := os.Rename(app+".1", app+".2"); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(app)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(app+".1", data, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if err := os.Truncate(app, 0); err != nil {
			t.Fatal(err)
		}
		appendFile(t, app, "C 1\n")
		time.Sleep(3 * o.RotateWait) // every copy decided, every file finished
		tl.Close()
		<-done
		close(lines)
		seen := map[string]int{}
		for l := range lines {
			seen[l.Bytes]++
		}
		for _, l := range append(b, "C 1") {
			if seen[l] != 1 {
				t.Fatalf("run %d: %q read %d times (%d lines read)", run, l, seen[l], len(seen))
			}
		}
		if len(seen) != len(b)+1 {
			t.Fatalf("run %d: %d distinct lines read", run, len(seen))
		}
	}
}

// TestTruncatedWhileStoppedIsCounted: a file truncated while the agent was
// stopped, whose copy is not tailed, and which at the start is empty or
// holds a new first line: the truncation was neither logged nor counted,
// and the bytes seen but unread before it were lost without a trace
// (tailer19 F4). Now counted as a truncation, and its unread bytes, once
// no copy continues it, as lost.
func TestTruncatedWhileStoppedIsCounted(t *testing.T) {
	for _, rewrite := range []string{"", "a new first line\n"} {
		t.Run(fmt.Sprintf("rewrite=%q", rewrite), func(t *testing.T) {
			_, p, o, tl := checkpointedTailer(t, headerFile("OLD", 100))
			collect(t, tl, 101, 5*time.Second)
			// Seen but not read: the stop comes first (a scan sees its size).
			tl.nextMu.Lock()
			appendFile(t, p, headerFile("X", 9)[len(reuseHeader):])
			tl.scan(time.Now())
			tl.nextMu.Unlock()
			unread := int64(9 * len("X-0000001 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"))
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(rewrite), 0o644); err != nil { // truncated, the same inode
				t.Fatal(err)
			}
			tl = mustNew(t, o)
			if rewrite != "" {
				if ls := collect(t, tl, 1, 5*time.Second); ls[0].Bytes != strings.TrimSpace(rewrite) || ls[0].Start != 0 {
					t.Fatalf("got %+v", ls)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				expectQuiet(t, tl, 50*time.Millisecond)
				st := tl.Stats()
				if st.Truncations == 1 && st.TruncatedBytesLost == uint64(unread) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("truncations %d, bytes lost %d; want 1 and %d", st.Truncations, st.TruncatedBytesLost, unread)
				}
			}
		})
	}
}

// TestTruncatedWhileStoppedBufferedNotLost: the bytes a crash left beyond
// the checkpoint were in the disk buffer already (Options.Resume): a
// truncation while stopped, its copy not tailed, loses none of them. They
// were counted lost: a false alarm of 1,408,894 bytes for 0 lines lost
// (regress19 F-C).
func TestTruncatedWhileStoppedBufferedNotLost(t *testing.T) {
	_, p, o, tl := checkpointedTailer(t, headerFile("OLD", 100))
	var last Line
	for range 101 {
		last = nextLine(t, tl) // not committed: the checkpoint stays at 0
	}
	key, end := last.Key, last.End
	tl.nextMu.Lock()
	tl.scan(time.Now()) // its size seen: in the checkpoint
	tl.nextMu.Unlock()
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	if ck, _ := os.ReadFile(o.CheckpointPath); !bytes.Contains(ck, []byte(`"size":`)) {
		t.Fatalf("checkpoint %s", ck)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o.Resume = map[uint64]int64{key: end} // all of it buffered
	tl = mustNew(t, o)
	deadline := time.Now().Add(5 * time.Second)
	for tl.Stats().Truncations == 0 && time.Now().Before(deadline) {
		expectQuiet(t, tl, 50*time.Millisecond)
	}
	expectQuiet(t, tl, 7*time.Second) // past the orphan's grace
	if st := tl.Stats(); st.Truncations != 1 || st.TruncatedBytesLost != 0 {
		t.Fatalf("truncations %d, bytes lost %d; want 1 and 0", st.Truncations, st.TruncatedBytesLost)
	}
}

// TestTruncatedInPlaceAcrossRestartsGetsNewKeys: an app that opens its log
// with O_TRUNC at each start writes the same banner first; sidetrail was
// restarted between the app's runs. The third generation took gen 0 again,
// the first one's key and so every record ID of its lines at the same
// offsets: Elasticsearch answered 409 for each, and they were lost
// (tailer22 P3). Every generation gets a key of its own.
func TestTruncatedInPlaceAcrossRestartsGetsNewKeys(t *testing.T) {
	banner := "=== app starting, version 1.2.3 ===\n"
	gen := func(run int) string {
		var b strings.Builder
		b.WriteString(banner)
		for i := range 5 {
			fmt.Fprintf(&b, "run=%d seq=%d request handled ok\n", run, i)
		}
		return b.String()
	}
	_, p, o, tl := checkpointedTailer(t, gen(0))
	keys := map[uint64]int{}
	for run := 0; run < 5; run++ {
		if run > 0 {
			tl = mustNew(t, o)
			// The app starts again while sidetrail runs (the probe's
			// case) or, for the last run, while it is stopped.
			if run < 4 {
				expectQuiet(t, tl, 50*time.Millisecond)
			}
			if err := os.Truncate(p, 0); err != nil { // O_TRUNC: the same inode
				t.Fatal(err)
			}
			if run < 4 {
				expectQuiet(t, tl, 50*time.Millisecond) // seen empty
			}
			appendFile(t, p, gen(run))
		}
		ls := collect(t, tl, 6, 5*time.Second)
		for _, l := range ls {
			if !strings.HasPrefix(l.Bytes, "===") && !strings.Contains(l.Bytes, fmt.Sprintf("run=%d ", run)) {
				t.Fatalf("run %d: line %q", run, l.Bytes)
			}
		}
		if was, ok := keys[ls[0].Key]; ok {
			t.Fatalf("run %d got the key of run %d", run, was)
		}
		keys[ls[0].Key] = run
		// Past rotate_wait: the truncated generation's entry, waiting
		// for a copy, is gone from the checkpoint.
		expectQuiet(t, tl, 4*o.RotateWait)
		if err := tl.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCopyTruncateSameFirstLineAcrossRestartsGetsNewKeys: logrotate's
// copytruncate with rotate 2 (.2 deleted, .1 renamed .2, the copy made .1)
// of a log whose generations all start with one line, sidetrail restarted
// after each rotation, the original still empty: only the copies' entries
// were in the checkpoint, and once the copy holding gen 0 was deleted, the
// next generation took gen 0 again (tailer22 P3: 250 of 400 lines answered
// 409 by Elasticsearch).
func TestCopyTruncateSameFirstLineAcrossRestartsGetsNewKeys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	keys := map[uint64]int{}
	var tl *Tailer
	for r := 0; r < 6; r++ {
		content := "[INFO] heartbeat ok\n"
		for i := range 5 {
			content += fmt.Sprintf("gen=%03d seq=%d work done\n", r, i)
		}
		appendFile(t, p, content)
		if tl == nil {
			tl = mustNew(t, o)
		}
		ls := collect(t, tl, 6, 5*time.Second)
		if was, ok := keys[ls[0].Key]; ok {
			t.Fatalf("generation %d got the key of generation %d", r, was)
		}
		keys[ls[0].Key] = r
		// Rotate: .2 deleted, .1 -> .2, copy -> .1, truncate.
		os.Remove(p + ".2")
		os.Rename(p+".1", p+".2")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".1", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		expectQuiet(t, tl, 4*o.RotateWait) // the copy taken up, nothing read again
		if err := tl.Close(); err != nil {
			t.Fatal(err)
		}
		tl = mustNew(t, o)
	}
}

// TestCopyOverTheLastCopyContinuesIt: `cp app.log app.log.1 && : >
// app.log`, where app.log.1 is there from the last rotation: cp opens it
// with O_TRUNC, the same inode refilled with the new generation. It was
// taken for a truncated file of its own and read from its start again:
// every generation after the first shipped twice (tailer22 P4: 700 of 800).
func TestCopyOverTheLastCopyContinuesIt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	tl := mustNew(t, testOptions(dir))
	seen := map[string]int{}
	for r := 0; r < 5; r++ {
		var b strings.Builder
		for i := range 20 {
			fmt.Fprintf(&b, "gen=%d seq=%d work done\n", r, i)
		}
		appendFile(t, p, b.String())
		for _, l := range collect(t, tl, 20, 5*time.Second) {
			seen[l.Bytes]++
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".1", data, 0o644); err != nil { // cp onto the last copy: O_TRUNC
			t.Fatal(err)
		}
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		expectQuiet(t, tl, 300*time.Millisecond)
	}
	for l, n := range seen {
		if n != 1 {
			t.Errorf("%q read %d times", l, n)
		}
	}
	if len(seen) != 100 {
		t.Errorf("%d lines, want 100", len(seen))
	}
}
