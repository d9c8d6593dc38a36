package redact

import (
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
)

func TestTmpParserAlias(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "nginx", LogFormat: "combined"})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`203.0.113.9 - bob [26/Nov/2026:06:01:20 +0000] "GET /api/v1/login?email=jane.doe@example.com&token=9f8e7d6c HTTP/1.1" 200 5123 "https://shop.example.com/items?page=1" "Mozilla/5.0 \x22x\x22"`)
	var rec sidetrail.Record
	rec.Message = line
	if err := p.Parse(line, &rec); err != nil {
		t.Fatal(err)
	}
	for _, f := range rec.Fields {
		t.Logf("%-18s %-6s within=%v %q", f.Key, f.Kind, within(rec.Message, f.Value), f.Value)
	}
	r := mustNew(t, append(Defaults(), Rule{Field: "remote_user", Action: "hash", KeyEnv: "K"}, Rule{Field: "http_user_agent", Action: "mask"}), hashEnv)
	r.Apply(&rec)
	t.Logf("message: %s", rec.Message)
	for _, f := range rec.Fields {
		t.Logf("%-18s %q", f.Key, f.Value)
	}
	leftovers(t, r, &rec)
}

func BenchmarkTmpParseRedactEncode(b *testing.B) {
	for _, line := range []string{typicalLine[:len(typicalLine)-23], staticLine[:len(staticLine)-23]} {
		b.Run("", func(b *testing.B) {
			p, _ := parser.New(parser.Config{Format: "nginx", LogFormat: "combined"})
			r := mustNew(b, Defaults())
			var enc sidetrail.JSONEncoder
			var rec sidetrail.Record
			var out []byte
			l := []byte(line)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec.Reset()
				rec.Message = l
				if err := p.Parse(l, &rec); err != nil {
					b.Fatal(err)
				}
				r.Apply(&rec)
				out = enc.Append(out[:0], &rec)
			}
		})
		b.Run("noredact", func(b *testing.B) {
			p, _ := parser.New(parser.Config{Format: "nginx", LogFormat: "combined"})
			var enc sidetrail.JSONEncoder
			var rec sidetrail.Record
			var out []byte
			l := []byte(line)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec.Reset()
				rec.Message = l
				if err := p.Parse(l, &rec); err != nil {
					b.Fatal(err)
				}
				out = enc.Append(out[:0], &rec)
			}
		})
	}
}
