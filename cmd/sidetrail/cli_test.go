package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/internal/syncbuf"
)

func runMain(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersion(t *testing.T) {
	code, out, _ := runMain(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "sidetrail ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, errOut := runMain(t, "", "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("%d %q", code, errOut)
	}
}

func TestValidateEmbeddedAndExamples(t *testing.T) {
	if code, out, errOut := runMain(t, "", "validate"); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("embedded config: %d %s %s", code, out, errOut)
	}
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configs found")
	}
	for _, f := range files {
		t.Setenv("ES_PASSWORD", "x")
		t.Setenv("SIDETRAIL_HASH_KEY", "k")
		if code, out, errOut := runMain(t, "", "validate", "-config", f); code != 0 {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
}

func TestValidateReportsEveryErrorWithLine(t *testing.T) {
	path := writeFile(t, "bad.yaml", `data_dir: /tmp/x
sources:
  - name: web
    pathz: ["/var/log/*.log"]
    format: nginx
    log_format: '$remote_addr "$request'
buffer:
  max_bytes: lots
redact:
  - pattern: '(unclosed'
sinks:
  - name: out
    type: stdout
`)
	code, _, errOut := runMain(t, "", "validate", "-config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"bad.yaml:4:", "pathz", "bad.yaml:8:", "max_bytes"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestValidateSemanticErrors(t *testing.T) {
	// The YAML is well-formed; the log_format and the regex are not.
	path := writeFile(t, "sem.yaml", `data_dir: /tmp/x
sources:
  - name: web
    paths: ["/var/log/*.log"]
    format: nginx
    log_format: '$remote_addr "${request'
redact:
  - pattern: '(unclosed'
sinks:
  - name: out
    type: stdout
`)
	code, _, errOut := runMain(t, "", "validate", "-config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "sem.yaml:") || !strings.Contains(errOut, "unclosed") && !strings.Contains(errOut, "rule") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestValidateMissingAndEmptyFiles(t *testing.T) {
	if code, _, errOut := runMain(t, "", "validate", "-config", "/nonexistent/sidetrail.yaml"); code != 1 || !strings.Contains(errOut, "/nonexistent/sidetrail.yaml") {
		t.Fatalf("missing: %d %q", code, errOut)
	}
	empty := writeFile(t, "empty.yaml", "")
	if code, _, errOut := runMain(t, "", "validate", "-config", empty); code != 1 || errOut == "" {
		t.Fatalf("empty: %d %q", code, errOut)
	}
}

func TestParseCommandRedacts(t *testing.T) {
	path := writeFile(t, "p.yaml", `data_dir: /tmp/x
sources:
  - name: web
    paths: ["/var/log/*.log"]
    format: nginx
    fields: {cluster: prod}
redact:
  - builtin: email
  - builtin: query_secrets
sinks:
  - {name: out, type: stdout}
`)
	in := `10.1.2.3 - - [02/Jan/2024:15:04:05 +0000] "GET /login?user=bob@example.com&password=hunter2 HTTP/1.1" 200 12 "-" "curl/8"
garbage that does not parse
`
	code, out, errOut := runMain(t, in, "parse", "-config", path, "-source", "web")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got:\n%s", out)
	}
	if strings.Contains(out, "bob@example.com") || strings.Contains(out, "hunter2") {
		t.Fatalf("secret in output:\n%s", out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["status"] != float64(200) || rec["cluster"] != "prod" || rec["source"] != "web" || rec["@timestamp"] != "2024-01-02T15:04:05.000000000Z" {
		t.Fatalf("record: %v", rec)
	}
	if !strings.Contains(lines[1], `"parse_failure"`) || !strings.Contains(lines[1], "garbage that does not parse") {
		t.Fatalf("failed line not shipped raw and marked: %s", lines[1])
	}
}

// parse cuts a line longer than the source's max_line_bytes into the
// fragments run makes of it: it showed overlong lines whole, redacted as
// run would not redact them.
func TestParseCommandCutsOverlongLines(t *testing.T) {
	path := writeFile(t, "p.yaml", `data_dir: /tmp/x
sources:
  - {name: raw, paths: ["/var/log/*.log"], max_line_bytes: 1KiB}
sinks:
  - {name: out, type: stdout}
`)
	long := strings.Repeat("a", 2500)
	code, out, errOut := runMain(t, long+"\nshort\n", "parse", "-config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			Message string
			Log     struct {
				Offset int64
				Flags  []string
			}
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d@%d%v", len(rec.Message), rec.Log.Offset, rec.Log.Flags))
	}
	if want := "1024@0[fragment] 1024@1024[fragment] 452@2048[fragment] 5@2501[]"; strings.Join(got, " ") != want {
		t.Fatalf("records %q, want %q", strings.Join(got, " "), want)
	}
}

// A CRLF line parses as run parses it: "\r\n" ends the line. Before, the
// "\r" stayed and every nginx line of a CRLF file was a parse failure, on
// which field rules (a cookie's drop) do not run.
func TestParseCommandCRLF(t *testing.T) {
	path := writeFile(t, "p.yaml", `data_dir: /tmp/x
sources:
  - {name: web, paths: ["/var/log/*.log"], format: nginx, log_format: '$remote_addr "$request" $status "$http_cookie"'}
redact:
  - {field: http_cookie, action: drop}
sinks:
  - {name: out, type: stdout}
`)
	code, out, errOut := runMain(t, "10.1.2.3 \"GET / HTTP/1.1\" 200 \"sid=SECRET1\"\r\nnext\n", "parse", "-config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Contains(out, "SECRET1") || strings.Contains(lines[0], "parse_failure") || !strings.Contains(lines[1], `"offset":45`) {
		t.Fatalf("records:\n%s", out)
	}
}

// NUL bytes before a line are skipped, as in run: glued to a JSON line,
// they made it a parse failure and its field rules did not run (parser19 N).
func TestParseCommandSkipsNULs(t *testing.T) {
	path := writeFile(t, "p.yaml", `data_dir: /tmp/x
sources:
  - {name: j, paths: ["/var/log/*.log"], format: json}
redact:
  - {field: ssn, action: drop}
sinks:
  - {name: out, type: stdout}
`)
	code, out, errOut := runMain(t, "\x00\x00\x00{\"ssn\":\"123-45-SECRET\"}\n{\"n\":1}\n", "parse", "-config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Contains(out, "SECRET") || strings.Contains(out, "parse_failure") || !strings.Contains(lines[0], `"offset":3`) {
		t.Fatalf("records:\n%s", out)
	}
}

func TestDataDirLockedAgainstSecondAgent(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another sidetrail") {
		t.Fatalf("second lock: %v", err)
	}
	// The lock file deleted while the agent runs: the directory's own
	// lock still holds (buffer11 #7: a second agent started, and the two
	// deleted each other's segments).
	if err := os.Remove(filepath.Join(dir, "lock")); err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another sidetrail") {
		t.Fatalf("second lock after the lock file was deleted: %v", err)
	}
	release()
	release2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release2()
}

func TestBufferInspect(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "a.log"), []byte("one\ntwo\nthree\n"), 0o644)
	cfg := writeFile(t, "i.yaml", `data_dir: `+dir+`/data
sources: [{name: a, paths: ["`+logs+`/*.log"]}]
sinks: [{name: out, type: stdout}]
server: {listen: ""}
`)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"run", "-config", cfg}, nil, &out, io.Discard) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), `"three"`) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d", code)
	}
	code, stdout, errOut := runMain(t, "", "buffer", "inspect", "-data-dir", filepath.Join(dir, "data"))
	if code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errOut)
	}
	for _, want := range []string{"out", ".seg"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, _ := runMain(t, "", "buffer", "inspect"); code != 2 {
		t.Errorf("inspect without -data-dir: exit %d, want 2", code)
	}

	// With -config, a sink that has acknowledged nothing yet (no cursor
	// file) is listed too, with everything buffered as its lag.
	cfg2 := writeFile(t, "i2.yaml", `data_dir: `+dir+`/data
sources: [{name: a, paths: ["`+logs+`/*.log"]}]
sinks: [{name: out, type: stdout}, {name: later, type: stdout}]
`)
	code, stdout, errOut = runMain(t, "", "buffer", "inspect", "-config", cfg2)
	if code != 0 {
		t.Fatalf("inspect -config exit %d: %s", code, errOut)
	}
	var later string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "later ") {
			later = line
		}
	}
	if f := strings.Fields(later); len(f) < 3 || f[1] != "0" || f[2] != "3" || !strings.Contains(later, "no file yet") {
		t.Errorf("the sink without a cursor file: %q in\n%s", later, stdout)
	}
}

