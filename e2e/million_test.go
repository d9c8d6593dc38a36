package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/internal/vltest"
)

// TestMillionLinesEveryBackend sends 1,000,000 lines through the whole
// pipeline (tail → parse → buffer → sinks) into three real VictoriaLogs
// servers at once: one through the Elasticsearch sink, one through the Loki
// sink in protobuf with the raw line, one through the Loki sink in JSON with
// the record JSON. Each must end up holding every line exactly once.
func TestMillionLinesEveryBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	n := 1_000_000
	if soak() {
		n = 3_000_000
	}
	bin := sidetrailBinary(t)
	es, lokiPB, lokiJSON := vltest.Start(t), vltest.Start(t), vltest.Start(t)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	writeNumbered(t, filepath.Join(logs, "app.log"), n)

	cfg := fmt.Sprintf(`data_dir: %s/data
log: {level: warn}
sources:
  - {name: app, paths: ["%s/*.log"], format: json}
buffer: {max_bytes: 512MiB, segment_bytes: 16MiB}
sinks:
  - name: es
    type: elasticsearch
    urls: ["%s"]
    params: {_msg_field: message, _time_field: "@timestamp", _stream_fields: "source"}
    batch: {max_records: 5000, max_bytes: 8MiB, max_wait: 50ms}
  - name: lokipb
    type: loki
    url: "%s?disable_message_parsing=1"
    labels: {app: million}
    line: message
    batch: {max_records: 5000, max_bytes: 8MiB, max_wait: 50ms}
  - name: lokijson
    type: loki
    url: "%s?disable_message_parsing=1"
    encoding: json
    labels: {app: million}
    line: json
    batch: {max_records: 5000, max_bytes: 8MiB, max_wait: 50ms}
server: {listen: ""}
`, dir, logs, es.ElasticsearchURL(), lokiPB.LokiURL(), lokiJSON.LokiURL())
	path := filepath.Join(dir, "sidetrail.yaml")
	os.WriteFile(path, []byte(cfg), 0o644)
	a := newAgent(t, bin, path, dir)
	a.validate()
	start := time.Now()
	a.start()

	backends := []struct {
		name string
		srv  *vltest.Server
	}{{"elasticsearch", es}, {"loki protobuf", lokiPB}, {"loki json", lokiJSON}}
	deadline := time.Now().Add(8 * time.Minute)
	for _, b := range backends {
		for {
			if c := b.srv.Count(t, "*"); c >= n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: only %d of %d lines after %v", b.name, b.srv.Count(t, "*"), n, time.Since(start))
			}
			a.checkAlive()
			time.Sleep(500 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	if code := a.term(30 * time.Second); code != 0 {
		t.Fatalf("agent exited %d", code)
	}
	for _, b := range backends {
		total := b.srv.Count(t, "*")
		rows := b.srv.Query(t, `* | stats count_uniq(_msg) u`)
		uniq, _ := strconv.Atoi(fmt.Sprint(rows[0]["u"]))
		t.Logf("%s: %d lines sent, %d stored, %d distinct", b.name, n, total, uniq)
		if total != n || uniq != n {
			t.Errorf("%s: stored %d rows with %d distinct lines, want %d each exactly once", b.name, total, uniq, n)
		}
	}
	t.Logf("%d lines through three sinks in %v (%.0f lines/s per sink)", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
}

// writeNumbered writes n distinct JSON lines.
func writeNumbered(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, `{"time":"%s","seq":%d,"msg":"line %07d","level":"info"}`+"\n", base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}
