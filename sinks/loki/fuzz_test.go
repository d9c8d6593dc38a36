package loki

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/sidetrail/sidetrail"
)

// FuzzEncode: whatever the message and limits, the body decodes, every line
// fits max_line_bytes, split pieces rebuild the message (line: message),
// entries keep the record's second, and encoding twice gives the same bytes.
func FuzzEncode(f *testing.F) {
	f.Add([]byte("hello"), uint16(64), false, false, "v")
	f.Add([]byte("ä\xff\"\\\n"), uint16(70), true, true, "a\"b")
	f.Add(bytes.Repeat([]byte("日本"), 100), uint16(65), false, true, "\x00")
	f.Fuzz(func(t *testing.T, msg []byte, maxLine uint16, lineJSON, split bool, label string) {
		c := Config{URL: "http://x", LabelFields: []string{"f"}, MetadataFields: []string{"f"}, MaxLineBytes: sidetrail.ByteSize(max(int(maxLine), minLineBytes))}
		if lineJSON {
			c.Line = LineJSON
		} else {
			c.Line = LineMessage
		}
		if split {
			c.OnLongLine = LongLineSplit
		}
		r := mkRec(0xdeadbeef, 12345, t0, string(msg), "f", label)
		e := newEncoder(c.withDefaults())
		body := bytes.Clone(e.encode([]sidetrail.Record{r}))
		if again := e.encode([]sidetrail.Record{r}); !bytes.Equal(body, again) {
			t.Fatal("not deterministic")
		}
		ss := decodeProto(t, body)
		var rebuilt []byte
		n := 0
		for _, s := range ss {
			for _, en := range s.Entries {
				if len(en.Line) > int(c.MaxLineBytes) {
					t.Fatalf("line %d bytes > %d", len(en.Line), c.MaxLineBytes)
				}
				if en.TS/1e9 != t0.Unix() || en.TS != entryTime(&r)+int64(n) {
					t.Fatalf("ts %d", en.TS)
				}
				rebuilt = append(rebuilt, en.Line...)
				n++
			}
		}
		// Bytes that are not UTF-8 come out as U+FFFD (sinks23 P4).
		if want := appendValidUTF8(nil, msg); !lineJSON && split && !bytes.Equal(rebuilt, want) {
			t.Fatalf("pieces %q do not rebuild %q", rebuilt, want)
		}
		if !utf8.Valid(rebuilt) {
			t.Fatalf("lines %q are not UTF-8", rebuilt)
		}
		// The JSON body decodes too.
		c.Encoding = EncodingJSON
		decodeJSON(t, newEncoder(c.withDefaults()).encode([]sidetrail.Record{r}), false)
	})
}
