package parser

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sidetrail/sidetrail"
)

// Format names accepted in Config.Format.
const (
	FormatRaw        = "raw"
	FormatJSON       = "json"
	FormatNginx      = "nginx"
	FormatNginxError = "nginx_error"
)

// Config selects and configures a parser. The zero value is the raw parser.
type Config struct {
	// Format is "raw" (default), "json", "nginx" or "nginx_error".
	Format string
	// LogFormat is, for nginx, "combined" (default), "main", or a log_format
	// body pasted from nginx.conf: several quoted pieces joined, an optional
	// leading `escape=default|json|none`, optionally with the leading
	// `log_format NAME` and the trailing `;`. A string that is not made of
	// quoted pieces is taken verbatim as the format (as if it were one
	// quoted piece).
	LogFormat string
	// TimeKey is, for json, the key holding the event time. Default: the
	// first present of "@timestamp", "time", "timestamp", "ts" (in that order
	// of preference).
	TimeKey string
	// TimeFormat is, for json, how TimeKey's value is written: "rfc3339",
	// "unix", "unix_ms", "unix_us", "unix_ns" or a Go layout. Default (""):
	// RFC 3339 for strings; for numbers (or numeric strings) Unix time whose
	// unit is guessed from the magnitude (s, ms, µs or ns).
	TimeFormat string
	// Timezone is, for nginx_error, the zone of its zoneless timestamps,
	// and for json, of a TimeFormat Go layout's: "UTC" (default), "Local"
	// or an IANA name ("Europe/Berlin"). A layout with a zone abbreviation
	// (MST) reads it as this zone knows it.
	Timezone string
}

// Parser turns one log line into fields.
//
// Parse parses line into rec: it appends fields to rec.Fields (their values
// point into line or into rec.Scratch, which Parse may append to; nothing
// is retained after Parse returns) and sets rec.Time if the line carries a
// time. rec.Message is set by the caller. A trailing "\n" or "\r\n" in line
// is ignored. On failure Parse returns a *Error and leaves rec.Fields,
// rec.Time and len(rec.Scratch) as they were on entry.
//
// Parse never blocks and does no I/O. A Parser keeps per-line scratch state
// and is NOT safe for concurrent use: give each goroutine its own (New is
// cheap).
type Parser interface {
	Parse(line []byte, rec *sidetrail.Record) error
}

// New returns the parser cfg describes. A bad log_format gives a
// *SyntaxError; other configuration errors are plain errors.
func New(cfg Config) (Parser, error) {
	switch strings.ToLower(strings.TrimSpace(cfg.Format)) {
	case "", FormatRaw:
		return Raw{}, nil
	case FormatJSON:
		return newJSON(cfg)
	case FormatNginx:
		return newNginx(cfg.LogFormat)
	case FormatNginxError:
		return newNginxError(cfg.Timezone)
	}
	return nil, fmt.Errorf("unknown format %q (want raw, json, nginx or nginx_error)", cfg.Format)
}

// Raw is the raw parser: it adds no fields, sets no time and never fails.
// It is stateless and safe for concurrent use.
type Raw struct{}

// Parse does nothing and returns nil.
func (Raw) Parse([]byte, *sidetrail.Record) error { return nil }

// Error is the failure to parse one line. It is returned by Parse; the line
// is then shipped raw, marked sidetrail.FlagParseFailure. Building one does
// not format any text: Error() does that when asked.
type Error struct {
	// Format is the parser's format ("nginx", "json", "nginx_error").
	Format string
	// Offset is the byte offset in the line where parsing gave up (-1 when
	// not known).
	Offset int
	// Msg is a static description ("no match for log_format", "invalid
	// JSON").
	Msg     string
	guessed bool // see Guessed
}

// Guessed reports that the line was too ambiguous to split (a client's
// value holding the literal after it hundreds of times), and that rec holds
// the fields of the first split found, the time left zero; or that it was
// JSON nested deeper than the parser follows, with its fields. They do not
// ship; they are there for the redaction of the message, which field rules
// could not reach in such a line: a client chose, with one header or by
// nesting its body deep, that its line's protected values shipped in clear
// (parser17 A2, parser19 J1).
func (e *Error) Guessed() bool { return e.guessed }

func (e *Error) Error() string {
	s := e.Format + ": " + e.Msg
	if e.Offset >= 0 {
		s += " at byte " + strconv.Itoa(e.Offset)
	}
	return s
}

func newError(format string, off int, msg string) *Error {
	return &Error{Format: format, Offset: off, Msg: msg}
}

// SyntaxError is a bad log_format. Line and Column (both 1-based, Column in
// bytes) locate the problem in Config.LogFormat.
type SyntaxError struct {
	Line   int
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Line > 1 {
		return fmt.Sprintf("log_format line %d column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("log_format column %d: %s", e.Column, e.Msg)
}

// syntaxErrorAt builds a SyntaxError for byte offset off of src.
func syntaxErrorAt(src string, off int, msg string) *SyntaxError {
	off = max(0, min(off, len(src)))
	line := 1 + strings.Count(src[:off], "\n")
	col := off - (strings.LastIndexByte(src[:off], '\n') + 1) + 1
	return &SyntaxError{Line: line, Column: col, Msg: msg}
}

// trimEOL drops one trailing "\n" or "\r\n".
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// addField appends a field to rec, as rec.Add does, but writes it in place:
// building the Field first and copying it costs a store-forwarding stall
// per field on amd64, a measurable part of a parser's time.
func addField(rec *sidetrail.Record, key string, kind sidetrail.Kind, value []byte) {
	n := len(rec.Fields)
	if n < cap(rec.Fields) {
		rec.Fields = rec.Fields[:n+1]
	} else {
		rec.Fields = append(rec.Fields, sidetrail.Field{})
	}
	f := &rec.Fields[n]
	f.Key = key
	f.Kind = kind
	f.Value = value
}

// unixTime converts seconds and nanoseconds to a UTC time.Time without
// allocating.
func unixTime(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }

// fixPathConflicts renames fields whose dotted names cannot coexist as
// nested objects: with "a" and "a.b" both present, "a" would be a value and
// an object at once (the encoder would write the key twice, Elasticsearch
// would reject the document). The deeper name gives way, by the JSON
// parser's rule (pathTable.fix): its dots become '_' ("a_b"), with '_'
// appended until the name is unused. For the nginx parsers, where dotted
// names are rare: it allocates its scratch each call.
func fixPathConflicts(fs []sidetrail.Field) {
	t := pathTable{small: smallPaths}
	t.fix(fs, nil)
}
