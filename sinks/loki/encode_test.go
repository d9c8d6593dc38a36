package loki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sidetrail/sidetrail"
)

func testEncoder(t testing.TB, c Config) *encoder {
	t.Helper()
	if c.URL == "" {
		c.URL = "http://loki:3100"
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return newEncoder(c.withDefaults())
}

func encodeDecode(t testing.TB, c Config, batch []sidetrail.Record) []pushStream {
	t.Helper()
	e := testEncoder(t, c)
	body := e.encode(batch)
	if e.protobuf {
		return decodeProto(t, body)
	}
	return decodeJSON(t, body, e.gzip)
}

func TestProtobufRoundTrip(t *testing.T) {
	c := Config{
		Labels:         map[string]string{"app": "nginx", "env": "prod"},
		LabelFields:    []string{"source", "status"},
		MetadataFields: []string{"request_id", "log.offset"},
		Line:           LineMessage,
	}
	t1 := t0.Add(1500 * time.Millisecond)
	batch := []sidetrail.Record{
		mkRec(7, 100, t1, "GET / 200", "status", "200", "request_id", "r1"),
		mkRec(7, 200, t0, "GET /x 404", "status", "404"),
		mkRec(7, 300, t0, "GET /y 200", "status", "200", "request_id", "r3"),
	}
	got := encodeDecode(t, c, batch)
	if len(got) != 2 {
		t.Fatalf("streams = %d, want 2: %+v", len(got), got)
	}
	if want := `{app="nginx", env="prod", source="web", status="200"}`; got[0].Labels != want {
		t.Errorf("labels = %s, want %s", got[0].Labels, want)
	}
	if want := `{app="nginx", env="prod", source="web", status="404"}`; got[1].Labels != want {
		t.Errorf("labels = %s, want %s", got[1].Labels, want)
	}
	// Stream 200: record at offset 300 (t0) sorts before offset 100 (t0+1.5s).
	s := got[0].Entries
	if len(s) != 2 || s[0].Line != "GET /y 200" || s[1].Line != "GET / 200" {
		t.Fatalf("stream 200 entries = %v", s)
	}
	if want := t0.Unix()*1e9 + 7 + 300; s[0].TS != want {
		t.Errorf("ts = %d, want %d", s[0].TS, want)
	}
	if want := t1.Unix()*1e9 + 7 + 100; s[1].TS != want { // sub-second part replaced
		t.Errorf("ts = %d, want %d", s[1].TS, want)
	}
	if want := [][2]string{{"request_id", "r3"}, {"log_offset", "300"}}; fmt.Sprint(s[0].Meta) != fmt.Sprint(want) {
		t.Errorf("meta = %v, want %v", s[0].Meta, want)
	}
	if want := [][2]string{{"log_offset", "200"}}; fmt.Sprint(got[1].Entries[0].Meta) != fmt.Sprint(want) {
		t.Errorf("meta = %v, want %v", got[1].Entries[0].Meta, want)
	}
}

func TestLineJSONIsRecordJSON(t *testing.T) {
	r := mkRec(1, 42, t0.Add(123*time.Millisecond), `say "hi"`, "status", "200")
	got := encodeDecode(t, Config{Labels: map[string]string{"app": "a"}}, []sidetrail.Record{r})
	var enc sidetrail.JSONEncoder
	want := string(enc.Append(nil, &r))
	if line := got[0].Entries[0].Line; line != want {
		t.Fatalf("line = %s\nwant   %s", line, want)
	}
	if !strings.Contains(want, `"@timestamp":"2025-03-04T05:06:07.123000000Z"`) || !strings.Contains(want, `"offset":42`) {
		t.Fatalf("record JSON lacks full time or offset: %s", want)
	}
}

func TestLabelEscaping(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"plain", "nginx", `"nginx"`},
		{"quote", `a"b`, `"a\"b"`},
		{"backslash", `a\b`, `"a\\b"`},
		{"newline", "a\nb", `"a\nb"`},
		{"tab-cr", "a\t\rb", `"a\t\rb"`},
		{"control", "a\x01b\x7f", `"a\x01b\x7f"`},
		{"unicode", "häß 日本", `"häß 日本"`},
		{"nonprint", "a\u200bb", `"a\u200bb"`},
		{"invalid-utf8", "a\xffb", "\"a\uFFFDb\""}, // U+FFFD, as in the record's JSON
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(appendQuoted(nil, []byte(tc.value)))
			if got != tc.want {
				t.Errorf("appendQuoted = %s, want %s", got, tc.want)
			}
			// Loki and VictoriaLogs unquote label values with Go rules.
			back, err := strconv.Unquote(got)
			if err != nil || back != strings.ToValidUTF8(tc.value, "\uFFFD") {
				t.Errorf("Unquote(%s) = %q, %v", got, back, err)
			}
			if want := strconv.Quote(tc.value); utf8.ValidString(tc.value) && got != want {
				t.Errorf("differs from strconv.Quote %s", want)
			}
		})
	}
}

