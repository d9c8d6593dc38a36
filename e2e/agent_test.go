package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// agentConfig is what the sidetrail config template needs.
type agentConfig struct {
	DataDir      string
	LogGlob      string
	LogFormat    string
	ESURL        string // .../insert/elasticsearch
	LokiURL      string // .../insert/loki
	MaxBytes     string
	SegmentBytes string
	DrainTimeout time.Duration
}

const configTemplate = `# written by the e2e mission test
data_dir: {{.DataDir}}
drain_timeout: {{.DrainTimeout}}
log:
  level: info
sources:
  - name: nginx
    paths: ["{{.LogGlob}}"]
    format: nginx
    log_format: '{{.LogFormat}}'
    start_at: beginning
    rotate_wait: 2s
redact:
  - builtin: email
  - builtin: query_secrets
  - builtin: jwt
buffer: {max_bytes: {{.MaxBytes}}, segment_bytes: {{.SegmentBytes}}, when_full: block, fsync: batch}
sinks:
  - name: es
    type: elasticsearch
    urls: ["{{.ESURL}}"]
    index: "nginx-%Y.%m.%d"
    params: {_msg_field: message, _time_field: "@timestamp", _stream_fields: "source,log.file.path"}
    batch: {max_records: 2000, max_wait: 100ms}
    retry: {initial_backoff: 100ms, max_backoff: 2s}
  - name: loki
    type: loki
    url: "{{.LokiURL}}?disable_message_parsing=1"
    labels: {app: nginx}
    line: json
    retry: {initial_backoff: 100ms, max_backoff: 2s}
  - name: out
    type: stdout
server: {listen: ""}
`

// writeConfig writes the agent's YAML config into dir and returns its path.
func writeConfig(t testing.TB, dir string, c agentConfig) string {
	t.Helper()
	var b bytes.Buffer
	if err := template.Must(template.New("cfg").Parse(configTemplate)).Execute(&b, c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sidetrail.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// agent runs the sidetrail binary: one process at a time, each run's stdout
// (the stdout sink) and stderr (the agent's own log) in its own file.
// Methods must be called from the test goroutine.
type agent struct {
	t       testing.TB
	bin     string
	config  string
	dir     string
	runs    int
	kills   int
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	stdouts []string
	stderrs []string
}

func newAgent(t testing.TB, bin, config, dir string) *agent {
	a := &agent{t: t, bin: bin, config: config, dir: dir}
	t.Cleanup(func() {
		if a.running() {
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
		if t.Failed() {
			a.dumpStderr(40)
		}
	})
	return a
}

// validate runs `sidetrail validate` and fails the test on errors.
func (a *agent) validate() {
	a.t.Helper()
	out, err := exec.Command(a.bin, "validate", "-config", a.config).CombinedOutput()
	if err != nil {
		a.t.Fatalf("sidetrail validate: %v\n%s", err, out)
	}
}

func (a *agent) running() bool {
	if a.cmd == nil {
		return false
	}
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// start starts a new run of the agent.
func (a *agent) start() {
	a.t.Helper()
	if a.running() {
		a.t.Fatal("agent already running")
	}
	a.runs++
	stdout, err := os.Create(filepath.Join(a.dir, fmt.Sprintf("stdout-%02d.ndjson", a.runs)))
	if err != nil {
		a.t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(a.dir, fmt.Sprintf("stderr-%02d.log", a.runs)))
	if err != nil {
		a.t.Fatal(err)
	}
	defer stderr.Close()
	a.stdouts = append(a.stdouts, stdout.Name())
	a.stderrs = append(a.stderrs, stderr.Name())
	cmd := exec.Command(a.bin, "run", "-config", a.config)
	// The child writes straight into the files: what is there after a
	// SIGKILL is exactly what the agent had written.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start sidetrail: %v", err)
	}
	a.cmd = cmd
	a.exited = make(chan struct{})
	go func(exited chan struct{}) {
		a.waitErr = cmd.Wait()
		close(exited)
	}(a.exited)
}

// checkAlive fails the test if the agent exited on its own.
func (a *agent) checkAlive() {
	a.t.Helper()
	if a.cmd != nil && !a.running() {
		a.dumpStderr(60)
		a.t.Fatalf("sidetrail run %d exited on its own: %v", a.runs, a.waitErr)
	}
}

// kill9 kills the running agent with SIGKILL and waits for it.
func (a *agent) kill9() {
	a.t.Helper()
	a.checkAlive()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		a.t.Fatalf("kill -9 sidetrail: %v", err)
	}
	<-a.exited
	a.kills++
}

// term sends SIGTERM and waits up to timeout; it returns the exit code.
func (a *agent) term(timeout time.Duration) int {
	a.t.Helper()
	a.checkAlive()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		a.t.Fatalf("SIGTERM sidetrail: %v", err)
	}
	select {
	case <-a.exited:
	case <-time.After(timeout):
		_ = a.cmd.Process.Kill()
		<-a.exited
		a.t.Errorf("sidetrail did not exit within %v of SIGTERM; killed", timeout)
		return -1
	}
	var ee *exec.ExitError
	if errors.As(a.waitErr, &ee) {
		return ee.ExitCode()
	}
	if a.waitErr != nil {
		return -1
	}
	return 0
}

// dumpStderr logs the last n lines of the agent's stderr of every run.
func (a *agent) dumpStderr(n int) {
	for i, p := range a.stderrs {
		b, _ := os.ReadFile(p)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		a.t.Logf("sidetrail run %d stderr (last %d lines):\n%s", i+1, len(lines), strings.Join(lines, "\n"))
	}
}
