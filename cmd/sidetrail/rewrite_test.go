package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// outMessages returns the messages of the records in the stdout files.
func outMessages(t *testing.T, files ...string) []string {
	t.Helper()
	var msgs []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var rec struct{ Message string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				msgs = append(msgs, rec.Message)
			}
		}
		f.Close()
	}
	return msgs
}

// waitMessages waits until the stdout files hold n records whose message
// starts with prefix, and returns how many they hold.
func waitMessages(t *testing.T, prefix string, n int, within time.Duration, files ...string) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c := 0
		for _, m := range outMessages(t, files...) {
			if strings.HasPrefix(m, prefix) {
				c++
			}
		}
		if c >= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeGeneration rewrites path in place (O_TRUNC, as an app opening its
// log so at each start): the banner, then n lines tagged tag, each with a
// token the redaction masks.
func writeGeneration(t *testing.T, path, tag string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("#Software: Example App 1.0\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s %03d GET /login?token=%s%03dsecret padded to one length\n", tag, i, tag, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// regress22 R8, through the agent: the app rewrites its log in place with
// the same first line (B), sidetrail is killed before a checkpoint names
// B, and the app rewrites it again while sidetrail is down (C, longer). C
// was read from where B's buffered lines end: its first lines were lost
// (2,000 of 4,000 in the probe). And a B only appended to while sidetrail
// was down still resumes after its buffered lines: the comparison of the
// last of them goes through the redaction, as they were buffered.
func TestRewrittenWhileDownAfterCrashIsReadWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	for _, rewrite := range []bool{true, false} {
		t.Run(fmt.Sprintf("rewritten=%v", rewrite), func(t *testing.T) {
			dir := t.TempDir()
			logs := filepath.Join(dir, "logs")
			os.MkdirAll(logs, 0o755)
			app := filepath.Join(logs, "app.log")
			cfg := filepath.Join(dir, "sidetrail.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s/data
log: {level: info}
sources:
  - name: app
    paths: ["%s/app.log"]
    format: raw
redact:
  - builtin: query_secrets
sinks:
  - name: out
    type: stdout
    batch: {max_wait: 10ms}
server: {listen: ""}
`, dir, logs)), 0o644)

			writeGeneration(t, app, "A", 50)
			out0 := filepath.Join(dir, "out-0.ndjson")
			p := startAgent(t, cfg, out0)
			if n := waitMessages(t, "A ", 50, 10*time.Second, out0); n != 50 {
				t.Fatalf("generation A: %d of 50 lines; stderr:\n%s", n, p.stderr.String())
			}
			time.Sleep(1500 * time.Millisecond) // checkpointed
			writeGeneration(t, app, "B", 30)
			if n := waitMessages(t, "B ", 30, 10*time.Second, out0); n != 30 {
				t.Fatalf("generation B: %d of 30 lines; stderr:\n%s", n, p.stderr.String())
			}
			p.kill(t) // most likely before the checkpoint names B (it is written once a second)

			want, prefix := 60, "C "
			if rewrite {
				writeGeneration(t, app, "C", 60)
			} else {
				f, err := os.OpenFile(app, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 10; i++ {
					fmt.Fprintf(f, "B+ %03d more\n", i)
				}
				f.Close()
				want, prefix = 10, "B+ "
			}
			out1 := filepath.Join(dir, "out-1.ndjson")
			p = startAgent(t, cfg, out1)
			n := waitMessages(t, prefix, want, 10*time.Second, out1)
			p.term(t)
			if n != want {
				t.Fatalf("after the restart: %d of %d lines %q...; stderr:\n%s", n, want, prefix, p.stderr.String())
			}
			if !rewrite && strings.Contains(p.stderr.String(), "does not hold the last line") {
				t.Fatalf("the file B grew was taken for another generation; stderr:\n%s", p.stderr.String())
			}
			if rewrite && !strings.Contains(p.stderr.String(), "does not hold the last line") && strings.Contains(p.stderr.String(), "resuming past lines") {
				t.Fatalf("resumed inside C; stderr:\n%s", p.stderr.String())
			}
		})
	}
}
