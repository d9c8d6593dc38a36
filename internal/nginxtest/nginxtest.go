package nginxtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/sidetrail/sidetrail/internal/syncbuf"
)

// LogFormat is the access log format the harness uses by default: nginx's
// "combined" plus $request_id as the last field, so each request can be found
// again downstream.
const LogFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_id`

// Binary returns the nginx binary: $SIDETRAIL_NGINX, else /usr/sbin/nginx,
// else nginx from PATH.
func Binary() (string, error) {
	if p := os.Getenv("SIDETRAIL_NGINX"); p != "" {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return "", errors.New("nginx not found: run `make tools` (installs Debian's nginx package)")
}

// Options configure Start. The zero value is ready except for LogDir.
type Options struct {
	// LogDir is the directory access_log writes into (the "shared volume").
	// Required.
	LogDir string
	// LogName is the access log's file name in LogDir. Default "access.log".
	LogName string
	// LogFormat is the access log's log_format string. Default LogFormat.
	LogFormat string
	// Workers is worker_processes. Default 2.
	Workers int
}

// Server is a running nginx. Its methods are safe for concurrent use, except
// that RotateRename and RotateCopyTruncate (which rename files) must not run
// concurrently with each other; Drive may run while they do.
type Server struct {
	prefix  string
	conf    string
	logPath string
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{}
	output  *syncbuf.Buffer // nginx's stdout and stderr

	stopOnce sync.Once
	stopErr  error
}

const confTemplate = `# written by internal/nginxtest
daemon off;
master_process on;
worker_processes {{.Workers}};
{{if .Root}}user root;
{{end}}pid {{.Prefix}}/nginx.pid;
error_log {{.Prefix}}/error.log warn;

events {
    worker_connections 1024;
}

http {
    client_body_temp_path {{.Prefix}}/tmp/client_body;
    proxy_temp_path {{.Prefix}}/tmp/proxy;
    fastcgi_temp_path {{.Prefix}}/tmp/fastcgi;
    uwsgi_temp_path {{.Prefix}}/tmp/uwsgi;
    scgi_temp_path {{.Prefix}}/tmp/scgi;
    default_type text/plain;
    keepalive_requests 100000;

    log_format sidetrail '{{.Format}}';
    access_log {{.LogPath}} sidetrail;

    server {
        listen {{.Addr}};
        server_name localhost;
        add_header X-Request-Id $request_id always;

        location / {
            return 200 "ok\n";
        }
        location /notfound {
            return 404;
        }
        location /error {
            return 500;
        }
        location /redirect {
            return 302 /;
        }
        location = /nginx_status {
            access_log off;
            stub_status;
        }
    }
}
`

// Start starts nginx on a free 127.0.0.1 port with its own prefix directory
// and waits until it answers. It is stopped in t.Cleanup, and its error log is
// printed there if the test failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.LogDir == "" {
		t.Fatal("nginxtest: Options.LogDir is required")
	}
	if opts.LogName == "" {
		opts.LogName = "access.log"
	}
	if opts.LogFormat == "" {
		opts.LogFormat = LogFormat
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(bin, t.TempDir(), opts)
		if err == nil {
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Errorf("nginxtest: stop: %v", err)
				}
				if t.Failed() {
					t.Logf("nginx error log:\n%s", s.ErrorLog())
				}
			})
			return s
		}
		lastErr = err
		// A port taken between our probe and nginx's bind is worth a retry.
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("nginxtest: %v", lastErr)
	return nil
}

func start(bin, prefix string, opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		prefix:  prefix,
		conf:    filepath.Join(prefix, "nginx.conf"),
		logPath: filepath.Join(opts.LogDir, opts.LogName),
		addr:    "127.0.0.1:" + strconv.Itoa(port),
		exited:  make(chan struct{}),
		output:  new(syncbuf.Buffer),
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, err
	}
	var conf bytes.Buffer
	err = template.Must(template.New("conf").Parse(confTemplate)).Execute(&conf, map[string]any{
		"Workers": opts.Workers,
		"Root":    os.Geteuid() == 0,
		"Prefix":  prefix,
		"Format":  strings.ReplaceAll(strings.ReplaceAll(opts.LogFormat, `\`, `\\`), `'`, `\'`),
		"LogPath": s.logPath,
		"Addr":    s.addr,
	})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.conf, conf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "-p", prefix, "-c", s.conf, "-e", filepath.Join(prefix, "error.log"))
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	// Its own process group, so a master that died without stopping its
	// workers can still be cleaned up by group id.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("nginx exited during start: %s\n%s", s.output.String(), s.ErrorLog())
		default:
		}
		resp, err := client.Get(s.URL() + "/nginx_status")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return nil, fmt.Errorf("nginx not answering after 20s: %v\n%s", err, s.ErrorLog())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.addr }

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.addr }

// AccessLog is the path of the access log nginx writes.
func (s *Server) AccessLog() string { return s.logPath }

// PID is the master process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Prefix is the server's prefix directory (config, pid file, error log).
func (s *Server) Prefix() string { return s.prefix }

// ErrorLog returns the contents of nginx's error log ("" if unreadable).
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.prefix, "error.log"))
	return string(b)
}

// Reopen sends the master SIGUSR1 (what `nginx -s reopen` and logrotate's
// postrotate do) and waits until the master has created the access log again
// (after the caller moved it away). The workers switch to the new file
// shortly after: until they do they keep writing the old, renamed one, which
// is exactly what a tailer must cope with.
func (s *Server) Reopen() error {
	if err := s.signal(syscall.SIGUSR1); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.logPath); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nginx did not recreate %s within 10s after SIGUSR1", s.logPath)
		}
		select {
		case <-s.exited:
			return errors.New("nginx exited")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *Server) signal(sig syscall.Signal) error {
	select {
	case <-s.exited:
		return errors.New("nginx exited")
	default:
	}
	return s.cmd.Process.Signal(sig)
}

// Stop stops nginx: SIGQUIT (graceful: in-flight requests finish and are
// logged), then SIGTERM after 10s, then SIGKILL to the process group. It
// waits for the master to exit. Idempotent; t.Cleanup calls it.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		_ = s.signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
			return
		case <-time.After(10 * time.Second):
		}
		_ = s.signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			s.stopErr = errors.New("nginx ignored SIGQUIT for 10s")
			return
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		s.stopErr = errors.New("nginx had to be killed")
	})
	return s.stopErr
}
