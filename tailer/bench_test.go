package tailer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkTail reads a pre-written file through Next, one op per whole
// file. Size: SIDETRAIL_BENCH_MB (default 64). Reports lines/s and
// allocs/line (mallocs during the read, tailer setup included, divided by
// lines).
func BenchmarkTail(b *testing.B) {
	mb := 64
	if v, err := strconv.Atoi(os.Getenv("SIDETRAIL_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	dir := b.TempDir()
	p := filepath.Join(dir, "access.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	lines := 0
	var size int64
	for size < int64(mb)<<20 {
		// An nginx-combined-like line, ~180 bytes.
		n, _ := fmt.Fprintf(w, "10.0.%d.%d - - [26/Nov/2026:06:01:20 +0000] \"GET /api/v1/items/%d?page=%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) bench/%d\"\n",
			lines%256, lines%199, lines, lines%17, 100+lines%9000, lines)
		size += int64(n)
		lines++
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.SetBytes(size)
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	var total time.Duration
	var mallocs uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		tl, err := New(Options{Paths: []string{p}, Poll: true, ScanInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for got := 0; got < lines; got++ {
			l, err := tl.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if got%1000 == 0 {
				tl.Commit(l.Pos)
			}
		}
		tl.Close()
		total += time.Since(start)
		runtime.ReadMemStats(&ms1)
		mallocs += ms1.Mallocs - ms0.Mallocs
	}
	b.StopTimer()
	n := float64(lines) * float64(b.N)
	b.ReportMetric(n/total.Seconds(), "lines/s")
	b.ReportMetric(float64(mallocs)/n, "allocs/line")
	b.ReportMetric(float64(lines), "lines/op")
}
