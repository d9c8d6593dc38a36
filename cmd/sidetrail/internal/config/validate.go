package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sidetrail/sidetrail"
	logparser "github.com/sidetrail/sidetrail/parser"
)

// validate reports every problem in the defaulted c, each on the line of
// the key at fault (or of its item when the key is absent).
func (p *parser) validate(c *Config) {
	if c.DataDir == "" {
		p.errorf(p.line(&c.DataDir, c), "data_dir: must not be empty")
	} else if err := checkDataDir(c.DataDir); err != nil {
		p.errorf(p.line(&c.DataDir, c), "data_dir: %v", err)
	}
	p.oneOf(p.line(&c.Log.Level, &c.Log, c), "log.level", c.Log.Level, "debug", "info", "warn", "error")
	p.oneOf(p.line(&c.Log.Format, &c.Log, c), "log.format", c.Log.Format, "text", "json")
	p.positive(p.line(&c.DrainTimeout, c), "drain_timeout", c.DrainTimeout)

	if len(c.Sources) == 0 {
		p.errorf(p.line(&c.Sources, c), "sources: want at least one source")
	}
	names := make(map[string]int)
	for i := range c.Sources {
		p.validateSource(&c.Sources[i], i, names)
	}

	p.validateRedact(c)
	p.validateRuleFields(c)
	p.validateBuffer(c)

	if len(c.Sinks) == 0 {
		p.errorf(p.line(&c.Sinks, c), "sinks: want at least one sink")
	}
	names = make(map[string]int)
	for i := range c.Sinks {
		p.validateSink(&c.Sinks[i], i, names)
	}

	if l := c.Server.Listen; l != "" {
		if err := checkListen(l); err != nil {
			p.errorf(p.line(&c.Server.Listen, &c.Server, c), "server.listen: %v", err)
		}
	}
}

// label names list item i for messages: `source "nginx"` or `source #2`.
func label(word, name string, i int) string {
	if name == "" {
		return fmt.Sprintf("%s #%d", word, i+1)
	}
	return fmt.Sprintf("%s %q", word, name)
}

