package loki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sidetrail/sidetrail"
)

// pushEntry and pushStream are a push request decoded independently of the
// encoder, for either encoding.
type pushEntry struct {
	TS   int64 // unix ns
	Line string
	Meta [][2]string
}

type pushStream struct {
	Labels  string            // protobuf: the labels string
	LabelKV map[string]string // json: the stream object
	Entries []pushEntry
}

// decodeProto decodes a snappy-compressed PushRequest with protowire,
// failing on anything unexpected.
func decodeProto(t testing.TB, body []byte) []pushStream {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("snappy: %v", err)
	}
	var out []pushStream
	eachField(t, raw, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if num != 1 || typ != protowire.BytesType {
			t.Fatalf("PushRequest: unexpected field %d type %d", num, typ)
		}
		var s pushStream
		eachField(t, v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
			switch {
			case num == 1 && typ == protowire.BytesType:
				s.Labels = string(v)
			case num == 2 && typ == protowire.BytesType:
				s.Entries = append(s.Entries, decodeEntry(t, v))
			default:
				t.Fatalf("StreamAdapter: unexpected field %d type %d", num, typ)
			}
		})
		out = append(out, s)
	})
	return out
}

func decodeEntry(t testing.TB, b []byte) pushEntry {
	var e pushEntry
	eachField(t, b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		switch {
		case num == 1 && typ == protowire.BytesType:
			var sec, nsec int64
			eachField(t, v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) {
				switch {
				case num == 1 && typ == protowire.VarintType:
					sec = int64(x)
				case num == 2 && typ == protowire.VarintType:
					nsec = int64(int32(x))
				default:
					t.Fatalf("Timestamp: unexpected field %d", num)
				}
			})
			e.TS = sec*1e9 + nsec
		case num == 2 && typ == protowire.BytesType:
			e.Line = string(v)
		case num == 3 && typ == protowire.BytesType:
			var kv [2]string
			eachField(t, v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
				if typ != protowire.BytesType || num < 1 || num > 2 {
					t.Fatalf("LabelPairAdapter: unexpected field %d", num)
				}
				kv[num-1] = string(v)
			})
			e.Meta = append(e.Meta, kv)
		default:
			t.Fatalf("EntryAdapter: unexpected field %d type %d", num, typ)
		}
	})
	return e
}

func eachField(t testing.TB, b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				t.Fatalf("bad bytes: %v", protowire.ParseError(m))
			}
			fn(num, typ, v, 0)
			b = b[m:]
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				t.Fatalf("bad varint: %v", protowire.ParseError(m))
			}
			fn(num, typ, nil, x)
			b = b[m:]
		default:
			t.Fatalf("unexpected wire type %d", typ)
		}
	}
}

// decodeJSON decodes a JSON push body (gzip-compressed if gz).
func decodeJSON(t testing.TB, body []byte, gz bool) []pushStream {
	t.Helper()
	if gz {
		r, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	}
	var req struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]json.RawMessage
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("json body: %v\n%s", err, body)
	}
	var out []pushStream
	for _, s := range req.Streams {
		ps := pushStream{LabelKV: s.Stream}
		for _, v := range s.Values {
			if len(v) < 2 || len(v) > 3 {
				t.Fatalf("value with %d elements", len(v))
			}
			var tsText, line string
			if err := json.Unmarshal(v[0], &tsText); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatal(err)
			}
			ts, err := strconv.ParseInt(tsText, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			e := pushEntry{TS: ts, Line: line}
			if len(v) == 3 {
				var m map[string]string
				if err := json.Unmarshal(v[2], &m); err != nil {
					t.Fatal(err)
				}
				for k, v := range m {
					e.Meta = append(e.Meta, [2]string{k, v})
				}
				slices.SortFunc(e.Meta, func(a, b [2]string) int { return compareStr(a[0], b[0]) })
			}
			ps.Entries = append(ps.Entries, e)
		}
		out = append(out, ps)
	}
	return out
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decodeRequest decodes a push request body by its headers.
func decodeRequest(t testing.TB, h http.Header, body []byte) []pushStream {
	t.Helper()
	if h.Get("Content-Type") == "application/json" {
		return decodeJSON(t, body, h.Get("Content-Encoding") == "gzip")
	}
	if h.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("content type %q", h.Get("Content-Type"))
	}
	return decodeProto(t, body)
}

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// mkRec builds a record; fields alternate key, value (strings).
func mkRec(fileKey uint64, off int64, tm time.Time, msg string, kv ...string) sidetrail.Record {
	r := sidetrail.Record{
		FileKey: fileKey, Offset: off, Time: tm, Ingested: tm.Add(time.Second),
		Source: "web", Path: "/var/log/nginx/access.log", Message: []byte(msg),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Add(kv[i], sidetrail.KindString, []byte(kv[i+1]))
	}
	return r
}

func allEntries(ss []pushStream) []pushEntry {
	var out []pushEntry
	for _, s := range ss {
		out = append(out, s.Entries...)
	}
	return out
}

func (e pushEntry) String() string { return fmt.Sprintf("%d %q %v", e.TS, e.Line, e.Meta) }
