package vltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the VictoriaLogs release the Makefile installs.
const Version = "v1.52.1"

// Server is a running VictoriaLogs.
type Server struct {
	url    string
	cmd    *exec.Cmd
	client *http.Client
}

// Binary returns the path of the victoria-logs binary: $SIDETRAIL_VICTORIALOGS,
// else .tools/bin/victoria-logs under the module root, else from PATH.
func Binary() (string, error) {
	if p := os.Getenv("SIDETRAIL_VICTORIALOGS"); p != "" {
		return p, nil
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, ".tools", "bin", "victoria-logs")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("victoria-logs"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("victoria-logs not found: run `make tools` (installs %s into .tools/bin)", Version)
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no caller")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Start starts VictoriaLogs on a free loopback port with its own data
// directory and waits until /health answers. The server is stopped with
// SIGTERM in t.Cleanup.
func Start(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir := t.TempDir()
	args := append([]string{
		"-httpListenAddr=127.0.0.1:" + strconv.Itoa(port),
		"-storageDataPath=" + filepath.Join(dir, "data"),
		"-retentionPeriod=100y", "-futureRetention=1y", "-loggerLevel=WARN",
	}, extraArgs...)
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start victoria-logs: %v", err)
	}
	s := &Server{url: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, client: &http.Client{Timeout: 30 * time.Second}}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		s.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("victoria-logs output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("victoria-logs exited during start:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("victoria-logs not healthy after 30s: %v\n%s", err, logs.String())
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// URL is the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.url }

// ElasticsearchURL is the base URL of the Elasticsearch bulk API.
func (s *Server) ElasticsearchURL() string { return s.url + "/insert/elasticsearch" }

// LokiURL is the base URL of the Loki API, ".../insert/loki"; the push
// endpoint is LokiURL()+"/api/v1/push".
func (s *Server) LokiURL() string { return s.url + "/insert/loki" }

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Flush makes everything ingested so far visible to queries.
func (s *Server) Flush(t testing.TB) {
	t.Helper()
	resp, err := s.client.Get(s.url + "/internal/force_flush")
	if err != nil {
		t.Fatalf("force_flush: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Query flushes, then runs a LogsQL query and returns the rows.
func (s *Server) Query(t testing.TB, logsql string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := s.Each(t, logsql, func(row map[string]any) { rows = append(rows, row) }); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Each flushes, then streams a LogsQL query's rows to fn without holding them
// all in memory.
func (s *Server) Each(t testing.TB, logsql string, fn func(map[string]any)) error {
	t.Helper()
	s.Flush(t)
	resp, err := s.client.PostForm(s.url+"/select/logsql/query", url.Values{"query": {logsql}})
	if err != nil {
		return fmt.Errorf("query %q: %w", logsql, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("query %q: %s: %s", logsql, resp.Status, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("query %q: row %q: %w", logsql, sc.Text(), err)
		}
		fn(row)
	}
	return sc.Err()
}

// Count returns the number of rows the query matches.
func (s *Server) Count(t testing.TB, logsql string) int {
	t.Helper()
	rows := s.Query(t, logsql+" | stats count() n")
	if len(rows) != 1 {
		t.Fatalf("count %q: %d rows", logsql, len(rows))
	}
	n, err := strconv.Atoi(fmt.Sprint(rows[0]["n"]))
	if err != nil {
		t.Fatalf("count %q: %v", logsql, rows[0])
	}
	return n
}
