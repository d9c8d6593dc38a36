package loki

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
)

func batchOf(n int) []sidetrail.Record {
	var b []sidetrail.Record
	for i := range n {
		b = append(b, mkRec(11, int64(i)*80, t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("line %d", i), "status", "200"))
	}
	return b
}

func send(t *testing.T, s *Sink, batch []sidetrail.Record) ([]sidetrail.Result, error) {
	t.Helper()
	res := make([]sidetrail.Result, len(batch))
	return res, s.Send(context.Background(), batch, res)
}

func requireAll(t *testing.T, res []sidetrail.Result, st sidetrail.Status) {
	t.Helper()
	for i, r := range res {
		if r.Status != st {
			t.Fatalf("result %d = %v %q, want %v", i, r.Status, r.Reason, st)
		}
	}
}

func TestSendAccepted(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL() + "/?disable_message_parsing=1", Labels: map[string]string{"app": "a"}, TenantID: "42",
		Headers: map[string]string{"X-Extra": "yes"}})
	res, err := send(t, s, batchOf(10))
	if err != nil {
		t.Fatal(err)
	}
	requireAll(t, res, sidetrail.Accepted)
	if n := len(f.entries()); n != 10 {
		t.Fatalf("stored %d", n)
	}
	r := f.lastRequest()
	if r.URL.RawQuery != "disable_message_parsing=1" || r.URL.Path != PushPath {
		t.Errorf("request URL %v", r.URL)
	}
	for k, want := range map[string]string{"X-Scope-OrgID": "42", "X-Extra": "yes", "Content-Type": "application/x-protobuf", "Content-Encoding": "", "User-Agent": "sidetrail"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	st := s.Stats()
	if st.Requests != 1 || st.AcceptedRequests != 1 || st.Records != 10 || st.Entries != 10 || st.Bytes == 0 || st.Streams != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAuth(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	tokFile := filepath.Join(dir, "tok")
	for _, f := range []string{pwFile, tokFile} {
		if err := os.WriteFile(f, []byte("first\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := newFakeLoki(t)
	basic := mustNew(t, Config{URL: f.URL(), Username: "u", PasswordFile: pwFile})
	bearer := mustNew(t, Config{URL: f.URL(), BearerTokenFile: tokFile})
	check := func(s *Sink, want func(*http.Request) bool) {
		t.Helper()
		if _, err := send(t, s, batchOf(1)); err != nil {
			t.Fatal(err)
		}
		if r := f.lastRequest(); !want(r) {
			t.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
	}
	check(basic, func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "u" && p == "first" })
	check(bearer, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer first" })
	// Rotated secrets take effect without a restart.
	for _, f := range []string{pwFile, tokFile} {
		if err := os.WriteFile(f, []byte("second"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check(basic, func(r *http.Request) bool { _, p, _ := r.BasicAuth(); return p == "second" })
	check(bearer, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer second" })
	// A vanished secret file: a retryable error, nothing sent.
	os.Remove(tokFile)
	n := f.requestCount()
	_, err := send(t, bearer, batchOf(1))
	if err == nil || sidetrail.IsPermanent(err) || f.requestCount() != n {
		t.Fatalf("missing token file: err %v, requests %d→%d", err, n, f.requestCount())
	}
}

// Loki's 400 reasons reach the Permanent error and every record's Reason.
// (Those about the label set keep the records: see
// TestBadRequestForTheLabelSetKeepsTheRecords.)
func TestBadRequestIsPermanentWithReason(t *testing.T) {
	reasons := []string{
		"entry for stream '{app=\"a\"}' has timestamp too old: 2020-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-02-25T05:06:07Z",
		"Max entry size '262144' bytes exceeded for stream '{app=\"a\"}' while adding an entry with length '300000' bytes",
		"entry with timestamp 2025-03-04 05:06:07 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2025-03-04T05:06:07Z, oldest acceptable timestamp is: 2025-03-04T06:00:00Z', total ignored: 10 out of 10",
		"error at least one label pair is required per stream",
	}
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL()})
	for _, reason := range reasons {
		f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
			http.Error(w, reason, http.StatusBadRequest)
			return true
		})
		res, err := send(t, s, batchOf(3))
		if !sidetrail.IsPermanent(err) {
			t.Fatalf("400 %q: err %v, want permanent", reason, err)
		}
		if !strings.Contains(err.Error(), reason) {
			t.Errorf("error %q lacks the reason %q", err, reason)
		}
		for i, r := range res {
			if r.Status != sidetrail.Rejected || !strings.Contains(r.Reason, reason) {
				t.Errorf("result %d = %v %q", i, r.Status, r.Reason)
			}
		}
	}
	if st := s.Stats(); st.Rejected != uint64(3*len(reasons)) || st.Records != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetryableStatuses(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		wantAfter  time.Duration // 0: no RetryAfterError
		stat       func(Stats) uint64
	}{
		{"429", 429, "", 0, func(s Stats) uint64 { return s.Throttled }},
		{"429-retry-after", 429, "7", 7 * time.Second, func(s Stats) uint64 { return s.Throttled }},
		{"500", 500, "", 0, func(s Stats) uint64 { return s.ServerErrors }},
		{"502", 502, "", 0, func(s Stats) uint64 { return s.ServerErrors }},
		{"503-date", 503, now.Add(time.Hour).UTC().Format(http.TimeFormat), time.Hour, func(s Stats) uint64 { return s.ServerErrors }},
		{"504", 504, "", 0, func(s Stats) uint64 { return s.ServerErrors }},
		{"401", 401, "", 0, func(s Stats) uint64 { return s.AuthErrors }},
		{"403", 403, "", 0, func(s Stats) uint64 { return s.AuthErrors }},
		{"404", 404, "", 0, func(s Stats) uint64 { return s.OtherStatus }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLoki(t)
			s := mustNew(t, Config{URL: f.URL()})
			f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				http.Error(w, "reason for "+tc.name, tc.status)
				return true
			})
			res, err := send(t, s, batchOf(4))
			if err == nil || sidetrail.IsPermanent(err) {
				t.Fatalf("err = %v, want a retryable error", err)
			}
			if !strings.Contains(err.Error(), "reason for "+tc.name) {
				t.Errorf("error %q lacks the body", err)
			}
			after, ok := sidetrail.RetryAfter(err)
			if ok != (tc.wantAfter != 0) || after < tc.wantAfter-5*time.Second || after > tc.wantAfter {
				t.Errorf("RetryAfter = %v %v, want %v", after, ok, tc.wantAfter)
			}
			requireAll(t, res, sidetrail.Unsent)
			if n := tc.stat(s.Stats()); n != 1 {
				t.Errorf("counter = %d", n)
			}
			if len(f.entries()) != 0 {
				t.Error("stored despite the failure")
			}
		})
	}
}

// A 429 storm, then recovery: nothing is marked delivered while throttled,
// everything once Loki takes it.
func TestThrottleStormThenRecovery(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL()})
	var throttle atomic.Bool
	throttle.Store(true)
	f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if !throttle.Load() {
			return false
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec)", http.StatusTooManyRequests)
		return true
	})
	batch := batchOf(100)
	for range 50 {
		res, err := send(t, s, batch)
		if d, ok := sidetrail.RetryAfter(err); !ok || d != time.Second {
			t.Fatalf("err %v", err)
		}
		requireAll(t, res, sidetrail.Unsent)
	}
	throttle.Store(false)
	res, err := send(t, s, batch)
	if err != nil {
		t.Fatal(err)
	}
	requireAll(t, res, sidetrail.Accepted)
	if st := s.Stats(); st.Throttled != 50 || st.Records != 100 || st.Requests != 51 {
		t.Errorf("stats %+v", st)
	}
	if n := len(f.entries()); n != 100 {
		t.Errorf("stored %d", n)
	}
}

