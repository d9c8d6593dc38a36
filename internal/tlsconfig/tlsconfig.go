package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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
//
// The files are read again at a new connection's handshake once they
// have changed (a rotated Kubernetes Secret, cert-manager's renewal): the
// sink failed against the new certificates until a reload (sinks18 F2).
// A file that does not read as a certificate then (written halfway) leaves
// the last good one in use, and is read again at the next handshake.
func (c Config) Build() (*tls.Config, error) {
	if c == (Config{}) {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // the user asked for it
	if c.CAFile != "" {
		roots := &watched[*x509.CertPool]{paths: []string{c.CAFile}, load: c.loadRoots}
		if _, err := roots.get(); err != nil {
			return nil, err
		}
		if !c.InsecureSkipVerify {
			// The chain is verified against the roots as they are now:
			// crypto/tls takes RootCAs as they were when the
			// configuration was built, so it verifies nothing itself.
			cfg.InsecureSkipVerify = true //nolint:gosec // VerifyConnection verifies
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				pool, _ := roots.get()
				return verify(cs, pool)
			}
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("tls.cert_file and tls.key_file: set both or neither")
	}
	if c.CertFile != "" {
		cert := &watched[*tls.Certificate]{paths: []string{c.CertFile, c.KeyFile}, load: c.loadCert}
		if _, err := cert.get(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cur, _ := cert.get()
			return cur, nil
		}
	}
	return cfg, nil
}

func (c Config) loadRoots() (*x509.CertPool, error) {
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tls.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", c.CAFile)
	}
	return pool, nil
}

func (c Config) loadCert() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
	}
	return &cert, nil
}

// verify checks the server's chain against roots and its name, as
// crypto/tls does when it verifies.
func verify(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: x509.NewCertPool()}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// watched is what load makes of files, made again when one of them
// changes (another file, size or modification time at its path). A load
// that fails keeps the last good value; the first must succeed.
type watched[T any] struct {
	paths []string
	load  func() (T, error)

	mu    sync.Mutex
	stats []os.FileInfo
	val   T
	ok    bool
}

func (w *watched[T]) get() (T, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	stats := make([]os.FileInfo, len(w.paths))
	for i, p := range w.paths {
		stats[i], _ = os.Stat(p)
	}
	if w.ok && sameFiles(w.stats, stats) {
		return w.val, nil
	}
	v, err := w.load()
	if err != nil {
		if w.ok {
			return w.val, nil
		}
		return v, err
	}
	w.val, w.stats, w.ok = v, stats, true
	return v, nil
}

func sameFiles(a, b []os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil {
			return a[i] == b[i]
		}
		if !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()) {
			return false
		}
	}
	return true
}