func (p *parser) validateSource(s *Source, i int, names map[string]int) {
	at := label("source", s.Name, i)
	line := func(ptr any) int { return p.line(ptr, s) }
	p.checkName(line(&s.Name), at, s.Name, names)

	if len(s.Paths) == 0 {
		p.errorf(line(&s.Paths), "%s: paths: want at least one glob pattern", at)
	}
	for j, pat := range s.Paths {
		p.checkGlob(p.line(&s.Paths[j], &s.Paths, s), at, "paths", pat)
	}
	for j, pat := range s.Exclude {
		p.checkGlob(p.line(&s.Exclude[j], &s.Exclude, s), at, "exclude", pat)
	}

	parserOK := false
	if p.oneOf(line(&s.Format), at+": format", s.Format, FormatRaw, FormatJSON, FormatNginx, FormatNginxError) {
		only := func(ptr any, key, format string) bool {
			if p.set(ptr) && s.Format != format {
				p.errorf(line(ptr), "%s: %s applies only to format %s, not %s", at, key, format, s.Format)
				return false
			}
			return true
		}
		ok := only(&s.LogFormat, "log_format", FormatNginx)
		ok = only(&s.TimeKey, "time_key", FormatJSON) && ok
		ok = only(&s.TimeFormat, "time_format", FormatJSON) && ok
		// Written empty, these took their default silently (user23
		// P4), where format: "" is refused: an unset variable in
		// "${NGINX_LOG_FORMAT}" ran combined.
		for _, k := range []struct {
			ptr  *string
			name string
		}{{&s.LogFormat, "log_format"}, {&s.TimeKey, "time_key"}, {&s.TimeFormat, "time_format"}, {&s.Timezone, "timezone"}} {
			if p.set(k.ptr) && *k.ptr == "" {
				p.errorf(line(k.ptr), "%s: %s: empty; leave the key out for its default", at, k.name)
				ok = false
			}
		}
		if s.Format != FormatJSON && s.Format != FormatNginxError && p.set(&s.Timezone) {
			// json: with a time_format layout (the parser says so).
			p.errorf(line(&s.Timezone), "%s: timezone applies only to format nginx_error, or json with a time_format layout; not %s", at, s.Format)
			ok = false
		}
		if ok {
			// The parser is the judge of log_format, time_format and
			// timezone: build one as run would.
			if err := checkParser(s); err != nil {
				ptr := map[string]any{FormatNginx: &s.LogFormat, FormatJSON: &s.TimeFormat,
					FormatNginxError: &s.Timezone}[s.Format]
				if s.Format == FormatJSON && strings.HasPrefix(err.Error(), "timezone") {
					ptr = &s.Timezone
				}
				if ptr == nil || !p.set(ptr) {
					ptr = &s.Format
				}
				p.errorf(line(ptr), "%s: %s", at, oneLine(err))
			} else {
				parserOK = true
			}
		}
	}
	p.oneOf(line(&s.StartAt), at+": start_at", s.StartAt, "beginning", "end")
	p.validateFields(s, at, parserOK)
	if s.Workers < 1 || s.Workers > 16 {
		p.errorf(line(&s.Workers), "%s: workers: want 1 to 16, not %d", at, s.Workers)
	}
	if s.MaxLineBytes < 1024 {
		p.errorf(line(&s.MaxLineBytes), "%s: max_line_bytes: %v is too small; want at least 1KiB", at, s.MaxLineBytes)
	}
	if s.ScanInterval < 10*time.Millisecond {
		p.errorf(line(&s.ScanInterval), "%s: scan_interval: %v is too short; want at least 10ms (each scan reads the globs and stats every open file)", at, s.ScanInterval)
	}
	if s.RotateWait < 0 {
		p.errorf(line(&s.RotateWait), "%s: rotate_wait: must not be negative", at)
	}
	if s.MaxOpenFiles < 1 {
		p.errorf(line(&s.MaxOpenFiles), "%s: max_open_files: want at least 1, not %d", at, s.MaxOpenFiles)
	}
	if s.FingerprintBytes < 16 || s.FingerprintBytes > 64<<10 {
		p.errorf(line(&s.FingerprintBytes), "%s: fingerprint_bytes: want 16 to 65536, not %d", at, s.FingerprintBytes)
	}
}

// validateFields checks a source's static fields. The record JSON nests
// dotted names, the parsed fields' too: no name may be another's dotted
// prefix ("a" and "a.b" would make "a" a value and an object at once, a key
// written twice, which Elasticsearch rejects). For format nginx the parsed
// names are known (when its log_format compiles: parserOK), and a static
// field must neither have the name of one nor be above or below one: the
// parsed field would win, and the static one be left out of every record.
// For format nginx_error, the names it always or usually gives count.
func (p *parser) validateFields(s *Source, at string, parserOK bool) {
	keys := slices.Sorted(maps.Keys(s.Fields))
	keyLine := func(k string) int { return p.line(mapEntry{&s.Fields, k}, &s.Fields, s) }
	var parsed []string
	if parserOK && s.Format == FormatNginx {
		parsed, _ = logparser.NginxFieldNames(s.LogFormat)
	}
	if s.Format == FormatNginxError {
		parsed = logparser.NginxErrorFieldNames()
	}
	good := keys[:0:0] // the names not refused already
	for _, k := range keys {
		switch {
		case k == "":
			p.errorf(keyLine(k), "%s: fields: empty field name", at)
		case strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, ".."):
			// Dotted names nest: "a..b" made the name ".b" below "a",
			// which Elasticsearch refuses (user23 P3).
			p.errorf(keyLine(k), "%s: fields: %q has an empty part between its dots", at, k)
		case sidetrail.MeetsRecordKey(k):
			p.errorf(keyLine(k), "%s: fields: %q collides with a key every record has (@timestamp, message, source, log.file.path, log.offset, log.flags)", at, k)
		default:
			good = append(good, k)
		}
	}
	for _, k := range good {
		kl := keyLine(k)
		// Sorted, a name comes before the names below it.
		for _, up := range good {
			if isBelow(k, up) {
				p.errorf(kl, "%s: fields: %q is below %q (line %d): one name cannot hold a value and nested fields", at, k, up, keyLine(up))
			}
		}
		for _, f := range parsed {
			switch {
			case k == f && nginxTimeVars[k]:
				p.errorf(kl, "%s: fields: %q is the log format's event time: a line whose time does not parse keeps it as a field, which would replace this one", at, k)
			case k == f:
				p.errorf(kl, "%s: fields: %q is a field of the log format: the parsed field would replace it", at, k)
			case isBelow(k, f):
				p.errorf(kl, "%s: fields: %q is below %q, a field of the log format: one name cannot hold a value and nested fields", at, k, f)
			case isBelow(f, k):
				p.errorf(kl, "%s: fields: %q is above %q, a field of the log format: one name cannot hold a value and nested fields", at, k, f)
			default:
				continue
			}
			break
		}
	}
}