func TestLabelsSortedAndMissing(t *testing.T) {
	c := Config{
		Labels:      map[string]string{"zeta": "z", "app": "a"},
		LabelFields: []string{"log.file.path", "method", "missing"},
	}
	r := mkRec(1, 0, t0, "m", "method", "GET")
	e := testEncoder(t, c)
	if got, want := string(e.appendKey(nil, &r, false)), `{app="a", log_file_path="/var/log/nginx/access.log", method="GET", zeta="z"}`; got != want {
		t.Errorf("key = %s\nwant  %s", got, want)
	}
	if got, want := string(e.appendLabelsJSON(nil, &r, false)), `{"app":"a","log_file_path":"/var/log/nginx/access.log","method":"GET","zeta":"z"}`; got != want {
		t.Errorf("json = %s\nwant   %s", got, want)
	}
	// No label at all: the fallback stream, since Loki refuses label-less streams.
	e = testEncoder(t, Config{LabelFields: []string{"missing"}})
	if got := string(e.appendKey(nil, &r, false)); got != fallbackLabels {
		t.Errorf("key = %s, want %s", got, fallbackLabels)
	}
}

func TestJSONMatchesProtobuf(t *testing.T) {
	var batch []sidetrail.Record
	for i := range 50 {
		batch = append(batch, mkRec(uint64(i%3), int64(i*100), t0.Add(time.Duration(i%7)*time.Second),
			fmt.Sprintf("line %d \"q\" \\ \t ü \xff\xfe cut \xe2\x82 surrogate \xed\xa0\x80", i), "status", strconv.Itoa(200+i%3), "rid", fmt.Sprint("r\xff", i)))
	}
	base := Config{Labels: map[string]string{"app": "x"}, LabelFields: []string{"status"}, MetadataFields: []string{"rid"}}
	for _, line := range []string{LineJSON, LineMessage} {
		c := base
		c.Line = line
		pb := encodeDecode(t, c, batch)
		for _, comp := range []string{CompressionNone, CompressionGzip} {
			t.Run(line+"/"+comp, func(t *testing.T) {
				cj := c
				cj.Encoding, cj.Compression = EncodingJSON, comp
				js := encodeDecode(t, cj, batch)
				if len(js) != len(pb) {
					t.Fatalf("%d streams, protobuf %d", len(js), len(pb))
				}
				for i := range pb {
					lbl := e2labels(js[i].LabelKV)
					if lbl != pb[i].Labels {
						t.Errorf("stream %d: json labels %s, protobuf %s", i, lbl, pb[i].Labels)
					}
					for j := range pb[i].Entries {
						p, q := pb[i].Entries[j], js[i].Entries[j]
						// JSON cannot carry invalid UTF-8: each such byte is
						// U+FFFD, as in record JSON, and so in the protobuf
						// push (sinks23 P4: it carried the bytes).
						if !utf8.ValidString(p.String()) || p.String() != q.String() {
							t.Errorf("entry %d/%d:\njson     %v\nprotobuf %v", i, j, q, p)
						}
					}
				}
			})
		}
	}
}

func e2labels(m map[string]string) string {
	c := Config{Labels: m, URL: "http://x"}
	return string(newEncoder(c.withDefaults()).appendKey(nil, nil, true))
}

