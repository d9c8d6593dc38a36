package buffer_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sidetrail/sidetrail/buffer"
)

func benchRecords(n, size int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = bytes.Repeat([]byte{byte('a' + i%26)}, size)
	}
	return recs
}

// benchAppend appends batches of n records of size bytes; every 32 batches
// the cursor acks everything, so segments are deleted and the buffer never
// fills.
func benchAppend(b *testing.B, policy buffer.FsyncPolicy, n, size int) {
	buf, err := buffer.Open(b.TempDir(), buffer.Options{Cursors: []string{"a"}, Fsync: policy})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	r, _ := buf.Reader("a")
	recs := benchRecords(n, size)
	ctx := context.Background()
	b.SetBytes(int64(n * size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		seq, err := buf.Append(ctx, recs)
		if err != nil {
			b.Fatal(err)
		}
		if i%32 == 31 {
			if err := r.Ack(seq); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendBatch: 512 records of 300 B per Append, one fsync each.
func BenchmarkAppendBatch(b *testing.B) { benchAppend(b, buffer.FsyncBatch, 512, 300) }

// BenchmarkAppendAlways: 64 records of 300 B per Append, one fsync per record.
func BenchmarkAppendAlways(b *testing.B) { benchAppend(b, buffer.FsyncAlways, 64, 300) }

// BenchmarkAppendInterval: 512 records of 300 B per Append, no fsync on the
// Append path.
func BenchmarkAppendInterval(b *testing.B) { benchAppend(b, buffer.FsyncInterval, 512, 300) }

// BenchmarkReadAck reads batches of 512 records of 300 B and acks each
// batch (one cursor-file write with two fsyncs per batch).
func BenchmarkReadAck(b *testing.B) {
	buf, err := buffer.Open(b.TempDir(), buffer.Options{Cursors: []string{"a"}, Fsync: buffer.FsyncInterval, MaxBytes: 8 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	recs := benchRecords(512, 300)
	ctx := context.Background()
	for range b.N {
		if _, err := buf.Append(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	r, _ := buf.Reader("a")
	var dst []buffer.Entry
	b.SetBytes(512 * 300)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst, err = r.Read(ctx, dst, 512, 0)
		if err != nil || len(dst) != 512 {
			b.Fatalf("read %d: %v", len(dst), err)
		}
		if err := r.Ack(dst[len(dst)-1].Seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRead reads batches of 512 records of 300 B without acking: the
// cost of reading alone.
func BenchmarkRead(b *testing.B) {
	buf, err := buffer.Open(b.TempDir(), buffer.Options{Cursors: []string{"a"}, Fsync: buffer.FsyncInterval, MaxBytes: 8 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	recs := benchRecords(512, 300)
	ctx := context.Background()
	for range b.N {
		if _, err := buf.Append(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	r, _ := buf.Reader("a")
	var dst []buffer.Entry
	b.SetBytes(512 * 300)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst, err = r.Read(ctx, dst, 512, 0)
		if err != nil || len(dst) != 512 {
			b.Fatalf("read %d: %v", len(dst), err)
		}
	}
	b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "records/s")
}
