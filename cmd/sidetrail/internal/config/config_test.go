package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	sidetrail "github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/sinks/loki"
)

// env returns a lookupEnv over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// minimal is the smallest valid configuration: one source, one sink.
const minimal = `sources:
  - name: app
    paths: ["/var/log/app/*.log"]
sinks:
  - name: debug
    type: stdout
`

func mustParse(t *testing.T, yml string, vars map[string]string) *Config {
	t.Helper()
	cfg, err := Parse("c.yaml", []byte(yml), env(vars))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, minimal, nil)
	want := &Config{
		DataDir:      "/var/lib/sidetrail",
		Log:          Log{Level: "info", Format: "text"},
		DrainTimeout: 10 * time.Second,
		Sources: []Source{{
			Name:             "app",
			Paths:            []string{"/var/log/app/*.log"},
			Format:           "raw",
			StartAt:          "beginning",
			MaxLineBytes:     1 << 20,
			Workers:          1,
			ScanInterval:     250 * time.Millisecond,
			RotateWait:       5 * time.Second,
			MaxOpenFiles:     1024,
			FingerprintBytes: 1024,
			Line:             2,
		}},
		Buffer: Buffer{
			MaxBytes:      1 << 30,
			SegmentBytes:  16 << 20,
			WhenFull:      "block",
			Fsync:         "batch",
			FsyncInterval: time.Second,
		},
		Sinks: []Sink{{
			Name:              "debug",
			Type:              "stdout",
			Batch:             Batch{MaxRecords: 1000, MaxBytes: 5 << 20, MaxWait: 200 * time.Millisecond},
			Retry:             Retry{InitialBackoff: 250 * time.Millisecond, MaxBackoff: 30 * time.Second},
			ReadyAfterFailing: 5 * time.Minute,
			DeadLetter:        DeadLetter{MaxBytes: 64 << 20},
			Line:              5,
			Stdout:            &StdoutConfig{},
		}},
		Server:      Server{Listen: ":9110"},
		File:        "c.yaml",
		RedactLines: []int{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestNginxDefaultsOnlyForNginx(t *testing.T) {
	cfg := mustParse(t, `sources:
  - {name: a, paths: [/a], format: nginx}
  - {name: b, paths: [/b], format: json}
  - {name: c, paths: [/c], format: nginx_error}
sinks: [{name: s, type: stdout}]
`, nil)
	if got := cfg.Sources[0].LogFormat; got != "combined" {
		t.Errorf("nginx log_format = %q, want combined", got)
	}
	if got := cfg.Sources[1]; got.LogFormat != "" || got.TimeKey != "" || got.TimeFormat != "" {
		t.Errorf("json source got nginx/json defaults: %+v", got)
	}
	if got := cfg.Sources[2]; got.LogFormat != "" || got.Timezone != "" {
		t.Errorf("nginx_error source: %+v", got)
	}
}

// full sets every key of the schema (the type-specific keys of the loki
// sink included), none to its default.
const full = `data_dir: /data
log: {level: debug, format: json}
drain_timeout: 30s
sources:
  - name: nginx
    paths: ["/var/log/nginx/access.log*"]
    exclude: ["*.gz"]
    format: nginx
    log_format: main
    start_at: end
    fields: {cluster: prod, team: web}
    max_line_bytes: 64KiB
    scan_interval: 1s
    poll: true
    rotate_wait: 10s
    max_open_files: 10
    fingerprint_bytes: 256
  - name: app
    paths: [/var/log/app.json]
    format: json
    time_key: ts
    time_format: unix_ms
  - name: nginx.error
    paths: [/var/log/nginx/error.log]
    format: nginx_error
    timezone: Europe/Berlin
buffer:
  max_bytes: 2GiB
  segment_bytes: 8MiB
  when_full: drop_oldest
  fsync: interval
  fsync_interval: 2s
sinks:
  - name: loki
    type: loki
    batch: {max_records: 500, max_bytes: 1MiB, max_wait: 1s}
    retry: {initial_backoff: 1s, max_backoff: 1m}
    ready_after_failing: 10m
    url: http://loki:3100
    labels: {app: nginx}
    password: ${LOKI_PASSWORD}
    username: agent
server:
  listen: 127.0.0.1:9999
`

func TestFull(t *testing.T) {
	cfg := mustParse(t, full, map[string]string{"LOKI_PASSWORD": "s3cr3t: [x]"})
	want := &Config{
		DataDir:      "/data",
		Log:          Log{Level: "debug", Format: "json"},
		DrainTimeout: 30 * time.Second,
		Sources: []Source{{
			Name: "nginx", Paths: []string{"/var/log/nginx/access.log*"}, Exclude: []string{"*.gz"},
			Format: "nginx", LogFormat: "main", StartAt: "end",
			Fields:       map[string]string{"cluster": "prod", "team": "web"},
			MaxLineBytes: 64 << 10, ScanInterval: time.Second, Poll: true, RotateWait: 10 * time.Second,
			MaxOpenFiles: 10, FingerprintBytes: 256, Line: 5, Workers: 1,
		}, {
			Name: "app", Paths: []string{"/var/log/app.json"}, Format: "json", TimeKey: "ts", TimeFormat: "unix_ms",
			StartAt: "beginning", MaxLineBytes: 1 << 20, ScanInterval: 250 * time.Millisecond,
			RotateWait: 5 * time.Second, MaxOpenFiles: 1024, FingerprintBytes: 1024, Line: 18, Workers: 1,
		}, {
			Name: "nginx.error", Paths: []string{"/var/log/nginx/error.log"}, Format: "nginx_error", Timezone: "Europe/Berlin",
			StartAt: "beginning", MaxLineBytes: 1 << 20, ScanInterval: 250 * time.Millisecond,
			RotateWait: 5 * time.Second, MaxOpenFiles: 1024, FingerprintBytes: 1024, Line: 23, Workers: 1,
		}},
		Buffer: Buffer{MaxBytes: 2 << 30, SegmentBytes: 8 << 20, WhenFull: "drop_oldest", Fsync: "interval", FsyncInterval: 2 * time.Second},
		Sinks: []Sink{{
			Name: "loki", Type: "loki",
			Batch:             Batch{MaxRecords: 500, MaxBytes: 1 << 20, MaxWait: time.Second},
			Retry:             Retry{InitialBackoff: time.Second, MaxBackoff: time.Minute},
			ReadyAfterFailing: 10 * time.Minute,
			DeadLetter:        DeadLetter{MaxBytes: 64 << 20},
			Line:              34,
			Loki: &loki.Config{URL: "http://loki:3100", Labels: map[string]string{"app": "nginx"},
				Username: "agent", Password: "s3cr3t: [x]"},
		}},
		Server:      Server{Listen: "127.0.0.1:9999"},
		File:        "c.yaml",
		RedactLines: []int{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("full:\n got %+v\nwant %+v", cfg, want)
		for i := range min(len(cfg.Sources), len(want.Sources)) {
			if !reflect.DeepEqual(cfg.Sources[i], want.Sources[i]) {
				t.Errorf("source %d:\n got %+v\nwant %+v", i, cfg.Sources[i], want.Sources[i])
			}
		}
		if len(cfg.Sinks) == 1 && cfg.Sinks[0].Loki != nil {
			t.Errorf("loki: %+v", *cfg.Sinks[0].Loki)
		}
	}
}

func TestServerListenEmptyMeansNone(t *testing.T) {
	cfg := mustParse(t, minimal+"server: {listen: \"\"}\n", nil)
	if cfg.Server.Listen != "" {
		t.Errorf("listen = %q, want \"\"", cfg.Server.Listen)
	}
}

// A key written with no value is a key not written: its default. A blank
// server.listen turned the server off without a word, a blank rotate_wait
// was 0, and a blank drain_timeout was refused as "not 0s" (ops18 F2).
func TestBlankKeyGetsItsDefault(t *testing.T) {
	cfg := mustParse(t, `sources:
  - name: app
    paths: ["/var/log/app/*.log"]
    rotate_wait:
    workers: ~
sinks:
  - name: debug
    type: stdout
    batch: {max_wait: }
drain_timeout:
server:
  listen:
`, nil)
	s := cfg.Sources[0]
	if cfg.Server.Listen != DefaultListen || s.RotateWait != DefaultRotateWait || s.Workers != DefaultWorkers ||
		cfg.DrainTimeout != DefaultDrainTimeout || cfg.Sinks[0].Batch.MaxWait != DefaultBatchMaxWait {
		t.Errorf("listen %q, rotate_wait %v, workers %d, drain_timeout %v, max_wait %v",
			cfg.Server.Listen, s.RotateWait, s.Workers, cfg.DrainTimeout, cfg.Sinks[0].Batch.MaxWait)
	}
}

func TestEnv(t *testing.T) {
	vars := map[string]string{
		"DIR":    "/srv/data",
		"N":      "64",
		"EMPTY":  "",
		"YAMLY":  "a: b\n- [c",
		"NULLY":  "null",
		"SECRET": "p$ss ${NOT_EXPANDED}",
	}
	cfg := mustParse(t, `data_dir: ${DIR}
sources:
  - name: app
    paths: ["${DIR}/*.log", '${MISSING:-/default}/x', "${EMPTY:-/fallback}", "${EMPTY}x", "$$HOME", "^a$", "${DIR}${DIR}"]
    max_open_files: ${N}
    fields:
      yamly: ${YAMLY}
      nully: ${NULLY}
      secret: ${SECRET}
      literal: "$${NOT_A_VAR}"
sinks: [{name: s, type: stdout}]
`, vars)
	if cfg.DataDir != "/srv/data" {
		t.Errorf("data_dir = %q", cfg.DataDir)
	}
	wantPaths := []string{"/srv/data/*.log", "/default/x", "/fallback", "x", "$HOME", "^a$", "/srv/data/srv/data"}
	if !reflect.DeepEqual(cfg.Sources[0].Paths, wantPaths) {
		t.Errorf("paths = %q, want %q", cfg.Sources[0].Paths, wantPaths)
	}
	if cfg.Sources[0].MaxOpenFiles != 64 {
		t.Errorf("max_open_files = %d, want 64 (an unquoted ${N} is re-typed)", cfg.Sources[0].MaxOpenFiles)
	}
	wantFields := map[string]string{
		"yamly":   "a: b\n- [c",
		"nully":   "null",
		"secret":  "p$ss ${NOT_EXPANDED}",
		"literal": "${NOT_A_VAR}",
	}
	if !reflect.DeepEqual(cfg.Sources[0].Fields, wantFields) {
		t.Errorf("fields = %q, want %q", cfg.Sources[0].Fields, wantFields)
	}
}

// A key is never expanded: one holding "${" is an error, not a field of
// that name shipped without a word (ops15 F8).
func TestEnvInAKeyIsAnError(t *testing.T) {
	_, err := Parse("c.yaml", []byte(`sources:
  - name: app
    paths: [/a]
    fields:
      ${K}: x
sinks: [{name: s, type: stdout}]
`), env(map[string]string{"K": "k"}))
	if err == nil || !strings.Contains(err.Error(), "sources[0].fields.${K}: variables are expanded in values only, not in keys") {
		t.Fatalf("err = %v", err)
	}
}

// TestErrors: each case's file, and every error Parse reports for it, in
// order, exactly.
func TestErrors(t *testing.T) {
	const sinks = "sinks: [{name: s, type: stdout}]\n"
	const sources = "sources: [{name: a, paths: [/a]}]\n"
	for _, tc := range []struct {
		name string
		yml  string
		env  map[string]string
		want []string
	}{{
		name: "empty",
		yml:  "",
		want: []string{"c.yaml:1: empty configuration: want at least sources and sinks"},
	}, {
		name: "only comments",
		yml:  "# nothing\n\n",
		want: []string{"c.yaml:1: empty configuration: want at least sources and sinks"},
	}, {
		name: "not a mapping",
		yml:  "- a\n- b\n",
		want: []string{"c.yaml:1: the configuration must be a mapping of keys (data_dir, sources, sinks, ...), not a list"},
	}, {
		name: "syntax error",
		yml:  "sources:\n  - name: a\n    paths: [/a]\n    format: nginx\n      log_format: main\n",
		want: []string{"c.yaml:5: invalid YAML: mapping values are not allowed in this context"},
	}, {
		name: "tab indentation",
		yml:  "sources:\n\t- name: a\n",
		want: []string{"c.yaml:2: invalid YAML: found character that cannot start any token"},
	}, {
		name: "two documents",
		yml:  minimal + "---\nfoo: 1\n",
		want: []string{"c.yaml:7: a second YAML document: the configuration is one document"},
	}, {
		name: "a broken second document",
		yml:  minimal + "---\nfoo: [\n",
		want: []string{"c.yaml:8: invalid YAML in what starts on this line (the mistake is here or below): did not find expected node content"},
	}, {
		// yaml.v3 counts its parser's lines from 0, and gives the line
		// where the enclosing block or flow starts (config12 F7: these
		// said lines 3, 2 and 2).
		name: "a flow mapping missing a comma",
		yml:  "data_dir: /x\nsources:\n  - name: a\n    fields: {a: b c: d}\nsinks: []\n",
		want: []string{"c.yaml:4: invalid YAML in what starts on this line (the mistake is here or below): did not find expected ',' or '}'"},
	}, {
		name: "a key mis-indented in a list item",
		yml:  "data_dir: /x\nsources:\n  - name: a\n   paths: x\nsinks: []\n",
		want: []string{"c.yaml:3: invalid YAML in what starts on this line (the mistake is here or below): did not find expected '-' indicator"},
	}, {
		name: "a brace too many",
		yml:  "data_dir: /x\nsources:\n  - name: a\n    fields: {x: y, b: c}}\nsinks: []\n",
		want: []string{"c.yaml:3: invalid YAML in what starts on this line (the mistake is here or below): did not find expected key"},
	}, {
		name: "no sources no sinks",
		yml:  "data_dir: /x\n",
		want: []string{
			"c.yaml:1: sources: want at least one source",
			"c.yaml:1: sinks: want at least one sink",
		},
	}, {
		name: "typo in a source key",
		yml: `sources:
  - name: nginx
    pathz: ["/var/log/nginx/*.log"]
` + sinks,
		want: []string{
			`c.yaml:2: source "nginx": paths: want at least one glob pattern`,
			`c.yaml:3: unknown key "pathz" in source "nginx"; did you mean "paths"?`,
		},
	}, {
		name: "unknown top-level and nested keys",
		yml: sources + sinks + `sink: x
buffer:
  max_byte: 1GiB
  whenFull: block
  colour: red
retries: {max_backoff: 1s}
`,
		want: []string{
			`c.yaml:3: unknown key "sink"; did you mean "sinks"?`,
			`c.yaml:5: unknown key "buffer.max_byte"; did you mean "buffer.max_bytes"?`,
			`c.yaml:6: unknown key "buffer.whenFull"; did you mean "buffer.when_full"?`,
			`c.yaml:7: unknown key "buffer.colour"`,
			`c.yaml:8: unknown key "retries"`,
		},
	}, {
		// A byte that is not UTF-8, or a control character, on its own
		// line (config21 C1: yaml.v3 named line 1).
		name: "not UTF-8",
		yml:  sources + "sinks: [{name: out, type: stdout}]\n# caf\xe9\n",
		want: []string{`c.yaml:3: invalid YAML: byte 0xE9 is not UTF-8 (save the file as UTF-8)`},
	}, {
		name: "control character",
		yml:  sources + "sinks: [{name: out, type: stdout}]\nserver: {listen: \"\x01\"}\n",
		want: []string{`c.yaml:3: invalid YAML: control character 0x01 (only tab, line feed and carriage return are allowed)`},
	}, {
		// A plural for a singular is suggested (config21 C1: "retries"
		// got no hint).
		name: "plural key",
		yml: sources + `sinks:
  - name: out
    type: stdout
    retries: {max_backoff: 1s}
`,
		want: []string{`c.yaml:5: unknown key "retries" in sink "out"; did you mean "retry"?`},
	}, {
		name: "wrong types",
		yml: sources + sinks + `drain_timeout: 10
buffer:
  max_bytes: lots
  fsync: [batch]
log: debug
`,
		want: []string{
			`c.yaml:3: drain_timeout: want a duration such as "250ms", "5s" or "1m", not "10"`,
			`c.yaml:5: buffer.max_bytes: invalid size "lots": want a number with an optional unit, written exactly so: B, K or KiB, M or MiB, G or GiB, TiB (powers of 1024), KB, MB, GB, TB (powers of 1000)`,
			`c.yaml:6: buffer.fsync: want a string, not a list`,
			`c.yaml:7: log: want a mapping of keys, not "debug"`,
		},
	}, {
		name: "wrong types in a source",
		yml: `sources:
  - name: a
    paths: /var/log/a.log
    max_open_files: many
    poll: sometimes
    scan_interval: "fast"
    fields: [a, b]
` + sinks,
		want: []string{
			`c.yaml:3: source "a": paths: want a list, not "/var/log/a.log"`,
			`c.yaml:4: source "a": max_open_files: want an integer, not "many"`,
			`c.yaml:5: source "a": poll: want true or false, not "sometimes"`,
			`c.yaml:6: source "a": scan_interval: want a duration such as "250ms", "5s" or "1m", not the string "fast"`,
			`c.yaml:7: source "a": fields: want a mapping, not a list`,
		},
	}, {
		// yaml.v3 read yes, on, y and their quoted forms as true, where
		// it refused "true" (tailer22 P6): one spelling.
		name: "booleans spelled otherwise",
		yml: `sources:
  - {name: a, paths: [/a], poll: yes}
  - {name: b, paths: [/b], poll: "on"}
  - {name: c, paths: [/c], poll: n}
  - {name: d, paths: [/d], poll: True}
` + sinks,
		want: []string{
			`c.yaml:2: source "a": poll: want true or false, not "yes"`,
			`c.yaml:3: source "b": poll: want true or false, not "on"`,
			`c.yaml:4: source "c": poll: want true or false, not "n"`,
		},
	}, {
		name: "duplicates",
		yml: `sources:
  - {name: a, paths: [/a]}
  - {name: a, paths: [/b], paths: [/c]}
sinks:
  - {name: s, type: stdout}
  - {name: s, type: stdout}
sinks: []
`,
		want: []string{
			`c.yaml:3: duplicate key "paths" in source "a" (first at line 3)`,
			`c.yaml:3: source "a": name: used again (first at line 2)`,
			`c.yaml:6: sink "s": name: used again (first at line 5)`,
			`c.yaml:7: duplicate key "sinks" (first at line 4)`,
		},
	}, {
		name: "names",
		yml: `sources:
  - {paths: [/a]}
  - {name: "a b", paths: [/b]}
  - {name: "..", paths: [/c]}
  - {name: "` + strings.Repeat("x", 101) + `", paths: [/d]}
sinks:
  - {type: stdout}
  - {name: ".", type: stdout}
`,
		want: []string{
			`c.yaml:2: source #1: name: required`,
			`c.yaml:3: source "a b": name: use only letters, digits, '_', '.' and '-'`,
			`c.yaml:4: source "..": name: ".." is not a name (it is a directory's)`,
			`c.yaml:5: source "` + strings.Repeat("x", 101) + `": name: 101 characters; at most 100`,
			`c.yaml:7: sink #1: name: required`,
			`c.yaml:8: sink ".": name: "." is not a name (it is a directory's)`,
		},
	}, {
		name: "enums",
		yml: `log: {level: verbose, format: xml}
sources:
  - {name: a, paths: [/a], format: csv, start_at: middle}
buffer: {when_full: panic, fsync: never}
sinks:
  - {name: s, type: kafka, brokers: [k:9092]}
  - {name: t}
`,
		want: []string{
			`c.yaml:1: log.level: "verbose" is not one of debug, info, warn, error`,
			`c.yaml:1: log.format: "xml" is not one of text, json`,
			`c.yaml:3: source "a": format: "csv" is not one of raw, json, nginx, nginx_error`,
			`c.yaml:3: source "a": start_at: "middle" is not one of beginning, end`,
			`c.yaml:4: buffer.when_full: "panic" is not one of block, drop_oldest`,
			`c.yaml:4: buffer.fsync: "never" is not one of batch, always, interval`,
			`c.yaml:6: sink "s": type: "kafka" is not one of stdout, elasticsearch, loki`,
			`c.yaml:7: sink "t": type: required; want one of stdout, elasticsearch, loki`,
		},
	}, {
		name: "format-specific keys on the wrong format",
		yml: `sources:
  - name: a
    paths: [/a]
    format: json
    log_format: combined
  - name: b
    paths: [/b]
    time_key: ts
    timezone: UTC
` + sinks,
		want: []string{
			`c.yaml:5: source "a": log_format applies only to format nginx, not json`,
			`c.yaml:8: source "b": time_key applies only to format json, not raw`,
			`c.yaml:9: source "b": timezone applies only to format nginx_error, or json with a time_format layout; not raw`,
		},
	}, {
		// A json source's timezone is its time_format layout's zone; with
		// no layout it has none to give (parser17 F).
		name: "timezone on a json source without a layout",
		yml: `sources:
  - name: a
    paths: [/a]
    format: json
    timezone: Europe/Berlin
  - name: b
    paths: [/b]
    format: json
    time_format: '2006-01-02 15:04:05'
    timezone: Europe/Berlin
` + sinks,
		want: []string{
			`c.yaml:5: source "a": timezone "Europe/Berlin": a json source takes one only with a time_format layout (its zoneless times), not "the default"`,
		},
	}, {
		// user23 P4: taken for the default, where format: "" is refused.
		name: "format keys written empty",
		yml: `sources:
  - name: a
    paths: [/a]
    format: nginx
    log_format: ""
  - name: b
    paths: [/b]
    format: json
    time_key: ''
    time_format: ""
  - name: c
    paths: [/c]
    format: nginx_error
    timezone: ""
` + sinks,
		want: []string{
			`c.yaml:5: source "a": log_format: empty; leave the key out for its default`,
			`c.yaml:9: source "b": time_key: empty; leave the key out for its default`,
			`c.yaml:10: source "b": time_format: empty; leave the key out for its default`,
			`c.yaml:14: source "c": timezone: empty; leave the key out for its default`,
		},
	}, {
		// user23 P3: "a..b" shipped the name ".b" below "a".
		name: "static field names with an empty dotted part",
		yml: `sources:
  - name: a
    paths: [/a]
    fields: {'a..b': x, 'c.': y, '.d': z, e.f: w}
` + sinks,
		want: []string{
			`c.yaml:4: source "a": fields: ".d" has an empty part between its dots`,
			`c.yaml:4: source "a": fields: "a..b" has an empty part between its dots`,
			`c.yaml:4: source "a": fields: "c." has an empty part between its dots`,
		},
	}, {
		name: "bad globs and static fields",
		yml: `sources:
  - name: a
    paths: ["/var/log/[a.log", ""]
    exclude: ["[x"]
    fields:
      source: web
      log.offset: x
      log: y
      log.level: fine
` + sinks,
		want: []string{
			`c.yaml:3: source "a": paths: "/var/log/[a.log" is not a valid glob pattern`,
			`c.yaml:3: source "a": paths: empty pattern`,
			`c.yaml:4: source "a": exclude: "[x" is not a valid glob pattern`,
			`c.yaml:6: source "a": fields: "source" collides with a key every record has (@timestamp, message, source, log.file.path, log.offset, log.flags)`,
			`c.yaml:7: source "a": fields: "log.offset" collides with a key every record has (@timestamp, message, source, log.file.path, log.offset, log.flags)`,
			`c.yaml:8: source "a": fields: "log" collides with a key every record has (@timestamp, message, source, log.file.path, log.offset, log.flags)`,
		},
	}, {
		name: "globs other agents read differently",
		yml: `sources:
  - name: a
    paths: ["/logs/**/app.log", "/logs/{a,b}.log", "/logs/\\{x}.log", "/logs/{x}.log"]
    exclude: ["**.gz"]
` + sinks,
		want: []string{
			`c.yaml:3: source "a": paths: "/logs/**/app.log": ** does not recurse here, it is * (one path element, without /): write one pattern per depth, as /logs/*/app.log and /logs/*/*/app.log`,
			`c.yaml:3: source "a": paths: "/logs/{a,b}.log": braces are not alternatives here, they match themselves: write one pattern per alternative (\{ matches a brace)`,
			`c.yaml:4: source "a": exclude: "**.gz": ** does not recurse here, it is * (one path element, without /): write one pattern per depth, as *.gz`,
		},
	}, {
		name: "explicit zeros and negative values are not defaults",
		yml: `drain_timeout: 0s
sources:
  - name: a
    paths: [/a]
    max_open_files: 0
    rotate_wait: -1s
    fingerprint_bytes: 8
    max_line_bytes: 10
    scan_interval: 1ns
sinks:
  - name: s
    type: stdout
    batch: {max_records: 0, max_bytes: 0, max_wait: 0s}
    retry: {initial_backoff: 2s, max_backoff: 1s}
    ready_after_failing: 0s
`,
		want: []string{
			`c.yaml:1: drain_timeout: must be more than 0, not 0s`,
			`c.yaml:5: source "a": max_open_files: want at least 1, not 0`,
			`c.yaml:6: source "a": rotate_wait: must not be negative`,
			`c.yaml:7: source "a": fingerprint_bytes: want 16 to 65536, not 8`,
			`c.yaml:8: source "a": max_line_bytes: 10B is too small; want at least 1KiB`,
			`c.yaml:9: source "a": scan_interval: 1ns is too short; want at least 10ms (each scan reads the globs and stats every open file)`,
			`c.yaml:13: sink "s": batch.max_records: want at least 1, not 0`,
			`c.yaml:13: sink "s": batch.max_bytes: 0B is too small; want at least 1KiB`,
			`c.yaml:13: sink "s": batch.max_wait: must be more than 0, not 0s`,
			`c.yaml:14: sink "s": retry.max_backoff: 1s is less than retry.initial_backoff (2s)`,
			`c.yaml:15: sink "s": ready_after_failing: must be more than 0, not 0s`,
		},
	}, {
		name: "buffer sizes and fsync_interval",
		yml: sources + sinks + `buffer:
  max_bytes: 1MiB
  segment_bytes: 2MiB
  fsync_interval: 5s
`,
		want: []string{
			`c.yaml:5: buffer.segment_bytes: 2MiB is more than buffer.max_bytes (1MiB)`,
			`c.yaml:6: buffer.fsync_interval applies only to fsync: interval, not batch`,
		},
	}, {
		name: "listen",
		yml:  sources + sinks + "server: {listen: 9110}\n",
		want: []string{`c.yaml:3: server.listen: "9110": want host:port or :port`},
	}, {
		// config21 F3: validate said ok, run failed at start.
		name: "listen on digits that are no address",
		yml:  sources + sinks + "server: {listen: \"999.1.1.1:9110\"}\n",
		want: []string{`c.yaml:3: server.listen: "999.1.1.1:9110": 999.1.1.1 is not an IP address`},
	}, {
		name: "data_dir a file",
		yml:  "data_dir: /dev/null/data\n" + sources + sinks,
		want: []string{`c.yaml:1: data_dir: /dev/null is not a directory`},
	}, {
		name: "env",
		yml: `data_dir: ${DATA_DIR}
sources:
  - name: a
    paths: ["${LOGS}/*.log", "${1}", "${OPEN"]
` + sinks,
		want: []string{
			`c.yaml:1: data_dir: environment variable DATA_DIR is not set (write ${DATA_DIR:-default} to give a default)`,
			`c.yaml:4: sources[0].paths[0]: environment variable LOGS is not set (write ${LOGS:-default} to give a default)`,
			`c.yaml:4: sources[0].paths[1]: invalid variable reference "${1}": want ${NAME} or ${NAME:-default} (write $${ for a literal ${)`,
			`c.yaml:4: sources[0].paths[2]: unterminated "${OPEN": close it with } or write $$ for a literal $`,
		},
	}, {
		name: "sink type keys",
		yml: sources + `sinks:
  - name: debug
    type: stdout
    pretty: true
  - name: l
    type: loki
    urll: http://loki:3100
    max_wait: 1s
    batch: {max_recs: 1}
`,
		want: []string{
			`c.yaml:5: unknown key "pretty" in sink "debug"; did you mean "retry"?`,
			`c.yaml:6: sink "l": url: required`,
			`c.yaml:8: unknown key "urll" in sink "l"; did you mean "url"?`,
			`c.yaml:9: unknown key "max_wait" in sink "l"`,
			`c.yaml:10: unknown key "batch.max_recs" in sink "l"; did you mean "batch.max_records"?`,
		},
	}, {
		name: "sink type value errors",
		yml: sources + `sinks:
  - name: l
    type: loki
    url: ftp://loki
    timeout: soon
    labels: {"bad-label": x}
`,
		want: []string{
			`c.yaml:5: sink "l": url "ftp://loki": scheme must be http or https`,
			`c.yaml:6: sink "l": timeout: want a duration such as "250ms", "5s" or "1m", not "soon"`,
			`c.yaml:7: sink "l": labels: "bad-label" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`,
		},
	}, {
		name: "one mistake, one message",
		yml: `sources:
  - {name: a, paths: [/a], format: [nginx], max_line_bytes: {a: 1}}
sinks:
  - {name: s, type: [stdout], url: x}
`,
		want: []string{
			`c.yaml:2: source "a": format: want a string, not a list`,
			`c.yaml:2: source "a": max_line_bytes: want a size such as "512", "64KiB" or "1GiB", not a mapping`,
			`c.yaml:4: sink "s": type: want a string, not a list`,
		},
	}, {
		name: "merge keys",
		yml: sources + `defaults: &d {type: stdout}
sinks:
  - <<: *d
    name: s
`,
		want: []string{
			`c.yaml:2: unknown key "defaults"`,
			`c.yaml:4: sink "s": merge keys (<<) are not supported; repeat the keys or use an anchor for the whole value`,
			`c.yaml:4: sink "s": type: required; want one of stdout, elasticsearch, loki`,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("c.yaml", []byte(tc.yml), env(tc.env))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a Config with an error")
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want *Errors", err)
			}
			var got []string
			for _, e := range *errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
			if err.Error() != strings.Join(got, "\n") {
				t.Errorf("Error() = %q, want the messages joined by newlines", err.Error())
			}
		})
	}
}

// TestAnchors: an anchored value may be reused whole with an alias.
func TestAnchors(t *testing.T) {
	cfg := mustParse(t, `sources:
  - name: a
    paths: &p ["/a/*.log"]
    fields: &f {env: prod}
  - name: b
    paths: *p
    fields: *f
sinks: [{name: s, type: stdout}]
`, nil)
	if got := cfg.Sources[1].Paths; !reflect.DeepEqual(got, []string{"/a/*.log"}) {
		t.Errorf("aliased paths = %q", got)
	}
	if got := cfg.Sources[1].Fields["env"]; got != "prod" {
		t.Errorf("aliased fields = %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "sidetrail.yaml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(good, nil)
	if err != nil {
		t.Fatalf("Load(good): %v", err)
	}
	if cfg.File != good || cfg.Sources[0].Name != "app" {
		t.Errorf("Load(good) = %+v", cfg)
	}
	missing := filepath.Join(dir, "missing.yaml")
	for _, tc := range []struct{ path, want string }{
		{missing, missing + ": no such file"},
		{dir, dir + ": is a directory, not a configuration file"},
		{empty, empty + ":1: empty configuration: want at least sources and sinks"},
	} {
		_, err := Load(tc.path, nil)
		var errs *Errors
		if !errors.As(err, &errs) || err.Error() != tc.want {
			t.Errorf("Load(%s) = %v (%T), want *Errors %q", tc.path, err, err, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"paths", "exclude", "format", "log_format", "max_line_bytes"}
	for key, want := range map[string]string{
		"pathz": "paths", "path": "paths", "excludes": "exclude", "logFormat": "log_format",
		"max-line-bytes": "max_line_bytes", "frmat": "format", "colour": "", "x": "",
	} {
		if got := suggest(key, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestByteSizeAndDurationDecode(t *testing.T) {
	// yaml.v3 decodes "5s" into time.Duration itself, and a plain integer
	// is refused (ambiguous unit); sizes go through ByteSize.UnmarshalText.
	cfg := mustParse(t, minimal+"buffer: {max_bytes: 1073741824, segment_bytes: 10MB}\ndrain_timeout: 1m30s\n", nil)
	if cfg.Buffer.MaxBytes != sidetrail.ByteSize(1<<30) || cfg.Buffer.SegmentBytes != 10e6 || cfg.DrainTimeout != 90*time.Second {
		t.Errorf("got max_bytes %d, segment_bytes %d, drain_timeout %v", cfg.Buffer.MaxBytes, cfg.Buffer.SegmentBytes, cfg.DrainTimeout)
	}
}

func TestSlogLevel(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		if got := (Log{Level: l}).SlogLevel().String(); !strings.EqualFold(got, l) {
			t.Errorf("SlogLevel(%s) = %s", l, got)
		}
	}
}

// A default is expanded like the rest: a nested ${…} and $$ (config12 F8:
// ${X:-${Y}} shipped the text "${Y}", and $$ in a default stayed $$).
func TestEnvDefaultExpanded(t *testing.T) {
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"Y": "/y", "EMPTY": ""}[k]
		return v, ok
	}
	for in, want := range map[string]string{
		"${X:-${Y}}":          "/y",
		"${X:-${Z:-/z}}/a":    "/z/a",
		"${X:-$$HOME}":        "$HOME",
		"${X:-a}b}":           "ab}",
		"${EMPTY:-${Y}}${Y}":  "/y/y",
		"${X:-$${Y}}":         "${Y}",
		"${X:-{curly\\}}}-ok": "{curly\\}}-ok",
	} {
		got, problems := expand(in, lookup)
		if got != want || len(problems) > 0 {
			t.Errorf("expand(%q) = %q %q, want %q", in, got, problems, want)
		}
	}
	if _, problems := expand("${X:-${NOPE}}", lookup); len(problems) != 1 || !strings.Contains(problems[0], "NOPE") {
		t.Errorf("an unset variable in a default: %q", problems)
	}
}

// A trailing "---", with comments at most after it, is no second document
// (config12 F9).
func TestTrailingDocumentMarker(t *testing.T) {
	for _, tail := range []string{"---\n", "---\n# nothing more\n", "---"} {
		mustParse(t, minimal+tail, nil)
	}
	if _, err := Parse("c.yaml", []byte(minimal+"---\n~\n"), env(nil)); err == nil {
		t.Fatal("a second document holding null was accepted")
	}
}

// A crafted file fails fast: defaults nested deep (80,000 levels took 46 s)
// and a file without end (/dev/zero was read until the memory ran out;
// ops18 F4).
func TestCraftedConfigFailsFast(t *testing.T) {
	deep := strings.Repeat("${U:-", 20000) + "5s" + strings.Repeat("}", 20000)
	start := time.Now()
	_, err := Parse("c.yaml", []byte(minimal+"drain_timeout: \""+deep+"\"\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "nest more than") || time.Since(start) > 5*time.Second {
		t.Errorf("nested defaults: %v after %v", err, time.Since(start))
	}
	if _, err := Parse("c.yaml", []byte(minimal+"drain_timeout: \"${U:-${V:-7s}}\"\n"), env(nil)); err != nil {
		t.Errorf("two levels: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := Load("/dev/zero", nil); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}