// A replay must give byte-identical entries; equal lines at different
// offsets must never give equal ones.
func TestReplayIdempotent(t *testing.T) {
	for _, line := range []string{LineJSON, LineMessage} {
		t.Run(line, func(t *testing.T) {
			c := Config{Labels: map[string]string{"app": "nginx"}, LabelFields: []string{"source"}, Line: line, MetadataFields: []string{"rid"}}
			var batch []sidetrail.Record
			for i := range 200 {
				batch = append(batch, mkRec(0xfeedface, int64(i)*97, t0.Add(time.Duration(i/50)*time.Second), "GET /health 200", "rid", "x"))
			}
			// The same batch from a fresh process: identical bytes.
			a := bytes.Clone(testEncoder(t, c).encode(batch))
			b := testEncoder(t, c).encode(batch)
			if !bytes.Equal(a, b) {
				t.Fatal("same batch encoded twice differs")
			}
			// The same records in other batches (a crash cut the batch elsewhere):
			// each record's entry is identical.
			first := map[string]bool{}
			for _, en := range allEntries(decodeProto(t, a)) {
				first[en.String()] = true
			}
			e := testEncoder(t, c)
			for _, part := range [][]sidetrail.Record{batch[150:], batch[:70], batch[70:150]} {
				for _, en := range allEntries(decodeProto(t, e.encode(part))) {
					if !first[en.String()] {
						t.Fatalf("replayed entry %v not in the first send", en)
					}
				}
			}
			// 200 equal messages, 50 per second: 200 distinct (timestamp, line).
			if len(first) != len(batch) {
				t.Fatalf("%d distinct entries for %d records", len(first), len(batch))
			}
		})
	}
}

func TestEqualLinesNeverCollide(t *testing.T) {
	c := Config{Labels: map[string]string{"app": "nginx"}, Line: LineMessage}
	msg := `10.0.0.1 - - [04/Mar/2025:05:06:07 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.30"  `
	var batch []sidetrail.Record
	// 40,000 identical lines of 100 bytes in one second, back to back in one
	// file (4 MB/s: lines exactly 1 MB apart collided when the sub-second
	// number was made mod 1e6, regress23 P2), and 10,000 of the same lines
	// at the same offsets in two more files of the same stream.
	for f := range uint64(3) {
		n := int64(10000)
		if f == 0 {
			n = 40000
		}
		for i := range n {
			batch = append(batch, mkRec(0x9e3779b97f4a7c15*(f+1), i*int64(len(msg)+1), t0, msg))
		}
	}
	seen := map[int64]int{}
	for i, en := range allEntries(encodeDecode(t, c, batch)) {
		if j, dup := seen[en.TS]; dup {
			t.Fatalf("entries %d and %d share timestamp %d with the same line", j, i, en.TS)
		}
		seen[en.TS] = i
		if en.TS/1e9 != t0.Unix() {
			t.Fatalf("entry left its second: %d", en.TS)
		}
	}
	if len(seen) != len(batch) {
		t.Fatalf("%d entries for %d records", len(seen), len(batch))
	}
}

func TestStableOrderWithinStream(t *testing.T) {
	c := Config{Labels: map[string]string{"app": "a"}, Line: LineMessage}
	batch := []sidetrail.Record{
		mkRec(0, 5, t0.Add(2*time.Second), "c"),
		mkRec(0, 5, t0, "a1"), // equal entry timestamps: batch order kept
		mkRec(0, 5, t0, "a2"),
		mkRec(0, 5, t0.Add(time.Second), "b"),
		mkRec(0, 5, t0, "a3"),
	}
	var lines []string
	for _, en := range encodeDecode(t, c, batch)[0].Entries {
		lines = append(lines, en.Line)
	}
	if got := strings.Join(lines, ","); got != "a1,a2,a3,b,c" {
		t.Fatalf("order = %s", got)
	}
}

func TestEntryTime(t *testing.T) {
	r := mkRec(3e9+5, 1e9+7, time.Date(2025, 1, 1, 0, 0, 0, 999_999_999, time.UTC), "")
	if got, want := entryTime(&r), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()+12; got != want {
		t.Errorf("entryTime = %d, want %d", got, want)
	}
	r.Time = time.Time{} // no event time: the stored ingest time, still deterministic
	if got, want := entryTime(&r), r.Ingested.Unix()*1e9+12; got != want {
		t.Errorf("entryTime without Time = %d, want %d", got, want)
	}
	r.Time = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := entryTime(&r); got != 12 {
		t.Errorf("pre-epoch entryTime = %d, want 12", got)
	}
	r.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := entryTime(&r); got <= 0 {
		t.Errorf("far-future entryTime overflowed: %d", got)
	}
}

