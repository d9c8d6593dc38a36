package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/sinks/elasticsearch"
)

func errLines(t *testing.T, err error) []string {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v is %T, want *Errors", err, err)
	}
	var got []string
	for _, e := range *errs {
		got = append(got, e.Error())
	}
	return got
}

func TestRedactRules(t *testing.T) {
	cfg := mustParse(t, `sources:
  - name: app
    paths: ["/var/log/app/*.log"]
    format: json
sinks:
  - name: debug
    type: stdout
redact:
  - builtin: credit_card
  - builtin: email
    action: hash
    key_env: REDACT_KEY
  - pattern: '(?i)(token|password)=[^&\s"]*'
    replace: '$1=[REDACTED]'
    fields: [request, http_referer]
  - field: http_cookie
    action: drop
  - builtin: query_secrets
    params: [sig, X-Amz-Signature]
`, map[string]string{"REDACT_KEY": "0123456789abcdef0123"})
	want := []redact.Rule{
		{Builtin: "credit_card"},
		{Builtin: "email", Action: "hash", KeyEnv: "REDACT_KEY"},
		{Pattern: `(?i)(token|password)=[^&\s"]*`, Replace: "$1=[REDACTED]", Fields: []string{"request", "http_referer"}},
		{Field: "http_cookie", Action: "drop"},
		{Builtin: "query_secrets", Params: []string{"sig", "X-Amz-Signature"}},
	}
	if !reflect.DeepEqual(cfg.Redact, want) {
		t.Errorf("redact:\n got %+v\nwant %+v", cfg.Redact, want)
	}
	if want := []int{9, 10, 13, 16, 18}; !reflect.DeepEqual(cfg.RedactLines, want) {
		t.Errorf("RedactLines = %v, want %v", cfg.RedactLines, want)
	}
}

// A rule naming a field no source gives is refused when every source's
// names are known: "field: remote_adr" passed validate, matched nothing,
// and remote_addr shipped unredacted (the config probe's F4).
func TestRedactRuleFieldNames(t *testing.T) {
	src := func(format string) string {
		return "sources:\n  - {name: web, paths: [\"/l/*.log\"], format: " + format + ", fields: {team: ops}}\nsinks:\n  - {name: out, type: stdout}\n"
	}
	for _, tc := range []struct {
		format, rules, want string
	}{
		{"nginx", "  - {field: remote_adr, action: mask}\n", `redact rule 1: no source gives a field "remote_adr" (did you mean "remote_addr"?)`},
		{"nginx", "  - {pattern: x, fields: [request, url.original]}\n", `no source gives a field "url.original" (rules use the parser's names`},
		{"raw", "  - {field: http_cookie, action: drop}\n", `no source gives a field "http_cookie"`},
		{"nginx", "  - {field: remote_addr, action: mask}\n  - {pattern: x, fields: [request_uri, team, message]}\n", ""},
		// The line itself, and nginx's time: no fields (docs14 F1,
		// redact14 F12). With JSON lines, "message" is the line's key.
		{"raw", "  - {field: message, action: drop}\n", `field "message" is the line itself, not a parsed field`},
		{"nginx", "  - {field: message, action: mask}\n", `field "message" is the line itself`},
		{"nginx", "  - {field: time_local, action: mask}\n", `field "time_local" is the event time`},
		{"json", "  - {field: message, action: drop}\n", ""},
		{"nginx_error", "  - {field: message, action: drop}\n", `field "message" is the line itself`}, // regress14 H
		{"json", "  - {field: anything.at.all, action: drop}\n", ""},
		{"nginx_error", "  - {field: zzz, action: drop}\n", ""},
	} {
		_, err := Parse("c.yaml", []byte(src(tc.format)+"redact:\n"+tc.rules), env(nil))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s: %v", tc.format, tc.rules, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %s: err %v, want %q", tc.format, tc.rules, err, tc.want)
		}
	}
}