// validateRuleFields refuses a rule that names a field no source gives,
// when every source's field names are known: nginx access logs (whose
// log_format compiles) and raw lines, with their static fields. A
// misspelt name (remote_adr) matched nothing, and the field shipped
// unredacted. So did `field: message` (the line itself, which value rules
// reach and field rules do not) and a field rule on nginx's time
// variables, which become @timestamp (docs14 F1, redact14 F12). JSON lines
// and nginx error logs may hold any name, and then nothing is refused.
func (p *parser) validateRuleFields(c *Config) {
	if !slices.ContainsFunc(c.Sources, func(s Source) bool { return s.Format == FormatJSON }) {
		// No source has a key "message" of its own: nginx_error's
		// records have none either (regress14 H).
		for i := range c.Redact {
			if r := &c.Redact[i]; !p.dirty[r] && r.Field == "message" {
				p.errorf(p.line(r, &c.Redact, c), "redact rule %d: field \"message\" is the line itself, not a parsed field, on raw, nginx and nginx_error sources: a field rule does not reach it; a pattern or builtin rule does (they run on the message)", i+1)
			}
		}
	}
	known := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		switch s.Format {
		case FormatNginx:
			names, err := logparser.NginxFieldNames(s.LogFormat)
			if err != nil {
				return // reported with the source
			}
			for _, n := range names {
				known[n] = true
			}
		case FormatRaw, "":
		default:
			return
		}
		for k := range s.Fields {
			known[k] = true
		}
	}
	check := func(line, i int, name string, field bool) {
		if name == "" || known[name] && !(field && nginxTimeVars[name]) || name == "message" {
			return // message: see above
		}
		switch {
		case field && nginxTimeVars[name]:
			p.errorf(line, "redact rule %d: field %q is the event time, read into @timestamp, not a field: the rule would match nothing", i+1, name)
			return
		}
		hint := ""
		if near := suggest(name, slices.Sorted(maps.Keys(known))); near != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		} else if strings.Contains(name, ".") {
			hint = " (rules use the parser's names, such as request_uri; ecs: true renames fields in the sink, after redaction)"
		}
		p.errorf(line, "redact rule %d: no source gives a field %q%s: the rule would match nothing", i+1, name, hint)
	}
	for i := range c.Redact {
		r := &c.Redact[i]
		if p.dirty[r] {
			continue
		}
		line := p.line(r, &c.Redact, c)
		check(line, i, r.Field, true)
		for _, f := range r.Fields {
			check(line, i, f, false)
		}
	}
}

// nginxTimeVars are the nginx variables the parser reads the event time
// from: they are no fields (but for a value that does not parse as a time).
var nginxTimeVars = map[string]bool{"time_local": true, "time_iso8601": true, "msec": true}

