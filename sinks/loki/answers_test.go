package loki

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

// A redirect is not followed: followed, a POST answered 301, 302 or 303
// becomes a GET without the entries, and a login page's 200 counted the
// batch as stored (the probe lost 100 of 100 lines so). The 3xx is a
// retryable error and nothing is marked delivered.
func TestRedirectNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var elsewhere int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == PushPath {
					http.Redirect(w, r, "/login", code)
					return
				}
				elsewhere++
				w.WriteHeader(http.StatusOK) // a login page, or a push endpoint elsewhere
			}))
			defer srv.Close()
			s := mustNew(t, Config{URL: srv.URL})
			res, err := send(t, s, batchOf(5))
			if err == nil || sidetrail.IsPermanent(err) {
				t.Fatalf("err = %v, want a retryable error", err)
			}
			if !strings.Contains(err.Error(), "30") {
				t.Errorf("error %q does not name the status", err)
			}
			requireAll(t, res, sidetrail.Unsent)
			if elsewhere != 0 {
				t.Errorf("the redirect was followed (%d requests to its target)", elsewhere)
			}
			if st := s.Stats(); st.OtherStatus != 1 || st.Records != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// incompressible returns n random hex characters.
func incompressible(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tooLargeOver makes f answer 413 to any push body over limit bytes.
func tooLargeOver(f *fakeLoki, limit int) {
	f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if len(body) <= limit {
			return false
		}
		http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
		return true
	})
}

// A 413 sends the batch again in halves: the records that fit are stored,
// and the one record too large alone is Rejected with its size, instead of
// the whole batch being refused forever (the probe's 100 KB line held back
// every line after it, across restarts).
func TestTooLargeSplitsAndRejectsTheRecordAlone(t *testing.T) {
	f := newFakeLoki(t)
	tooLargeOver(f, 20<<10)
	s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json", Line: LineMessage})
	batch := batchOf(9)
	big := incompressible(50 << 10)
	batch[6].Message = []byte(big)
	res, err := send(t, s, batch)
	if !sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent (one record rejected, the rest stored)", err)
	}
	requireRejected(t, res, func(i int) bool { return i == 6 })
	if !strings.Contains(res[6].Reason, "413") || !strings.Contains(res[6].Reason, "-byte push") {
		t.Errorf("reason %q", res[6].Reason)
	}
	got := map[string]bool{}
	for _, e := range f.entries() {
		got[e.Line] = true
	}
	for i, r := range batch {
		if stored := got[string(r.Message)]; stored != (i != 6) {
			t.Errorf("record %d stored = %v", i, stored)
		}
	}
	if len(f.entries()) != 8 {
		t.Errorf("%d entries stored, want 8", len(f.entries()))
	}
	st := s.Stats()
	if st.Rejected != 1 || st.Records != 8 || st.TooLarge == 0 || st.TooLargeSplits == 0 || st.TooLarge != st.TooLargeSplits+1 {
		t.Errorf("stats %+v", st)
	}
	// The 9 records went again in halves at least once (ops12 F5).
	if st.Resent < 9 {
		t.Errorf("resent %d, want at least 9", st.Resent)
	}
}

// Every record fits alone: all are stored, nothing rejected, and the
// answer is a success.
func TestTooLargeSplitsUntilEachHalfFits(t *testing.T) {
	f := newFakeLoki(t)
	tooLargeOver(f, 3<<10)
	s := sendKiBRecords(t, f, 16)
	if st := s.Stats(); st.Rejected != 0 || st.Records != 16 || st.TooLarge == 0 {
		t.Errorf("stats %+v", st)
	}
}

// A half that fails otherwise (here 503) leaves its records Unsent and the
// error retryable; the half stored before it stays Accepted.
func TestTooLargeHalfFailsRetryably(t *testing.T) {
	f := newFakeLoki(t)
	var pushes int
	f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		pushes++
		switch pushes {
		case 1:
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return true
		case 3:
			http.Error(w, "ingester unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	s := mustNew(t, Config{URL: f.URL()})
	res, err := send(t, s, batchOf(6))
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable", err)
	}
	for i, r := range res {
		want := sidetrail.Accepted
		if i >= 3 {
			want = sidetrail.Unsent
		}
		if r.Status != want {
			t.Fatalf("result %d = %v, want %v", i, r.Status, want)
		}
	}
	if n := len(f.entries()); n != 3 {
		t.Errorf("%d entries stored, want 3", n)
	}
}

// badRequestFor answers 400 for a push holding a line with marker, storing
// nothing of it (VictoriaLogs refuses a push whole), or for a body over
// limit bytes (limit 0: no limit), as VictoriaLogs and Loki answer a body
// over their size limit.
func badRequestFor(f *fakeLoki, marker string, limit int) {
	f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if limit > 0 && len(body) > limit {
			http.Error(w, "cannot read Loki json data: too big data size exceeding -loki.maxRequestSize", http.StatusBadRequest)
			return true
		}
		if marker != "" && bytes.Contains(body, []byte(marker)) {
			http.Error(w, "entry for stream '{job=\"sidetrail\"}' has timestamp too old", http.StatusBadRequest)
			return true
		}
		return false
	})
}

