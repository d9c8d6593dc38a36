package tailer

import (
	"fmt"
	"os"
	"path/filepath"
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
