package elasticsearch

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// selfSigned writes a throwaway certificate and key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "esfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
		writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
}

func TestValidate(t *testing.T) {
	cert, key := selfSigned(t)
	pw := writeFile(t, "pw", "secret\n")
	empty := writeFile(t, "empty", "")
	notPEM := writeFile(t, "ca.txt", "not a certificate")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	ok := []string{"http://127.0.0.1:9200"}

	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings, one per expected error; nil = valid
	}{
		{"minimal", Config{URLs: ok}, nil},
		{"full", Config{URLs: []string{"https://a:9200", "https://b:9200/prefix"}, Index: "nginx-%Y.%m.%d-%H", Compression: "gzip",
			Username: "u", PasswordFile: pw, TLS: TLSConfig{CAFile: cert, CertFile: cert, KeyFile: key}, Timeout: time.Second}, nil},
		{"no url", Config{}, []string{"urls: at least one Elasticsearch URL is required"}},
		{"malformed url", Config{URLs: []string{"http://[::1"}}, []string{"urls[0]: malformed URL"}},
		{"no scheme", Config{URLs: []string{"localhost:9200"}}, []string{"urls[0]: malformed URL \"localhost:9200\""}},
		{"no host", Config{URLs: []string{"http://"}}, []string{"urls[0]: malformed URL \"http://\": no host"}},
		{"query in url", Config{URLs: []string{"http://h:9200?x=1"}}, []string{"urls[0]: URL \"http://h:9200?x=xxxxx\": a query"}},
		{"unreadable CA", Config{URLs: ok, TLS: TLSConfig{CAFile: missing}}, []string{"tls.ca_file: open " + missing}},
		{"CA not PEM", Config{URLs: ok, TLS: TLSConfig{CAFile: notPEM}}, []string{"tls.ca_file: " + notPEM + " holds no PEM certificate"}},
		{"cert without key", Config{URLs: ok, TLS: TLSConfig{CertFile: cert}}, []string{"tls.cert_file and tls.key_file: set both or neither"}},
		{"bad key pair", Config{URLs: ok, TLS: TLSConfig{CertFile: cert, KeyFile: notPEM}}, []string{"tls.cert_file, tls.key_file:"}},
		{"unreadable password file", Config{URLs: ok, Username: "u", PasswordFile: missing}, []string{"password_file: open " + missing}},
		{"empty api key file", Config{URLs: ok, APIKeyFile: empty}, []string{"api_key_file: " + empty + " is empty"}},
		{"unreadable bearer file", Config{URLs: ok, BearerTokenFile: missing}, []string{"bearer_token_file: open"}},
		{"password without user", Config{URLs: ok, Password: "x"}, []string{"username: required"}},
		{"two auth methods", Config{URLs: ok, Username: "u", Password: "p", APIKey: "k"}, []string{"choose one authentication method"}},
		{"password twice", Config{URLs: ok, Username: "u", Password: "p", PasswordFile: pw}, []string{"password, password_file: set one"}},
		{"bad compression", Config{URLs: ok, Compression: "zstd"}, []string{`compression: "zstd" is not one of none, gzip`}},
		{"negative timeout", Config{URLs: ok, Timeout: -time.Second}, []string{"timeout: must not be negative"}},
		{"uppercase index", Config{URLs: ok, Index: "Nginx"}, []string{"index: \"Nginx\": index names must be lowercase"}},
		{"unknown verb", Config{URLs: ok, Index: "x-%Q"}, []string{"index: \"x-%Q\": unknown verb %Q"}},
		{"bad index char", Config{URLs: ok, Index: "a b"}, []string{"not allowed in an index name"}},
		{"bad header", Config{URLs: ok, Headers: map[string]string{"a b": "c"}}, []string{`headers: "a b" is not a valid header name`}},
		{"header name with a separator", Config{URLs: ok, Headers: map[string]string{"X(a)": "c"}}, []string{`headers: "X(a)" is not a valid header name`}},
		// sinks15 F2: every request failed in net/http, for good.
		{"line break in a header value", Config{URLs: ok, Headers: map[string]string{"X-Team": "sre\r\nX-Evil: 1"}}, []string{`headers: "X-Team" has a control character in its value`}},
		{"NUL in a header value", Config{URLs: ok, Headers: map[string]string{"X-Team": "a\x00"}}, []string{`headers: "X-Team" has a control character`}},
		// sinks15 N1: replaced by the sink's own, silently.
		{"reserved header", Config{URLs: ok, Headers: map[string]string{"content-type": "text/plain"}}, []string{`headers: "content-type" is set by the sink itself`}},
		{"authorization beside credentials", Config{URLs: ok, APIKey: "k", Headers: map[string]string{"Authorization": "x"}}, []string{`headers: "Authorization" is set by the sink itself from the credentials`}},
		{"authorization alone", Config{URLs: ok, Headers: map[string]string{"Authorization": "ApiKey x"}}, nil},
		// user23 P7, P8: answers the sink could not read, retried without end.
		{"accept-encoding header", Config{URLs: ok, Headers: map[string]string{"Accept-Encoding": "gzip"}}, []string{`headers: "Accept-Encoding" is set by the sink's HTTP client itself`}},
		{"filter_path param", Config{URLs: ok, Params: map[string]string{"filter_path": "errors", "pipeline": "p"}}, []string{`params: "filter_path" changes the bulk answer`}},
		{"format param", Config{URLs: ok, Params: map[string]string{"format": "yaml"}}, []string{`params: "format" changes the bulk answer`}},
		// docs17 F1: validate said ok, every request failed in net/http.
		{"line break after an api key", Config{URLs: ok, APIKey: "aWQ6a2V5\n"}, []string{"api_key: holds a line break or another control character"}},
		{"DEL in a bearer token", Config{URLs: ok, BearerToken: "x\x7fy"}, []string{"bearer_token: holds a line break"}},
		{"line break after a password", Config{URLs: ok, Username: "u", Password: "pw\r\n"}, []string{"password: holds a line break"}},
		{"tab in a password", Config{URLs: ok, Username: "u", Password: "p\tw"}, nil},
		// docs17 F3: validate said ok, every request failed to dial.
		{"port out of range", Config{URLs: []string{"http://u:pw@127.0.0.1:99999"}}, []string{`urls[0]: URL "http://u:xxxxx@127.0.0.1:99999": port must be a number from 1 to 65535, not "99999"`}},
		{"port zero", Config{URLs: []string{"http://h:0"}}, []string{"port must be a number from 1 to 65535"}},
		{"empty port: the scheme's", Config{URLs: []string{"http://h:/x"}}, nil},
		{"ipv6 with port", Config{URLs: []string{"http://[::1]:9200", "https://es.example.com"}}, nil},
		{"several problems", Config{URLs: []string{"ftp://x"}, Compression: "lz4", TLS: TLSConfig{CAFile: missing}},
			[]string{"urls[0]", "compression", "tls.ca_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, nerr := New(tc.cfg, Options{}); nerr == nil {
				t.Error("New accepted a config Validate refuses")
			}
		})
	}
}

func TestIndexPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		t       time.Time
		want    string
	}{
		{"sidetrail-%Y.%m.%d", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "sidetrail-2025.01.02"},
		{"nginx-%Y.%m.%d-%H", time.Date(2025, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 3600)), "nginx-2025.12.31-22"},
		{"logs-100%%-%Y", time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC), "logs-100%-0999"},
		{"static", time.Time{}, "static"},
		{"zero-%Y.%m.%d", time.Time{}, "zero-1970.01.01"},
		{"pre-epoch-%Y.%m.%d-%H", time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), "pre-epoch-1969.12.31-23"},
		{"ünicode-%Y", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "ünicode-2025"},
	} {
		ip, err := compileIndex(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := string(ip.appendQuoted(nil, tc.t)); got != `"`+tc.want+`"` {
			t.Errorf("%s at %v: %s, want %q", tc.pattern, tc.t, got, tc.want)
		}
	}
	// The cache re-renders at hour boundaries only, and correctly across them.
	ip, _ := compileIndex("i-%Y.%m.%d-%H")
	base := time.Date(2025, 6, 30, 23, 59, 59, 999999999, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{base, `"i-2025.06.30-23"`}, {base.Add(time.Nanosecond), `"i-2025.07.01-00"`},
		{base, `"i-2025.06.30-23"`}, {base.Add(-time.Hour), `"i-2025.06.30-22"`},
	} {
		if got := string(ip.appendQuoted(nil, c.t)); got != c.want {
			t.Errorf("%v: %s, want %s", c.t, got, c.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Config{URLs: []string{"http://x"}}.withDefaults()
	if c.Index != DefaultIndex || c.Timeout != 30*time.Second || c.Compression != "none" {
		t.Errorf("%+v", c)
	}
	if c := (Config{DataStream: true}).withDefaults(); c.Index != DefaultDataStreamIndex {
		t.Errorf("data stream index %q", c.Index)
	}
}

// TestYAMLKeys decodes every key the way cmd does (strict known fields), so
// the yaml tags and duration handling are checked here.
func TestYAMLKeys(t *testing.T) {
	const doc = `
urls: ["https://es-0:9200", "https://es-1:9200"]
index: "nginx-%Y.%m.%d"
data_stream: false
pipeline: nginx
compression: gzip
username: elastic
password: secret
password_file: ""
api_key: ""
api_key_file: ""
bearer_token: ""
bearer_token_file: ""
tls: {ca_file: /etc/ca.pem, cert_file: "", key_file: "", insecure_skip_verify: false}
timeout: 45s
headers: {X-Team: sre}
params: {_msg_field: message}
ecs: true
`
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Timeout != 45*time.Second || len(c.URLs) != 2 || c.TLS.CAFile != "/etc/ca.pem" || !c.ECS ||
		c.Params["_msg_field"] != "message" || c.Headers["X-Team"] != "sre" || c.Compression != "gzip" {
		t.Errorf("%+v", c)
	}
	dec = yaml.NewDecoder(strings.NewReader("urls: [x]\nindexx: y\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil || !strings.Contains(err.Error(), "line 2: field indexx not found") {
		t.Errorf("unknown key: %v", err)
	}
}
