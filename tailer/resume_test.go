package tailer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines already in the disk buffer (Options.Resume) are not read again,
// whether the file resumes from a checkpoint entry or is new to the tailer.
func TestResumePastBufferedLines(t *testing.T) {
	for _, withCheckpoint := range []bool{true, false} {
		t.Run(fmt.Sprintf("checkpoint=%v", withCheckpoint), func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "a.log")
			var content []byte
			for i := 0; i < 10; i++ {
				content = fmt.Appendf(content, "line %d\n", i)
			}
			os.WriteFile(log, content, 0o644)
			ck := filepath.Join(dir, "ck.json")
			opts := Options{Source: "s", Paths: []string{log}, CheckpointPath: ck, ScanInterval: 20 * time.Millisecond}

			tl, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			var lines []Line
			for i := 0; i < 6; i++ {
				l := nextLine(t, tl)
				lines = append(lines, Line{Key: l.Key, Start: l.Start, End: l.End})
			}
			tl.Commit(Position{}) // nothing committed: the checkpoint stays at 0
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}
			if !withCheckpoint {
				os.Remove(ck)
			}
			opts.Resume = map[uint64]int64{lines[5].Key: lines[5].End}
			tl2, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer tl2.Close()
			l := nextLine(t, tl2)
			if string(l.Bytes) != "line 6" || l.Start != lines[5].End || l.Key != lines[5].Key {
				t.Fatalf("first line after resume: %q at %d (key %x), want line 6 at %d", l.Bytes, l.Start, l.Key, lines[5].End)
			}
		})
	}
}

// A resume point inside an overlong line continues with fragments.
func TestResumeInsideLineKeepsFragments(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.log")
	long := make([]byte, 3000)
	for i := range long {
		long[i] = 'x'
	}
	os.WriteFile(log, append(append([]byte("head\n"), long...), "\nnext\n"...), 0o644)
	opts := Options{Source: "s", Paths: []string{log}, CheckpointPath: filepath.Join(dir, "ck.json"), MaxLineBytes: 1024, ScanInterval: 20 * time.Millisecond}
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	nextLine(t, tl)
	frag := nextLine(t, tl)
	if !frag.Fragment {
		t.Fatal("expected a fragment")
	}
	tl.Close()
	opts.Resume = map[uint64]int64{frag.Key: frag.End}
	tl2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tl2.Close()
	l := nextLine(t, tl2)
	if !l.Fragment || l.Start != frag.End {
		t.Fatalf("after resume inside a line: fragment=%v start=%d, want a fragment at %d", l.Fragment, l.Start, frag.End)
	}
}

// A file that was being renamed while the first scan after a restart ran
// (logrotate shifting access.log.1 to access.log.2) is not seen by that
// scan. When it shows up under its new name it must resume from its
// checkpoint entry, not be read again from 0 under a new key.
func TestRenameDuringFirstScanResumes(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	var content []byte
	for i := 0; i < 10; i++ {
		content = fmt.Appendf(content, "old %d\n", i)
	}
	os.WriteFile(log, content, 0o644)
	opts := Options{Source: "s", Paths: []string{log + "*"}, CheckpointPath: filepath.Join(dir, "ck.json"), ScanInterval: 20 * time.Millisecond}
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var last Line
	for i := 0; i < 10; i++ {
		last = nextLine(t, tl)
	}
	tl.Commit(last.Pos)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}

	// The file is out of the glob's sight while the new tailer starts...
	hidden := filepath.Join(dir, "moving.tmp")
	os.Rename(log, hidden)
	tl2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tl2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	if l, err := tl2.Next(ctx); err == nil {
		t.Fatalf("read %q with nothing new", l.Bytes)
	}
	cancel()
	// ...and lands under its rotated name, next to a new access.log.
	os.Rename(hidden, log+".2")
	os.WriteFile(log, []byte("new 0\nnew 1\n"), 0o644)
	var got []string
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		l, err := tl2.Next(ctx)
		if err != nil {
			break
		}
		got = append(got, string(l.Bytes))
	}
	if len(got) != 2 || got[0] != "new 0" || got[1] != "new 1" {
		t.Fatalf("after the late rename read %q, want only the two new lines", got)
	}
}

// A finished file that a scan misses while it is being renamed (logrotate
// shifting names) is neither forgotten nor read again.
func TestRenameRaceWhileRunning(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte("a 0\na 1\n"), 0o644)
	opts := Options{Source: "s", Paths: []string{log + "*"}, CheckpointPath: filepath.Join(dir, "ck.json"),
		ScanInterval: 10 * time.Millisecond, RotateWait: 20 * time.Millisecond}
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	for i := 0; i < 2; i++ {
		l := nextLine(t, tl)
		tl.Commit(l.Pos)
	}
	// Rotate: the file is read to its end, finished and closed.
	os.Rename(log, log+".1")
	os.WriteFile(log, []byte("b 0\n"), 0o644)
	if l := nextLine(t, tl); string(l.Bytes) != "b 0" {
		t.Fatalf("got %q", l.Bytes)
	}
	time.Sleep(100 * time.Millisecond) // several scans: access.log.1 finishes and closes
	// The rotated file vanishes from the glob for a few scans, then lands
	// under its next name.
	os.Rename(log+".1", filepath.Join(dir, "shifting"))
	time.Sleep(60 * time.Millisecond)
	os.Rename(filepath.Join(dir, "shifting"), log+".2")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if l, err := tl.Next(ctx); err == nil {
		t.Fatalf("read %q again from %s", l.Bytes, l.Path)
	}
}

