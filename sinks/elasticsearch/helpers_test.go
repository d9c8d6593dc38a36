package elasticsearch

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/esfake"
	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

var testTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// testRecords makes n nginx-like records with distinct offsets.
func testRecords(n int) []sidetrail.Record {
	recs := make([]sidetrail.Record, n)
	for i := range recs {
		r := &recs[i]
		r.FileKey = 0xfeedface
		r.Offset = int64(i) * 120
		r.Time = testTime.Add(time.Duration(i) * time.Millisecond)
		r.Source = "nginx"
		r.Path = "/var/log/nginx/access.log"
		r.Message = fmt.Appendf(nil, `10.0.0.%d - - [14/Mar/2025:15:09:26 +0000] "GET /item/%d HTTP/1.1" 200 612 "-" "curl/8.5"`, i%250, i)
		r.Add("remote_addr", sidetrail.KindString, fmt.Appendf(nil, "10.0.0.%d", i%250))
		r.Add("request_method", sidetrail.KindString, []byte("GET"))
		r.Add("request_uri", sidetrail.KindString, fmt.Appendf(nil, "/item/%d", i))
		r.Add("request_protocol", sidetrail.KindString, []byte("HTTP/1.1"))
		r.Add("status", sidetrail.KindInt, []byte("200"))
		r.Add("body_bytes_sent", sidetrail.KindInt, []byte("612"))
		r.Add("http_user_agent", sidetrail.KindString, []byte("curl/8.5"))
	}
	return recs
}

func newSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// send calls Send with fresh results.
func send(t testing.TB, s *Sink, recs []sidetrail.Record) ([]sidetrail.Result, error) {
	t.Helper()
	res := make([]sidetrail.Result, len(recs))
	err := s.Send(t.Context(), recs, res)
	return res, err
}

func countStatus(res []sidetrail.Result) map[sidetrail.Status]int {
	m := map[sidetrail.Status]int{}
	for _, r := range res {
		m[r.Status]++
	}
	return m
}

func idOf(r *sidetrail.Record) string { return r.ID().String() }

// docFields decodes an ES document into the comparable fields.
func storedFromDoc(t *testing.T, src []byte) sinktest.Stored {
	t.Helper()
	var d struct {
		Timestamp string `json:"@timestamp"`
		Message   string `json:"message"`
		Source    string `json:"source"`
		Log       struct {
			Offset json.Number `json:"offset"`
			File   struct {
				Path string `json:"path"`
			} `json:"file"`
		} `json:"log"`
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatalf("stored doc %s: %v", src, err)
	}
	off, err := strconv.ParseInt(string(d.Log.Offset), 10, 64)
	if err != nil {
		t.Fatalf("stored doc offset %q: %v", d.Log.Offset, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, d.Timestamp)
	if err != nil {
		t.Fatalf("stored doc @timestamp %q: %v", d.Timestamp, err)
	}
	return sinktest.Stored{Message: d.Message, Offset: off, Path: d.Log.File.Path, Source: d.Source, Time: ts}
}

func fakeStored(t *testing.T, f *esfake.Server) []sinktest.Stored {
	var out []sinktest.Stored
	for _, d := range f.Docs() {
		out = append(out, storedFromDoc(t, d.Source))
	}
	return out
}

func getenv(k string) string { return os.Getenv(k) }
