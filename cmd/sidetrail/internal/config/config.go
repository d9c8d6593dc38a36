package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	sidetrail "github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/sinks/elasticsearch"
	"github.com/sidetrail/sidetrail/sinks/loki"
)

// Config is a whole configuration file, decoded, defaulted and validated.
// A *Config returned by Load or Parse is complete: every field documented
// with a default holds that default when the file left its key out. A key
// that is present is validated as written (max_open_files: 0 is an error,
// not the default). It is a plain value; callers may read it from any number
// of goroutines and must not modify it while others read it.
type Config struct {
	// DataDir holds the disk buffer and the tailer's checkpoints
	// (default /var/lib/sidetrail).
	DataDir string `yaml:"data_dir"`
	// Log configures the agent's own logs on stderr.
	Log Log `yaml:"log"`
	// DrainTimeout is how long, after SIGTERM, the agent keeps delivering
	// what is in flight before it exits (default 10s). Undelivered records
	// stay in the disk buffer for the next start.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Sources are the log files to tail; at least one, names unique.
	Sources []Source `yaml:"sources"`
	// Redact are the redaction rules applied to every record before it is
	// buffered, in order (default none). Each item decodes into a
	// redact.Rule; redact.New checks them.
	Redact []redact.Rule `yaml:"redact"`
	// Buffer configures the crash-safe disk queue.
	Buffer Buffer `yaml:"buffer"`
	// Sinks are the backends every record is shipped to; at least one,
	// names unique.
	Sinks []Sink `yaml:"sinks"`
	// Server configures the HTTP endpoints /metrics, /healthz and /readyz.
	Server Server `yaml:"server"`

	// File is the name the configuration was loaded from, as given to
	// Load or Parse. Not a YAML key.
	File string `yaml:"-"`
	// RedactLines[i] is the line of Redact[i] in File, for error messages
	// of code that builds the rules. Not a YAML key.
	RedactLines []int `yaml:"-"`
}

// Log configures the agent's own logs, written to stderr.
type Log struct {
	// Level is debug, info, warn or error (default info).
	Level string `yaml:"level"`
	// Format is text (slog.TextHandler) or json (slog.JSONHandler)
	// (default text).
	Format string `yaml:"format"`
}

// SlogLevel returns Level as a slog.Level; an invalid Level (which
// validation rejects) gives slog.LevelInfo.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Source formats.
const (
	FormatRaw        = "raw"
	FormatJSON       = "json"
	FormatNginx      = "nginx"
	FormatNginxError = "nginx_error"
)

// Source is one set of log files read with one format.
type Source struct {
	// Name identifies the source in records ("source" field), metrics and
	// checkpoints; required, unique, made of [A-Za-z0-9_.-].
	Name string `yaml:"name"`
	// Paths are glob patterns (filepath.Match syntax) of the files to
	// tail; at least one.
	Paths []string `yaml:"paths"`
	// Exclude are glob patterns of files to skip even when Paths match
	// them, matched against the base name and the full path (default
	// none).
	Exclude []string `yaml:"exclude"`
	// Format is raw, json, nginx or nginx_error (default raw).
	Format string `yaml:"format"`
	// LogFormat is, for format nginx only, "combined", "main" or the
	// log_format string pasted from nginx.conf (default combined).
	LogFormat string `yaml:"log_format"`
	// TimeKey is, for format json only, the key holding the event time
	// (default "": the parser takes the first present of @timestamp, time,
	// timestamp and ts).
	TimeKey string `yaml:"time_key"`
	// TimeFormat is, for format json only, how TimeKey's value is written:
	// rfc3339, unix, unix_ms, unix_us, unix_ns or a Go layout (default "":
	// RFC 3339 strings, Unix numbers with the unit guessed).
	TimeFormat string `yaml:"time_format"`
	// Timezone is, for format nginx_error only, the zone of the error
	// log's zoneless timestamps: an IANA name or Local (default "": UTC).
	Timezone string `yaml:"timezone"`
	// StartAt is beginning or end: where to start in the files present at
	// the very first start, when there is no checkpoint yet (default
	// beginning). Files that appear later are always read from the
	// beginning; files with a checkpoint resume from it.
	StartAt string `yaml:"start_at"`
	// Fields are static string fields added to every record of the source
	// (default none). A dotted name becomes nested objects. Names must not
	// collide with the record's own keys (@timestamp, message, source,
	// log.file.path, log.offset, log.flags, or a parent or child of one).
	Fields map[string]string `yaml:"fields"`
	// MaxLineBytes bounds a line; longer lines are split into flagged
	// fragments (default 1MiB).
	MaxLineBytes sidetrail.ByteSize `yaml:"max_line_bytes"`
	// Workers is how many goroutines parse, redact and encode the
	// source's lines (default 1, at most 16). Records keep the order of
	// their lines.
	Workers int `yaml:"workers"`
	// ScanInterval is how often the paths are globbed and open files
	// checked, whatever inotify says (default 250ms).
	ScanInterval time.Duration `yaml:"scan_interval"`
	// Poll disables inotify and relies on scanning alone, for file systems
	// without inotify (default false).
	Poll bool `yaml:"poll"`
	// RotateWait is how long a rotated file that was read to its end stays
	// open in case its writer appends more (default 5s).
	RotateWait time.Duration `yaml:"rotate_wait"`
	// MaxOpenFiles bounds the files held open by the source, rotated and
	// deleted ones included (default 1024).
	MaxOpenFiles int `yaml:"max_open_files"`
	// FingerprintBytes is how many head bytes identify a file together
	// with its device and inode (default 1024).
	FingerprintBytes int `yaml:"fingerprint_bytes"`

	// Line is the line of the source's item in the file. Not a YAML key.
	Line int `yaml:"-"`
}

