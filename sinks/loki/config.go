package loki

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/safeurl"
	"github.com/sidetrail/sidetrail/internal/sinkhttp"
	"github.com/sidetrail/sidetrail/internal/tlsconfig"
)

// Defaults applied to zero Config values (in one place: withDefaults).
const (
	DefaultMaxStreams   = 1000
	DefaultMaxLineBytes = 256 << 10
	DefaultTimeout      = 30 * time.Second
	// PushPath is Loki's push endpoint below Config.URL.
	PushPath = "/loki/api/v1/push"
)

// Values of Config.Encoding, Config.Compression, Config.Line and
// Config.OnLongLine.
const (
	EncodingProtobuf = "protobuf"
	EncodingJSON     = "json"

	CompressionNone = "none"
	CompressionGzip = "gzip"

	LineJSON    = "json"
	LineMessage = "message"

	LongLineTruncate = "truncate"
	LongLineSplit    = "split"
)

// Config is the Loki sink's configuration. The zero value of every field
// means its documented default; Validate checks a Config and New applies the
// defaults. cmd decodes it from YAML (snake_case keys) next to the common sink
// keys.
type Config struct {
	// URL is Loki's base URL, e.g. http://loki:3100, to which PushPath is
	// appended. A URL whose path already ends with PushPath is used as is;
	// one ending in /loki gets only /api/v1/push, so VictoriaLogs' base
	// http://vl:9428/insert/loki pushes to /insert/loki/api/v1/push. A query
	// string is kept (VictoriaLogs: ?disable_message_parsing=1). Required.
	URL string `yaml:"url"`
	// Encoding is "protobuf" (default: snappy-compressed logproto) or "json".
	Encoding string `yaml:"encoding"`
	// Compression applies to the json encoding only: "none" (default) or
	// "gzip". Protobuf pushes are always snappy-compressed.
	Compression string `yaml:"compression"`
	// Labels are static labels put on every stream.
	Labels map[string]string `yaml:"labels"`
	// LabelFields are low-cardinality record fields promoted to labels:
	// "source", "log.file.path" or parsed/static fields. The label name is the
	// field name with every character outside [a-zA-Z0-9_] replaced by '_'
	// ("log.file.path" → log_file_path). A record lacking the field (or with
	// an empty value) gets no such label.
	LabelFields []string `yaml:"label_fields"`
	// MaxStreams bounds the distinct label sets this sink creates (default
	// 1000). A record that would open one more stream falls back to the
	// static labels only; that is counted and logged (rate-limited).
	MaxStreams int `yaml:"max_streams"`
	// MetadataFields are record fields sent as Loki structured metadata, named
	// like LabelFields. Missing or empty fields are left out.
	MetadataFields []string `yaml:"metadata_fields"`
	// Line is what an entry's line holds: "json" (default: the record JSON of
	// sidetrail.JSONEncoder) or "message" (the redacted original line).
	Line string `yaml:"line"`
	// MaxLineBytes bounds an entry's line (default 256KiB). Longer lines are
	// handled as OnLongLine says.
	MaxLineBytes sidetrail.ByteSize `yaml:"max_line_bytes"`
	// OnLongLine is "truncate" (default: the message is cut on a UTF-8
	// boundary; line json sets log.flags "truncated", line message appends
	// TruncatedSuffix) or "split" (the message is sent as several entries
	// with consecutive nanosecond timestamps). Both are counted.
	OnLongLine string `yaml:"on_long_line"`
	// TenantID is sent as X-Scope-OrgID when set.
	TenantID string `yaml:"tenant_id"`
	// Basic authentication: Username with Password or PasswordFile.
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// Bearer authentication: BearerToken or BearerTokenFile. Files are read
	// again for every push, so a rotated Kubernetes secret takes effect
	// without a restart; trailing newlines are trimmed.
	BearerToken     string `yaml:"bearer_token"`
	BearerTokenFile string `yaml:"bearer_token_file"`
	// TLS configures https URLs.
	TLS TLSConfig `yaml:"tls"`
	// Timeout bounds one push request, response included (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Headers are extra HTTP headers sent with every push.
	Headers map[string]string `yaml:"headers"`
}

// TLSConfig is the client side of TLS (ca_file, cert_file, key_file,
// insecure_skip_verify). Files are read once, by New.
type TLSConfig = tlsconfig.Config

