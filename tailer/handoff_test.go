package tailer

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A file rotated away that is still written (deleted, or renamed out of
// paths, while its writer keeps it open) is carried over a reload: the
// next tailer of the source reads on from the descriptor the last one
// held. Before, it was found nowhere by path, and every line written into
// it after the reload was lost (tailer12 F4: 690 to 702 of 1,120 lines in
// three of three runs).
func TestHandoffCarriesAwayFilesOverAReload(t *testing.T) {
	for _, how := range []string{"deleted", "renamed out of paths"} {
		t.Run(how, func(t *testing.T) {
			dir, p, w, o, h := handoffSetup(t)
			tl := mustNew(t, o)
			var err error
			l := nextLine(t, tl)
			tl.Commit(l.Pos)
			if how == "deleted" {
				err = os.Remove(p)
			} else {
				err = os.Rename(p, filepath.Join(dir, "app.old"))
			}
			if err != nil {
				t.Fatal(err)
			}
			w.WriteString("during\n")
			l = nextLine(t, tl)
			if string(l.Bytes) != "during" {
				t.Fatalf("got %+v", l)
			}
			tl.Commit(l.Pos)
			if err := tl.Close(); err != nil { // the reload
				t.Fatal(err)
			}
			tl = nextTailerReadsOn(t, o, w, h)
			// Counted by the last tailer, which saw it: not again (ops15).
			if n := tl.Stats().Rotations; n != 0 {
				t.Fatalf("the next tailer counted %d rotations, want 0", n)
			}
		})
	}
}

// A file rotated away during the reload itself, after the last tailer
// stopped and before the next one looked (or before the last one noticed),
// is carried over too: the last tailer hands over every file it reads, not
// only those it saw rotated away. Before, every line written into it after
// the rename was lost, uncounted (ops15 F6: 450 lines in 12 of 15 runs).
func TestHandoffCarriesFilesRotatedDuringTheReload(t *testing.T) {
	for _, how := range []string{"deleted", "renamed out of paths", "kept"} {
		t.Run(how, func(t *testing.T) {
			dir, p, w, o, h := handoffSetup(t)
			tl := mustNew(t, o)
			var err error
			tl.Commit(nextLine(t, tl).Pos)
			if err := tl.Close(); err != nil { // the reload begins
				t.Fatal(err)
			}
			switch how {
			case "deleted":
				err = os.Remove(p)
			case "renamed out of paths":
				err = os.Rename(p, filepath.Join(dir, "app.old"))
			}
			if err != nil {
				t.Fatal(err)
			}
			tl = nextTailerReadsOn(t, o, w, h)
			if n := tl.Stats().OpenFiles; n != 1 {
				t.Fatalf("%d files open, want 1", n)
			}
			want := uint64(1) // seen by no tailer but this one
			if how == "kept" {
				want = 0
			}
			if n := tl.Stats().Rotations; n != want {
				t.Fatalf("%d rotations counted, want %d", n, want)
			}
		})
	}
}

// A reload that narrows paths stops a file it leaves out, also now that
// every open file is handed over: the handed-over descriptor of a file
// still at its path, which no glob of the next tailer finds, is closed
// (regress15 F0: 2,400 of 2,400 lines shipped after paths left the file
// out, the way to stop shipping a file found to hold secrets).
func TestHandoffNarrowedPathsStopAFile(t *testing.T) {
	dir, _, w, o, h := handoffSetup(t)
	tl := mustNew(t, o)
	tl.Commit(nextLine(t, tl).Pos)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	o.Paths = []string{filepath.Join(dir, "other*.log")}
	w.WriteString("after\n")
	tl = mustNew(t, o)
	defer tl.Close()
	expectQuiet(t, tl, 500*time.Millisecond)
	if n := h.Len(); n != 0 {
		t.Fatalf("%d descriptors left in the handoff", n)
	}
	if st := tl.Stats(); st.OpenFiles != 0 || st.Rotations != 0 {
		t.Fatalf("stats %+v: want no file open, no rotation", st)
	}
}

// A deleted file's checkpoint entry is pruned after its grace period also
// when reloads come more often than the grace: the time it went missing is
// handed over with the files. Each tailer's first scan started the grace
// again, and with a reload every 2 s the checkpoint grew with every file
// deleted (leak15 F1: 45 to 179 entries in 80 s, 656 KiB after 197 reloads).
func TestHandoffKeepsWhenAFileWentMissing(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	o.RotateWait = 50 * time.Millisecond
	o.Handoff = NewHandoff()
	keep, gone := filepath.Join(dir, "keep.log"), filepath.Join(dir, "gone.log")
	for _, p := range []string{keep, gone} {
		if err := os.WriteFile(p, []byte(filepath.Base(p)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tl := mustNew(t, o)
	for range 2 {
		tl.Commit(nextLine(t, tl).Pos)
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	grace := 5 * time.Second // entryGrace with these options
	deadline := time.Now().Add(grace + 3*time.Second)
	for time.Now().Before(deadline) { // a reload every 300 ms
		time.Sleep(300 * time.Millisecond)
		if err := tl.Close(); err != nil {
			t.Fatal(err)
		}
		tl = mustNew(t, o)
	}
	time.Sleep(300 * time.Millisecond)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	ck, err := loadCheckpoint(o.CheckpointPath)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range ck.Files {
		paths = append(paths, e.Path)
	}
	if len(paths) != 1 || paths[0] != keep {
		t.Fatalf("checkpoint entries %v, want only %s", paths, keep)
	}
}

// handoffSetup makes app.log, open for writing with one line in it, and
// the options of a tailer of *.log with a Handoff.
func handoffSetup(t *testing.T) (dir, path string, w *os.File, o Options, h *Handoff) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "app.log")
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	w.WriteString("before\n")
	o = testOptions(dir)
	o.Paths = []string{filepath.Join(dir, "*.log")}
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	o.RotateWait = time.Hour // the file is not finished while written
	h = NewHandoff()
	o.Handoff = h
	return dir, path, w, o, h
}

// nextTailerReadsOn writes a line into w, starts the next tailer (the
// reload's) and expects it to read that line and a later one, and nothing
// more, with nothing left in h. The tailer is closed at the test's end.
func nextTailerReadsOn(t *testing.T, o Options, w *os.File, h *Handoff) *Tailer {
	t.Helper()
	w.WriteString("after\n")
	tl := mustNew(t, o)
	t.Cleanup(func() { tl.Close() })
	if ls := collect(t, tl, 1, 5*time.Second); ls[0].Bytes != "after" {
		t.Fatalf("after the reload: %+v", ls)
	}
	w.WriteString("later\n")
	if l := nextLine(t, tl); string(l.Bytes) != "later" {
		t.Fatalf("got %+v", l)
	}
	expectQuiet(t, tl, 200*time.Millisecond)
	if n := h.Len(); n != 0 {
		t.Fatalf("%d descriptors left in the handoff", n)
	}
	return tl
}

// What no tailer takes (a source removed or renamed by the reload) is
// closed by CloseAll.
func TestHandoffCloseAll(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	o.RotateWait = time.Hour
	h := NewHandoff()
	o.Handoff = h
	tl := mustNew(t, o)
	tl.Commit(nextLine(t, tl).Pos)
	os.Remove(p)
	expectQuiet(t, tl, 100*time.Millisecond)
	tl.Close()
	if h.Len() != 1 {
		t.Fatalf("%d in the handoff, want 1", h.Len())
	}
	h.CloseAll()
	if h.Len() != 0 {
		t.Fatal("CloseAll left descriptors")
	}
}

// A file handed over by a reload and renamed out of paths, a new file made
// at its path at once, between the next tailer's glob and its open of the
// path, is read on from the descriptor handed over. The descriptor was
// closed and the path opened again, which held the new file: the old one
// had no descriptor and no path left (tailer16 F2: the rest of its lines
// lost, uncounted, 945 lines in 4 of 40 trials).
func TestHandoffRenamedBetweenTheGlobAndTheOpen(t *testing.T) {
	dir, p, w, o, h := handoffSetup(t)
	tl := mustNew(t, o)
	tl.Commit(nextLine(t, tl).Pos)
	if err := tl.Close(); err != nil { // the reload
		t.Fatal(err)
	}
	w.WriteString("after\n")
	renamed := false
	o.hooks = &hooks{afterGlob: func() {
		if renamed {
			return
		}
		renamed = true
		if err := os.Rename(p, filepath.Join(dir, "app.old")); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(p, []byte("new file\n"), 0o644); err != nil {
			t.Error(err)
		}
	}}
	tl = mustNew(t, o)
	defer tl.Close()
	w.WriteString("later\n")
	got := map[string]bool{}
	for _, l := range collect(t, tl, 3, 5*time.Second) {
		got[string(l.Bytes)] = true
	}
	if !got["after"] || !got["later"] || !got["new file"] {
		t.Fatalf("lines %v: want after and later (the old file) and new file", got)
	}
	expectQuiet(t, tl, 200*time.Millisecond)
	if n := h.Len(); n != 0 {
		t.Fatalf("%d descriptors left in the handoff", n)
	}
}

// A file waiting for a descriptor (max_open_files) when a reload closes
// the tailer, rotated away before the next tailer's first scan, is counted
// lost by the next one: the files at risk are handed over with the
// descriptors. The next tailer saw only the new file at the path, and the
// old one's bytes went uncounted (tailer16 F4's remainder).
func TestHandoffCarriesFilesAtRisk(t *testing.T) {
	dir, tl, logs, o := waitingFileSetup(t, func(o *Options) {
		o.Handoff = NewHandoff()
		o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	})
	b := filepath.Join(dir, "b.log")
	if st := tl.Stats(); st.FilesAtRisk != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(b, filepath.Join(dir, "b.old")); err != nil { // out of *.log*
		t.Fatal(err)
	}
	appendFile(t, b, "new\n")
	tl = mustNew(t, o)
	defer tl.Close()
	expectOldBCountedLost(t, tl, logs)
}