// Buffer when_full and fsync values.
const (
	WhenFullBlock      = "block"
	WhenFullDropOldest = "drop_oldest"
	FsyncBatch         = "batch"
	FsyncAlways        = "always"
	FsyncInterval      = "interval"
)

// Buffer configures the segmented disk queue between the sources and the
// sinks.
type Buffer struct {
	// MaxBytes bounds the buffer on disk (default 1GiB).
	MaxBytes sidetrail.ByteSize `yaml:"max_bytes"`
	// SegmentBytes is the size at which a segment file is closed and a new
	// one started (default 16MiB); at most MaxBytes.
	SegmentBytes sidetrail.ByteSize `yaml:"segment_bytes"`
	// WhenFull is what happens at MaxBytes: block (stop reading the files,
	// lose nothing) or drop_oldest (delete the oldest unacked segment,
	// counted) (default block).
	WhenFull string `yaml:"when_full"`
	// Fsync is when appends are made durable: batch (once per appended
	// batch), always (every record) or interval (every FsyncInterval)
	// (default batch).
	Fsync string `yaml:"fsync"`
	// FsyncInterval is the period for fsync: interval (default 1s); it is
	// an error to set it with another fsync mode.
	FsyncInterval time.Duration `yaml:"fsync_interval"`
}

// Sink types.
const (
	SinkStdout        = "stdout"
	SinkElasticsearch = "elasticsearch"
	SinkLoki          = "loki"
)

// Sink is one backend. Name, Type, Batch, Retry and ReadyAfterFailing are
// common to every type; the remaining keys of the sink's YAML item are the
// type's own and are decoded, strictly, into exactly one of Stdout,
// Elasticsearch or Loki (the one Type names; the others are nil).
type Sink struct {
	// Name identifies the sink in metrics, dead-letter files and the
	// buffer's cursors; required, unique, made of [A-Za-z0-9_.-].
	Name string `yaml:"name"`
	// Type is stdout, elasticsearch or loki; required.
	Type string `yaml:"type"`
	// Batch bounds what the shipper sends in one request.
	Batch Batch `yaml:"batch"`
	// Retry is the backoff between attempts; retries are unlimited.
	Retry Retry `yaml:"retry"`
	// ReadyAfterFailing is how long the sink may fail continuously before
	// /readyz reports the agent unready (default 5m).
	ReadyAfterFailing time.Duration `yaml:"ready_after_failing"`
	// DeadLetter bounds the sink's dead-letter file.
	DeadLetter DeadLetter `yaml:"dead_letter"`

	// Line is the line of the sink's item in the file. Not a YAML key.
	Line int `yaml:"-"`
	// Stdout is set when Type is stdout.
	Stdout *StdoutConfig `yaml:"-"`
	// Elasticsearch is set when Type is elasticsearch.
	Elasticsearch *elasticsearch.Config `yaml:"-"`
	// Loki is set when Type is loki.
	Loki *loki.Config `yaml:"-"`
}

// StdoutConfig is the stdout sink's own configuration: it has no keys.
type StdoutConfig struct{}

