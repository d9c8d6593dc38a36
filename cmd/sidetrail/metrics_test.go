package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestMetricsMatchREADME runs the agent, scrapes /metrics and checks that
// every metric the README's table lists is exported, and that every
// sidetrail_ metric exported is in the table.
func TestMetricsMatchREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "## Metrics and health"); i >= 0 {
		section = section[i:]
		if j := strings.Index(section[3:], "\n## "); j >= 0 {
			section = section[:j+3]
		}
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(sidetrail_[a-z_]+)`").FindAllStringSubmatch(section, -1) {
		documented[m[1]] = true
	}
	if len(documented) < 20 {
		t.Fatalf("found only %d metrics in the README table", len(documented))
	}

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "logs", "a.log"), []byte("x@example.com line\n"), 0o644)
	// A second source redacting at the same time: under -race this fails
	// if the sources share one Redactor.
	var many []byte
	for i := 0; i < 2000; i++ {
		many = fmt.Appendf(many, "user%d@example.com did %d\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "logs", "b.txt"), many, 0o644)
	addr := freeAddr(t)
	// A Loki sink too, for its own metrics: a backend that takes every push.
	lokiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer lokiSrv.Close()
	cfg := writeFile(t, "m.yaml", fmt.Sprintf(`data_dir: %s/data
sources: [{name: a, paths: ["%s/logs/*.log"]}, {name: b, paths: ["%s/logs/*.txt"]}]
redact: [{builtin: email}]
sinks: [{name: out, type: stdout}, {name: lk, type: loki, url: "%s"}]
server: {listen: "%s"}
`, dir, dir, dir, lokiSrv.URL, addr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"run", "-config", cfg}, nil, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d", code)
		}
	}()

	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, `sidetrail_sink_sent_records_total{sink="out"} 2001`) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(sidetrail_[a-z_]+?)(_bucket|_sum|_count)?[{ ]`).FindAllStringSubmatch(body, -1) {
		exported[m[1]] = true
	}
	for name := range documented {
		if !exported[name] {
			t.Errorf("README documents %s; /metrics does not export it", name)
		}
	}
	for name := range exported {
		if !documented[name] {
			t.Errorf("/metrics exports %s; the README's table does not document it", name)
		}
	}
	for _, want := range []string{`sidetrail_redactions_total{rule="email"} 2001`, `sidetrail_source_lines_total{source="a"} 1`, `sidetrail_source_lines_total{source="b"} 2000`,
		`sidetrail_source_truncated_bytes_lost_total{source="a"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, err, resp)
		} else {
			resp.Body.Close()
		}
	}
}

// A sink that has not finished a batch yet (its backend down from the
// start) still has a batch-duration series, with a zero count.
func TestBatchDurationSeriesFromTheStart(t *testing.T) {
	m := newMetrics("test")
	m.setGeneration(&generation{sinks: []*sinkUnit{{cfg: config.Sink{Name: "es"}}}})
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sidetrail_sink_batch_duration_seconds" {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "sink" && l.GetValue() == "es" && mt.GetHistogram().GetSampleCount() == 0 {
					return
				}
			}
		}
	}
	t.Fatal("no sidetrail_sink_batch_duration_seconds series for sink es")
}