// A 400 for a push of several records sends it again in halves: the
// records refused alone are dead-lettered with Loki's reason, the others
// stored. Before, the whole batch was dead-lettered: a body over the
// server's size limit dead-lettered 300 of 300 lines that each fitted in a
// smaller push (sinks21 F2), and one entry too old took its batch with it.
func TestBadRequestSendsHalvesAndRejectsTheRecordsAlone(t *testing.T) {
	t.Run("one record refused", func(t *testing.T) {
		f := newFakeLoki(t)
		badRequestFor(f, "REFUSED", 0)
		s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json", Line: LineMessage})
		batch := batchOf(16)
		batch[11].Message = []byte("REFUSED line")
		res, err := send(t, s, batch)
		if !sidetrail.IsPermanent(err) {
			t.Fatalf("err = %v, want permanent (one record rejected, the rest stored)", err)
		}
		requireRejected(t, res, func(i int) bool { return i == 11 })
		if !strings.Contains(res[11].Reason, "400") || !strings.Contains(res[11].Reason, "too old") {
			t.Errorf("reason %q", res[11].Reason)
		}
		if n := len(f.entries()); n != 15 {
			t.Errorf("%d entries stored, want 15", n)
		}
		if st := s.Stats(); st.Rejected != 1 || st.Records != 15 || st.Halved == 0 || st.Resent < 16 ||
			st.FailedRequests != st.Requests-st.AcceptedRequests || st.FailedRequests < 5 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("body over the server's limit", func(t *testing.T) {
		f := newFakeLoki(t)
		badRequestFor(f, "", 8<<10)
		sendKiBRecords(t, f, 40)
	})
	t.Run("oversize records at the batch's head", func(t *testing.T) {
		// More than maxAlone refused alone before any push is taken: a
		// refused part is asked about by its last record, which fits,
		// and searched on. Rejected whole, the records that fitted beside
		// an oversize one were dead-lettered (regress21 F3).
		f := newFakeLoki(t)
		badRequestFor(f, "", 8<<10)
		s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json", Line: LineMessage})
		batch := batchOf(64)
		for i := range batch {
			n := 100
			if i < 20 {
				n = 16 << 10 // over the limit alone
			}
			batch[i].Message = []byte(incompressible(n))
		}
		res, err := send(t, s, batch)
		if !sidetrail.IsPermanent(err) {
			t.Fatalf("err = %v, want permanent", err)
		}
		requireRejected(t, res, func(i int) bool { return i < 20 })
		if n := len(f.entries()); n != 44 {
			t.Errorf("%d entries stored, want 44", n)
		}
	})
	t.Run("every record refused", func(t *testing.T) {
		// All too old: a few records refused alone, none taken, and the
		// rest is rejected whole, not searched record by record.
		f := newFakeLoki(t)
		badRequestFor(f, "REFUSED", 0)
		s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json", Line: LineMessage})
		batch := batchOf(256)
		for i := range batch {
			batch[i].Message = []byte(fmt.Sprintf("REFUSED %d", i))
		}
		res, err := send(t, s, batch)
		if !sidetrail.IsPermanent(err) {
			t.Fatalf("err = %v, want permanent", err)
		}
		requireAll(t, res, sidetrail.Rejected)
		// Every request of the search is a failed one (regress21 F6),
		// but the empty push asked after the first 400.
		if st := s.Stats(); st.Rejected != 256 || st.Requests > 40 || st.FailedRequests != st.Requests-1 || f.empties != 1 {
			t.Errorf("stats %+v, %d empty pushes: more requests than the search needs", st, f.empties)
		}
	})
}

// A backlog Loki refuses as too far behind, with a few lines of the same
// stream in its window (a second file, a writer whose clock is right): once
// one is stored, each refused part was searched down to single records,
// 1,775 requests for 1,000 records (sinks25 P1). Loki stores a refused
// push's entries in its window, so a part whose newest record is too far
// behind is rejected whole, as when none is stored.
func TestTooFarBehindWithAFewInWindow(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json", Line: LineMessage})
	batch := batchOf(1000)
	for i := range batch {
		if i%50 == 49 {
			batch[i].Time = t0.Add(2*time.Hour + time.Duration(i)*time.Millisecond)
		}
	}
	f.mu.Lock()
	f.behind = t0.Add(time.Hour).UnixNano()
	f.mu.Unlock()
	res, err := send(t, s, batch)
	if !sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	for i, r := range res {
		if i%50 != 49 && r.Status != sidetrail.Rejected {
			t.Fatalf("record %d: %v, want rejected (too far behind)", i, r.Status)
		}
	}
	if n := len(f.entries()); n != 20 {
		t.Errorf("%d entries stored, want the 20 in the window", n)
	}
	st := s.Stats()
	t.Logf("%d requests, %d rejected", st.Requests, st.Rejected)
	if st.Requests > 150 {
		t.Errorf("%d requests for %d records: a search record by record", st.Requests, len(batch))
	}
}

// requireRejected fails t unless exactly the results rejected says are
// Rejected and the others Accepted.
func requireRejected(t *testing.T, res []sidetrail.Result, rejected func(i int) bool) {
	t.Helper()
	for i, r := range res {
		want := sidetrail.Accepted
		if rejected(i) {
			want = sidetrail.Rejected
		}
		if r.Status != want {
			t.Fatalf("result %d = %v %q, want %v", i, r.Status, r.Reason, want)
		}
	}
}

// sendKiBRecords sends n records of 1 KiB each (incompressible) to f as one
// batch, each of which f takes alone, and requires all of them stored.
func sendKiBRecords(t *testing.T, f *fakeLoki, n int) *Sink {
	t.Helper()
	s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json"})
	batch := batchOf(n)
	for i := range batch {
		batch[i].Message = []byte(incompressible(1 << 10))
	}
	res, err := send(t, s, batch)
	if err != nil {
		t.Fatal(err)
	}
	requireAll(t, res, sidetrail.Accepted)
	if got := len(f.entries()); got != n {
		t.Fatalf("%d entries stored, want %d", got, n)
	}
	return s
}

// A 400 to every push, an empty one too, is the configuration (a URL one
// path segment off: VictoriaLogs answers a push to its root 400
// "unsupported path"; a proxy's error page), not the records: they are
// kept, the error is retryable, and nothing is dead-lettered. Every record
// was dead-lettered, then discarded once the file was full, the sink
// reporting healthy (user23 P6: 2,000 of 2,000 lines).
func TestBadRequestForAnEmptyPushTooKeepsTheRecords(t *testing.T) {
	for _, enc := range []string{"json", "protobuf"} {
		t.Run(enc, func(t *testing.T) {
			f := newFakeLoki(t)
			f.refuseEmpty = true
			f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				http.Error(w, `unsupported path requested: "/loki/api/v1/push"`, http.StatusBadRequest)
				return true
			})
			s := mustNew(t, Config{URL: f.URL(), Encoding: enc})
			for try := 0; try < 3; try++ {
				res, err := send(t, s, batchOf(64))
				if err == nil || sidetrail.IsPermanent(err) || !strings.Contains(err.Error(), "refused too") {
					t.Fatalf("try %d: err %v, want a retryable one that says the empty push was refused too", try, err)
				}
				requireAll(t, res, sidetrail.Unsent)
			}
			if st := s.Stats(); st.Rejected != 0 || st.Requests != 6 {
				t.Errorf("stats %+v: want 2 requests per Send, none rejected", st)
			}
		})
	}
}