func TestRedactErrors(t *testing.T) {
	_, err := Parse("c.yaml", []byte(minimal+`redact:
  - builtin: emial
  - pattern: "(unclosed"
  - patern: x
  - builtin: email
    action: hash
  - name: a
    builtin: ipv4
  - name: a
    builtin: ipv6
`), nil)
	want := []string{
		`c.yaml:8: redact rule 1 (builtin "emial"): unknown builtin "emial" (known: credit_card, email, ipv4, ipv6, jwt, bearer_token, aws_access_key, query_secrets)`,
		"c.yaml:9: redact rule 2 (pattern \"(unclosed\"): error parsing regexp: missing closing ): `(unclosed`",
		`c.yaml:10: unknown key "patern" in redact rule #3; did you mean "pattern"?`,
		`c.yaml:11: redact rule 4 (builtin "email"): action hash needs a key: set key_env or key_file`,
	}
	checkErrors(t, err, want)

	// Problems between rules are found once each rule is valid.
	_, err = Parse("c.yaml", []byte(minimal+`redact:
  - {name: a, builtin: ipv4}
  - {name: a, builtin: ipv6}
`), nil)
	checkErrors(t, err, []string{
		`c.yaml:9: redact rule 2 (name "a", builtin "ipv6"): name "a" is already used by rule 1: give one of them a distinct name`,
	})
}

