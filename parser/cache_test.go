package parser

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

// The parsers remember things from line to line (the keys of the previous
// line by position, the slot of each field name, the minute of the last
// time). None of it may change a result: a parser that has seen other lines
// must parse a line exactly as a new parser does.

// parseResult renders everything Parse leaves behind: error, time, fields
// and scratch.
func parseResult(p Parser, line []byte) string {
	rec := &sidetrail.Record{
		Fields:  []sidetrail.Field{{Key: "pre", Value: []byte("x")}},
		Scratch: []byte("s"),
	}
	err := p.Parse(line, rec)
	return fmt.Sprintf("err=%v time=%d %v\n%sscratch=%q", err, rec.Time.UnixNano(), rec.Time.Location(), fieldsString(rec.Fields), rec.Scratch)
}

// checkWarm parses each line with one long-lived parser (twice over, so
// every line meets warm caches) and compares it with a new parser's result.
func checkWarm(t testing.TB, cfg Config, lines [][]byte) {
	t.Helper()
	warm := mustNew(t, cfg)
	for round := 0; round < 2; round++ {
		for _, line := range lines {
			got := parseResult(warm, line)
			want := parseResult(mustNew(t, cfg), line)
			if got != want {
				t.Fatalf("%+v: line %q\nwarm parser: %s\nnew parser:  %s", cfg, line, got, want)
			}
		}
	}
}

func splitLines(s string) [][]byte {
	return bytes.Split([]byte(s), []byte("\n"))
}

func TestJSONWarmCaches(t *testing.T) {
	lines := splitLines(strings.Join([]string{
		`{"time":"2024-01-02T15:04:05Z","a":1,"b":"x","c":{"d":1}}`,
		// The same keys, one escaped, one duplicated, one renamed.
		`{"time":"2024-01-02T15:04:06.5+01:00","\u0061":2,"b":"y","b":"z"}`,
		`{"time":"2024-01-02T15:04:06.5+01:00","a":3,"a":4,"a":5,"c":6}`,
		`{"a":1,"\u0061":2,"a\"":3,"a\\":4,"":5,"_empty":6}`,
		`{"message":1,"json.message":2,"a..b":3,"a__b":4,"a.b":5,"a":6}`,
		`{"a.b":1,"a":2}`,
		// Keys that start like the cached ones.
		`{"tim":1,"timex":2,"time\"":3,"a b":4}`,
		`{"time":"2024-01-02T15:04:60Z"}`,
		`{"time":"2024-01-02T15:04:61Z"}`,
		`{"time":"2024-01-02T15:04:5Z"}`,
		`{"time":"2024-01-02T15:04:05"}`,
		`{"time":"2024-01-02T15:04-05Z"}`,
		`{"time":"2024-01-02T15:04:05,123456789123-23:59"}`,
		`{"time":"2024-01-02 15:04:05.Z"}`,
		`{"time":"2024-02-29T15:04:05Z"}`,
		`{"time":"2023-02-29T15:04:05Z"}`,
		`{"ts":1704207845,"time":"x","timestamp":"2024-01-02T15:04:05Z","@timestamp":"y"}`,
		// Failures part way leave nothing behind.
		`{"time":"2024-01-02T15:04:05Z","a":1,"b":`,
		`{"a":1,"b":2,"a":3,}`,
		`{"a":1 "b":2}`,
		`{"abcdefgh":1,"abcdefg":2,"abcdefghi":3}`,
		`{"abcdefgh":1,"abcdefg":2,"abcdefghi":3}`,
		`{"abcdefg":1}`,
		`{"abcdefg"`,
		`{"abcdefg" : 1}`,
		`{"a":"` + "\xff\xfe" + `","b":{"c":"` + "\xff" + `"}}`,
	}, "\n"))
	for _, cfg := range []Config{
		{Format: FormatJSON},
		{Format: FormatJSON, TimeFormat: "rfc3339"},
		{Format: FormatJSON, TimeKey: "a", TimeFormat: "unix"},
	} {
		checkWarm(t, cfg, lines)
	}
}

// TestJSONKeyTablesFull runs past the bounds of the key tables: keys seen
// then are not remembered, and duplicates among them must still be found.
func TestJSONKeyTablesFull(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON})
	for i := 0; i < 2*maxNames; i++ {
		line := fmt.Appendf(nil, `{"k%d":1,"x":2,"k%d":3,"a..%d":4,"a__%d":5,"m%d.n":6,"m%d":7,"x":8}`, i, i, i, i, i, i)
		got := parseResult(p, line)
		want := parseResult(mustNew(t, Config{Format: FormatJSON}), line)
		if got != want {
			t.Fatalf("line %d %s:\nwarm parser: %s\nnew parser:  %s", i, line, got, want)
		}
	}
}

