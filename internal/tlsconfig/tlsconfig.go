package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
)

// Config is the client side of TLS. Its zero value means the system roots
// and no client certificate.
type Config struct {
	// CAFile is a PEM bundle of the certificate authorities to trust
	// instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, both
	// or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify disables server certificate checks.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Build reads the files and returns the crypto/tls configuration, or nil
// when c is the zero value. Errors name the key at fault ("tls.ca_file:
// ..."), so Validate can report them as they are.
func (c Config) Build() (*tls.Config, error) {
	if c == (Config{}) {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // the user asked for it
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("tls.cert_file and tls.key_file: set both or neither")
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Transport is an HTTP transport whose TLS files are read again once they
// change (a rotated Kubernetes Secret, cert-manager's renewal): the sink
// failed against the new certificates until a reload (sinks18 F2). Each
// request first checks the files; when one changed, a new transport with
// the new configuration takes the requests from then on, and the old one
// lets its connections go. A file that does not read as a certificate then
// (written halfway) leaves the last good configuration in use, and is read
// again at the next request. crypto/tls verifies each connection as it
// always does (an IP address in the URL against the certificate's IP
// names: a check of ours missed that; ops18 F0).
type Transport struct {
	c     Config
	build func(*tls.Config) *http.Transport

	mu    sync.Mutex
	cur   *http.Transport
	stats []os.FileInfo
}

// NewTransport reads the files (Build) and returns a Transport whose
// transports build makes with the configuration they give; they must close
// idle connections in time (IdleConnTimeout).
func (c Config) NewTransport(build func(*tls.Config) *http.Transport) (*Transport, error) {
	cfg, err := c.Build()
	if err != nil {
		return nil, err
	}
	return &Transport{c: c, build: build, cur: build(cfg), stats: c.stat()}, nil
}

// RoundTrip sends req on the current transport.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.current().RoundTrip(req)
}

// CloseIdleConnections closes the current transport's idle connections.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	cur := t.cur
	t.mu.Unlock()
	cur.CloseIdleConnections()
}

// current returns the transport for the files as they are now.
func (t *Transport) current() *http.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	stats := t.c.stat()
	if sameFiles(t.stats, stats) {
		return t.cur
	}
	cfg, err := t.c.Build()
	if err != nil {
		return t.cur // written halfway: the last good one, and again next time
	}
	old := t.cur
	t.cur, t.stats = t.build(cfg), stats
	// Those in use go idle once their requests end, and close after
	// the old transport's IdleConnTimeout (which build must set).
	old.CloseIdleConnections()
	return t.cur
}

// stat returns what the files' paths hold now (nil for one missing).
func (c Config) stat() []os.FileInfo {
	var out []os.FileInfo
	for _, p := range []string{c.CAFile, c.CertFile, c.KeyFile} {
		if p != "" {
			fi, _ := os.Stat(p)
			out = append(out, fi)
		}
	}
	return out
}

func sameFiles(a, b []os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil {
			if a[i] != b[i] {
				return false
			}
			continue
		}
		if !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()) {
			return false
		}
	}
	return true
}
