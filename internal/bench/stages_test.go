package main

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

// The stage benchmarks run each step of the pipeline over the first lines of
// the make bench corpora, one core, so a change to one stage can be judged
// without the noise of a whole run. Per-line time is ns/op divided by the
// line count; the lines/s metric gives it directly.

const stageLines = 4096

func corpusLines(b *testing.B, gen func(w *bufio.Writer, i int, r *rand.Rand), kind string) [][]byte {
	b.Helper()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	r := rand.New(rand.NewPCG(42, uint64(len(kind))))
	for i := 0; i < stageLines; i++ {
		gen(w, i, r)
	}
	w.Flush()
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	return lines
}

type stageCase struct {
	name, kind string
	gen        func(w *bufio.Writer, i int, r *rand.Rand)
	cfg        parser.Config
}

var stageCases = []stageCase{
	{"nginx", "nginx", genNginx, parser.Config{Format: "nginx", LogFormat: "combined"}},
	{"json", "json", genJSON, parser.Config{Format: "json"}},
	{"raw", "nginx", genNginx, parser.Config{Format: "raw"}},
}

// prepared parses (and optionally redacts) every line once into records.
func prepared(b *testing.B, c stageCase, red *redact.Redactor) []sidetrail.Record {
	b.Helper()
	lines := corpusLines(b, c.gen, c.kind)
	p, err := parser.New(c.cfg)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]sidetrail.Record, len(lines))
	now := time.Now()
	for i, l := range lines {
		rec := &recs[i]
		rec.FileKey, rec.Offset, rec.End = 1, int64(i*200), int64(i*200+len(l)+1)
		rec.Source, rec.Path = "bench", "/var/log/nginx/access.log"
		rec.Message = l
		if err := p.Parse(l, rec); err != nil {
			b.Fatalf("parse %q: %v", l, err)
		}
		if rec.Time.IsZero() {
			rec.Time = now
		}
		rec.Ingested = now
		if red != nil {
			red.Apply(rec)
		}
	}
	return recs
}

func reportLines(b *testing.B, n int) {
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/line")
}

func BenchmarkStageParse(b *testing.B) {
	for _, c := range stageCases {
		b.Run(c.name, func(b *testing.B) {
			lines := corpusLines(b, c.gen, c.kind)
			p, err := parser.New(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			var rec sidetrail.Record
			b.ReportAllocs()
			for b.Loop() {
				for _, l := range lines {
					rec.Reset()
					rec.Message = l
					if err := p.Parse(l, &rec); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportLines(b, len(lines))
		})
	}
}

func BenchmarkStageRedact(b *testing.B) {
	for _, c := range stageCases {
		b.Run(c.name, func(b *testing.B) {
			recs := prepared(b, c, nil)
			red, err := redact.New(redact.Defaults(), redact.Options{})
			if err != nil {
				b.Fatal(err)
			}
			// Apply rewrites in place, so each pass works on a copy.
			work := make([]sidetrail.Record, len(recs))
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					w := &work[i]
					scratch := w.Scratch[:0]
					fields := append(w.Fields[:0], recs[i].Fields...)
					*w = recs[i]
					w.Fields, w.Scratch = fields, scratch
					red.Apply(w)
				}
			}
			reportLines(b, len(recs))
		})
	}
}

func BenchmarkStageBinaryEncode(b *testing.B) {
	for _, c := range stageCases {
		b.Run(c.name, func(b *testing.B) {
			recs := prepared(b, c, nil)
			var out []byte
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					out = sidetrail.AppendBinary(out[:0], &recs[i])
				}
			}
			reportLines(b, len(recs))
		})
	}
}

func BenchmarkStageBinaryDecode(b *testing.B) {
	for _, c := range stageCases {
		b.Run(c.name, func(b *testing.B) {
			recs := prepared(b, c, nil)
			enc := make([][]byte, len(recs))
			for i := range recs {
				enc[i] = sidetrail.AppendBinary(nil, &recs[i])
			}
			var d sidetrail.Decoder
			var rec sidetrail.Record
			b.ReportAllocs()
			for b.Loop() {
				for _, e := range enc {
					if err := d.Decode(e, &rec); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportLines(b, len(recs))
		})
	}
}

func BenchmarkStageJSONEncode(b *testing.B) {
	for _, c := range stageCases {
		b.Run(c.name, func(b *testing.B) {
			recs := prepared(b, c, nil)
			var enc sidetrail.JSONEncoder
			var out []byte
			b.ReportAllocs()
			for b.Loop() {
				out = out[:0]
				for i := range recs {
					out = enc.Append(out, &recs[i])
					out = append(out, '\n')
				}
			}
			b.SetBytes(int64(len(out)) / int64(len(recs)))
			reportLines(b, len(recs))
		})
	}
}