func TestNginxWarmCaches(t *testing.T) {
	combined := splitLines(strings.Join([]string{
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:59 +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:60 +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:61 +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:6x +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04-05 +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 -0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +01000] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [29/Feb/2023:15:04:05 +0100] "GET /a?b HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - a b [02/Jan/2024:15:04:05 +0100] "GET /a\x22b HTTP/1.1" 200 5 "-" "u\x5Ca"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET / HTTP/1.1" 200 5 "-" "ua" "x"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /" HTTP/1.1" 20 0 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "get / HTTP/1.1" - - "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /a b c HTTP/1.1 HTTP/2.0" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1" 200 5 "-" "ua"`,
		`10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1x" 200 5 "-" "ua"`,
		`1 - - [] "" 1 1 "" ""`,
	}, "\n"))
	checkWarm(t, Config{Format: FormatNginx}, combined)
	iso := splitLines(strings.Join([]string{
		`{"t":"2024-01-02T15:04:05+00:00","l":"02/Jan/2024:15:04:05 +0000","m":1704207845.123,"r":"GET / HTTP/1.1"}`,
		`{"t":"2024-01-02T15:04:06+00:00","l":"02/Jan/2024:15:04:06 +0000","m":-,"r":"GET /\"x\\ HTTP/1.1"}`,
		`{"t":"2024-01-02T15:04:61+00:00","l":"02/Jan/2024:15:04:61 +0000","m":1,"r":"GET / HTTP/1.1"}`,
		`{"t":"2024-01-02T15:04:05.5-07:00","l":"02/Jan/2024:15:04:05 -0700","m":x,"r":"\""}`,
	}, "\n"))
	checkWarm(t, Config{Format: FormatNginx, LogFormat: `escape=json '{"t":"$time_iso8601","l":"$time_local","m":$msec,"r":"$request"}'`}, iso)
}

// TestTimeCaches compares the cached time parsers with the plain ones over
// times that share a minute with the one before, and some that do not.
func TestTimeCaches(t *testing.T) {
	var rc rfc3339Cache
	var lc timeLocalCache
	base := time.Date(2023, 12, 31, 23, 58, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600-30*60)}
	for i := 0; i < 400; i++ {
		tm := base.Add(time.Duration(i) * 1700 * time.Millisecond).In(zones[i/150])
		for _, s := range []string{
			tm.Format(time.RFC3339Nano), tm.Format("2006-01-02T15:04:05.000-0700"),
			tm.Format("2006-01-02 15:04:05Z07"),
		} {
			got, gok := rc.parse([]byte(s))
			want, wok := parseRFC3339([]byte(s))
			if gok != wok || !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("rfc3339Cache.parse(%q) = %v %v, want %v %v", s, got, gok, want, wok)
			}
		}
		s := tm.Format("02/Jan/2006:15:04:05 -0700")
		for _, v := range []string{s, s[:18] + "60" + s[20:], s[:18] + "61" + s[20:], s[:18] + "+1" + s[20:], s[:17] + "." + s[18:]} {
			got, gok := lc.parse([]byte(v))
			want, wok := parseTimeLocal([]byte(v))
			if gok != wok || !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("timeLocalCache.parse(%q) = %v %v, want %v %v", v, got, gok, want, wok)
			}
		}
	}
}

// FuzzJSONWarm checks that lines parse alike with a warm and a new parser.
func FuzzJSONWarm(f *testing.F) {
	f.Add([]byte("{\"time\":\"2024-01-02T15:04:05Z\",\"a\":1}\n{\"time\":\"2024-01-02T15:04:59.1+01:00\",\"\\u0061\":2,\"a\":3}"))
	f.Add([]byte("{\"a.b\":1,\"a\":2}\n{\"a\":1,\"a.b\":2,\"a_b\":3}\n{\"abcdefgh\":1,\"abcdefg\":{\"x\":[1]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkWarm(t, Config{Format: FormatJSON}, bytes.Split(data, []byte("\n")))
	})
}

// FuzzNginxWarm checks that lines parse alike with a warm and a new parser.
func FuzzNginxWarm(f *testing.F) {
	f.Add("combined", []byte("1.2.3.4 - - [02/Jan/2024:15:04:05 +0100] \"GET /a?b HTTP/1.1\" 200 5 \"-\" \"ua\"\n1.2.3.4 - - [02/Jan/2024:15:04:60 +0100] \"GET /a?b HTTP/1.1\" 200 5 \"-\" \"ua\""))
	f.Add(`escape=json '{"t":"$time_iso8601","m":$msec,"r":"$request"}'`, []byte("{\"t\":\"2024-01-02T15:04:05+00:00\",\"m\":1.5,\"r\":\"GET / HTTP/1.1\"}\n{\"t\":\"2024-01-02T15:04:07+00:00\",\"m\":1.5,\"r\":\"G\\\"\"}"))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		if _, err := New(Config{Format: FormatNginx, LogFormat: format}); err != nil {
			return
		}
		checkWarm(t, Config{Format: FormatNginx, LogFormat: format}, bytes.Split(data, []byte("\n")))
	})
}
