package tailer

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A write to one of many open files reads that file, not every file: each
// wake-up used to clear every file's end-of-file mark, a read per open
// file per event, and the scale probe saw a whole core used to ship 2,000
// lines/s spread over 500 files.
func TestWakeReadsOnlyWrittenFiles(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.ScanInterval = time.Hour // only inotify wakes the tailer
	const files = 200
	for i := range files {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("f%03d.log", i)), "first\n")
	}
	tl := mustNew(t, o)
	collect(t, tl, files, 5*time.Second)
	expectQuiet(t, tl, 100*time.Millisecond)
	tl.nextMu.Lock()
	before := tl.fills
	tl.nextMu.Unlock()
	const writes = 20
	for i := range writes {
		appendFile(t, filepath.Join(dir, "f007.log"), fmt.Sprintf("line %d\n", i))
		if ls := collect(t, tl, 1, 3*time.Second); ls[0].Bytes != fmt.Sprintf("line %d", i) {
			t.Fatalf("got %+v", ls)
		}
	}
	tl.nextMu.Lock()
	n := tl.fills - before
	tl.nextMu.Unlock()
	if n > 4*writes {
		t.Errorf("%d reads for %d writes to one of %d files", n, writes, files)
	}
}
