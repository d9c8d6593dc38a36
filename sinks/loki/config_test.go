package loki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sidetrail/sidetrail"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Config{URL: "http://loki:3100"}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"minimal", func(c *Config) {}, ""},
		{"full", func(c *Config) {
			*c = Config{URL: "https://vl:9428/insert/loki?disable_message_parsing=1", Encoding: "json", Compression: "gzip",
				Labels: map[string]string{"app": "nginx"}, LabelFields: []string{"source", "log.file.path"}, MaxStreams: 10,
				MetadataFields: []string{"request_id"}, Line: "message", MaxLineBytes: 1024, OnLongLine: "split",
				TenantID: "1", Username: "u", PasswordFile: secret, Headers: map[string]string{"X-A": "b"}}
		}, ""},
		{"no-url", func(c *Config) { c.URL = "" }, "url: required"},
		{"bad-scheme", func(c *Config) { c.URL = "ftp://x" }, "scheme"},
		{"no-host", func(c *Config) { c.URL = "http:///x" }, "no host"},
		{"bad-url", func(c *Config) { c.URL = "http://a b:%" }, "url"},
		{"encoding", func(c *Config) { c.Encoding = "xml" }, `encoding "xml"`},
		{"gzip-protobuf", func(c *Config) { c.Compression = "gzip" }, "only the json encoding"},
		{"compression", func(c *Config) { c.Encoding, c.Compression = "json", "zstd" }, `compression "zstd"`},
		{"line", func(c *Config) { c.Line = "raw" }, `line "raw"`},
		{"on-long-line", func(c *Config) { c.OnLongLine = "drop" }, `on_long_line "drop"`},
		{"max-line", func(c *Config) { c.MaxLineBytes = 10 }, "max_line_bytes"},
		{"max-streams", func(c *Config) { c.MaxStreams = -1 }, "max_streams"},
		{"timeout", func(c *Config) { c.Timeout = -1 }, "timeout"},
		{"label-name", func(c *Config) { c.Labels = map[string]string{"1app": "x"} }, `"1app" is not a valid label name`},
		{"label-reserved", func(c *Config) { c.Labels = map[string]string{"__name__": "x"} }, "not a valid label name"},
		{"label-empty", func(c *Config) { c.Labels = map[string]string{"app": ""} }, "empty value"},
		{"label-field-message", func(c *Config) { c.LabelFields = []string{"message"} }, "cannot be a label"},
		{"label-field-dup", func(c *Config) {
			c.Labels = map[string]string{"source": "x"}
			c.LabelFields = []string{"source"}
		}, "already set"},
		{"label-field-bad", func(c *Config) { c.LabelFields = []string{"9lives"} }, "valid label name"},
		{"meta-dup", func(c *Config) { c.MetadataFields = []string{"a.b", "a_b"} }, "twice"},
		{"password-no-user", func(c *Config) { c.Password = "x" }, "needs username"},
		{"token-line-break", func(c *Config) { c.BearerToken = "tok\n" }, "bearer_token: holds a line break"},
		{"password-line-break", func(c *Config) { c.Username, c.Password = "u", "p\n" }, "password: holds a line break"},
		{"port-range", func(c *Config) { c.URL = "http://127.0.0.1:70000" }, `port must be a number from 1 to 65535, not "70000"`},
		{"port-ok", func(c *Config) { c.URL = "http://[::1]:3100/x" }, ""},
		{"password-both", func(c *Config) { c.Username, c.Password, c.PasswordFile = "u", "x", secret }, "set one"},
		{"basic-and-bearer", func(c *Config) { c.Username, c.Password, c.BearerToken = "u", "x", "t" }, "one kind"},
		{"token-both", func(c *Config) { c.BearerToken, c.BearerTokenFile = "t", secret }, "set one"},
		{"token-file-missing", func(c *Config) { c.BearerTokenFile = filepath.Join(dir, "nope") }, "bearer_token_file"},
		{"password-file-empty", func(c *Config) { c.Username, c.PasswordFile = "u", empty }, "is empty"},
		{"ca-missing", func(c *Config) { c.TLS.CAFile = filepath.Join(dir, "nope") }, "ca_file"},
		{"ca-not-pem", func(c *Config) { c.TLS.CAFile = secret }, "no PEM"},
		{"cert-without-key", func(c *Config) { c.TLS.CertFile = secret }, "set both"},
		{"header-name", func(c *Config) { c.Headers = map[string]string{"Bad Header": "x"} }, "not a valid header"},
		{"header-reserved", func(c *Config) { c.Headers = map[string]string{"content-type": "x"} }, "set by the sink"},
		{"header-authorization-beside-credentials", func(c *Config) {
			c.BearerToken = "t"
			c.Headers = map[string]string{"authorization": "x"}
		}, "set by the sink itself from the credentials"},
		{"header-value", func(c *Config) { c.Headers = map[string]string{"X-A": "a\r\nb"} }, "control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
			if tc.want != "" {
				if _, err := New(c, Options{}); err == nil {
					t.Fatal("New accepted an invalid config")
				}
			}
		})
	}
}

func TestPushURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://loki:3100":                           "http://loki:3100/loki/api/v1/push",
		"http://loki:3100/":                          "http://loki:3100/loki/api/v1/push",
		"https://gw/tenant-a":                        "https://gw/tenant-a/loki/api/v1/push",
		"http://vl:9428/insert/loki":                 "http://vl:9428/insert/loki/api/v1/push",
		"http://vl:9428/insert/loki/?x=1":            "http://vl:9428/insert/loki/api/v1/push?x=1",
		"http://loki:3100/loki/api/v1/push":          "http://loki:3100/loki/api/v1/push",
		"http://vl/insert?disable_message_parsing=1": "http://vl/insert/loki/api/v1/push?disable_message_parsing=1",
	} {
		got, err := pushURL(in)
		if err != nil || got != want {
			t.Errorf("pushURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	var c Config
	doc := `
url: http://loki:3100
encoding: json
compression: gzip
labels: {app: nginx}
label_fields: [source]
max_streams: 50
metadata_fields: [request_id]
line: message
max_line_bytes: 64KiB
on_long_line: split
tenant_id: "7"
bearer_token: abc
tls: {insecure_skip_verify: true}
timeout: 5s
headers: {X-A: b}
`
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.MaxLineBytes != 64<<10 || c.Timeout.Seconds() != 5 || !c.TLS.InsecureSkipVerify || c.Labels["app"] != "nginx" || c.OnLongLine != "split" {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var _ sidetrail.ByteSize = c.MaxLineBytes
}