func TestLongLines(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("äb\"c", 300), // 1500 bytes, 2-byte runes and quotes
		// Bytes that are not UTF-8: U+FFFD each, in every piece
		// (sinks23 P4).
		strings.Repeat("ä\xffb\"c\xe2\x82", 200),
	} {
		testLongLines(t, src, string(appendValidUTF8(nil, []byte(src))))
	}
}

// testLongLines checks the pieces of a line: long, made of raw.
func testLongLines(t *testing.T, raw, long string) {
	for _, tc := range []struct {
		name, line, mode string
	}{
		{"message-truncate", LineMessage, LongLineTruncate},
		{"message-split", LineMessage, LongLineSplit},
		{"json-truncate", LineJSON, LongLineTruncate},
		{"json-split", LineJSON, LongLineSplit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Labels: map[string]string{"app": "a"}, Line: tc.line, OnLongLine: tc.mode, MaxLineBytes: 333}
			r := mkRec(1, 1000, t0, raw, "status", "200")
			e := testEncoder(t, c)
			entries := allEntries(decodeProto(t, e.encode([]sidetrail.Record{r, mkRec(1, 2501, t0, "short")})))
			last := entries[len(entries)-1]
			if last.Line != "short" && !strings.Contains(last.Line, `"message":"short"`) {
				t.Fatalf("short line changed: %s", last.Line)
			}
			entries = entries[:len(entries)-1]
			var msgs []string
			for i, en := range entries {
				if len(en.Line) > 333 {
					t.Errorf("entry %d: %d bytes > 333", i, len(en.Line))
				}
				if !utf8.ValidString(en.Line) {
					t.Errorf("entry %d: invalid UTF-8", i)
				}
				if en.TS != entryTime(&r)+int64(i) {
					t.Errorf("entry %d: ts %d, want %d", i, en.TS, entryTime(&r)+int64(i))
				}
				msg := en.Line
				if tc.line == LineJSON {
					var doc struct {
						Message string
						Log     struct{ Flags []string }
					}
					if err := json.Unmarshal([]byte(en.Line), &doc); err != nil {
						t.Fatalf("entry %d: %v: %s", i, err, en.Line)
					}
					want := map[string]string{LongLineTruncate: "truncated", LongLineSplit: "fragment"}[tc.mode]
					if fmt.Sprint(doc.Log.Flags) != "["+want+"]" {
						t.Errorf("entry %d: flags %v, want %s", i, doc.Log.Flags, want)
					}
					msg = doc.Message
				}
				msgs = append(msgs, msg)
			}
			all := strings.Join(msgs, "")
			switch tc.mode {
			case LongLineTruncate:
				if len(entries) != 1 {
					t.Fatalf("%d entries", len(entries))
				}
				if tc.line == LineMessage {
					if !strings.HasSuffix(all, TruncatedSuffix) {
						t.Errorf("no suffix: %s", all)
					}
					all = strings.TrimSuffix(all, TruncatedSuffix)
				}
				if !strings.HasPrefix(long, all) || len(all) < 50 {
					t.Errorf("kept %d bytes, not a prefix of the message", len(all))
				}
				if e.stats.truncated != 1 {
					t.Errorf("truncated = %d", e.stats.truncated)
				}
			case LongLineSplit:
				if all != long {
					t.Errorf("pieces do not rebuild the message: %d of %d bytes", len(all), len(long))
				}
				if len(entries) < 2 || e.stats.split != 1 {
					t.Errorf("%d pieces, split = %d", len(entries), e.stats.split)
				}
			}
		})
	}
}