// 401/403 are logged loudly but only once a minute, counted every time.
func TestAuthFailureLoggedRateLimited(t *testing.T) {
	var buf syncbuf.Buffer
	f := newFakeLoki(t)
	s, err := New(Config{URL: f.URL()}, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return true
	})
	for range 5 {
		if _, err := send(t, s, batchOf(1)); err == nil || sidetrail.IsPermanent(err) {
			t.Fatalf("err %v", err)
		}
	}
	if n := strings.Count(buf.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d error lines:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "no org id") || !strings.Contains(buf.String(), "status=401") {
		t.Errorf("log lacks status and reason: %s", buf.String())
	}
	if st := s.Stats(); st.AuthErrors != 5 {
		t.Errorf("AuthErrors = %d", st.AuthErrors)
	}
}

// Connection resets: before any answer (retryable, maybe stored: the replay
// is then dropped as a duplicate), and after a 204's headers (accepted).
func TestConnectionResets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		store   bool   // the push was stored before the reset
		partial string // bytes written before the reset
	}{
		{"before-read", false, ""},
		{"after-store-no-answer", true, ""},
		{"mid-status-line", true, "HTTP/1.1 20"},
		{"mid-headers", true, "HTTP/1.1 204 No Content\r\nX-A: "},
		{"mid-400-body", false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 100\r\n\r\nentry too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLoki(t)
			s := mustNew(t, Config{URL: f.URL()})
			var resets atomic.Int32
			f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if resets.Load() > 0 {
					return false // later requests succeed
				}
				resets.Add(1)
				if tc.store {
					f.mu.Lock()
					f.fault = nil
					f.mu.Unlock()
					ss := decodeRequest(t, r.Header, body)
					f.mu.Lock()
					for _, st := range ss {
						for _, e := range st.Entries {
							f.seen[st.Labels+"\x00"+e.String()] = true
							f.order = append(f.order, storedEntry{st.Labels, e})
						}
					}
					f.mu.Unlock()
				}
				conn, rw, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return true
				}
				rw.WriteString(tc.partial)
				rw.Flush()
				conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
				conn.Close()
				return true
			})
			batch := batchOf(20)
			res, err := send(t, s, batch)
			if tc.name == "mid-400-body" {
				// Part of the reason arrived: a 400 with what was read,
				// so the batch goes again in halves, which are stored.
				if err != nil {
					t.Fatalf("err %v", err)
				}
				requireAll(t, res, sidetrail.Accepted)
				if st := s.Stats(); st.Halved != 1 || len(f.entries()) != 20 {
					t.Fatalf("stats %+v, %d entries stored", st, len(f.entries()))
				}
				return
			}
			if err == nil || sidetrail.IsPermanent(err) {
				t.Fatalf("err = %v, want retryable", err)
			}
			requireAll(t, res, sidetrail.Unsent)
			if st := s.Stats(); st.NetworkErrors != 1 {
				t.Errorf("NetworkErrors = %d", st.NetworkErrors)
			}
			res, err = send(t, s, batch) // the shipper's resend
			if err != nil {
				t.Fatal(err)
			}
			requireAll(t, res, sidetrail.Accepted)
			if n := len(f.entries()); n != 20 {
				t.Fatalf("stored %d entries, want 20 (no loss, replay dropped)", n)
			}
		})
	}
}