// A 400 for the label set every record's stream has (more static labels
// and always-present label_fields than the server's limit, a static value
// too long) is the configuration's, not the records': they are kept and
// retried. Each was dead-lettered alone, then discarded once the file was
// full, the sink healthy (sinks25 P2: 3,000 of 3,000 lines). A label set
// only some records make (a field only some lines hold) is theirs: they
// alone are dead-lettered, the others stored. Kept too, one such record
// held every other for good (regress25b R6).
func TestBadRequestForTheLabelSet(t *testing.T) {
	labels := map[string]string{}
	for i := range 14 {
		labels[fmt.Sprintf("l%02d", i)] = "v"
	}
	long := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name   string
		cfg    Config
		reason string
	}{
		{"16 names every stream has", Config{Labels: labels, LabelFields: []string{"source", "log.file.path"}},
			"entry for stream '{…}' has 16 label names; limit 15"},
		{"a static value too long", Config{Labels: map[string]string{"team": long}},
			"stream '{team=\"" + long + "\"}' has label value too long: '" + long + "'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLoki(t)
			f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				http.Error(w, tc.reason, http.StatusBadRequest)
				return true
			})
			tc.cfg.URL, tc.cfg.Encoding = f.URL(), "json"
			s := mustNew(t, tc.cfg)
			res, err := send(t, s, batchOf(64))
			if err == nil || sidetrail.IsPermanent(err) || !strings.Contains(err.Error(), "label") {
				t.Fatalf("err %v, want a retryable one naming the labels", err)
			}
			requireAll(t, res, sidetrail.Unsent)
			if st := s.Stats(); st.Rejected != 0 || st.Requests != 1 {
				t.Errorf("stats %+v: want 1 request, none rejected", st)
			}
		})
	}
	t.Run("one record's field", func(t *testing.T) {
		f := newFakeLoki(t)
		f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
			if !bytes.Contains(body, []byte(`"extra"`)) {
				return false
			}
			http.Error(w, "entry for stream '{…, extra=\"1\"}' has 16 label names; limit 15", http.StatusBadRequest)
			return true
		})
		s := mustNew(t, Config{URL: f.URL(), Encoding: "json", Compression: "none", Labels: labels, LabelFields: []string{"source", "extra"}})
		batch := batchOf(16)
		batch[5].Fields = append(batch[5].Fields, sidetrail.Field{Key: "extra", Kind: sidetrail.KindString, Value: []byte("1")})
		res, err := send(t, s, batch)
		if !sidetrail.IsPermanent(err) {
			t.Fatalf("err %v, want permanent (one record rejected)", err)
		}
		requireRejected(t, res, func(i int) bool { return i == 5 })
		if n := len(f.entries()); n != 15 {
			t.Errorf("%d entries stored, want 15", n)
		}
	})
}

