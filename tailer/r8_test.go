package tailer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// regress22 R8: an app reopens its log with O_TRUNC and the same first
// line (generation B), sidetrail is killed before its checkpoint says so,
// and the app reopens it so again while sidetrail is down (generation C).
// The buffer's resume point of B must not be taken up by C, longer or
// shorter, nor B's key (its record IDs); B itself, only appended to while
// the agent was down, resumes after its buffered lines.
func TestNewGenerationDoesNotTakeTheCrashedOnesResumePoint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines int // of generation C; 0: no C, B grows instead
	}{{"longer", 60}, {"shorter", 10}, {"same generation grown", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			_, app, first, opts := bannerSetup(t)
			tl := mustNew(t, opts)
			collect(t, tl, len(first), 5*time.Second)
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}
			saved, err := os.ReadFile(opts.CheckpointPath)
			if err != nil {
				t.Fatal(err)
			}

			tl2 := mustNew(t, opts)
			bgen := bannerFile(t, app, banner, "genB", 30) // O_TRUNC: same inode
			var last Line
			for range bgen {
				last = nextLine(t, tl2)
			}
			tl2.Close()
			// The kill -9: the checkpoint never heard of B; the buffer
			// holds B's lines.
			if err := os.WriteFile(opts.CheckpointPath, saved, 0o644); err != nil {
				t.Fatal(err)
			}

			want := bannerFile(t, app, banner, "genC", tc.lines)
			if tc.lines == 0 {
				bannerFile(t, app, banner, "genB", 30)
				want = nil
				for i := 0; i < 5; i++ {
					want = append(want, fmt.Sprintf("genB more %d", i))
					appendFile(t, app, want[i]+"\n")
				}
			}
			resumeAfter(&opts, last.Key, last.End, string(last.Bytes)+"\n")
			tl3 := mustNew(t, opts)
			got := collect(t, tl3, len(want), 5*time.Second)
			for i, g := range got {
				if g.Bytes != want[i] {
					t.Fatalf("line %d: %q, want %q", i, g.Bytes, want[i])
				}
				if sameKey := g.Key == last.Key; sameKey != (tc.lines == 0) {
					t.Fatalf("line %d %q: key %x, generation B's %x", i, g.Bytes, g.Key, last.Key)
				}
			}
			expectQuiet(t, tl3, 300*time.Millisecond)
		})
	}
}

// After a crash before a file's first checkpoint, the file rewritten in
// place while the agent was down, with the same first line, is read from
// its beginning under a new key. It was continued from where the
// buffered lines of the old content end (a known loss of earlier
// releases).
func TestRewrittenBeforeFirstCheckpointIsReadWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	o, key, resumeAt := bufferedBeforeCrash(t, dir, "time,level,msg\na1\na2\na3\na4\n")
	if err := os.WriteFile(p, []byte("time,level,msg\nc1 of the new content\nc2\nc3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resumeAfter(&o, key, resumeAt, "a2\n")
	tl := mustNew(t, o)
	defer tl.Close()
	ls := collect(t, tl, 4, 5*time.Second)
	for i, want := range []string{"time,level,msg", "c1 of the new content", "c2", "c3"} {
		if ls[i].Bytes != want || ls[i].Key == key {
			t.Fatalf("line %d: %+v, want %q under a new key", i, ls[i], want)
		}
	}
	expectQuiet(t, tl, 300*time.Millisecond)
}

// resumeAfter sets o to resume key after its buffered line last, which
// ends at end, as the agent does after a crash.
func resumeAfter(o *Options, key uint64, end int64, last string) {
	o.Resume = map[uint64]int64{key: end}
	o.ResumeStarts = map[uint64]int64{key: end - int64(len(last))}
	o.ResumeSame = func(k uint64, raw []byte) bool { return k == key && string(raw) == last }
}