// isBelow reports whether the field name k is below up: up followed by a
// dot is a prefix of k ("a.b" is below "a", "a.b.c" below both).
func isBelow(k, up string) bool {
	return len(k) > len(up) && k[len(up)] == '.' && k[:len(up)] == up
}

func (p *parser) validateBuffer(c *Config) {
	b := &c.Buffer
	line := func(ptr any) int { return p.line(ptr, b, c) }
	switch {
	case b.MaxBytes < 64<<10:
		// Below the smallest segment: an error about segment_bytes, its
		// default, named a key the user never wrote (buffer11).
		p.errorf(line(&b.MaxBytes), "buffer.max_bytes: %v is too small; want at least 64KiB", b.MaxBytes)
	case b.SegmentBytes < 64<<10:
		p.errorf(line(&b.SegmentBytes), "buffer.segment_bytes: %v is too small; want at least 64KiB", b.SegmentBytes)
	case b.MaxBytes > 0 && b.SegmentBytes > b.MaxBytes:
		p.errorf(line(&b.SegmentBytes), "buffer.segment_bytes: %v is more than buffer.max_bytes (%v)", b.SegmentBytes, b.MaxBytes)
	}
	p.oneOf(line(&b.WhenFull), "buffer.when_full", b.WhenFull, WhenFullBlock, WhenFullDropOldest)
	p.oneOf(line(&b.Fsync), "buffer.fsync", b.Fsync, FsyncBatch, FsyncAlways, FsyncInterval)
	if p.set(&b.FsyncInterval) && b.Fsync != FsyncInterval {
		p.errorf(line(&b.FsyncInterval), "buffer.fsync_interval applies only to fsync: interval, not %s", b.Fsync)
	} else {
		p.positive(line(&b.FsyncInterval), "buffer.fsync_interval", b.FsyncInterval)
	}
}

func (p *parser) validateSink(s *Sink, i int, names map[string]int) {
	at := label("sink", s.Name, i)
	line := func(ptr any) int { return p.line(ptr, s) }
	p.checkName(line(&s.Name), at, s.Name, names)
	if strings.HasPrefix(s.Name, "_") {
		// The buffer's cursors of sources are named _source.<name>.
		p.errorf(line(&s.Name), "%s: name: names starting with _ are reserved", at)
	}
	if s.Type == "" {
		p.errorf(p.line(&s.Type, s), "%s: type: required; want one of %s", at, strings.Join(sinkTypes, ", "))
	} else {
		p.oneOf(line(&s.Type), at+": type", s.Type, sinkTypes...)
	}
	if s.Batch.MaxRecords < 1 {
		p.errorf(line(&s.Batch.MaxRecords), "%s: batch.max_records: want at least 1, not %d", at, s.Batch.MaxRecords)
	}
	if s.Batch.MaxBytes < 1024 {
		p.errorf(line(&s.Batch.MaxBytes), "%s: batch.max_bytes: %v is too small; want at least 1KiB", at, s.Batch.MaxBytes)
	}
	p.positive(line(&s.Batch.MaxWait), at+": batch.max_wait", s.Batch.MaxWait)
	p.positive(line(&s.Retry.InitialBackoff), at+": retry.initial_backoff", s.Retry.InitialBackoff)
	if s.Retry.MaxBackoff < s.Retry.InitialBackoff {
		p.errorf(line(&s.Retry.MaxBackoff), "%s: retry.max_backoff: %v is less than retry.initial_backoff (%v)", at, s.Retry.MaxBackoff, s.Retry.InitialBackoff)
	}
	p.positive(line(&s.ReadyAfterFailing), at+": ready_after_failing", s.ReadyAfterFailing)
	if s.DeadLetter.MaxBytes < 64<<10 {
		p.errorf(line(&s.DeadLetter.MaxBytes), "%s: dead_letter.max_bytes: %v is too small; want at least 64KiB", at, s.DeadLetter.MaxBytes)
	}
	p.validateSinkConfig(s, at)
}