// A record whose fields alone exceed max_line_bytes still gets a bounded line.
// Parsed fields alone larger than max_line_bytes: the line leaves them out
// and carries the message (which holds them), still valid JSON and flagged
// fields_dropped, split or truncated as configured. It was cut bytewise,
// invalid JSON with an empty message, and counted as split (the probe's
// 3,000-byte field).
func TestLongLineHugeFields(t *testing.T) {
	msg := `{"msg":"m-1","blob":"` + strings.Repeat("B", 900) + `","tail":"END"}`
	for _, mode := range []string{LongLineTruncate, LongLineSplit} {
		t.Run(mode, func(t *testing.T) {
			c := Config{Labels: map[string]string{"app": "a"}, OnLongLine: mode, MaxLineBytes: 400}
			r := mkRec(1, 1, t0, msg, "blob", strings.Repeat("B", 900), "tail", "END")
			e := testEncoder(t, c)
			entries := allEntries(decodeProto(t, e.encode([]sidetrail.Record{r})))
			var got strings.Builder
			for i, en := range entries {
				if len(en.Line) > 400 {
					t.Errorf("entry %d: %d bytes", i, len(en.Line))
				}
				var doc map[string]any
				if err := json.Unmarshal([]byte(en.Line), &doc); err != nil {
					t.Fatalf("entry %d is not JSON: %v: %s", i, err, en.Line)
				}
				if _, ok := doc["blob"]; ok {
					t.Errorf("entry %d kept the huge field", i)
				}
				flags := fmt.Sprint(doc["log"].(map[string]any)["flags"])
				want := map[string]string{LongLineTruncate: "truncated", LongLineSplit: "fragment"}[mode]
				if !strings.Contains(flags, "fields_dropped") || !strings.Contains(flags, want) {
					t.Errorf("entry %d: flags %s", i, flags)
				}
				got.WriteString(doc["message"].(string))
			}
			switch {
			case mode == LongLineSplit && got.String() != msg:
				t.Errorf("split pieces join to %q, want the message", got.String())
			case mode == LongLineTruncate && (len(entries) != 1 || got.Len() < 100 || !strings.HasPrefix(msg, got.String())):
				t.Errorf("truncated to %d entries, message %q", len(entries), got.String())
			}
			if e.stats.fieldsDropped != 1 {
				t.Errorf("fieldsDropped = %d, want 1", e.stats.fieldsDropped)
			}
		})
	}
	// Not even the record's own keys fit: the line is cut (nothing better
	// is possible), one entry per record.
	c := Config{Labels: map[string]string{"app": "a"}, MaxLineBytes: 64}
	r := mkRec(1, 1, t0, "msg", "big", strings.Repeat("x", 500))
	entries := allEntries(encodeDecode(t, c, []sidetrail.Record{r}))
	if len(entries) != 1 || len(entries[0].Line) > 64 || len(entries[0].Line) < 30 {
		t.Fatalf("entries %v", entries)
	}
}

func TestMaxStreams(t *testing.T) {
	c := Config{Labels: map[string]string{"app": "a"}, LabelFields: []string{"status"}, MaxStreams: 2, Line: LineMessage}
	e := testEncoder(t, c)
	var batch []sidetrail.Record
	for i, st := range []string{"200", "404", "500", "200", "503", "404"} {
		batch = append(batch, mkRec(1, int64(i), t0, st, "status", st))
	}
	got := map[string]string{}
	for _, s := range decodeProto(t, e.encode(batch)) {
		for _, en := range s.Entries {
			got[en.Line] += s.Labels
		}
	}
	want := map[string]string{
		"200": `{app="a", status="200"}{app="a", status="200"}`,
		"404": `{app="a", status="404"}{app="a", status="404"}`,
		"500": `{app="a"}`, "503": `{app="a"}`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("streams:\n got %v\nwant %v", got, want)
	}
	if e.stats.streamLimited != 2 {
		t.Errorf("streamLimited = %d, want 2", e.stats.streamLimited)
	}
	// Known label sets stay usable in later batches.
	e.encode(batch[:2])
	if e.stats.streamLimited != 0 {
		t.Errorf("streamLimited = %d for known streams", e.stats.streamLimited)
	}
}

func TestEmptyAndNullFields(t *testing.T) {
	r := mkRec(1, 1, t0, "m")
	r.Add("n", sidetrail.KindNull, nil)
	r.Add("i", sidetrail.KindInt, []byte("12"))
	c := Config{Labels: map[string]string{"app": "a"}, LabelFields: []string{"n", "i"}, MetadataFields: []string{"n", "i", "nope"}}
	s := encodeDecode(t, c, []sidetrail.Record{r})
	if s[0].Labels != `{app="a", i="12"}` {
		t.Errorf("labels %s", s[0].Labels)
	}
	if fmt.Sprint(s[0].Entries[0].Meta) != "[[i 12]]" {
		t.Errorf("meta %v", s[0].Entries[0].Meta)
	}
}

