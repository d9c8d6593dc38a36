package redact

import (
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/sidetrail/sidetrail"
)

const typicalLine = `203.0.113.9 - - [26/Nov/2026:06:01:20 +0000] "GET /api/v1/items/42?page=2&sort=desc HTTP/1.1" 200 5123 "https://shop.example.com/items?page=1" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36" 0.012 req-7f3a9c2e4b1d`

// staticLine has no query string: not one candidate for any default rule.
const staticLine = `203.0.113.9 - - [26/Nov/2026:06:01:20 +0000] "GET /static/js/app.3f9a1c.min.js HTTP/1.1" 200 5123 "https://shop.example.com/items/42/reviews" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36" 0.012 req-7f3a9c2e4b1d`

const secretLine = `203.0.113.9 - - [26/Nov/2026:06:01:20 +0000] "GET /api/v1/login?email=jane.doe@example.com&token=9f8e7d6c5b4a39281706&page=2 HTTP/1.1" 200 5123 "https://shop.example.com/items?page=1" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36" 0.012 req-7f3a9c2e4b1d`

// nginxRecord builds a record as the nginx parser would for a combined
// line plus request_time and request_id: field values are slices of the
// line.
func nginxRecord(line string) *sidetrail.Record {
	quoted := strings.Split(line, `"`) // 0 addr..time, 1 request, 2 status bytes, 3 referer, 5 agent, 6 rest
	request := quoted[1]
	method, rest, _ := strings.Cut(request, " ")
	uri, proto, _ := strings.Cut(rest, " ")
	path, query, _ := strings.Cut(uri, "?")
	sb := strings.Fields(quoted[2])
	tail := strings.Fields(quoted[6])
	fields := []kv{
		{key: "remote_addr", value: strings.Fields(quoted[0])[0]},
		{key: "request", value: request},
		{key: "request_method", value: method},
		{key: "request_path", value: path},
		{key: "request_query", value: query},
		{key: "request_protocol", value: proto},
		{key: "status", value: sb[0], kind: sidetrail.KindInt},
		{key: "body_bytes_sent", value: sb[1], kind: sidetrail.KindInt},
		{key: "http_referer", value: quoted[3]},
		{key: "http_user_agent", value: quoted[5]},
		{key: "request_time", value: tail[0], kind: sidetrail.KindFloat},
		{key: "request_id", value: tail[1]},
	}
	if query == "" {
		fields = append(fields[:4], fields[5:]...)
	}
	return newRecord(line, fields...)
}

func typicalRecord() *sidetrail.Record { return nginxRecord(typicalLine) }

func benchApply(b *testing.B, r *Redactor, line string, copied bool) {
	proto := nginxRecord(line)
	if copied {
		// Field values in their own memory (a parser that copies): the
		// message-alias fast path does not apply.
		for i := range proto.Fields {
			proto.Fields[i].Value = append([]byte(nil), proto.Fields[i].Value...)
		}
	}
	fields := append([]sidetrail.Field(nil), proto.Fields...)
	rec := &sidetrail.Record{Scratch: make([]byte, 0, 4096)}
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.Reset()
		rec.Message = proto.Message
		rec.Fields = append(rec.Fields, fields...)
		r.Apply(rec)
	}
	b.StopTimer()
	// On a shared machine wall time per op mostly measures the other
	// processes; the thread's CPU time is the figure to compare.
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// threadCPU returns the calling thread's CPU time (user + system) in ns.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkApplyDefaultsNoMatch(b *testing.B) {
	benchApply(b, mustNew(b, Defaults()), typicalLine, false)
}

func BenchmarkApplyDefaultsStaticNoCandidate(b *testing.B) {
	benchApply(b, mustNew(b, Defaults()), staticLine, false)
}

func BenchmarkApplyDefaultsNoMatchCopiedFields(b *testing.B) {
	benchApply(b, mustNew(b, Defaults()), typicalLine, true)
}

func BenchmarkApplyDefaultsTokenEmail(b *testing.B) {
	benchApply(b, mustNew(b, Defaults()), secretLine, false)
}

func BenchmarkApplyDefaultsPlusPatternNoMatch(b *testing.B) {
	rules := append(Defaults(), Rule{Pattern: `(?i)(token|password|api_key)=[^&\s"]*`, Replace: "$1=[REDACTED]"})
	benchApply(b, mustNew(b, rules), typicalLine, false)
}

func BenchmarkApplyAllBuiltinsNoMatch(b *testing.B) {
	rules := append(Defaults(), Rule{Builtin: "ipv6"})
	benchApply(b, mustNew(b, rules), typicalLine, false)
}

func BenchmarkApplyFieldRuleHash(b *testing.B) {
	rules := append(Defaults(), Rule{Field: "request_id", Action: "hash", KeyEnv: "K"})
	benchApply(b, mustNew(b, rules, hashEnv), typicalLine, false)
}

func BenchmarkApply1MiB(b *testing.B) {
	all := append(Defaults(), Rule{Builtin: "ipv4"}, Rule{Builtin: "ipv6"}, Rule{Pattern: `(?i)secret-[a-z0-9]+`})
	r := mustNew(b, all)
	line := []byte(strings.Repeat(`10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a?x=1 HTTP/1.1" 200 2326 "-" "Mozilla/5.0" `, 1<<20/100))
	rec := &sidetrail.Record{}
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		rec.Reset()
		rec.Message = line
		r.Apply(rec)
	}
}