// checkName checks a source or sink name: required, unique, [A-Za-z0-9_.-],
// at most maxNameLen bytes, not "." or "..". Names become file names
// (checkpoints, dead letters, the buffer's cursors, whose names the buffer
// limits to 200 bytes, "_source." included).
func (p *parser) checkName(line int, at, name string, seen map[string]int) {
	switch {
	case name == "":
		p.errorf(line, "%s: name: required", at)
		return
	case !validName(name):
		p.errorf(line, "%s: name: use only letters, digits, '_', '.' and '-'", at)
	case name == "." || name == "..":
		p.errorf(line, "%s: name: %q is not a name (it is a directory's)", at, name)
	case len(name) > maxNameLen:
		p.errorf(line, "%s: name: %d characters; at most %d", at, len(name), maxNameLen)
	}
	if first, dup := seen[name]; dup {
		p.errorf(line, "%s: name: used again (first at line %d)", at, first)
		return
	}
	seen[name] = line
}

// maxNameLen bounds source and sink names.
const maxNameLen = 100

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

func (p *parser) checkGlob(line int, at, key, pat string) {
	if pat == "" {
		p.errorf(line, "%s: %s: empty pattern", at, key)
		return
	}
	if _, err := filepath.Match(pat, ""); err != nil {
		p.errorf(line, "%s: %s: %q is not a valid glob pattern", at, key, pat)
		return
	}
	// Vector, Filebeat and shells read these two; filepath.Match does
	// not, and the pattern would match nothing the user meant.
	if strings.Contains(pat, "**") {
		one := strings.ReplaceAll(pat, "**", "*")
		as := one
		if deeper := strings.Replace(pat, "/**/", "/*/*/", 1); deeper != pat {
			as += " and " + strings.ReplaceAll(deeper, "**", "*")
		}
		p.errorf(line, "%s: %s: %q: ** does not recurse here, it is * (one path element, without /): write one pattern per depth, as %s", at, key, pat, as)
	}
	if hasBraceAlternatives(pat) {
		p.errorf(line, "%s: %s: %q: braces are not alternatives here, they match themselves: write one pattern per alternative (\\{ matches a brace)", at, key, pat)
	}
}

// hasBraceAlternatives reports a {…,…} that a shell would expand, not
// counting braces escaped with a backslash.
func hasBraceAlternatives(pat string) bool {
	open := -1
	for i := 0; i < len(pat); i++ {
		switch pat[i] {
		case '\\':
			i++
		case '{':
			open = i
		case '}':
			if open >= 0 && strings.Contains(pat[open:i], ",") {
				return true
			}
			open = -1
		}
	}
	return false
}

// oneOf reports v when it is not one of allowed, and returns whether it is.
func (p *parser) oneOf(line int, what, v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	p.errorf(line, "%s: %q is not one of %s", what, v, strings.Join(allowed, ", "))
	return false
}

func (p *parser) positive(line int, what string, d time.Duration) {
	if d <= 0 {
		p.errorf(line, "%s: must be more than 0, not %v", what, d)
	}
}

// checkDataDir refuses a data_dir that is, or is below, a file that is not
// a directory: validate passed it and run failed at start (config21 F3).
// What does not exist yet is created at start, and may fail then (no
// permission): validate creates nothing.
func checkDataDir(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || filepath.Dir(d) == d {
			return nil // unknown here: start says
		}
	}
}

// checkListen checks a host:port to listen on. A host name is resolved at
// start; a host made of digits and dots must be an IPv4 address
// (999.1.1.1 passed validate and failed at start: config21 F3).
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port or :port", addr)
	}
	if host != "" && strings.Trim(host, "0123456789.") == "" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: %s is not an IP address", addr, host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return nil
}

// oneLine flattens a multi-line error message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
