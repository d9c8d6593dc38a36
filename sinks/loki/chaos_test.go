package loki

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

// A shipper-like loop over a fake Loki that fails a third of the pushes in
// every way it can (429, 5xx, resets before and after storing, answers past
// the timeout): every record ends up stored exactly once, because failures
// are retried and replays are byte-identical entries that Loki drops.
// SIDETRAIL_SOAK=1 sends 100,000 records instead of 3,000.
func TestChaosEveryRecordOnce(t *testing.T) {
	n := 3000
	if os.Getenv("SIDETRAIL_SOAK") != "" {
		n = 100_000
	}
	for _, line := range []string{LineMessage, LineJSON} {
		t.Run(line, func(t *testing.T) {
			f := newFakeLoki(t)
			rng := rand.New(rand.NewPCG(1, 2))
			var rngMu sync.Mutex
			var stored func(r *http.Request, body []byte)
			f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				rngMu.Lock()
				p := rng.IntN(100)
				rngMu.Unlock()
				switch {
				case p < 10:
					w.Header().Set("Retry-After", "0")
					http.Error(w, "Ingestion rate limit exceeded", http.StatusTooManyRequests)
				case p < 18:
					http.Error(w, "rpc error: code = Unavailable", 500+p%4)
				case p < 25: // reset before storing
					reset(w)
				case p < 32: // stored, then the answer is lost
					stored(r, body)
					reset(w)
				case p < 34: // stored, answered after the client gave up
					stored(r, body)
					<-r.Context().Done()
				default:
					return false
				}
				return true
			})
			stored = func(r *http.Request, body []byte) {
				ss := decodeRequest(t, r.Header, body)
				f.mu.Lock()
				defer f.mu.Unlock()
				for _, s := range ss {
					for _, e := range s.Entries {
						key := s.Labels + "\x00" + e.String()
						if !f.seen[key] {
							f.seen[key] = true
							f.order = append(f.order, storedEntry{s.Labels, e})
						}
					}
				}
			}
			s := mustNew(t, Config{URL: f.URL(), Line: line, Timeout: 250 * time.Millisecond,
				Labels: map[string]string{"app": "chaos"}, LabelFields: []string{"status"}})

			recs := make([]sidetrail.Record, n)
			base := time.Now().UTC().Truncate(time.Second)
			for i := range recs {
				msg := "GET /health 200" // equal lines, distinguished only by the entry timestamp
				if i%2 == 0 {
					msg = fmt.Sprintf("GET /item/%d 200", i)
				}
				recs[i] = mkRec(uint64(i%4)*0x51ed270b27a5c3b1, int64(i/4)*16, base.Add(time.Duration(i/500)*time.Second), msg, "status", fmt.Sprint(200+i%3))
			}
			attempts, failures := 0, 0
			for lo := 0; lo < n; lo += 100 {
				batch := recs[lo:min(lo+100, n)]
				res := make([]sidetrail.Result, len(batch))
				for {
					// Like the shipper: resend only what is not yet delivered.
					var pending []sidetrail.Record
					var idx []int
					for i, r := range res {
						if !r.Status.Delivered() {
							pending = append(pending, batch[i])
							idx = append(idx, i)
						}
					}
					if len(pending) == 0 {
						break
					}
					if attempts++; attempts > 100*n {
						t.Fatal("no progress")
					}
					pr := make([]sidetrail.Result, len(pending))
					err := s.Send(context.Background(), pending, pr)
					if sidetrail.IsPermanent(err) {
						t.Fatalf("permanent error: %v", err)
					}
					if err != nil {
						failures++
					}
					for j, i := range idx {
						res[i] = pr[j]
					}
				}
			}
			// Every record exactly once, equal lines included.
			got := map[int64]int{}
			for _, e := range f.entries() {
				got[e.TS]++
			}
			for i := range recs {
				if c := got[entryTime(&recs[i])]; c != 1 {
					t.Fatalf("record %d stored %d times", i, c)
				}
			}
			if len(f.entries()) != n {
				t.Fatalf("stored %d entries for %d records", len(f.entries()), n)
			}
			st := s.Stats()
			t.Logf("%d records, %d requests, %d failed (throttled %d, 5xx %d, network %d)",
				n, attempts, failures, st.Throttled, st.ServerErrors, st.NetworkErrors)
			if failures == 0 {
				t.Fatal("no faults were injected")
			}
		})
	}
}

// reset closes the connection with a RST and no answer.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}
