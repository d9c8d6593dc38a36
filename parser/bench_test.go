package parser

import (
	"syscall"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

// cpuTime is the CPU time this process has used. The machine these run on
// is shared, so wall-clock ns/op overstates the cost; the benchmarks also
// report CPU ns per line ("cpu-ns/line") and the lines per CPU-second that
// implies ("lines/cpu-s").
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	cpu := cpuTime() - start
	if cpu <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/line")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "lines/cpu-s")
}

// Benchmarks parse one line and encode the record as the record JSON, the
// per-line work of a source plus a text sink. One op is one line: lines/s =
// 1e9 / (ns/op); allocs/op are allocations per line.

var (
	benchCombined = []byte(`203.0.113.195 - - [02/Jan/2024:15:04:05 +0100] "GET /api/v1/users/12345/orders?page=2&limit=50 HTTP/1.1" 200 5123 "https://shop.example.com/account/orders" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"` + "\n")
	benchJSON     = []byte(`{"@timestamp":"2024-01-02T15:04:05.123Z","level":"info","logger":"http.server","msg":"request completed","method":"GET","path":"/api/v1/users/12345","status":200,"duration_ms":12.5,"bytes":5123,"user_id":12345,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","remote":"203.0.113.195","tags":["a","b"]}` + "\n")
	benchError    = []byte(`2024/01/02 15:04:05 [error] 123#123: *45 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: example.com, request: "GET /api/v1/x?y=1 HTTP/1.1", upstream: "http://10.0.0.2:8080/api/v1/x?y=1", host: "example.com"` + "\n")
)

func benchParse(b *testing.B, cfg Config, line []byte) {
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var rec sidetrail.Record
	var enc sidetrail.JSONEncoder
	var out []byte
	rec.Message = line
	if err := p.Parse(line, &rec); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		rec.Reset()
		rec.Message = line
		if err := p.Parse(line, &rec); err != nil {
			b.Fatal(err)
		}
		out = enc.Append(out[:0], &rec)
	}
	reportCPU(b, start)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func benchParseOnly(b *testing.B, cfg Config, line []byte) {
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var rec sidetrail.Record
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		rec.Reset()
		if err := p.Parse(line, &rec); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkNginxCombined(b *testing.B) {
	benchParse(b, Config{Format: FormatNginx}, benchCombined)
}

func BenchmarkNginxCombinedParseOnly(b *testing.B) {
	benchParseOnly(b, Config{Format: FormatNginx}, benchCombined)
}

func BenchmarkJSON(b *testing.B) {
	benchParse(b, Config{Format: FormatJSON}, benchJSON)
}

func BenchmarkJSONParseOnly(b *testing.B) {
	benchParseOnly(b, Config{Format: FormatJSON}, benchJSON)
}

func BenchmarkNginxError(b *testing.B) {
	benchParse(b, Config{Format: FormatNginxError}, benchError)
}

func BenchmarkRaw(b *testing.B) {
	benchParse(b, Config{Format: FormatRaw}, benchCombined)
}

// BenchmarkEncodeOnly is the JSON encoder alone on the combined record, to
// tell the parser's share from the encoder's.
func BenchmarkEncodeOnly(b *testing.B) {
	p, _ := New(Config{Format: FormatNginx})
	var rec sidetrail.Record
	rec.Message = benchCombined
	if err := p.Parse(benchCombined, &rec); err != nil {
		b.Fatal(err)
	}
	var enc sidetrail.JSONEncoder
	var out []byte
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		out = enc.Append(out[:0], &rec)
	}
	reportCPU(b, start)
}
