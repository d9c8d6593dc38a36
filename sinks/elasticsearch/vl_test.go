package elasticsearch

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/vltest"
	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

// vlParams tell VictoriaLogs which record fields are the message, the time
// and the stream.
var vlParams = map[string]string{
	"_msg_field":     "message",
	"_time_field":    "@timestamp",
	"_stream_fields": "source,log.file.path",
}

func startVL(t testing.TB) *vltest.Server {
	t.Helper()
	if _, err := vltest.Binary(); err != nil {
		t.Skipf("no VictoriaLogs: %v", err)
	}
	return vltest.Start(t)
}

func vlConfig(vl *vltest.Server) Config {
	return Config{URLs: []string{vl.ElasticsearchURL()}, Params: vlParams}
}

func vlStored(t *testing.T, vl *vltest.Server, query string) []sinktest.Stored {
	t.Helper()
	var out []sinktest.Stored
	for _, row := range vl.Query(t, query) {
		st := sinktest.Stored{Offset: -1}
		st.Message, _ = row["_msg"].(string)
		st.Path, _ = row["log.file.path"].(string)
		st.Source, _ = row["source"].(string)
		if s, ok := row["log.offset"].(string); ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				st.Offset = n
			}
		}
		if s, ok := row["_time"].(string); ok {
			if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
				st.Time = ts
			}
		}
		out = append(out, st)
	}
	return out
}

// The conformance suite against a real VictoriaLogs, which keeps replays
// (it has no _id dedup).
func TestConformanceVictoriaLogs(t *testing.T) {
	vl := startVL(t)
	for _, comp := range []string{"none", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			sinktest.Run(t, sinktest.Harness{
				New: func(t *testing.T) sidetrail.Sink {
					c := vlConfig(vl)
					c.Compression = comp
					return newSink(t, c)
				},
				Stored: func(t *testing.T) []sinktest.Stored { return vlStored(t, vl, `source:=sinktest`) },
			})
		})
	}
}

// vlRecords makes n records of one run, each with a line_id field, for
// counting in VictoriaLogs.
func vlRecords(run string, from, n int, base time.Time) []sidetrail.Record {
	recs := make([]sidetrail.Record, n)
	for i := range recs {
		id := from + i
		r := &recs[i]
		r.FileKey = 0xabc
		r.Offset = int64(id) * 100
		r.Time = base.Add(time.Duration(id) * time.Microsecond)
		r.Source = "vltest"
		r.Path = "/var/log/nginx/" + run + ".log"
		r.Message = fmt.Appendf(nil, `10.1.2.3 - - "GET /x?id=%d HTTP/1.1" 200 12 "-" "go"`, id)
		r.Add("run_id", sidetrail.KindString, []byte(run))
		r.Add("line_id", sidetrail.KindInt, strconv.AppendInt(nil, int64(id), 10))
		r.Add("status", sidetrail.KindInt, []byte("200"))
	}
	return recs
}

// sendAll ships n records in batches and returns how many requests it took.
func sendAll(t testing.TB, s *Sink, run string, n, batch int) {
	t.Helper()
	base := time.Now().Add(-time.Hour).UTC()
	results := make([]sidetrail.Result, batch)
	for from := 0; from < n; from += batch {
		k := min(batch, n-from)
		recs := vlRecords(run, from, k, base)
		res := results[:k]
		clear(res)
		if err := s.Send(t.Context(), recs, res); err != nil {
			t.Fatalf("records %d..%d: %v", from, from+k, err)
		}
		for i, r := range res {
			if r.Status != sidetrail.Accepted {
				t.Fatalf("record %d: %v %s", from+i, r.Status, r.Reason)
			}
		}
	}
}

func checkEachOnce(t *testing.T, vl *vltest.Server, run string, n int) {
	t.Helper()
	if got := vl.Count(t, "run_id:="+run); got != n {
		t.Errorf("stored %d rows for run %s, want %d", got, run, n)
	}
	dups := vl.Query(t, "run_id:="+run+" | stats by (line_id) count() n | filter n:>1")
	if len(dups) != 0 {
		t.Errorf("%d line ids stored more than once, e.g. %v", len(dups), dups[0])
	}
	distinct := vl.Query(t, "run_id:="+run+" | stats count_uniq(line_id) u")
	if len(distinct) != 1 || fmt.Sprint(distinct[0]["u"]) != strconv.Itoa(n) {
		t.Errorf("distinct line ids: %v, want %d", distinct, n)
	}
}

func TestVictoriaLogsThousandsExactlyOnce(t *testing.T) {
	vl := startVL(t)
	for _, comp := range []string{"none", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			c := vlConfig(vl)
			c.Compression = comp
			s := newSink(t, c)
			run := fmt.Sprintf("r%s%d", comp, rand.Uint32())
			const n = 5000
			sendAll(t, s, run, n, 500)
			checkEachOnce(t, vl, run, n)
			// Spot-check that fields and time arrived as sent.
			rows := vl.Query(t, "run_id:="+run+" line_id:=4321")
			if len(rows) != 1 {
				t.Fatalf("line 4321: %v", rows)
			}
			row := rows[0]
			if row["_msg"] != `10.1.2.3 - - "GET /x?id=4321 HTTP/1.1" 200 12 "-" "go"` || row["log.offset"] != "432100" ||
				row["source"] != "vltest" || row["status"] != "200" {
				t.Errorf("row %v", row)
			}
		})
	}
}

// TestVictoriaLogsSoak ships a million records through the sink alone.
// SIDETRAIL_SOAK=1 to run.
func TestVictoriaLogsSoak(t *testing.T) {
	if testing.Short() || getenv("SIDETRAIL_SOAK") == "" {
		t.Skip("set SIDETRAIL_SOAK=1")
	}
	vl := startVL(t)
	s := newSink(t, vlConfig(vl))
	const n = 1_000_000
	run := fmt.Sprintf("soak%d", rand.Uint32())
	start := time.Now()
	sendAll(t, s, run, n, 2000)
	el := time.Since(start)
	t.Logf("sent %d records in %v: %.0f records/s, %d requests, %d bytes", n, el, n/el.Seconds(), s.Stats().Requests, s.Stats().BytesSent)
	checkEachOnce(t, vl, run, n)
}