// bannerFile writes path: banner, then n lines named by tag, long enough
// that the file outgrows the default fingerprint (1 KiB).
func bannerFile(t testing.TB, path, banner, tag string, n int) []string {
	t.Helper()
	lines := []string{banner}
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf("%s line %03d padded to make the file longer than its head", tag, i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return lines
}

// banner is the first line bannerSetup's files share.
const banner = "#Software: Example App 1.0"

// bannerSetup makes dir/app.log (banner and 40 lines; first) and options
// with a checkpoint, for the tests of files that share a first line.
func bannerSetup(t *testing.T) (dir, app string, first []string, opts Options) {
	dir = t.TempDir()
	app = filepath.Join(dir, "app.log")
	first = bannerFile(t, app, banner, "old", 40)
	opts = testOptions(dir)
	opts.CheckpointPath = filepath.Join(dir, "ck.json")
	return dir, app, first, opts
}

// A file truncated and rewritten while we were stopped, now smaller than
// the head its checkpoint hashed, hands its offset to no new file that
// merely shares its first line: the tailer10 probe saw app-2.log, with
// app.log's banner, taken for app.log's copy and read from the old offset
// (0 of its 301 lines shipped) after a clean stop.
func TestTruncatedWhileStoppedIsNoOneElsesOriginal(t *testing.T) {
	dir, app, first, opts := bannerSetup(t)
	tl := mustNew(t, opts)
	collect(t, tl, len(first), 5*time.Second)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}

	// While stopped: app.log starts over, shorter; app-2.log shares its banner.
	os.WriteFile(app, []byte(banner+"\nnew a 1\nnew a 2\n"), 0o644)
	second := bannerFile(t, filepath.Join(dir, "app-2.log"), banner, "two", 40)

	tl2 := mustNew(t, opts)
	got := collect(t, tl2, 3+len(second), 5*time.Second)
	want := map[string]int{}
	for _, l := range append([]string{banner, "new a 1", "new a 2"}, second...) {
		want[l]++
	}
	for _, g := range got {
		want[g.Bytes]--
	}
	for l, n := range want {
		if n != 0 {
			t.Errorf("%q: read %d times too few", l, n)
		}
	}
	expectQuiet(t, tl2, 300*time.Millisecond)
}

// A crash before a file's first lines were committed leaves its entry at
// offset 0 and its buffered lines as a resume point. A new file that only
// shares its first line is not its copy and does not continue those lines:
// the entry's head hash says so (tailer10: the first 301 of 401 lines of
// such a file were skipped, the entry having hashed no bytes at offset 0).
func TestCrashBeforeCommitNewFileSharingFirstLine(t *testing.T) {
	dir, app, first, opts := bannerSetup(t)
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var last Line
	for range first {
		last = nextLine(t, tl)
	}
	tl.Commit(Position{}) // buffered, never committed: the checkpoint stays at 0
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}

	// While down: app.log is deleted; app-2.log shares its banner.
	os.Remove(app)
	second := bannerFile(t, filepath.Join(dir, "app-2.log"), banner, "two", 60)
	opts.Resume = map[uint64]int64{last.Key: last.End}
	tl2 := mustNew(t, opts)
	got := collect(t, tl2, len(second), 5*time.Second)
	for i, g := range got {
		if g.Bytes != second[i] {
			t.Fatalf("line %d: %q, want %q", i, g.Bytes, second[i])
		}
	}
	expectQuiet(t, tl2, 300*time.Millisecond)
}

// A resume point no file takes up (its file was deleted before it was
// opened again) leaves the checkpoint once every file present is open and
// the entries' grace is over. Kept, such points filled the list for good
// (tailer10: 1,024 of them across three clean restarts).
func TestResumeOfGoneFileForgotten(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "a.log"), "a1\n")
	opts := testOptions(dir)
	opts.CheckpointPath = filepath.Join(dir, "ck.json")
	opts.Resume = map[uint64]int64{12345: 678}
	tl := mustNew(t, opts)
	collect(t, tl, 1, 5*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		tl.Next(ctx) // scans
		cancel()
		cp, err := loadCheckpoint(opts.CheckpointPath)
		if err != nil {
			t.Fatal(err)
		}
		if cp != nil && len(cp.Resume) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("resume point of a gone file still in the checkpoint: %+v", cp)
		}
	}
}
