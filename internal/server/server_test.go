package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a Server on a free loopback port and returns its base URL; the
// server is stopped, and Run's result checked, in t.Cleanup.
func start(t *testing.T, opts Options) string {
	t.Helper()
	opts.Listen = "127.0.0.1:0"
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitCtx, waitCancel := context.WithTimeout(ctx, 10*time.Second)
	defer waitCancel()
	addr := s.Addr(waitCtx)
	if addr == nil {
		t.Fatal("server did not bind")
	}
	return "http://" + addr.String()
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	lines := prometheus.NewCounter(prometheus.CounterOpts{Name: "sidetrail_lines_read_total", Help: "Lines read."})
	reg.MustRegister(lines)
	lines.Add(42)
	var notReady atomic.Pointer[error]
	base := start(t, Options{
		Gatherer: reg,
		Ready: func() error {
			if e := notReady.Load(); e != nil {
				return *e
			}
			return nil
		},
	})

	code, body, _ := get(t, base+"/healthz")
	if code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}

	code, body, _ = get(t, base+"/readyz")
	if code != 200 || body != "ok\n" {
		t.Errorf("/readyz ready = %d %q, want 200 \"ok\\n\"", code, body)
	}
	reason := errors.New(`sink "es" failing for 5m0s: connection refused`)
	notReady.Store(&reason)
	code, body, _ = get(t, base+"/readyz")
	if code != 503 || body != "not ready: sink \"es\" failing for 5m0s: connection refused\n" {
		t.Errorf("/readyz unready = %d %q, want 503 with the reason", code, body)
	}
	notReady.Store(nil)
	if code, _, _ = get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after recovery = %d, want 200", code)
	}

	code, body, hdr := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "sidetrail_lines_read_total 42") {
		t.Errorf("/metrics = %d %q, want 200 with sidetrail_lines_read_total 42", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type = %q", ct)
	}

	if code, _, _ = get(t, base+"/nope"); code != 404 {
		t.Errorf("/nope = %d, want 404", code)
	}
}

func TestDefaults(t *testing.T) {
	// No Gatherer, no Ready, no Logger: an empty /metrics and always ready.
	base := start(t, Options{})
	if code, _, _ := get(t, base+"/metrics"); code != 200 {
		t.Errorf("/metrics = %d, want 200", code)
	}
	if code, _, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d, want 200", code)
	}
}

func TestReadyCalledConcurrently(t *testing.T) {
	var calls atomic.Int64
	base := start(t, Options{Ready: func() error { calls.Add(1); return nil }})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			resp, err := http.Get(base + "/readyz")
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if calls.Load() != 8 {
		t.Errorf("Ready called %d times, want 8", calls.Load())
	}
}

func TestListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(Options{Listen: ln.Addr().String()})
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run on a busy port = %v, want a listen error", err)
	}
	if a := s.Addr(context.Background()); a != nil {
		t.Errorf("Addr after a failed listen = %v, want nil", a)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run succeeded, want an error")
	}
}

// TestShutdownWaitsForRequest: a request in progress when ctx ends is
// answered; Run returns after it and no goroutine is left (goleak).
func TestShutdownWaitsForRequest(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s := New(Options{Listen: "127.0.0.1:0", Ready: func() error {
		close(entered)
		<-release
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	addr := s.Addr(context.Background())
	if addr == nil {
		t.Fatal("no address")
	}
	type answer struct {
		code int
		err  error
	}
	got := make(chan answer, 1)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		resp, err := c.Get("http://" + addr.String() + "/readyz")
		if err != nil {
			got <- answer{err: err}
			return
		}
		resp.Body.Close()
		got <- answer{code: resp.StatusCode}
	}()
	<-entered
	cancel()
	// Shutdown has begun or is about to: new connections are refused once
	// the listener is closed. Poll for that, then release the request.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still open 10s after cancel")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v with a request in progress", err)
	default:
	}
	close(release)
	if a := <-got; a.err != nil || a.code != 200 {
		t.Errorf("in-flight request = %d, %v; want 200", a.code, a.err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
