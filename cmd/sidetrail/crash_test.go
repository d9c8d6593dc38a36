package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/internal/syncbuf"
)

// agentProc is a sidetrail child process (this test binary, see TestMain).
type agentProc struct {
	cmd    *exec.Cmd
	out    *os.File
	stderr syncbuf.Buffer
	done   chan error
}

func startAgent(t *testing.T, config, outPath string) *agentProc {
	t.Helper()
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SIDETRAIL_TEST_MAIN=run -config "+config)
	p := &agentProc{cmd: cmd, out: out, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = out, &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait(); out.Close() }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done; p.done <- nil })
	return p
}

func (p *agentProc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

func (p *agentProc) term(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("agent exited with %v after SIGTERM; stderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("agent did not exit 30s after SIGTERM; stderr:\n%s", p.stderr.String())
	}
}

// lineWriter writes numbered lines to dir/app.log, rotating by rename every
// rotateEvery lines and, like nginx before its reopen signal, writing a few
// more lines into the renamed file before switching to the new one.
type lineWriter struct {
	dir         string
	total       int
	rotateEvery int
	perSecond   int
	written     int
	rotations   int
}

var lineRE = regexp.MustCompile(`^line (\d{8}) `)

func (w *lineWriter) run(t *testing.T) error {
	path := filepath.Join(w.dir, "app.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	pad := bytes.Repeat([]byte("x"), 60)
	start := time.Now()
	var pendingSwitch int // lines left to write into the renamed file
	var next *os.File
	for i := 0; i < w.total; i++ {
		if _, err := fmt.Fprintf(f, "line %08d %s\n", i, pad[:i%60]); err != nil {
			return err
		}
		if pendingSwitch > 0 {
			pendingSwitch--
			if pendingSwitch == 0 {
				f.Close()
				f, next = next, nil
			}
		} else if w.rotateEvery > 0 && i > 0 && i%w.rotateEvery == 0 {
			w.rotations++
			if err := os.Rename(path, fmt.Sprintf("%s.%d", path, w.rotations)); err != nil {
				return err
			}
			next, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			pendingSwitch = 50
		}
		// Pace the writer so the kills land while lines flow.
		if w.perSecond > 0 && i%100 == 0 {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(w.perSecond))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	w.written = w.total
	if next != nil {
		next.Close()
	}
	return f.Close()
}

// tally counts how often each numbered line arrived in the stdout files.
type tally struct {
	counts []int
	torn   int
}

func countOutputs(t *testing.T, total int, files []string) tally {
	t.Helper()
	tl := tally{counts: make([]int, total)}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var rec struct{ Message string }
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				tl.torn++ // the last line of a SIGKILLed run may be torn
				continue
			}
			m := lineRE.FindStringSubmatch(rec.Message)
			if m == nil {
				t.Fatalf("unexpected record %q", sc.Text())
			}
			n, _ := strconv.Atoi(m[1])
			tl.counts[n]++
		}
		f.Close()
	}
	return tl
}

func (tl tally) summary() (missing, dups, seen int) {
	for _, c := range tl.counts {
		switch {
		case c == 0:
			missing++
		default:
			seen++
			dups += c - 1
		}
	}
	return
}