// A 204 whose connection dies after the status: still accepted.
func TestResetAfterSuccessStatus(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL()})
	f.after = func(w http.ResponseWriter, r *http.Request) bool {
		conn, rw, _ := w.(http.Hijacker).Hijack()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nok")
		rw.Flush()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
		return true
	}
	res, err := send(t, s, batchOf(5))
	if err != nil {
		t.Fatal(err)
	}
	requireAll(t, res, sidetrail.Accepted)
}

// A response slower than the timeout: Send returns a retryable error once
// the timeout passes, and the server sees the request abandoned.
func TestSlowResponsePastTimeout(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL(), Timeout: 300 * time.Millisecond})
	abandoned := make(chan struct{}, 1)
	f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		<-r.Context().Done() // never answers before the client gives up
		abandoned <- struct{}{}
		return true
	})
	start := time.Now()
	res, err := send(t, s, batchOf(5))
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("err %v does not say it timed out", err)
	}
	requireAll(t, res, sidetrail.Unsent)
	select {
	case <-abandoned:
	case <-time.After(10 * time.Second):
		t.Fatal("server never saw the request abandoned")
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("returned after %v, before the timeout", d)
	}
	if st := s.Stats(); st.NetworkErrors != 1 {
		t.Errorf("NetworkErrors = %d", st.NetworkErrors)
	}
}

// A server that writes headers slowly (byte by byte, past the timeout).
func TestSlowHeadersPastTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		c.Write([]byte("HTTP/1.1 2"))
		<-done
	}()
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	s := mustNew(t, Config{URL: "http://" + ln.Addr().String(), Timeout: 200 * time.Millisecond})
	res, err := send(t, s, batchOf(3))
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	requireAll(t, res, sidetrail.Unsent)
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := mustNew(t, Config{URL: "http://" + addr})
	res, err := send(t, s, batchOf(3))
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	requireAll(t, res, sidetrail.Unsent)
	if s.Stats().NetworkErrors != 1 {
		t.Error("not counted")
	}
}

func TestContextAndClose(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := make([]sidetrail.Result, 2)
	if err := s.Send(ctx, batchOf(2), res); !errors.Is(err, context.Canceled) || sidetrail.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if err := s.Send(context.Background(), batchOf(2), res[:1]); err == nil {
		t.Fatal("mismatched results accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), batchOf(2), res); !errors.Is(err, sidetrail.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if f.requestCount() != 0 {
		t.Fatal("requests were made")
	}
}

func TestStatsConcurrentWithSend(t *testing.T) {
	f := newFakeLoki(t)
	s := mustNew(t, Config{URL: f.URL(), LabelFields: []string{"status"}})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = s.Stats()
			}
		}
	}()
	for range 20 {
		if _, err := send(t, s, batchOf(50)); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if st := s.Stats(); st.Records != 1000 {
		t.Errorf("records %d", st.Records)
	}
}