// The redactor's warnings reach the log: it was built with no logger, so
// "short hash key" and "message withheld" were never printed.
func TestRedactorWarningsLogged(t *testing.T) {
	t.Setenv("SIDETRAIL_SHORT_KEY", "short")
	path := writeFile(t, "r.yaml", `sources:
  - name: web
    paths: ["/var/log/*.log"]
redact:
  - {builtin: email, action: hash, key_env: SIDETRAIL_SHORT_KEY}
sinks:
  - {name: out, type: stdout}
`)
	code, _, errOut := runMain(t, "a line\n", "parse", "-config", path, "-source", "web")
	if code != 0 || !strings.Contains(errOut, "short hash key") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

// validate prints every error in one run: a reserved sink name was checked
// only once the rest of the configuration was valid (config12 F6).
func TestValidatePrintsReservedNameWithTheRest(t *testing.T) {
	cfg := writeFile(t, "two.yaml", `data_dir: /tmp/x
sources:
  - name: a
    paths: ["/tmp/x/*.log"]
    workers: 0
sinks:
  - {name: _out, type: stdout}
`)
	code, _, errOut := runMain(t, "", "validate", "-config", cfg)
	if code != 1 || !strings.Contains(errOut, "two.yaml:5:") || !strings.Contains(errOut, "two.yaml:7:") || !strings.Contains(errOut, "reserved") {
		t.Fatalf("exit %d, want both errors (lines 5 and 7):\n%s", code, errOut)
	}
}

// -h asked of a command is not a usage error: exit 0, as for sidetrail -h
// (config12 F9).
func TestCommandHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"validate", "-h"}, {"parse", "-help"}, {"run", "--help"}, {"buffer", "inspect", "-h"}, {"buffer", "-h"}} {
		if code, _, errOut := runMain(t, "", args...); code != 0 || !strings.Contains(errOut, "-config") && !strings.Contains(errOut, "-data-dir") {
			t.Errorf("%v: exit %d, want 0 and the flags:\n%s", args, code, errOut)
		}
	}
}
