package loki

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/vltest"
)

// vlRecords makes n records over three files of one source: every third
// message is the same health-check line with the same one-second
// timestamp, so only the entry timestamp tells them apart. request_id is
// unique and goes to structured metadata.
func vlRecords(n int, base time.Time) []sidetrail.Record {
	recs := make([]sidetrail.Record, n)
	for i := range recs {
		msg := `10.0.0.1 - - "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.30"`
		if i%3 != 0 {
			msg = fmt.Sprintf(`10.0.0.%d - - "GET /api/%d?q=%x HTTP/1.1" 200 %d "-" "curl/8"`, i%250, i, i*7919, i%5000)
		}
		file := uint64(i % 3)
		r := mkRec(0xabcdef0123456789*(file+1), int64(i/3)*120, base.Add(time.Duration(i/1000)*time.Second), msg,
			"status", strconv.Itoa(200+i%2), "request_id", fmt.Sprintf("rid-%06d", i))
		r.Path = fmt.Sprintf("/var/log/nginx/access-%d.log", file)
		recs[i] = r
	}
	return recs
}

// Several thousand records into a real VictoriaLogs in each encoding and
// line mode: every one is stored exactly once, with its labels, metadata
// and second.
func TestVictoriaLogsEveryLine(t *testing.T) {
	vl := startVL(t)
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	const n = 4000
	for _, tc := range []struct{ enc, comp, line string }{
		{EncodingProtobuf, "", LineJSON},
		{EncodingProtobuf, "", LineMessage},
		{EncodingJSON, CompressionNone, LineJSON},
		{EncodingJSON, CompressionGzip, LineMessage},
	} {
		t.Run(tc.enc+"/"+tc.comp+"/"+tc.line, func(t *testing.T) {
			run := fmt.Sprintf("r%x", rand.Uint64())
			s := mustNew(t, Config{
				URL: vl.LokiURL() + "?disable_message_parsing=1", Encoding: tc.enc, Compression: tc.comp, Line: tc.line,
				Labels: map[string]string{"run": run}, LabelFields: []string{"source", "status"},
				MetadataFields: []string{"request_id"},
			})
			recs := vlRecords(n, base)
			byID := map[string]*sidetrail.Record{}
			for i := range recs {
				f, _ := recs[i].Get("request_id")
				byID[string(f.Value)] = &recs[i]
			}
			for i := 0; i < n; i += 500 {
				res := make([]sidetrail.Result, 500)
				if err := s.Send(context.Background(), recs[i:i+500], res); err != nil {
					t.Fatal(err)
				}
				requireAll(t, res, sidetrail.Accepted)
			}
			seen := map[string]int{}
			err := vl.Each(t, `run:=`+run+` | fields request_id, _msg, _time, source, status`, func(row map[string]any) {
				id, _ := row["request_id"].(string)
				seen[id]++
				r := byID[id]
				if r == nil {
					t.Errorf("unknown row %v", row)
					return
				}
				if seen[id] > 1 {
					return
				}
				st := storedFromLine(row["_msg"].(string), 0)
				if st.Message != string(r.Message) {
					t.Errorf("%s: message %q, want %q", id, st.Message, r.Message)
				}
				if tc.line == LineJSON && (st.Offset != r.Offset || st.Path != r.Path) {
					t.Errorf("%s: offset/path %d %s, want %d %s", id, st.Offset, st.Path, r.Offset, r.Path)
				}
				status, _ := r.Get("status")
				if row["source"] != "web" || row["status"] != string(status.Value) {
					t.Errorf("%s: labels source=%v status=%v", id, row["source"], row["status"])
				}
				tm, err := time.Parse(time.RFC3339Nano, row["_time"].(string))
				if err != nil || tm.UnixNano() != entryTime(r) || tm.Unix() != r.Time.Unix() {
					t.Errorf("%s: _time %v, want %d", id, row["_time"], entryTime(r))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			missing, dup := 0, 0
			for id := range byID {
				switch c := seen[id]; {
				case c == 0:
					missing++
				case c > 1:
					dup++
				}
			}
			if missing != 0 || dup != 0 || len(seen) != n {
				t.Fatalf("%d rows for %d records: %d missing, %d duplicated", len(seen), n, missing, dup)
			}
		})
	}
}

// A VictoriaLogs that cannot write (read-only: no free disk) answers 429:
// a retryable error, nothing marked delivered.
func TestVictoriaLogsReadOnlyIsRetryable(t *testing.T) {
	if _, err := vltest.Binary(); err != nil {
		t.Skip(err)
	}
	vl := vltest.Start(t, "-storage.minFreeDiskSpaceBytes=1000TB")
	s := mustNew(t, Config{URL: vl.LokiURL(), Labels: map[string]string{"app": "ro"}})
	res := make([]sidetrail.Result, 10)
	// VictoriaLogs notices the full disk on its own schedule: poll for the 429.
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for {
		clear(res)
		err = s.Send(context.Background(), vlRecords(10, time.Now().Add(-time.Minute)), res)
		if err != nil || time.Now().After(deadline) {
			break
		}
	}
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	requireAll(t, res, sidetrail.Unsent)
	if st := s.Stats(); st.Throttled == 0 {
		t.Errorf("not counted as throttled: %+v (%v)", st, err)
	}
	t.Logf("read-only VictoriaLogs: %v", err)
}

// A real VictoriaLogs: a Loki sink pointed at its root URL (not
// /insert/loki) gets 400 "unsupported path" for every push, an empty one
// too: the records are kept and the error is retryable (user23 P6: every
// record was dead-lettered). At the right URL, a push over
// -loki.maxRequestSize is refused with 400 while an empty one is taken:
// the record too large alone is dead-lettered, the others stored.
func TestVictoriaLogsBadRequestOnlyForTheRecords(t *testing.T) {
	if _, err := vltest.Binary(); err != nil {
		t.Skip(err)
	}
	vl := vltest.Start(t, "-loki.maxRequestSize=65536")
	for _, enc := range []string{EncodingProtobuf, EncodingJSON} {
		t.Run("wrong path/"+enc, func(t *testing.T) {
			s := mustNew(t, Config{URL: vl.URL(), Encoding: enc, Labels: map[string]string{"app": "wrong"}})
			res := make([]sidetrail.Result, 20)
			err := s.Send(context.Background(), vlRecords(20, time.Now().Add(-time.Minute)), res)
			if err == nil || sidetrail.IsPermanent(err) || !strings.Contains(err.Error(), "refused too") {
				t.Fatalf("err = %v, want a retryable error naming the refused empty push", err)
			}
			requireAll(t, res, sidetrail.Unsent)
		})
		t.Run("over the size limit/"+enc, func(t *testing.T) {
			run := fmt.Sprintf("r%x", rand.Uint64())
			s := mustNew(t, Config{URL: vl.LokiURL(), Encoding: enc, Compression: CompressionNone, Line: LineMessage,
				Labels: map[string]string{"run": run}})
			recs := vlRecords(20, time.Now().Add(-time.Minute))
			recs[7].Message = []byte(incompressible(100 << 10))
			res := make([]sidetrail.Result, len(recs))
			err := s.Send(context.Background(), recs, res)
			if !sidetrail.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent (one record rejected)", err)
			}
			requireRejected(t, res, func(i int) bool { return i == 7 })
			if got := len(vlStored(t, vl, "run:"+run)); got != 19 {
				t.Errorf("%d stored, want 19", got)
			}
		})
	}
}