// withDefaults returns c with every zero value replaced by its default.
func (c Config) withDefaults() Config {
	if c.Encoding == "" {
		c.Encoding = EncodingProtobuf
	}
	if c.Compression == "" {
		c.Compression = CompressionNone
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = DefaultMaxStreams
	}
	if c.Line == "" {
		c.Line = LineJSON
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.OnLongLine == "" {
		c.OnLongLine = LongLineTruncate
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// minLineBytes keeps MaxLineBytes above the JSON overhead of a small record
// and the truncation suffix.
const minLineBytes = 64

// Validate reports every problem in c, joined: a missing or malformed URL,
// unknown enum values, bad label names, conflicting or unreadable
// credentials and TLS files. It reads the files it names and does not modify c.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	d := c.withDefaults()

	if c.URL == "" {
		add("url: required")
	} else if u, err := url.Parse(c.URL); err != nil {
		add("url %q: not a URL", safeurl.String(c.URL)) // url.Error quotes the whole URL
	} else if u.Scheme != "http" && u.Scheme != "https" {
		add("url %q: scheme must be http or https", safeurl.String(c.URL))
	} else if u.Host == "" {
		add("url %q: no host", safeurl.String(c.URL))
	} else if err := sinkhttp.CheckPort(u); err != nil {
		add("url %q: %v", safeurl.String(c.URL), err)
	}
	switch d.Encoding {
	case EncodingProtobuf:
		if d.Compression != CompressionNone {
			add("compression %q: only the json encoding takes a compression (protobuf is always snappy)", c.Compression)
		}
	case EncodingJSON:
		if d.Compression != CompressionNone && d.Compression != CompressionGzip {
			add("compression %q: want none or gzip", c.Compression)
		}
	default:
		add("encoding %q: want protobuf or json", c.Encoding)
	}
	if d.Line != LineJSON && d.Line != LineMessage {
		add("line %q: want json or message", c.Line)
	}
	if d.OnLongLine != LongLineTruncate && d.OnLongLine != LongLineSplit {
		add("on_long_line %q: want truncate or split", c.OnLongLine)
	}
	if d.MaxLineBytes < minLineBytes {
		add("max_line_bytes %d: want at least %d", c.MaxLineBytes, minLineBytes)
	}
	if c.MaxStreams < 0 {
		add("max_streams %d: must not be negative", c.MaxStreams)
	}
	if c.Timeout < 0 {
		add("timeout %v: must not be negative", c.Timeout)
	}

	names := map[string]string{} // label name → where it came from
	for name, value := range c.Labels {
		if !validLabelName(name) {
			add("labels: %q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", name)
		}
		if value == "" {
			add("labels: %q has an empty value (Loki drops empty labels)", name)
		}
		names[name] = "labels"
	}
	for _, f := range c.LabelFields {
		name := labelName(f)
		switch {
		case f == "" || f == "message":
			add("label_fields: %q cannot be a label (use a low-cardinality field)", f)
		case !validLabelName(name):
			add("label_fields: %q does not make a valid label name (%q)", f, name)
		case names[name] != "":
			add("label_fields: %q makes label %q, already set by %s", f, name, names[name])
		}
		names[name] = "label_fields " + f
	}
	meta := map[string]bool{}
	for _, f := range c.MetadataFields {
		name := labelName(f)
		switch {
		case f == "":
			add("metadata_fields: empty field name")
		case !validLabelName(name):
			add("metadata_fields: %q does not make a valid name (%q)", f, name)
		case meta[name]:
			add("metadata_fields: %q makes name %q twice", f, name)
		}
		meta[name] = true
	}

	if c.Password != "" && c.PasswordFile != "" {
		add("password and password_file: set one")
	}
	if (c.Password != "" || c.PasswordFile != "") && c.Username == "" {
		add("password: needs username")
	}
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		add("bearer_token and bearer_token_file: set one")
	}
	if c.Username != "" && (c.BearerToken != "" || c.BearerTokenFile != "") {
		add("username and bearer_token: set one kind of authentication")
	}
	for key, file := range map[string]string{"password_file": c.PasswordFile, "bearer_token_file": c.BearerTokenFile} {
		if file != "" {
			if _, err := sinkhttp.ReadSecret(file); err != nil {
				add("%s: %v", key, err)
			}
		}
	}
	if _, err := c.TLS.Build(); err != nil {
		add("tls: %v", err)
	}
	credentials := c.Username != "" || c.BearerToken != "" || c.BearerTokenFile != ""
	for _, msg := range sinkhttp.CheckHeaders(c.Headers, reservedHeaders, credentials) {
		add("%s", msg)
	}
	if sinkhttp.HasControl(c.TenantID) {
		add("tenant_id: control character")
	}
	for _, msg := range sinkhttp.CheckCredentials("username", c.Username, "password", c.Password, "bearer_token", c.BearerToken) {
		add("%s", msg)
	}
	return errors.Join(errs...)
}

// pushURL returns the push endpoint for base, keeping its query string.
func pushURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, PushPath):
	case strings.HasSuffix(p, "/loki"): // VictoriaLogs' /insert/loki, a trimmed push URL
		p += strings.TrimPrefix(PushPath, "/loki")
	default:
		p += PushPath
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// labelName maps a record field name to a Loki label name: every character
// outside [a-zA-Z0-9_] becomes '_'.
func labelName(field string) string {
	b := []byte(field)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// validLabelName reports whether s is a Prometheus label name Loki accepts
// from a client (names starting with "__" are reserved).
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// reservedHeaders are the headers the sink sets itself on every push.
var reservedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Length", "Host", "X-Scope-Orgid"}
