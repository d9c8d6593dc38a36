package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	if cfg, err := (Config{}).Build(); cfg != nil || err != nil {
		t.Fatalf("zero config: %v %v", cfg, err)
	}
	if cfg, err := (Config{InsecureSkipVerify: true}).Build(); err != nil || !cfg.InsecureSkipVerify || cfg.MinVersion == 0 {
		t.Fatalf("insecure: %+v %v", cfg, err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{CAFile: filepath.Join(dir, "missing.pem")}, "tls.ca_file: open"},
		{Config{CAFile: notPEM}, "holds no PEM certificate"},
		{Config{CertFile: notPEM}, "set both or neither"},
		{Config{CertFile: notPEM, KeyFile: notPEM}, "tls.cert_file, tls.key_file:"},
	} {
		if _, err := c.cfg.Build(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

// testCA is a certificate authority made for a test, and what it signs.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf returns a certificate for 127.0.0.1 signed by ca, as PEM and for
// crypto/tls.
func (ca *testCA) leaf(t *testing.T, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, cert tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

// get makes a request through tr, on a new connection.
func get(tr http.RoundTripper, url string) error {
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func newTransport(t *testing.T, c Config) *Transport {
	t.Helper()
	tr, err := c.NewTransport(func(cfg *tls.Config) *http.Transport {
		return &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true, IdleConnTimeout: time.Second}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// writeInPlace overwrites path with b, as a rotated certificate is, and
// moves its modification time on (a file system's clock may not tick
// between two writes in a test).
func writeInPlace(t *testing.T, path string, b []byte, at time.Time) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// The CA bundle and the client certificate are read again once they
// change: a sink failed against rotated certificates until a reload
// (sinks18 F2). A file written halfway keeps the last good one.
func TestRotatedFilesAreReadAgain(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := newTestCA(t, "one"), newTestCA(t, "two")
	_, _, srv1 := ca1.leaf(t, x509.ExtKeyUsageServerAuth)
	_, _, srv2 := ca2.leaf(t, x509.ExtKeyUsageServerAuth)
	cli1, key1, _ := ca1.leaf(t, x509.ExtKeyUsageClientAuth)
	cli2, key2, _ := ca2.leaf(t, x509.ExtKeyUsageClientAuth)
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	now := time.Now()
	writeInPlace(t, caFile, ca1.pem, now)
	writeInPlace(t, certFile, cli1, now)
	writeInPlace(t, keyFile, key1, now)

	// A server whose certificate and trusted client CA can be swapped.
	var mu sync.Mutex
	srvCert, clientCAs := srv1, x509.NewCertPool()
	clientCAs.AddCert(ca1.cert)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.TLS = &tls.Config{
		ClientAuth: tls.RequireAnyClientCert,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			defer mu.Unlock()
			return &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}, nil
		},
	}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	ts.StartTLS()
	defer ts.Close()

	cfg := newTransport(t, Config{CAFile: caFile, CertFile: certFile, KeyFile: keyFile})
	if err := get(cfg, ts.URL); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	// Everything rotated to the second CA, server first.
	mu.Lock()
	srvCert, clientCAs = srv2, x509.NewCertPool()
	clientCAs.AddCert(ca2.cert)
	mu.Unlock()
	if err := get(cfg, ts.URL); err == nil {
		t.Fatal("the old CA accepted the new server certificate")
	}
	writeInPlace(t, caFile, ca2.pem, now.Add(time.Second))
	writeInPlace(t, certFile, cli2, now.Add(time.Second))
	writeInPlace(t, keyFile, key2, now.Add(time.Second))
	if err := get(cfg, ts.URL); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}

	// A CA file written halfway: the last good roots stay in use.
	writeInPlace(t, caFile, ca2.pem[:len(ca2.pem)/2], now.Add(2*time.Second))
	if err := get(cfg, ts.URL); err != nil {
		t.Fatalf("with a CA file written halfway: %v", err)
	}

	// A server certificate for another name fails, the URL's host an IP
	// address too: a check of ours skipped the name for an IP address, and
	// records and credentials went to any server the CA had signed for
	// (ops18 F0).
	mu.Lock()
	srvCert = ca2.other(t)
	mu.Unlock()
	for _, u := range []string{ts.URL, strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)} {
		if err := get(cfg, u); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s, a certificate for other.example: %v", u, err)
		}
	}
}

// other returns a server certificate for other.example alone, signed by ca.
func (ca *testCA) other(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "other.example"}, DNSNames: []string{"other.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