// Batch bounds one request to a sink; a batch is sent when any bound is
// reached.
type Batch struct {
	// MaxRecords is the most records in one request (default 1000).
	MaxRecords int `yaml:"max_records"`
	// MaxBytes is the most encoded bytes in one request (default 5MiB).
	MaxBytes sidetrail.ByteSize `yaml:"max_bytes"`
	// MaxWait is how long a partial batch waits for more records
	// (default 200ms).
	MaxWait time.Duration `yaml:"max_wait"`
}

// DeadLetter bounds a sink's dead-letter file (data_dir/deadletter/<sink>.ndjson).
type DeadLetter struct {
	// MaxBytes is the most the file may hold (default 64MiB): records
	// rejected once it is full are discarded and counted.
	MaxBytes sidetrail.ByteSize `yaml:"max_bytes"`
}

// Retry is a sink's exponential backoff between failed attempts.
type Retry struct {
	// InitialBackoff is the wait after the first failure (default 250ms).
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait (default 30s); at least InitialBackoff.
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// Server configures the agent's HTTP endpoints.
type Server struct {
	// Listen is the host:port of /metrics, /healthz and /readyz
	// (default ":9110" when the key is absent). An explicit "" runs no
	// HTTP server.
	Listen string `yaml:"listen"`
}

// Error is one problem in a configuration file. Line is 1-based; 0 means
// the problem concerns the file as a whole (it could not be read).
type Error struct {
	File string
	Line int
	Msg  string
}

// Error formats e as "file:line: message" ("file: message" without a line).
func (e Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors is every problem found in one file, sorted by line. Load and
// Parse return it as an *Errors.
type Errors []Error

// Error formats every problem, one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// As lets errors.As fill an Errors value as well as an *Errors from the
// *Errors that Load and Parse return.
func (es *Errors) As(target any) bool {
	if t, ok := target.(*Errors); ok {
		*t = *es
		return true
	}
	return false
}

// maxConfigBytes bounds a configuration file; real ones are a few KiB.
const maxConfigBytes = 4 << 20

// Load reads the file at path and parses it with Parse. lookupEnv resolves
// ${VAR} references (os.LookupEnv in production; nil means no variable is
// set). It reads only that file and blocks only on reading it.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	fail := func(err error) (*Config, error) {
		msg := err.Error()
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			msg = pe.Err.Error() // the path is already in front
		}
		return nil, &Errors{{File: path, Msg: msg}}
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(errors.New("no such file"))
	case err != nil:
		return fail(err)
	case info.IsDir():
		return fail(errors.New("is a directory, not a configuration file"))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	// Bounded: /dev/zero was read until the memory ran out (ops18 F4).
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return fail(err)
	}
	if len(data) > maxConfigBytes {
		return fail(fmt.Errorf("larger than %d MiB: not a configuration file", maxConfigBytes>>20))
	}
	return Parse(path, data, lookupEnv)
}

// Parse decodes, expands, defaults and validates the YAML configuration in
// data; filename is used only in error messages. lookupEnv resolves ${VAR}
// references (nil means no variable is set). On failure the error is an
// *Errors holding every problem found; the *Config is then nil. Parse keeps
// no reference to data. Like run, validation reads the files the
// configuration names (redaction key_file, the sinks' password, token and
// TLS files) to check them; it opens nothing else and starts nothing.
// Parse is safe to call from any number of goroutines.
func Parse(filename string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	p := &parser{file: filename, lookupEnv: lookupEnv, lines: make(map[any]int),
		bad: make(map[any]bool), dirty: make(map[any]bool), badNodes: make(map[*yaml.Node]bool)}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		errs := p.errs
		return nil, &errs
	}
	return cfg, nil
}

// parser holds the state of one Parse call.
type parser struct {
	file      string
	lookupEnv func(string) (string, bool)
	errs      Errors
	// lines maps the address of a decoded field (or of a list item) to the
	// line of its key (or item) in the file; validation reads it to put
	// the right line on its messages and to tell "absent" from "zero".
	lines map[any]int
	// bad holds the addresses of fields (and list items) whose value was
	// already reported while decoding; validation says nothing more about
	// them, so one mistake makes one message.
	bad map[any]bool
	// dirty holds the addresses of every value, structs included, inside
	// which decoding reported a problem.
	dirty map[any]bool
	// badNodes are scalars whose ${VAR} expansion failed.
	badNodes map[*yaml.Node]bool
	// failures counts decoding problems, to tell which field had one.
	failures int
	// depth, nodes and tooBig bound the decoding walk (see maxDepth).
	depth, nodes int
	tooBig       bool
}