// How the empty push asked after a 400 is answered decides. Loki 3.5 and
// later answer it 422 ("at least one valid stream is required"): the 400
// was about the records, which are searched and dead-lettered as before
// (taken for the configuration, one refused record held every record
// after it for good: regress23 P3). A 400 for it keeps the records
// whatever its text: a proxy's error page with a request id in it
// differs from request to request, and required to be the batch's, every
// record was dead-lettered (regress23b P1). A 400 that says the push is
// refused for being empty is no such thing.
func TestBadRequestForAnEmptyPushWithAnotherText(t *testing.T) {
	for _, tc := range []struct {
		name      string
		emptyCode int
		emptyText string
		keep      bool
	}{
		{"Loki 3.5's 422", http.StatusUnprocessableEntity, "error at least one valid stream is required for ingestion", false},
		{"proxy page with a request id", http.StatusBadRequest, "", true},
		{"a 400 for holding no stream", http.StatusBadRequest, "error at least one valid stream is required for ingestion", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLoki(t)
			f.refuseEmpty = true
			var n atomic.Int64
			f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				switch {
				case isEmptyPush(body) && tc.emptyText != "":
					http.Error(w, tc.emptyText, tc.emptyCode)
				case isEmptyPush(body) || tc.keep:
					http.Error(w, fmt.Sprintf("<html><h1>Bad Request</h1><p>XID: %d</p></html>", n.Add(1)), http.StatusBadRequest)
				case bytes.Contains(body, []byte("REFUSED")):
					http.Error(w, "entry too far behind", http.StatusBadRequest)
				default:
					return false
				}
				return true
			})
			s := mustNew(t, Config{URL: f.URL(), Compression: "none", Encoding: "json", Line: LineMessage})
			batch := batchOf(16)
			batch[5].Message = []byte("REFUSED line")
			res, err := send(t, s, batch)
			if tc.keep {
				if err == nil || sidetrail.IsPermanent(err) || !strings.Contains(err.Error(), "refused too") {
					t.Fatalf("err %v: want the records kept", err)
				}
				requireAll(t, res, sidetrail.Unsent)
				return
			}
			if !sidetrail.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent (one record rejected)", err)
			}
			requireRejected(t, res, func(i int) bool { return i == 5 })
			if n := len(f.entries()); n != 15 {
				t.Errorf("%d entries stored, want 15", n)
			}
		})
	}
}