// Many label sets: Stats and the log report the max_streams fallback once.
func TestMaxStreamsWarns(t *testing.T) {
	var buf syncbuf.Buffer
	f := newFakeLoki(t)
	s, err := New(Config{URL: f.URL(), Labels: map[string]string{"app": "a"}, LabelFields: []string{"status"}, MaxStreams: 3},
		Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := range 3 {
		var batch []sidetrail.Record
		for i := range 10 {
			batch = append(batch, mkRec(1, int64(round*100+i), t0, "m", "status", fmt.Sprint(i)))
		}
		if _, err := send(t, s, batch); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.StreamLimited != 21 || st.Streams != 3 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(buf.String(), "max_streams reached"); n != 1 {
		t.Errorf("%d warnings:\n%s", n, buf.String())
	}
}

// The label sets of a push Loki refused do not count against max_streams:
// Loki opened none of them. They did, and every later record went with the
// static labels alone (sinks21 F3: 250 of 250).
func TestRefusedPushOpensNoStreams(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFakeLoki(t)
			refuse := true
			f.setFault(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				if refuse {
					http.Error(w, "refused", status)
					return true
				}
				return false
			})
			s := mustNew(t, Config{URL: f.URL(), Labels: map[string]string{"app": "a"}, LabelFields: []string{"u"}, MaxStreams: 3})
			var refused []sidetrail.Record
			for i := range 3 {
				refused = append(refused, mkRec(1, int64(i), t0, "m", "u", fmt.Sprint("old", i)))
			}
			send(t, s, refused)
			refuse = false
			var batch []sidetrail.Record
			for i := range 3 {
				batch = append(batch, mkRec(1, int64(100+i), t0, "m", "u", fmt.Sprint("new", i)))
			}
			if _, err := send(t, s, batch); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.StreamLimited != 0 || st.Streams != 3 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"0", 0, true}, {"12", 12 * time.Second, true}, {"-1", 0, false}, {"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999", 24 * time.Hour, true},
	} {
		got, ok := parseRetryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

// tls.insecure_skip_verify is said at start, as the Elasticsearch sink
// does; the caller's logger (which names the sink) is used as it is.
func TestInsecureSkipVerifyWarned(t *testing.T) {
	var buf syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil)).With("sink", "logs")
	s, err := New(Config{URL: "https://loki.example:3100", TLS: TLSConfig{InsecureSkipVerify: true}}, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "insecure_skip_verify") {
		t.Fatalf("no warning: %q", out)
	}
	if strings.Count(out, "sink=") != 1 {
		t.Fatalf("the sink named more than once: %q", out)
	}
}

// A transport error's text quotes the URL: its query string (an API key
// there) was in every "sink send failed" WARN (redact14 F8).
func TestTransportErrorHidesTheQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := mustNew(t, Config{URL: "http://user:PASSWORD1@" + addr + "/?apikey=QUERYKEY1"})
	_, err = send(t, s, batchOf(1))
	if err == nil {
		t.Fatal("no error")
	}
	if msg := err.Error(); strings.Contains(msg, "QUERYKEY1") || strings.Contains(msg, "PASSWORD1") || !strings.Contains(msg, addr) {
		t.Errorf("error %q", msg)
	}
}

// The per-record counters count records Loki took, not attempts: a batch
// retried through an outage added its cut lines and its records without
// labels again at every retry (docs19 F1: 19 for one record after 18
// pushes).
func TestRecordCountersCountDeliveries(t *testing.T) {
	f := newFakeLoki(t)
	var fails atomic.Int32
	fails.Store(3)
	f.setFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if fails.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	s, err := New(Config{URL: f.URL(), LabelFields: []string{"status"}, MaxStreams: 1, MaxLineBytes: 200}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := []sidetrail.Record{
		mkRec(1, 0, t0, strings.Repeat("x", 1000), "status", "200"),
		mkRec(1, 1001, t0, "short", "status", "404"),
	}
	for try := 0; ; try++ {
		res, err := send(t, s, batch)
		if err == nil {
			requireAll(t, res, sidetrail.Accepted)
			break
		}
		if try > 5 {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Truncated != 1 || st.StreamLimited != 1 {
		t.Errorf("truncated %d, stream limited %d; want 1 and 1", st.Truncated, st.StreamLimited)
	}
}
