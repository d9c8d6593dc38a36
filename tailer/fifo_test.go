package tailer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO swapped in at a path between its stat and a look by name does not
// block the tailer: its opens do not wait for a writer (tailer12 F3: a
// FIFO at the name of a skipped, growing .gz file hung the tailer for
// good, /healthz still answering 200).
func TestLooksByNameDoNotBlockOnAFIFO(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "a.log.gz")
	if err := os.WriteFile(reg, []byte{0x1f, 0x8b, 8, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(reg)
	if err != nil {
		t.Fatal(err)
	}
	sys := fi.Sys().(*syscall.Stat_t)
	fifo := filepath.Join(dir, "b.log.gz")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	tl := mustNew(t, testOptions(dir))
	f := &file{id: devIno{uint64(sys.Dev), sys.Ino}, path: reg, st: &stream{}, born: 1}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tl.nextMu.Lock()
		defer tl.nextMu.Unlock()
		tl.stillCompressed(fifo, f, fi)
		tl.lookWhileWaiting(fifo, f, time.Now())
		if fd, ok := tl.open(fifo, f.id); ok {
			fd.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		// Unblock the opens so the test can end.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("an open of a FIFO blocked")
	}
}