func TestLongLabelValueCapped(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	r := mkRec(1, 1, t0, "m", "host", long)
	for _, enc := range []string{EncodingProtobuf, EncodingJSON} {
		s := encodeDecode(t, Config{Encoding: enc, LabelFields: []string{"host"}}, []sidetrail.Record{r})
		v := s[0].LabelKV["host"]
		if enc == EncodingProtobuf {
			q := strings.TrimSuffix(strings.TrimPrefix(s[0].Labels, `{host=`), `}`)
			var err error
			if v, err = strconv.Unquote(q); err != nil {
				t.Fatal(err)
			}
		}
		if len(v) != 1024 || v != long[:1024] || !utf8.ValidString(v) {
			t.Errorf("%s: label value %d bytes", enc, len(v))
		}
	}
}

// A record whose line: json is over max_line_bytes only for its parsed
// fields ships its whole message without them, flagged fields_dropped
// alone: it was also flagged and counted truncated (or fragment and
// split), though nothing of its message was cut (user23 P2).
func TestFieldsDroppedAloneIsNotTruncated(t *testing.T) {
	for _, mode := range []string{LongLineTruncate, LongLineSplit} {
		t.Run(mode, func(t *testing.T) {
			c := Config{Labels: map[string]string{"app": "a"}, Line: LineJSON, OnLongLine: mode, MaxLineBytes: 300}
			r := mkRec(1, 1000, t0, "GET /x 200 a short line", "user_agent", strings.Repeat("Mozilla/5.0 ", 30))
			e := testEncoder(t, c)
			entries := allEntries(decodeProto(t, e.encode([]sidetrail.Record{r})))
			if len(entries) != 1 {
				t.Fatalf("%d entries", len(entries))
			}
			var doc struct {
				Message string
				Log     struct{ Flags []string }
			}
			if err := json.Unmarshal([]byte(entries[0].Line), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Message != string(r.Message) || fmt.Sprint(doc.Log.Flags) != "[fields_dropped]" {
				t.Errorf("line %s", entries[0].Line)
			}
			if e.stats.truncated != 0 || e.stats.split != 0 || e.stats.fieldsDropped != 1 {
				t.Errorf("stats %+v", e.stats)
			}
		})
	}
}

// A dotted label_fields or metadata_fields name reaches a member inside a
// JSON object field, as the record JSON writes it: {"m":{"svc":"v1"}} and
// {"m.svc":"v1"} get the same label (sinks23 P1: the nested one got none).
func TestDottedLabelFieldReachesNestedMembers(t *testing.T) {
	c := Config{Labels: map[string]string{"env": "p"}, LabelFields: []string{"m.svc", "k8s.pod.name"}, MetadataFields: []string{"m.n", "m.obj"}}
	rec := func(kv ...string) sidetrail.Record {
		r := mkRec(1, 0, t0, "line")
		for i := 0; i+1 < len(kv); i += 2 {
			kind := sidetrail.KindString
			if strings.HasPrefix(kv[i+1], "{") {
				kind = sidetrail.KindJSON
			}
			r.Add(kv[i], kind, []byte(kv[i+1]))
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		r      sidetrail.Record
		labels string
		meta   string
	}{
		{"flat", rec("m.svc", "v1", "m.n", "7"), `{env="p", m_svc="v1"}`, "[[m_n 7]]"},
		{"nested", rec("m", `{"svc":"v1","n":7,"obj":{"a":[1,2]}}`), `{env="p", m_svc="v1"}`, `[[m_n 7] [m_obj {"a":[1,2]}]]`},
		{"escaped and spaced", rec("m", `{ "s\u0076c" : "v\"1" , "svc2":null }`), `{env="p", m_svc="v\"1"}`, "[]"},
		{"a dot inside a name", rec("k8s", `{"pod.name":"web-1"}`), `{env="p", k8s_pod_name="web-1"}`, "[]"},
		{"deeper", rec("k8s", `{"pod":{"name":"web-2"}}`), `{env="p", k8s_pod_name="web-2"}`, "[]"},
		{"null and missing", rec("m", `{"svc":null}`), `{env="p"}`, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := encodeDecode(t, c, []sidetrail.Record{tc.r})
			if len(ss) != 1 || ss[0].Labels != tc.labels {
				t.Fatalf("streams %+v, want labels %s", ss, tc.labels)
			}
			if got := fmt.Sprint(ss[0].Entries[0].Meta); got != tc.meta {
				t.Errorf("metadata %s, want %s", got, tc.meta)
			}
		})
	}
}
