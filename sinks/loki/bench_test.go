package loki

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/vltest"
)

// nginxBatch is n parsed nginx access-log records with the fields the nginx
// parser produces.
func nginxBatch(n int) []sidetrail.Record {
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	recs := make([]sidetrail.Record, n)
	for i := range recs {
		msg := fmt.Sprintf(`10.1.%d.%d - - [04/Mar/2025:05:06:07 +0000] "GET /api/v1/items/%d?page=%d HTTP/1.1" 200 %d "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" rid=%016x`,
			i%256, i%200, i, i%17, 1000+i%9000, uint64(i)*0x9e3779b97f4a7c15)
		r := sidetrail.Record{
			FileKey: 0x1234, Offset: int64(i) * 200, Time: base.Add(time.Duration(i/1000) * time.Second), Ingested: base,
			Source: "nginx", Path: "/var/log/nginx/access.log", Message: []byte(msg),
		}
		r.Add("client.ip", sidetrail.KindString, []byte("10.1.2.3"))
		r.Add("http.request.method", sidetrail.KindString, []byte("GET"))
		r.Add("url.original", sidetrail.KindString, []byte("/api/v1/items/"+strconv.Itoa(i)))
		r.Add("http.version", sidetrail.KindString, []byte("1.1"))
		r.Add("http.response.status_code", sidetrail.KindInt, []byte("200"))
		r.Add("http.response.body.bytes", sidetrail.KindInt, []byte(strconv.Itoa(1000+i%9000)))
		r.Add("http.request.referrer", sidetrail.KindString, []byte("https://example.com/"))
		r.Add("user_agent.original", sidetrail.KindString, []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"))
		r.Add("request_id", sidetrail.KindString, fmt.Appendf(nil, "%016x", uint64(i)*0x9e3779b97f4a7c15))
		r.Add("cluster", sidetrail.KindString, []byte("prod"))
		recs[i] = r
	}
	return recs
}

// BenchmarkEncode measures the cost of turning a 1000-record batch into a
// request body, reported per record.
func BenchmarkEncode(b *testing.B) {
	batch := nginxBatch(1000)
	for _, tc := range []struct{ name, enc, comp, line string }{
		{"protobuf/json-line", EncodingProtobuf, "", LineJSON},
		{"protobuf/message-line", EncodingProtobuf, "", LineMessage},
		{"json/json-line", EncodingJSON, CompressionNone, LineJSON},
		{"json/message-line", EncodingJSON, CompressionNone, LineMessage},
		{"json-gzip/json-line", EncodingJSON, CompressionGzip, LineJSON},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := testEncoder(b, Config{
				Encoding: tc.enc, Compression: tc.comp, Line: tc.line,
				Labels: map[string]string{"app": "nginx"}, LabelFields: []string{"source", "http.response.status_code"},
				MetadataFields: []string{"request_id"},
			})
			e.encode(batch) // warm
			b.ReportAllocs()
			b.ResetTimer()
			var size int
			for b.Loop() {
				size = len(e.encode(batch))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(batch)), "ns/record")
			b.ReportMetric(float64(size)/float64(len(batch)), "wire-B/record")
		})
	}
}

// BenchmarkSinkVictoriaLogs measures sink-only throughput into a real
// VictoriaLogs on loopback: encode, push, answer. Set SIDETRAIL_BENCH_VL=1.
func BenchmarkSinkVictoriaLogs(b *testing.B) {
	if os.Getenv("SIDETRAIL_BENCH_VL") == "" {
		b.Skip("set SIDETRAIL_BENCH_VL=1 to push into a real VictoriaLogs")
	}
	if _, err := vltest.Binary(); err != nil {
		b.Skip(err)
	}
	vl := vltest.Start(b)
	batch := nginxBatch(1000)
	for _, tc := range []struct{ name, enc, comp, line string }{
		{"protobuf/json-line", EncodingProtobuf, "", LineJSON},
		{"protobuf/message-line", EncodingProtobuf, "", LineMessage},
		{"json/json-line", EncodingJSON, CompressionNone, LineJSON},
		{"json-gzip/json-line", EncodingJSON, CompressionGzip, LineJSON},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := New(Config{
				URL: vl.LokiURL() + "?disable_message_parsing=1", Encoding: tc.enc, Compression: tc.comp, Line: tc.line,
				Labels: map[string]string{"app": "bench"}, LabelFields: []string{"source", "http.response.status_code"},
			}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			res := make([]sidetrail.Result, len(batch))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(context.Background(), batch, res); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
