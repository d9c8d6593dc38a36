package pipeline

import (
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/tailer"
)

// BenchmarkTransformNginxDefaults measures one line through what a source
// does before the buffer (parse, static fields, redact with the
// recommended rules) and what the stdout sink does after (JSON encode):
// issue 3's "combined with the default rules" figure.
func BenchmarkTransformNginxDefaults(b *testing.B) {
	for _, c := range []struct{ name, line string }{
		{"plain", `10.12.1.7 - - [26/Nov/2026:00:00:01 +0000] "GET /api/v1/orders/1234/items?page=2&sort=desc HTTP/1.1" 200 5123 "https://shop.example.com/category/7" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"`},
		{"secrets", `10.12.1.7 - - [26/Nov/2026:00:00:01 +0000] "GET /login?user=alice@example.com&token=tk_0123456789abcdef HTTP/1.1" 302 0 "-" "curl/8.5.0"`},
	} {
		b.Run(c.name, func(b *testing.B) {
			p, err := parser.New(parser.Config{Format: "nginx", LogFormat: "combined"})
			if err != nil {
				b.Fatal(err)
			}
			red, err := redact.New(redact.Defaults(), redact.Options{})
			if err != nil {
				b.Fatal(err)
			}
			tr := &Transform{Source: "bench", Parser: p, Redactor: red,
				Fields: []sidetrail.Field{{Key: "env", Value: []byte("prod")}}}
			line := tailer.Line{Key: 1, Path: "/var/log/nginx/access.log", Bytes: []byte(c.line), End: int64(len(c.line) + 1)}
			var rec sidetrail.Record
			var enc sidetrail.JSONEncoder
			var out []byte
			now := time.Now()
			b.SetBytes(int64(len(c.line)))
			b.ReportAllocs()
			for b.Loop() {
				tr.Apply(&rec, line, now)
				out = enc.Append(out[:0], &rec)
			}
			if rec.Flags&sidetrail.FlagParseFailure != 0 {
				b.Fatal("parse failed")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
