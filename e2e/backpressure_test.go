package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/internal/esfake"
	"github.com/sidetrail/sidetrail/internal/faultproxy"
)

// TestBackpressureBoundedAndLossless keeps the only sink unreachable until
// the disk buffer is at max_bytes: the tailer must pause (the file is the
// upstream buffer), the buffer must stay bounded, memory must stay flat;
// when the sink returns, every line is delivered exactly once.
func TestBackpressureBoundedAndLossless(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	const n = 100_000
	const maxBytes = 1 << 20
	bin := sidetrailBinary(t)
	es := esfake.Start(t)
	proxy := faultproxy.Start(t, strings.TrimPrefix(es.URL(), "http://"), faultproxy.Options{})
	proxy.Down()

	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	f, _ := os.Create(filepath.Join(logs, "app.log"))
	for i := 0; i < n; i++ {
		fmt.Fprintf(f, "line %06d %s\n", i, strings.Repeat("x", 80))
	}
	f.Close()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`data_dir: %s/data
log: {level: warn}
sources: [{name: app, paths: ["%s/*.log"], format: raw}]
buffer: {max_bytes: %d, segment_bytes: 64KiB, when_full: block}
sinks:
  - name: es
    type: elasticsearch
    urls: ["%s"]
    batch: {max_records: 500, max_wait: 20ms}
    retry: {initial_backoff: 20ms, max_backoff: 200ms}
server: {listen: "%s"}
`, dir, logs, maxBytes, proxy.URL(), addr)
	path := filepath.Join(dir, "sidetrail.yaml")
	os.WriteFile(path, []byte(cfg), 0o644)
	a := newAgent(t, bin, path, dir)
	a.validate()
	a.start()

	// Until the buffer is full and reading has stopped: the line count
	// unchanged for half a second with the buffer near max_bytes.
	var m map[string]float64
	var read float64
	stableSince := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m = scrapeMetrics(t, addr)
		lines := m[`sidetrail_source_lines_total{source="app"}`]
		if lines != read {
			read, stableSince = lines, time.Now()
		}
		if m[`sidetrail_buffer_bytes`] >= maxBytes*3/4 && lines > 0 && time.Since(stableSince) >= 500*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("buffer never filled and paused reading: %v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And stays paused: nothing more is read while the sink is down.
	time.Sleep(time.Second)
	m = scrapeMetrics(t, addr)
	if got := m[`sidetrail_source_lines_total{source="app"}`]; got != read {
		t.Fatalf("source kept reading with the buffer full: %v -> %v lines", read, got)
	}
	if m[`sidetrail_source_bytes_behind{source="app"}`] <= 0 {
		t.Fatalf("reading paused with nothing behind: %v", m)
	}
	if b := m[`sidetrail_buffer_bytes`]; b > 2*maxBytes {
		t.Fatalf("buffer at %v bytes, max_bytes %d", b, maxBytes)
	}
	rssFull := peakRSS(t, a.cmd.Process.Pid)

	up := time.Now()
	proxy.Up()
	for es.Count() < n {
		if time.Since(up) > 90*time.Second {
			t.Fatalf("only %d of %d delivered after the sink returned", es.Count(), n)
		}
		a.checkAlive()
		time.Sleep(50 * time.Millisecond)
	}
	drain := time.Since(up)
	rss := peakRSS(t, a.cmd.Process.Pid)
	if code := a.term(20 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if c := es.Count(); c != n {
		t.Fatalf("%d documents, want %d", c, n)
	}
	t.Logf("backpressure: buffer held at %.0f bytes (max_bytes %d), %.0f of %d lines read while the sink was down, "+
		"bytes behind %.0f; drained %d lines in %v after the sink returned; peak RSS %.1f MiB (%.1f MiB when full), %d ES conflicts",
		m[`sidetrail_buffer_bytes`], maxBytes, read, n, m[`sidetrail_source_bytes_behind{source="app"}`], n, drain.Round(time.Millisecond),
		rss, rssFull, es.Stats().Conflicts)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var metricLine = regexp.MustCompile(`(?m)^(sidetrail_[a-z_]+(?:\{[^}]*\})?) (\S+)$`)

func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, m := range metricLine.FindAllStringSubmatch(string(b), -1) {
		out[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	return out
}

// peakRSS reads a process's peak resident set (VmHWM) in MiB.
func peakRSS(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