func writeCrashConfig(t *testing.T, dir string) string {
	t.Helper()
	cfg := fmt.Sprintf(`data_dir: %s/data
drain_timeout: 10s
log: {level: info}
sources:
  - name: app
    paths: ["%s/logs/app.log*"]
    format: raw
    rotate_wait: 1s
    workers: 2 # the transform pool, whose read-ahead must not lose lines either (the mission tests run the default)
buffer: {max_bytes: 256MiB, segment_bytes: 1MiB, fsync: batch}
sinks:
  - name: out
    type: stdout
    batch: {max_records: 1000, max_wait: 20ms}
server: {listen: ""}
`, dir, dir)
	path := filepath.Join(dir, "sidetrail.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCrashLoopLosesNothing kills the agent with SIGKILL at random moments
// while 200,000 lines flow through two rotations, restarting it each time.
// Nothing may be lost; duplicates are counted and bounded.
func TestCrashLoopLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop: not in -short")
	}
	const total, kills = 200_000, 30
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	cfg := writeCrashConfig(t, dir)
	w := &lineWriter{dir: filepath.Join(dir, "logs"), total: total, rotateEvery: 70_000, perSecond: 20_000}
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() { defer wg.Done(); werr = w.run(t) }()

	var outs []string
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := 0; i < kills; i++ {
		out := filepath.Join(dir, fmt.Sprintf("out-%02d.ndjson", i))
		outs = append(outs, out)
		p := startAgent(t, cfg, out)
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		p.kill(t)
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	// A last run delivers the rest and stops cleanly.
	out := filepath.Join(dir, "out-final.ndjson")
	outs = append(outs, out)
	p := startAgent(t, cfg, out)
	deadline := time.Now().Add(60 * time.Second)
	var tl tally
	for {
		tl = countOutputs(t, total, outs)
		if missing, _, _ := tl.summary(); missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.term(t)
	tl = countOutputs(t, total, outs)
	missing, dups, _ := tl.summary()
	t.Logf("crash loop: %d lines, %d rotations, %d SIGKILLs: lost %d, duplicated %d (%.2f%%), torn output lines %d",
		total, w.rotations, kills, missing, dups, 100*float64(dups)/total, tl.torn)
	if missing > 0 {
		first := -1
		for i, c := range tl.counts {
			if c == 0 {
				first = i
				break
			}
		}
		t.Fatalf("LOST %d lines (first: line %08d); agent stderr:\n%s", missing, first, p.stderr.String())
	}
	// Lines buffered after the last checkpoint are not read again (the
	// tailer resumes past what the buffer holds), so a kill can repeat only
	// the batch the stdout sink had written but not yet acknowledged: at
	// most one batch (max_records: 1000) per kill.
	if bound := kills * 1000; dups > bound {
		t.Fatalf("%d duplicates exceed the bound of %d (one in-flight batch per kill)", dups, bound)
	}
}

// TestCleanRestartsDeliverExactlyOnce stops the agent with SIGTERM several
// times mid-stream: a clean stop commits what it delivered, so nothing is
// lost and nothing repeats.
func TestCleanRestartsDeliverExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	const total, restarts = 60_000, 5
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	cfg := writeCrashConfig(t, dir)
	w := &lineWriter{dir: filepath.Join(dir, "logs"), total: total, rotateEvery: 25_000, perSecond: 20_000}
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() { defer wg.Done(); werr = w.run(t) }()
	var outs []string
	for i := 0; ; i++ {
		out := filepath.Join(dir, fmt.Sprintf("out-%02d.ndjson", i))
		outs = append(outs, out)
		p := startAgent(t, cfg, out)
		if i < restarts {
			time.Sleep(400 * time.Millisecond)
			p.term(t)
			continue
		}
		wg.Wait()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if missing, _, _ := countOutputs(t, total, outs).summary(); missing == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		p.term(t)
		break
	}
	if werr != nil {
		t.Fatal(werr)
	}
	tl := countOutputs(t, total, outs)
	missing, dups, _ := tl.summary()
	t.Logf("clean restarts: %d lines, %d rotations, %d SIGTERM restarts: lost %d, duplicated %d, torn %d", total, w.rotations, restarts, missing, dups, tl.torn)
	if missing != 0 || dups != 0 || tl.torn != 0 {
		t.Fatalf("want exactly once: lost %d, duplicated %d, torn %d", missing, dups, tl.torn)
	}
}

// TestReloadDuringBurstExactlyOnce rewrites the configuration (noticed by
// the file watch), sends SIGHUP, and writes an invalid configuration, all
// while lines flow: every line arrives exactly once and the invalid
// configuration leaves the agent running on the previous one.
func TestReloadDuringBurstExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	const total = 60_000
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	cfg := writeCrashConfig(t, dir)
	orig, _ := os.ReadFile(cfg)
	w := &lineWriter{dir: filepath.Join(dir, "logs"), total: total, rotateEvery: 25_000, perSecond: 15_000}
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() { defer wg.Done(); werr = w.run(t) }()
	out := filepath.Join(dir, "out.ndjson")
	p := startAgent(t, cfg, out)

	replace := func(content []byte) {
		tmp := cfg + ".tmp"
		if err := os.WriteFile(tmp, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfg); err != nil { // atomic, as a ConfigMap update is
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		time.Sleep(500 * time.Millisecond)
		replace(bytes.Replace(orig, []byte("max_records: 1000"), []byte(fmt.Sprintf("max_records: %d", 500+i)), 1))
		time.Sleep(500 * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGHUP)
	}
	time.Sleep(300 * time.Millisecond)
	replace([]byte("sources: [this is: not valid\n"))
	// The invalid file stays until the agent has rejected it.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), "reload rejected") {
		if time.Now().After(deadline) {
			t.Fatalf("invalid configuration never rejected; logs:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	replace(orig)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if missing, _, _ := countOutputs(t, total, []string{out}).summary(); missing == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.term(t)
	tl := countOutputs(t, total, []string{out})
	missing, dups, _ := tl.summary()
	logs := p.stderr.String()
	reloads := strings.Count(logs, "reloading configuration")
	rejected := strings.Count(logs, "reload rejected")
	t.Logf("reload during burst: %d lines, %d reloads, %d rejected: lost %d, duplicated %d", total, reloads, rejected, missing, dups)
	if missing != 0 || dups != 0 || tl.torn != 0 {
		t.Fatalf("want exactly once: lost %d, duplicated %d, torn %d\n%s", missing, dups, tl.torn, logs)
	}
	if reloads < 3 || rejected < 1 { // three SIGHUPs always reload; file changes may coalesce with them
		t.Fatalf("expected ≥3 reloads and ≥1 rejected reload; logs:\n%s", logs)
	}
}
