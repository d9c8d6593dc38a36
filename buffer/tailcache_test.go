package buffer_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sidetrail/sidetrail/buffer"
)

// TestTailCacheServesWhatWasWritten appends batches of random sizes (some
// larger than the ring) while a reader trails by a random distance, some
// reads inside the ring, some beyond it, across segment cuts, and checks
// every record. A tiny ring makes every wrap and boundary case common.
func TestTailCacheServesWhatWasWritten(t *testing.T) {
	for _, ring := range []int{97, 1000, 4096} {
		dir := t.TempDir()
		b := open(t, dir, buffer.Options{TailCache: ring, SegmentBytes: 20_000, MaxBytes: 1 << 30, Cursors: []string{"s"}})
		r, err := b.Reader("s")
		if err != nil {
			t.Fatal(err)
		}
		rnd := rand.New(rand.NewPCG(uint64(ring), 7))
		appended, read := 0, 0
		for appended < 3000 {
			n := 1 + rnd.IntN(40)
			appendRange(t, b, appended, appended+n, n)
			appended += n
			// Read some: sometimes everything, sometimes leave a lag.
			lag := 0
			if rnd.IntN(3) == 0 {
				lag = rnd.IntN(60)
			}
			if want := appended - read - lag; want > 0 {
				got := readN(t, r, want)
				checkEntries(t, got, uint64(read+1), read)
				read += len(got)
			}
		}
		got := readN(t, r, appended-read)
		checkEntries(t, got, uint64(read+1), read)
		st := b.Stats()
		if st.TailCacheReads == 0 {
			t.Errorf("ring %d: no read was served from memory", ring)
		}
		t.Logf("ring %d: %d reads from memory over %d segments", ring, st.TailCacheReads, st.Segments)
	}
}

// TestTailCacheOffReadsTheFile proves the file, not memory, is what a
// disabled cache reads: a byte flipped in the file after the append is seen
// as corruption.
func TestTailCacheOffReadsTheFile(t *testing.T) {
	for _, cache := range []int{-1, 0} {
		dir := t.TempDir()
		b := open(t, dir, buffer.Options{TailCache: cache, Cursors: []string{"s"}})
		appendRange(t, b, 0, 10, 10)
		files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		f, err := os.OpenFile(files[0], os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		if _, err := f.WriteAt([]byte{0xff}, st.Size()-3); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r, _ := b.Reader("s")
		ctx := context.Background()
		got, err := r.Read(ctx, nil, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		stats := b.Stats()
		switch cache {
		case -1: // the file: the last record is damaged and skipped
			if len(got) != 9 || stats.Corrupt != 1 || stats.TailCacheReads != 0 {
				t.Errorf("cache off: read %d records, %d corrupt, %d from memory; want 9, 1, 0", len(got), stats.Corrupt, stats.TailCacheReads)
			}
		case 0: // default cache: memory holds what was written
			if len(got) != 10 || stats.Corrupt != 0 || stats.TailCacheReads == 0 {
				t.Errorf("cache on: read %d records, %d corrupt, %d from memory; want 10, 0, >0", len(got), stats.Corrupt, stats.TailCacheReads)
			}
		}
	}
}

// TestTailCacheConcurrentReader: an appender and a reader running at once
// over small rings (views lent and dropped, wraps, fallbacks to the file);
// every record read must be the one appended (-race checks the locking).
func TestTailCacheConcurrentReader(t *testing.T) {
	for _, ring := range []int{300, 5000, 1 << 16} {
		dir := t.TempDir()
		b := open(t, dir, buffer.Options{TailCache: ring, SegmentBytes: 64 << 10, MaxBytes: 1 << 30, Cursors: []string{"s"}})
		r, err := b.Reader("s")
		if err != nil {
			t.Fatal(err)
		}
		const total = 20000
		done := make(chan struct{})
		go func() {
			defer close(done)
			rnd := rand.New(rand.NewPCG(uint64(ring), 9))
			for i := 0; i < total; {
				n := min(1+rnd.IntN(60), total-i)
				var recs [][]byte
				for j := i; j < i+n; j++ {
					recs = append(recs, payload(j))
				}
				if _, err := b.Append(context.Background(), recs); err != nil {
					t.Error(err) // not Fatal: this is not the test's goroutine
					return
				}
				i += n
			}
		}()
		ctx := context.Background()
		var dst []buffer.Entry
		for read := 0; read < total; {
			dst, err = r.Read(ctx, dst, 97, 0)
			if err != nil {
				t.Fatal(err)
			}
			checkEntries(t, dst, uint64(read+1), read)
			read += len(dst)
			if err := r.Ack(uint64(read)); err != nil {
				t.Fatal(err)
			}
		}
		<-done
		t.Logf("ring %d: %d reads from memory", ring, b.Stats().TailCacheReads)
	}
}
