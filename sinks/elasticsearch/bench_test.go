package elasticsearch

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

// benchEncode measures encoding one batch of 1000 nginx-like records into
// the bulk body (no network).
func benchEncode(b *testing.B, cfg Config) {
	cfg.URLs = []string{"http://127.0.0.1:9"}
	s := newSink(b, cfg)
	recs := testRecords(1000)
	rq := s.getRequest()
	s.encode(rq, recs) // warm the buffers
	b.ReportAllocs()
	b.SetBytes(int64(len(rq.body)))
	b.ResetTimer()
	for b.Loop() {
		s.encode(rq, recs)
		if rq.zw != nil {
			rq.zbuf.Reset()
			rq.zw.Reset(&rq.zbuf)
			rq.zw.Write(rq.body)
			rq.zw.Close()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	b.ReportMetric(float64(len(rq.body))/float64(len(recs)), "bytes/record")
}

func BenchmarkEncode(b *testing.B)     { benchEncode(b, Config{}) }
func BenchmarkEncodeECS(b *testing.B)  { benchEncode(b, Config{ECS: true}) }
func BenchmarkEncodeGzip(b *testing.B) { benchEncode(b, Config{Compression: "gzip"}) }

// BenchmarkSendVictoriaLogs measures sink-only throughput into a real
// VictoriaLogs on loopback (same machine, so VictoriaLogs' own CPU is
// included), batches of 1000. SIDETRAIL_BENCH_VL=1 to run.
func BenchmarkSendVictoriaLogs(b *testing.B) {
	if getenv("SIDETRAIL_BENCH_VL") == "" {
		b.Skip("set SIDETRAIL_BENCH_VL=1")
	}
	vl := startVL(b)
	for _, comp := range []string{"none", "gzip"} {
		b.Run(comp, func(b *testing.B) {
			c := vlConfig(vl)
			c.Compression = comp
			s := newSink(b, c)
			run := fmt.Sprintf("bench%d", rand.Uint32())
			const batch = 1000
			base := time.Now().Add(-time.Hour).UTC()
			res := make([]sidetrail.Result, batch)
			// One batch sent again and again (VictoriaLogs keeps every
			// copy), so allocations are the sink's, the client's and
			// net/http's, not the record generator's.
			recs := vlRecords(run, 0, batch, base)
			b.ReportAllocs()
			from := 0
			for b.Loop() {
				from += batch
				clear(res)
				if err := s.Send(b.Context(), recs, res); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(from)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(s.Stats().BytesSent)/float64(from), "wirebytes/record")
		})
	}
}

// BenchmarkJSONEncoderOnly is the root encoder alone on the same records,
// to separate its cost from the bulk framing's.
func BenchmarkJSONEncoderOnly(b *testing.B) {
	recs := testRecords(1000)
	var enc sidetrail.JSONEncoder
	var buf []byte
	for i := range recs {
		buf = enc.Append(buf, &recs[i])
	}
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range recs {
			buf = enc.Append(buf, &recs[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