// errorf records a problem at line; a negative line (see line) means the
// value was already reported and drops it.
func (p *parser) errorf(line int, format string, args ...any) {
	if line < 0 {
		return
	}
	p.errs = append(p.errs, Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// line returns the line recorded for ptr, else for the first of fallbacks
// that has one, else 1. It returns -1, which errorf drops, when ptr's value
// already had a decoding error.
func (p *parser) line(ptr any, fallbacks ...any) int {
	if p.bad[ptr] {
		return -1
	}
	if l, ok := p.lines[ptr]; ok {
		return l
	}
	for _, f := range fallbacks {
		if l, ok := p.lines[f]; ok {
			return l
		}
	}
	return 1
}

// set reports whether the file wrote the key decoded into ptr.
func (p *parser) set(ptr any) bool {
	_, ok := p.lines[ptr]
	return ok
}

// badText finds the first byte of data YAML refuses as text: one that is
// not UTF-8, or a control character but tab, line feed and carriage
// return. yaml.v3 names line 1 for either, wherever it is (config21 C1: a
// byte on line 8 reported on line 1). It returns the line and a message,
// or 0.
func badText(data []byte) (int, string) {
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				line++
			case c < ' ' && c != '\t' && c != '\r' || c == 0x7f:
				return line, fmt.Sprintf("invalid YAML: control character 0x%02X (only tab, line feed and carriage return are allowed)", c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return line, fmt.Sprintf("invalid YAML: byte 0x%02X is not UTF-8 (save the file as UTF-8)", c)
		}
		i += n
	}
	return 0, ""
}

func (p *parser) parse(data []byte) *Config {
	if len(bytes.TrimSpace(data)) == 0 {
		p.errorf(1, "empty configuration: want at least sources and sinks")
		return nil
	}
	if line, msg := badText(data); line > 0 {
		p.errorf(line, "%s", msg)
		return nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		p.errorf(1, "empty configuration: want at least sources and sinks")
		return nil
	} else if err != nil {
		p.yamlError(err, data)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil && emptyDocument(&extra):
		// A trailing "---" (with comments at most): nothing more.
	case err == nil:
		p.errorf(extra.Line, "a second YAML document: the configuration is one document")
		return nil
	case !errors.Is(err, io.EOF):
		p.yamlError(err, data)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(1, "empty configuration: want at least sources and sinks")
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		p.errorf(root.Line, "empty configuration: want at least sources and sinks")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root.Line, "the configuration must be a mapping of keys (data_dir, sources, sinks, ...), not %s", kindName(root))
		return nil
	}
	p.expandEnv(root)
	cfg := &Config{File: p.file}
	p.lines[cfg] = root.Line
	p.decode(root, reflectValue(cfg), place{})
	p.applyDefaults(cfg)
	p.validate(cfg)
	return cfg
}

// emptyDocument reports whether n, a decoded document, holds nothing: a
// trailing "---", comments at most.
func emptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	if len(n.Content) > 1 {
		return false
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null" && c.Value == ""
}

// yamlParserProblems are the problems yaml.v3's parser (not its scanner)
// reports. It gives their line counted from 0, and for all but the first
// two the line where the enclosing block or flow starts, not the line of
// the mistake (a key mis-indented on line 4 is "line 2").
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
	"found duplicate %TAG directive":         true,
}

// yamlError turns a YAML syntax error into an Error with its line.
func (p *parser) yamlError(err error, data []byte) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, m := range te.Errors {
			line, rest := splitLine(m)
			p.errorf(line, "%s", rest)
		}
		return
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line, rest := splitLine(msg)
	if yamlParserProblems[rest] && strings.HasPrefix(msg, "line ") {
		// Counted from 0; the end of the file counts as a line past
		// the last.
		line = min(line+1, max(1, bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n"))+1))
		if strings.HasPrefix(rest, "did not find expected") && !strings.HasSuffix(rest, "start>") {
			p.errorf(line, "invalid YAML in what starts on this line (the mistake is here or below): %s", rest)
			return
		}
	}
	p.errorf(line, "invalid YAML: %s", rest)
}

// splitLine splits yaml.v3's "line N: message" into N and message.
func splitLine(msg string) (int, string) {
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 && line >= 1 {
		if i := strings.IndexByte(msg, ':'); i >= 0 {
			return line, strings.TrimSpace(msg[i+1:])
		}
	}
	return 1, msg
}