func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	got := errLines(t, err)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestElasticsearchSink(t *testing.T) {
	cfg := mustParse(t, `sources: [{name: a, paths: [/a]}]
sinks:
  - name: es
    type: elasticsearch
    urls: ["http://127.0.0.1:9200"]
    index: "nginx-%Y.%m.%d"
    username: elastic
    password: ${ES_PASSWORD}
    params: {_msg_field: message}
    tls: {insecure_skip_verify: true}
`, map[string]string{"ES_PASSWORD": "hunter2"})
	got := cfg.Sinks[0].Elasticsearch
	want := &elasticsearch.Config{URLs: []string{"http://127.0.0.1:9200"}, Index: "nginx-%Y.%m.%d",
		Username: "elastic", Password: "hunter2", Params: map[string]string{"_msg_field": "message"},
		TLS: elasticsearch.TLSConfig{InsecureSkipVerify: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("elasticsearch config:\n got %+v\nwant %+v", got, want)
	}
	if cfg.Sinks[0].Loki != nil || cfg.Sinks[0].Stdout != nil {
		t.Errorf("other type configs set: %+v", cfg.Sinks[0])
	}

	_, err := Parse("c.yaml", []byte(`sources: [{name: a, paths: [/a]}]
sinks:
  - name: es
    type: elasticsearch
    url: http://127.0.0.1:9200
    tls: {ca: /x}
    compression: brotli
    timeout: -1s
`), nil)
	checkErrors(t, err, []string{
		`c.yaml:3: sink "es": urls: at least one Elasticsearch URL is required`,
		`c.yaml:5: unknown key "url" in sink "es"; did you mean "urls"?`,
		`c.yaml:6: unknown key "tls.ca" in sink "es"`,
		`c.yaml:7: sink "es": compression: "brotli" is not one of none, gzip`,
		`c.yaml:8: sink "es": timeout: must not be negative (got -1s)`,
	})

	// A value that did not decode is reported once, not again by Validate.
	_, err = Parse("c.yaml", []byte(`sources: [{name: a, paths: [/a]}]
sinks:
  - name: es
    type: elasticsearch
    urls: http://127.0.0.1:9200
`), nil)
	checkErrors(t, err, []string{`c.yaml:5: sink "es": urls: want a list, not "http://127.0.0.1:9200"`})
}

func TestParserErrors(t *testing.T) {
	_, err := Parse("c.yaml", []byte(`sources:
  - name: a
    paths: [/a]
    format: nginx
    log_format: '$remote_addr [$time_local] "$request"'
  - name: b
    paths: [/b]
    format: nginx_error
    timezone: Mars/Olympus
  - name: c
    paths: [/c]
    format: json
    time_format: fortnights
sinks: [{name: s, type: stdout}]
`), nil)
	checkErrors(t, err, []string{
		`c.yaml:9: source "b": timezone "Mars/Olympus": unknown time zone Mars/Olympus`,
		`c.yaml:13: source "c": time_format "fortnights": want rfc3339, unix, unix_ms, unix_us, unix_ns or a Go time layout`,
	})
}

// TestErrorsAs: callers may ask errors.As for an *Errors or an Errors.
func TestErrorsAs(t *testing.T) {
	_, err := Parse("c.yaml", []byte("sinks: []\n"), nil)
	var ptr *Errors
	var val Errors
	if !errors.As(err, &ptr) || !errors.As(err, &val) || len(val) != 2 || len(*ptr) != 2 {
		t.Fatalf("errors.As: ptr %v, val %v", ptr, val)
	}
	if val[0].Error() != "c.yaml:1: sources: want at least one source" {
		t.Errorf("val[0] = %q", val[0].Error())
	}
	wrapped := fmt.Errorf("loading: %w", err)
	if !errors.As(wrapped, &val) {
		t.Error("errors.As through a wrapper failed")
	}
}

// BenchmarkParse measures a whole Parse of the full example (decode,
// defaults, validation, parser and sink checks). Not a hot path: it runs at
// start and on reload.
func BenchmarkParse(b *testing.B) {
	vars := env(map[string]string{"LOKI_PASSWORD": "x"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("c.yaml", []byte(full), vars); err != nil {
			b.Fatal(err)
		}
	}
}

// nginx's ${var} pasted into a log_format reads as an environment
// variable: the error says how to write it (it suggested a default).
func TestNginxBracedVariableHint(t *testing.T) {
	_, err := Parse("c.yaml", []byte("sources:\n  - {name: web, paths: [\"/l/*.log\"], format: nginx, log_format: '${remote_addr} $status'}\nsinks:\n  - {name: out, type: stdout}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "write $${remote_addr}") {
		t.Fatalf("err = %v", err)
	}
}

// A max_bytes under twice the default segment size lowers the default
// segment size: it was an error about segment_bytes, a key the user never
// wrote (the config probe's F6).
func TestSmallMaxBytesLowersDefaultSegment(t *testing.T) {
	cfg := mustParse(t, minimal+"buffer: {max_bytes: 4MiB}\n", nil)
	if cfg.Buffer.SegmentBytes != 2<<20 {
		t.Fatalf("segment_bytes %v, want 2MiB", cfg.Buffer.SegmentBytes)
	}
	cfg = mustParse(t, minimal+"buffer: {max_bytes: 100KiB}\n", nil)
	if cfg.Buffer.SegmentBytes != 64<<10 {
		t.Fatalf("segment_bytes %v, want 64KiB", cfg.Buffer.SegmentBytes)
	}
	if cfg = mustParse(t, minimal, nil); cfg.Buffer.SegmentBytes != 16<<20 {
		t.Fatalf("default segment_bytes %v", cfg.Buffer.SegmentBytes)
	}
	// Under the smallest segment, the error names max_bytes (buffer11).
	_, err := Parse("c.yaml", []byte(minimal+"buffer: {max_bytes: 1KiB}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "buffer.max_bytes: 1KiB is too small; want at least 64KiB") ||
		strings.Contains(err.Error(), "segment_bytes") {
		t.Fatalf("err %v", err)
	}
}

// A fraction where a whole number is wanted is an error: yaml.v3 cut
// workers: 2.5 to 2 without a word (the config probe's F5). 2.0 is fine.
func TestFractionForWholeNumber(t *testing.T) {
	_, err := Parse("c.yaml", []byte("sources:\n  - {name: a, paths: [\"/l/*.log\"], workers: 2.5}\nsinks:\n  - {name: out, type: stdout}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "workers: want a whole number, not 2.5") {
		t.Fatalf("err = %v", err)
	}
	cfg := mustParse(t, "sources:\n  - {name: a, paths: [\"/l/*.log\"], workers: 2.0, max_line_bytes: 1.5MiB}\nsinks:\n  - {name: out, type: stdout}\n", nil)
	if cfg.Sources[0].Workers != 2 || cfg.Sources[0].MaxLineBytes != 1536<<10 {
		t.Fatalf("workers %d, max_line_bytes %v", cfg.Sources[0].Workers, cfg.Sources[0].MaxLineBytes)
	}
}
