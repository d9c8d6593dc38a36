package elasticsearch

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/sidetrail/sidetrail/internal/safeurl"
	"github.com/sidetrail/sidetrail/internal/sinkhttp"
	"github.com/sidetrail/sidetrail/internal/tlsconfig"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultIndex           = "sidetrail-%Y.%m.%d"
	DefaultDataStreamIndex = "logs-sidetrail-default"
	DefaultTimeout         = 30 * time.Second
	DefaultConcurrency     = 2
	maxConcurrency         = 64
)

// Config configures the Elasticsearch sink. The YAML keys are the snake_case
// names in the tags; cmd decodes a sink's mapping into a struct that inlines
// Config. Zero values mean the documented defaults.
type Config struct {
	// URLs are the cluster's nodes ("https://es-0:9200"). With several, a
	// request that fails on one node with a network error or 502/503/504 is
	// tried once on each next node (failover, no delay); with one, never
	// retried by the sink. A path prefix is kept (VictoriaLogs:
	// http://host:9428/insert/elasticsearch). Required.
	URLs []string `yaml:"urls"`
	// Index is the target index name, expanded per record from its event
	// time in UTC: %Y year, %m month, %d day, %H hour, %% a percent sign.
	// Default "sidetrail-%Y.%m.%d" ("logs-sidetrail-default" in data-stream
	// mode).
	Index string `yaml:"index"`
	// DataStream targets a data stream: documents are always sent with op
	// "create" (as in index mode too) and the name need not carry a date.
	DataStream bool `yaml:"data_stream"`
	// Pipeline is an ingest pipeline name, sent as ?pipeline=.
	Pipeline string `yaml:"pipeline"`
	// Compression of request bodies: "none" (default) or "gzip".
	Compression string `yaml:"compression"`

	// Credentials: at most one of basic auth (Username with Password or
	// PasswordFile), an API key (APIKey or APIKeyFile: the base64 "id:key"
	// form Elasticsearch issues, sent as "ApiKey <key>") and a bearer token.
	// Files are read by New and read again when their size or modification
	// time changes (checked once per Send) or after a 401/403, so a rotated
	// Kubernetes Secret takes effect without a restart. A trailing newline
	// is ignored.
	Username        string `yaml:"username"`
	Password        string `yaml:"password"`
	PasswordFile    string `yaml:"password_file"`
	APIKey          string `yaml:"api_key"`
	APIKeyFile      string `yaml:"api_key_file"`
	BearerToken     string `yaml:"bearer_token"`
	BearerTokenFile string `yaml:"bearer_token_file"`

	TLS TLSConfig `yaml:"tls"`

	// Timeout bounds one HTTP request (each half of a split batch has its
	// own). Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers"`
	// Concurrency is how many bulk requests may be in flight at once
	// (default 2, at most 64). Batches are still acknowledged in order.
	// It is not used by the Sink itself (Send is safe for concurrent use);
	// the agent passes it to the shipper.
	Concurrency int `yaml:"concurrency"`
	// Params are extra query arguments on _bulk (VictoriaLogs:
	// _msg_field=message, _time_field=@timestamp, _stream_fields=...).
	Params map[string]string `yaml:"params"`
	// ECS renames the nginx parser's fields to Elastic Common Schema names
	// (see ECSFieldNames).
	ECS bool `yaml:"ecs"`
}

// TLSConfig configures TLS to the cluster (ca_file, cert_file, key_file,
// insecure_skip_verify); its zero value means the system roots and no client
// certificate. New logs a warning when insecure_skip_verify is set.
type TLSConfig = tlsconfig.Config

// withDefaults returns c with its zero fields set to the defaults.
// WithDefaults returns c with every zero field given its default.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.Index == "" {
		c.Index = DefaultIndex
		if c.DataStream {
			c.Index = DefaultDataStreamIndex
		}
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	return c
}

// Validate reports every problem with c, one error per problem, joined with
// errors.Join (nil when c is usable). It reads the files c names (to check
// they are readable and well-formed) but keeps nothing. Each message starts
// with the YAML key it is about.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(c.URLs) == 0 {
		add("urls: at least one Elasticsearch URL is required")
	}
	for i, raw := range c.URLs {
		if err := checkURL(raw); err != nil {
			add("urls[%d]: %w", i, err)
		}
	}
	d := c.withDefaults()
	if _, err := compileIndex(d.Index); err != nil {
		add("index: %w", err)
	}
	switch d.Compression {
	case "none", "gzip":
	default:
		add("compression: %q is not one of none, gzip", c.Compression)
	}
	if c.Timeout < 0 {
		add("timeout: must not be negative (got %v)", c.Timeout)
	}
	if c.Concurrency < 0 || c.Concurrency > maxConcurrency {
		add("concurrency: want 1 to %d, not %d", maxConcurrency, c.Concurrency)
	}

	// Credentials.
	if c.Password != "" && c.PasswordFile != "" {
		add("password, password_file: set one, not both")
	}
	if c.APIKey != "" && c.APIKeyFile != "" {
		add("api_key, api_key_file: set one, not both")
	}
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		add("bearer_token, bearer_token_file: set one, not both")
	}
	basic := c.Username != "" || c.Password != "" || c.PasswordFile != ""
	if (c.Password != "" || c.PasswordFile != "") && c.Username == "" {
		add("username: required with password or password_file")
	}
	methods := 0
	for _, set := range []bool{basic, c.APIKey != "" || c.APIKeyFile != "", c.BearerToken != "" || c.BearerTokenFile != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		add("username/password, api_key, bearer_token: choose one authentication method")
	}
	for _, f := range []struct{ key, path string }{
		{"password_file", c.PasswordFile}, {"api_key_file", c.APIKeyFile}, {"bearer_token_file", c.BearerTokenFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := sinkhttp.ReadSecret(f.path); err != nil {
			add("%s: %w", f.key, err)
		}
	}

	if _, err := c.TLS.Build(); err != nil {
		add("%w", err)
	}
	// A value with a line break passed, and every request failed in
	// net/http, for good (sinks15 F2).
	for _, msg := range sinkhttp.CheckHeaders(c.Headers, reservedHeaders, methods > 0) {
		add("%s", msg)
	}
	for _, msg := range sinkhttp.CheckCredentials("username", c.Username, "password", c.Password, "api_key", c.APIKey, "bearer_token", c.BearerToken) {
		add("%s", msg)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		if slices.Contains(answerParams, k) {
			// filter_path took the items out of every answer: each
			// batch was retried without end (user23 P8).
			add("params: %q changes the bulk answer the sink reads (each record's result): remove it", k)
		}
	}
	return errors.Join(errs...)
}

func checkURL(raw string) error {
	safe := safeurl.String(raw) // the error is printed: no password in it
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("malformed URL %q", safe) // url.Error quotes the whole URL
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("malformed URL %q: scheme must be http or https", safe)
	}
	if u.Host == "" {
		return fmt.Errorf("malformed URL %q: no host", safe)
	}
	if err := sinkhttp.CheckPort(u); err != nil {
		return fmt.Errorf("URL %q: %w", safe, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("URL %q: a query or fragment is not allowed (use params)", safe)
	}
	return nil
}

// answerParams are the _bulk query arguments that change the answer's form
// (filter_path drops members, format another syntax than JSON).
var answerParams = []string{"filter_path", "format"}

// reservedHeaders are the headers the sink sets itself on every request.
var reservedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Length", "Host"}
