package parser

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

var update = flag.Bool("update", false, "rewrite testdata/nginx/*.log from a live nginx and every testdata/**/*.golden")

// nginxBinary finds nginx: $SIDETRAIL_NGINX, /usr/sbin/nginx, or $PATH.
// Without one the test is skipped, or fails when $SIDETRAIL_REQUIRE_NGINX
// is set (for CI, where a skip would hide the missing proof).
func nginxBinary(t testing.TB) string {
	if p := os.Getenv("SIDETRAIL_NGINX"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("SIDETRAIL_REQUIRE_NGINX") != "" {
		t.Fatal("nginx not installed and SIDETRAIL_REQUIRE_NGINX is set")
	}
	t.Skip("nginx not installed (apt-get install -y nginx, or set SIDETRAIL_NGINX)")
	return ""
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

// The four formats the live test writes with. The custom and json ones are
// given to the parser exactly as they appear in nginx.conf.
const (
	liveCustom = `'$remote_addr [$time_local] "$request" $status '
                  '$request_time $upstream_response_time $request_id'`
	liveJSON = `escape=json
    '{"time":"$time_iso8601","msec":$msec,"remote_addr":"$remote_addr",'
    '"request":"$request","status":$status,"bytes":$body_bytes_sent,'
    '"referer":"$http_referer","ua":"$http_user_agent","request_id":"$request_id"}'`
)

type liveNginx struct {
	dir        string
	port       int
	deadPort   int
	stopped    chan struct{}
	stderrPath string
}

// startNginx runs nginx in the foreground as a single process on loopback
// ports, with every path in a temp dir; t.Cleanup stops it by PID.
func startNginx(t *testing.T) *liveNginx {
	bin := nginxBinary(t)
	dir := t.TempDir()
	n := &liveNginx{dir: dir, port: freePort(t), deadPort: freePort(t), stopped: make(chan struct{})}
	upPort := freePort(t)
	for _, d := range []string{"tmp", "www"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`
daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';
    log_format custom %[4]s;
    log_format jsonfmt %[5]s;
    server {
        listen 127.0.0.1:%[2]d;
        server_name live.test;
        access_log %[1]s/combined.log combined;
        access_log %[1]s/main.log main;
        access_log %[1]s/custom.log custom;
        access_log %[1]s/json.log jsonfmt;
        location / { proxy_pass http://127.0.0.1:%[3]d; }
        location /down/ { proxy_pass http://127.0.0.1:%[6]d; }
        location /static/ { root %[1]s/www; }
    }
    server {
        listen 127.0.0.1:%[3]d;
        access_log off;
        location / { return 200 "ok\n"; }
    }
}
`, dir, n.port, upPort, liveCustom, liveJSON, n.deadPort)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.stderrPath = filepath.Join(dir, "stderr.log")
	stderr, err := os.Create(n.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	go func() {
		cmd.Wait()
		close(n.stopped)
	}()
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-n.stopped:
		case <-time.After(5 * time.Second):
			syscall.Kill(pid, syscall.SIGKILL)
			<-n.stopped
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-n.stopped:
			out, _ := os.ReadFile(n.stderrPath)
			elog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s\n%s", out, elog)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %d: %v", n.port, err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	return n
}

// liveRequest is one request the test writes byte by byte.
type liveRequest struct {
	name          string
	method        string
	target        string // path and query, raw bytes
	proto         string
	ua, referer   *string // nil: header not sent
	forwardedFor  string
	wantStatus    int
	wantUpstream  bool
	requestLogged string // what nginx logs as $request when not the sent line ("" = sent line)
}

func (r liveRequest) line() string {
	if r.requestLogged != "" {
		return r.requestLogged
	}
	s := r.method + " " + r.target
	if r.proto != "" {
		s += " " + r.proto
	}
	return s
}

func ptr(s string) *string { return &s }

// send writes the request on a fresh connection and returns the status and
// the body length of the response.
func (n *liveNginx) send(t *testing.T, r liveRequest) (int, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	b.WriteString(r.method + " " + r.target)
	if r.proto != "" {
		b.WriteString(" " + r.proto)
	}
	b.WriteString("\r\nHost: live.test\r\nConnection: close\r\n")
	if r.ua != nil {
		b.WriteString("User-Agent: " + *r.ua + "\r\n")
	}
	if r.referer != nil {
		b.WriteString("Referer: " + *r.referer + "\r\n")
	}
	if r.forwardedFor != "" {
		b.WriteString("X-Forwarded-For: " + r.forwardedFor + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: read response: %v", r.name, err)
	}
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("%s: no response header in %q", r.name, resp)
	}
	f := strings.Fields(string(head))
	if len(f) < 2 {
		t.Fatalf("%s: bad status line %q", r.name, head)
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("%s: bad status line %q", r.name, head)
	}
	return status, len(body)
}

// waitLines polls path until it holds n lines.
func waitLines(t *testing.T, path string, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		lines := bytes.SplitAfter(data, []byte("\n"))
		if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if len(lines) >= n && (len(data) == 0 || data[len(data)-1] == '\n') {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d lines, want %d", path, len(lines), n)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

func liveRequests() []liveRequest {
	return []liveRequest{
		{name: "plain", method: "GET", target: "/index.html", proto: "HTTP/1.1",
			ua: ptr("Mozilla/5.0 (X11; Linux x86_64)"), referer: ptr("http://example.com/start?x=1"),
			forwardedFor: "203.0.113.7, 10.0.0.1", wantStatus: 200, wantUpstream: true},
		{name: "quotes and backslashes", method: "GET", target: `/a"b\c/'d'?q="x+y"&z=\w\"`, proto: "HTTP/1.1",
			ua: ptr(`Agent "quoted" \back\slash\ ` + "`tick`"), referer: ptr(`http://r.test/"\"\\`),
			wantStatus: 200, wantUpstream: true},
		{name: "utf-8", method: "POST", target: "/ünïcödé/日本語?k=значение&e=€", proto: "HTTP/1.0",
			ua: ptr("Ünicode ☃ 🚀 agent"), referer: ptr("http://例え.jp/パス"),
			wantStatus: 200, wantUpstream: true},
		{name: "raw bytes", method: "GET", target: "/bin\xff\xfe\x80/x?b=\xc3\x28&c=\xff", proto: "HTTP/1.1",
			ua: ptr("ua\x01\x02\x1f\x7f\x80\xfe\xff\tend"), referer: ptr("ref\x1b[31m\xff\"q"),
			wantStatus: 200, wantUpstream: true},
		{name: "no ua no referer", method: "HEAD", target: "/head-only", proto: "HTTP/1.1",
			wantStatus: 200, wantUpstream: true},
		{name: "empty ua", method: "GET", target: "/empty-ua?", proto: "HTTP/1.1",
			ua: ptr(""), referer: ptr("-"), wantStatus: 200, wantUpstream: true},
		{name: "upstream down", method: "GET", target: "/down/x?y=1", proto: "HTTP/1.1",
			ua: ptr("down-agent"), wantStatus: 502, wantUpstream: true},
		{name: "not found", method: "GET", target: `/static/mi"ss\ing.txt?a="b",host:"evil"`, proto: "HTTP/1.1",
			ua: ptr("nf-agent"), referer: ptr(`http://ref.test/"x", host: "evil", client: 6.6.6.6`), wantStatus: 404},
		{name: "long", method: "GET", target: "/long/" + strings.Repeat("abcdefghij", 300) + "?" + strings.Repeat("k=v&", 200), proto: "HTTP/1.1",
			ua: ptr(strings.Repeat("U", 2000)), wantStatus: 200, wantUpstream: true},
		{name: "space in uri", method: "GET", target: "/sp ace?a b", proto: "HTTP/1.1",
			ua: ptr("sp-agent"), wantStatus: 400},
		{name: "control byte in path", method: "GET", target: "/ctl\x01x", proto: "HTTP/1.1",
			ua: ptr("ctl-agent"), wantStatus: 400},
	}
}

// TestRealNginx drives a real nginx with hostile requests and checks that
// what the parser reads back from each of four access logs (combined, main,
// a custom format with $request_time $upstream_response_time $request_id,
// and an escape=json format) is exactly what was sent. With -update it also
// stores the logs under testdata/nginx for TestGolden.
func TestRealNginx(t *testing.T) {
	n := startNginx(t)
	reqs := liveRequests()
	type got struct{ status, bodyLen int }
	results := make([]got, len(reqs))
	before := time.Now().Add(-time.Second)
	for i, r := range reqs {
		status, bodyLen := n.send(t, r)
		if status != r.wantStatus {
			t.Errorf("%s: status %d, want %d", r.name, status, r.wantStatus)
		}
		results[i] = got{status, bodyLen}
	}
	after := time.Now().Add(time.Second)

	formats := []struct {
		file, logFormat string
	}{
		{"combined.log", "combined"},
		{"main.log", "main"},
		{"custom.log", liveCustom},
		{"json.log", liveJSON},
	}
	requestIDs := map[string][]string{}
	for _, f := range formats {
		t.Run(strings.TrimSuffix(f.file, ".log"), func(t *testing.T) {
			lines := waitLines(t, filepath.Join(n.dir, f.file), len(reqs))
			if len(lines) != len(reqs) {
				t.Fatalf("%d lines, want %d", len(lines), len(reqs))
			}
			p, err := New(Config{Format: FormatNginx, LogFormat: f.logFormat})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range reqs {
				var rec sidetrail.Record
				if err := p.Parse(lines[i], &rec); err != nil {
					t.Errorf("%s: %v\nline: %q", r.name, err, lines[i])
					continue
				}
				if rec.Time.Before(before) || rec.Time.After(after) {
					t.Errorf("%s: time %v not in [%v, %v]", r.name, rec.Time, before, after)
				}
				checkLive(t, f.file, r, results[i].status, results[i].bodyLen, &rec, lines[i])
				if id, ok := rec.Get("request_id"); ok {
					requestIDs[r.name] = append(requestIDs[r.name], string(id.Value))
				}
			}
			if *update {
				writeFile(t, filepath.Join("testdata", "nginx", f.file), bytes.Join(lines, nil))
			}
		})
	}
	// The custom and the json log saw the same $request_id for each request.
	for name, ids := range requestIDs {
		if len(ids) != 2 || ids[0] != ids[1] || len(ids[0]) != 32 {
			t.Errorf("%s: request ids %q, want the same 32 hex digits twice", name, ids)
		}
	}

	t.Run("error_log", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(n.dir, "error.log"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(Config{Format: FormatNginxError})
		if err != nil {
			t.Fatal(err)
		}
		sawDown, sawMissing := false, false
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var rec sidetrail.Record
			if err := p.Parse(line, &rec); err != nil {
				t.Errorf("%v\nline: %q", err, line)
				continue
			}
			checkValidJSON(t, &rec)
			msg, _ := rec.Get("error_message")
			switch {
			case bytes.Contains(msg.Value, []byte("connect() failed")):
				sawDown = true
				wantFields(t, "upstream down", &rec, map[string]string{
					"level": "error", "client": "127.0.0.1", "server": "live.test",
					"request": "GET /down/x?y=1 HTTP/1.1", "request_method": "GET",
					"request_uri": "/down/x?y=1", "request_path": "/down/x", "request_query": "y=1",
					"request_protocol": "HTTP/1.1",
					"upstream":         fmt.Sprintf("http://127.0.0.1:%d/down/x?y=1", n.deadPort),
					"host":             "live.test",
				})
			case bytes.Contains(msg.Value, []byte("ing.txt")):
				// nginx writes the request and the referrer unescaped:
				// values that try to fake a host and a client.
				sawMissing = true
				wantFields(t, "not found", &rec, map[string]string{
					"level": "error", "client": "127.0.0.1", "server": "live.test",
					"request":       `GET /static/mi"ss\ing.txt?a="b",host:"evil" HTTP/1.1`,
					"request_path":  `/static/mi"ss\ing.txt`,
					"request_query": `a="b",host:"evil"`,
					"host":          "live.test",
					"referrer":      `http://ref.test/"x", host: "evil", client: 6.6.6.6`,
				})
			}
			if rec.Time.Before(before.Add(-time.Minute)) || rec.Time.After(after) {
				// The error log has no zone: this holds when the test runs in UTC.
				if time.Local == time.UTC {
					t.Errorf("time %v not near the test", rec.Time)
				}
			}
		}
		if *update {
			writeFile(t, filepath.Join("testdata", "nginx", "error.log"), data)
		}
		if !sawDown || !sawMissing {
			t.Errorf("error log lacks the expected entries (down %v, missing %v):\n%s", sawDown, sawMissing, data)
		}
	})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkLive asserts that rec holds exactly what was sent for r.
func checkLive(t *testing.T, file string, r liveRequest, status, bodyLen int, rec *sidetrail.Record, line []byte) {
	t.Helper()
	name := file + ": " + r.name
	failed := t.Failed()
	defer func() {
		if !failed && t.Failed() {
			l := line
			if len(l) > 300 {
				l = l[:300]
			}
			t.Logf("%s line: %q", name, l)
		}
	}()
	checkValidJSON(t, rec)
	want := map[string]string{
		"remote_addr": "127.0.0.1",
		"request":     r.line(),
		"status":      strconv.Itoa(status),
	}
	method, rest, _ := strings.Cut(r.line(), " ")
	uri := rest
	if r.proto != "" {
		uri = strings.TrimSuffix(rest, " "+r.proto)
	}
	path, query, _ := strings.Cut(uri, "?")
	want["request_method"] = method
	want["request_uri"] = uri
	want["request_path"] = path
	if query != "" {
		want["request_query"] = query
	}
	if r.proto != "" {
		want["request_protocol"] = r.proto
	}
	absent := []string{"remote_user", "time_local", "time_iso8601", "msec"}
	if query == "" {
		absent = append(absent, "request_query")
	}
	switch file {
	case "combined.log", "main.log", "json.log":
		want["body_bytes_sent"] = strconv.Itoa(bodyLen)
		for _, h := range []struct {
			key string
			v   *string
		}{{"http_user_agent", r.ua}, {"http_referer", r.referer}} {
			// nginx writes a missing header as "-" (json: empty) and an
			// empty one as nothing: both are omitted. A header whose
			// value is "-" cannot be told from a missing one.
			// nginx rejects a bad request line (400) before it reads
			// the headers.
			if h.v != nil && *h.v != "" && *h.v != "-" && r.wantStatus != 400 {
				want[h.key] = *h.v
			} else {
				absent = append(absent, h.key)
			}
		}
		if file == "main.log" {
			if r.forwardedFor != "" {
				want["http_x_forwarded_for"] = r.forwardedFor
			} else {
				absent = append(absent, "http_x_forwarded_for")
			}
		}
	case "custom.log":
		f, ok := rec.Get("request_time")
		if !ok || f.Kind != sidetrail.KindFloat {
			t.Errorf("%s: request_time %v", name, f)
		}
		f, ok = rec.Get("upstream_response_time")
		if r.wantUpstream != ok || ok && f.Kind != sidetrail.KindString {
			t.Errorf("%s: upstream_response_time %v %v, want present=%v as a string (its type must not change with a retry)", name, f, ok, r.wantUpstream)
		}
		f, ok = rec.Get("request_id")
		if !ok || len(f.Value) != 32 {
			t.Errorf("%s: request_id %q", name, f.Value)
		}
	}
	wantFields(t, name, rec, want)
	for _, k := range absent {
		if f, ok := rec.Get(k); ok {
			t.Errorf("%s: field %s = %q, want none", name, k, f.Value)
		}
	}
	for _, k := range []string{"status", "body_bytes_sent"} {
		if f, ok := rec.Get(k); ok && f.Kind != sidetrail.KindInt {
			t.Errorf("%s: %s is %v, want int", name, k, f.Kind)
		}
	}
}

func wantFields(t *testing.T, name string, rec *sidetrail.Record, want map[string]string) {
	t.Helper()
	for k, v := range want {
		f, ok := rec.Get(k)
		if !ok {
			t.Errorf("%s: no field %s, want %q", name, k, v)
			continue
		}
		if string(f.Value) != v {
			t.Errorf("%s: %s = %q, want %q", name, k, f.Value, v)
		}
	}
	seen := map[string]bool{}
	for _, f := range rec.Fields {
		if seen[f.Key] {
			t.Errorf("%s: field %s twice", name, f.Key)
		}
		seen[f.Key] = true
	}
}

// readLines reads a file of log lines (each with its "\n").
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			lines = append(lines, line)
		}
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
