package tailer

import (
	"fmt"
	"io"
	"os"
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
