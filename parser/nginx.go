package parser

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/sidetrail/sidetrail"
)

// How a variable's value becomes fields.
type vkind uint8

const (
	vString     vkind = iota
	vInt              // KindInt when a valid integer, else a string field
	vFloat            // KindFloat when a single valid number, else a string field
	vTimeLocal        // rec.Time only
	vTimeISO          // rec.Time only
	vMsec             // rec.Time only
	vRequest          // request + request_method/_uri/_path/_query/_protocol
	vRequestURI       // request_uri + request_path/_query
	vIntList          // vInt, or a list nginx writes for several upstreams ("502, 200", "- : 200")
	vFloatList        // vFloat, or such a list
)

var varKinds = map[string]vkind{
	"status":                   vInt,
	"body_bytes_sent":          vInt,
	"bytes_sent":               vInt,
	"request_length":           vInt,
	"connection":               vInt,
	"connection_requests":      vInt,
	"upstream_status":          vIntList,
	"upstream_response_length": vIntList,
	"upstream_bytes_received":  vIntList,
	"upstream_bytes_sent":      vIntList,
	"remote_port":              vInt,
	"server_port":              vInt,
	"pid":                      vInt,
	"request_time":             vFloat,
	"upstream_connect_time":    vFloatList,
	"upstream_header_time":     vFloatList,
	"upstream_response_time":   vFloatList,
	"upstream_queue_time":      vFloatList,
	"time_local":               vTimeLocal,
	"time_iso8601":             vTimeISO,
	"msec":                     vMsec,
	"request":                  vRequest,
	"request_uri":              vRequestURI,
}

// Derived fields of $request and $request_uri.
const (
	dMethod = 1 << iota
	dURI
	dPath
	dQuery
	dProto
)

// nvar is one variable place in a compiled format.
type nvar struct {
	name   string
	key    string // field name ("" for time variables)
	kind   vkind
	dup    bool // a repeated variable: matched, not emitted
	derive uint8
	class  func(c byte) bool // for a variable directly followed by another
}

// firstBytes are the bytes the values of some variables start with; a
// variable not listed may start with any.
var firstBytes = map[string]string{
	"request_uri":  "/",
	"uri":          "/",
	"document_uri": "/",
	"is_args":      "?",
}

// startsOutside reports whether every value of the variable name starts
// with a byte outside class (or is empty).
func startsOutside(name string, class func(c byte) bool) bool {
	first, ok := firstBytes[name]
	if !ok {
		return false
	}
	for i := 0; i < len(first); i++ {
		if class(first[i]) {
			return false
		}
	}
	return true
}

func isNumberKind(k vkind) bool {
	return k == vInt || k == vFloat || k == vMsec || k == vIntList || k == vFloatList
}

func numClass(c byte) bool { return c >= '0' && c <= '9' || c == '.' || c == '-' }

// hostClass: a host ends at the path that follows it. nginx accepts a Host
// holding '?', '"' or '\' (logged "\x22", "\x5C"), which ended it too
// early: the client chose the start of the request_uri logged after it
// (parser11).
func hostClass(c byte) bool   { return c != '/' && c != ' ' }
func schemeClass(c byte) bool { return c >= 'a' && c <= 'z' }

// fieldKey is the field name for a variable or trailer key: the name itself,
// or "nginx.NAME" when it would clash with the record's own keys.
func fieldKey(name string) string {
	if sidetrail.MeetsRecordKey(name) {
		return "nginx." + name
	}
	return name
}

func (c *compiled) setupVars(index map[string]int) {
	defer c.fixKeyConflicts()
	taken := map[string]bool{}
	for name := range index {
		taken[fieldKey(name)] = true
	}
	take := func(name string, bit uint8, v *nvar) {
		if !taken[name] {
			taken[name] = true
			v.derive |= bit
		}
	}
	for i := range c.vars {
		v := &c.vars[i]
		v.kind = varKinds[v.name]
		switch v.kind {
		case vTimeLocal, vTimeISO:
			v.key = fieldKey(v.name) // used only when the time does not parse
		case vInt, vFloat, vMsec, vIntList, vFloatList:
			v.key = fieldKey(v.name)
			v.class = numClass
		default:
			v.key = fieldKey(v.name)
		}
		switch v.name {
		case "host", "http_host", "server_name", "hostname", "remote_addr", "server_addr", "realip_remote_addr", "binary_remote_addr":
			v.class = hostClass
		case "scheme":
			v.class = schemeClass
		}
		if v.dup {
			continue
		}
		switch v.kind {
		case vRequest:
			take("request_method", dMethod, v)
			take("request_uri", dURI, v)
			take("request_path", dPath, v)
			take("request_query", dQuery, v)
			take("request_protocol", dProto, v)
		case vRequestURI:
			take("request_path", dPath, v)
			take("request_query", dQuery, v)
		}
	}
}

// fixKeyConflicts renames keys that cannot nest together ("nginx" and
// "nginx.message"), once, at compile time.
func (c *compiled) fixKeyConflicts() {
	fs := make([]sidetrail.Field, 0, len(c.vars))
	idx := make([]int, 0, len(c.vars))
	for i, v := range c.vars {
		if !v.dup {
			fs = append(fs, sidetrail.Field{Key: v.key})
			idx = append(idx, i)
		}
	}
	fixPathConflicts(fs)
	for j, i := range idx {
		c.vars[i].key = fs[j].Key
	}
}

// maxBacktrack bounds the extra literal searches one line may cost when a
// value contains its following literal (a space in $remote_user, a quote
// in escape=none). Beyond it the line is a parse failure.
const maxBacktrack = 256

// nginxParser parses access-log lines written with one compiled log_format.
type nginxParser struct {
	c      *compiled
	steps  []step // c.items with their variables
	spans  [][2]int
	budget int
	strict bool
	// noBackslash: the line holds no '\\', so no value needs unescaping.
	noBackslash bool
	// The times of one log mostly share their minute, which these
	// remember.
	timeLocal timeLocalCache
	timeISO   rfc3339Cache
	// The last time typeOK parsed for each kind, so that emit need not
	// parse it again: set and cleared within one Parse call, and used
	// only for the very same bytes (checked by address and length).
	local, iso struct {
		val []byte
		t   time.Time
	}
}

func newNginx(logFormat string) (*nginxParser, error) {
	switch strings.ToLower(strings.TrimSpace(logFormat)) {
	case "", "combined":
		logFormat = formatCombined
	case "main":
		logFormat = formatMain
	}
	s, err := readLogFormat(logFormat)
	if err != nil {
		return nil, err
	}
	c, err := compileLogFormat(logFormat, s)
	if err != nil {
		return nil, err
	}
	if len(c.items) == 0 {
		// Legal in nginx, useless here, and most likely a misspelt name.
		return nil, syntaxErrorAt(logFormat, 0, "log_format has no variables (predefined formats: combined, main)")
	}
	for i, it := range c.items[:len(c.items)-1] {
		if len(it.lit) > 0 {
			continue
		}
		// A variable directly followed by another ends where its class of
		// bytes does: without one, or when both are numbers ($status
		// $body_bytes_sent written "$status$body_bytes_sent"), nothing
		// tells where one value ends (it gave status 2006 and no body
		// size). nginx accepts such a format; its lines cannot be read.
		v, next := &c.vars[it.v], &c.vars[c.items[i+1].v]
		switch {
		case v.class == nil:
			return nil, syntaxErrorAt(logFormat, strings.Index(logFormat, next.name)-1,
				fmt.Sprintf("$%s is followed directly by $%s: nothing marks where its value ends; put a character between them", v.name, next.name))
		case v.class('0') && isNumberKind(next.kind):
			return nil, syntaxErrorAt(logFormat, strings.Index(logFormat, next.name)-1,
				fmt.Sprintf("$%s is followed directly by $%s, a number: its digits could belong to either; put a character between them", v.name, next.name))
		case !startsOutside(next.name, v.class):
			// The class ends the value only where the next one's first
			// byte is outside it: $scheme$host took "httpsexample",
			// $msec$request_id a digit of the id (parser13 F6).
			return nil, syntaxErrorAt(logFormat, strings.Index(logFormat, next.name)-1,
				fmt.Sprintf("$%s is followed directly by $%s, whose value may start with a byte of $%s's: nothing marks where one ends; put a character between them", v.name, next.name, v.name))
		}
	}
	c.quotes = bytes.Count(c.prefix, []byte{'"'})
	c.rawQuotes = unescapedQuotes(c.prefix, c.escape)
	for _, it := range c.items {
		c.quotes += bytes.Count(it.lit, []byte{'"'})
		c.rawQuotes += unescapedQuotes(it.lit, c.escape)
	}
	p := &nginxParser{c: c, spans: make([][2]int, len(c.items)), steps: make([]step, len(c.items))}
	for i, it := range c.items {
		v := &c.vars[it.v]
		p.steps[i] = step{lit: it.lit, key: v.key, class: v.class, kind: v.kind, dup: v.dup, derive: v.derive}
		if len(it.lit) == 0 && v.class != nil && i+1 < len(c.items) && c.escape != escapeJSON {
			first, ok := firstBytes[c.vars[c.items[i+1].v].name]
			p.steps[i].dashNext = ok && !strings.Contains(first, "-")
		}
	}
	return p, nil
}

// step is an item of the compiled format with what its variable needs,
// laid out for the per-line loops.
type step struct {
	lit    []byte
	key    string
	class  func(c byte) bool
	kind   vkind
	dup    bool
	derive uint8
	// dashNext: the variable is directly followed by one whose values
	// never start with '-', so a '-' that ends this one's class run may
	// be the "-" nginx writes for the next one when it has no value
	// (see match).
	dashNext bool
}

// Parse implements Parser for nginx access logs.
//
// Each variable becomes a field named after it (lowercased; "nginx.NAME" for
// a name that is one of the record's own keys: message, source, log).
// Values are unescaped per the format's escape= mode. A value that is "-"
// (how nginx writes a missing variable) or empty is omitted. Numeric
// variables ($status, $body_bytes_sent, $request_time, ...) are KindInt or
// KindFloat; a $status of "000" is 0, and a line where one holds anything
// else is a guessed *Error (written with another log_format). The $upstream_* variables that list
// one item per upstream tried are strings, one item or several. $time_local,
// $time_iso8601 and $msec set rec.Time ($msec wins, for its milliseconds)
// and are not repeated as fields, unless the value does not parse as a time,
// when it is kept as a string field. $request is kept and split into
// request_method, request_uri, request_path, request_query (omitted when
// empty) and request_protocol; $request_uri into request_path and
// request_query. Paths and queries stay percent-encoded as sent. A derived
// name that is itself a variable of the format is left to that variable.
// A variable that appears twice yields one field (its first place).
//
// A line that does not match the format returns *Error.
func (p *nginxParser) Parse(line []byte, rec *sidetrail.Record) error {
	line = trimEOL(line)
	c := p.c
	if !bytes.HasPrefix(line, c.prefix) {
		return newError(FormatNginx, 0, "line does not start like the log_format")
	}
	if n := len(c.items); n > 0 {
		last := c.items[n-1].lit
		if len(line) < len(c.prefix)+len(last) || !bytes.HasSuffix(line, last) {
			return newError(FormatNginx, len(line), "line does not end like the log_format")
		}
	} else if len(line) != len(c.prefix) {
		return newError(FormatNginx, len(c.prefix), "line does not match the log_format")
	}
	// nginx escapes a value's '"' (\x22, or \" with escape=json), so every
	// '"' of a line it wrote is the format's. One more, and the line was
	// written with another format: `main` read as `combined` put the
	// X-Forwarded-For list in http_user_agent, unflagged (parser13 F8).
	if c.escape != escapeNone && bytes.Count(line, quoteByte) != c.quotes && unescapedQuotes(line, c.escape) != c.rawQuotes {
		return newError(FormatNginx, -1, "line holds a '\"' nginx would have escaped in a value: it was not written with this log_format")
	}
	// First with typed variables held to their types (a time must parse,
	// a number be one), which settles most ambiguous splits; then,
	// so that an odd time is kept rather than the line lost, without.
	p.strict = true
	ok := p.matchFirst(line)
	ambiguous, mistyped := false, false
	if !ok {
		p.budget = maxBacktrack
		// A strict pass that ran out of budget did not find the line
		// unmatchable, only ambiguous: the loose pass took the first
		// split it could, a client's user name holding 128 " [" took the
		// time's place, and the record got the read time, unflagged
		// (parser13 F1). Such a line is a parse failure, whose first
		// split is kept for the redaction of its message only.
		ok = p.match(line, 0, len(c.prefix))
		ambiguous = !ok && p.budget <= 0
		if !ok {
			p.strict = false
			p.budget = maxBacktrack
			ok = p.match(line, 0, len(c.prefix))
			mistyped = ok && p.mistyped(line)
		}
	}
	if ok {
		p.noBackslash = c.escape == escapeNone || bytes.IndexByte(line, '\\') < 0
		p.emit(line, rec)
	}
	p.local.val, p.iso.val = nil, nil // keep nothing of line
	switch {
	case ok && ambiguous:
		rec.Time = time.Time{}
		return &Error{Format: FormatNginx, Offset: -1, Msg: "line too ambiguous to split (a value holds the text after it many times)", guessed: true}
	case ok && mistyped:
		// A number variable holding text: the line was written with
		// another log_format (an older one, in a rotated file), and a
		// field that is a number in the other records would ship as a
		// string, which Elasticsearch refuses as a mapping conflict
		// (parser22 P4). Its split is kept for the redaction of its
		// message, as an ambiguous line's.
		rec.Time = time.Time{}
		return &Error{Format: FormatNginx, Offset: -1, Msg: "a number variable holds text: the line was not written with this log_format", guessed: true}
	case !ok:
		return newError(FormatNginx, -1, "line does not match the log_format")
	}
	return nil
}

var quoteByte = []byte{'"'}

// unescapedQuotes counts the '"' of b that no backslash escapes, with
// escape=json (which writes a value's '"' as \"); with the default escaping
// (which writes it \x22), every '"'. The format's literals are counted so
// too: a literal \" (a JSON value in quotes, '"\\"$request\\""' in
// nginx.conf) was counted as a quote, the line's as none, and every line
// whose values held a '"' was a parse_failure, its field rules skipped
// (parser17 A: 93 of 323 real lines).
func unescapedQuotes(line []byte, escape int) int {
	if escape != escapeJSON {
		return bytes.Count(line, quoteByte)
	}
	n := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '"':
			n++
		}
	}
	return n
}

// matchFirst is match's first try at every item, without backtracking: the
// first occurrence of each literal. Most lines match so; when it fails,
// match starts over and finds what it always did.
func (p *nginxParser) matchFirst(line []byte) bool {
	steps := p.steps
	pos := len(p.c.prefix)
	for i := range steps {
		it := &steps[i]
		if i == len(steps)-1 {
			end := len(line) - len(it.lit)
			if end < pos {
				return false
			}
			p.spans[i] = [2]int{pos, end}
			return p.typeOK(it.kind, line[pos:end]) // the suffix was checked in Parse; nothing follows
		}
		end := pos
		if len(it.lit) == 0 {
			if cl := it.class; cl != nil {
				for end < len(line) && cl(line[end]) {
					end++
				}
			}
			if it.dashNext && p.dashAt(line, i, pos, end) >= 0 {
				return false // two splits to try: match's
			}
		} else {
			jsonQuote := p.c.escape == escapeJSON && it.lit[0] == '"'
			for from := pos; ; {
				k := indexLit(line[from:], it.lit)
				if k < 0 {
					return false
				}
				end = from + k
				if !jsonQuote || !escapedAt(line, pos, end) {
					break
				}
				from = end + 1
			}
		}
		p.spans[i] = [2]int{pos, end}
		if !p.typeOK(it.kind, line[pos:end]) || p.listGoesOn(it.kind, line[end:]) {
			return false
		}
		pos = end + len(it.lit)
	}
	return pos == len(line)
}

// match assigns spans to items[i:] starting at pos; it backtracks over
// later occurrences of a literal, within p.budget.
func (p *nginxParser) match(line []byte, i, pos int) bool {
	items := p.c.items
	if i == len(items) {
		return pos == len(line)
	}
	it := &items[i]
	if i == len(items)-1 {
		end := len(line) - len(it.lit)
		if end < pos {
			return false
		}
		p.spans[i] = [2]int{pos, end}
		return p.typeOK(p.steps[i].kind, line[pos:end]) // the suffix was checked in Parse
	}
	if len(it.lit) == 0 {
		// Directly followed by another variable: split by class.
		end := pos
		if cl := p.c.vars[it.v].class; cl != nil {
			for end < len(line) && cl(line[end]) {
				end++
			}
		}
		// nginx writes "-" for a variable it has no value for, which
		// the class before may hold: $host$request_uri of a request
		// nginx refused is "localhost-", $status$request_uri "400-"
		// (parser22 P1: host "localhost-", status "400-" as a string,
		// "localhost-|400" no match). The next variable's values never
		// start with '-', so a '-' followed by the literal after it is
		// its "-" when the rest matches so.
		if p.steps[i].dashNext {
			if k := p.dashAt(line, i, pos, end); k >= 0 {
				p.spans[i] = [2]int{pos, k}
				if p.typeOK(p.steps[i].kind, line[pos:k]) && p.match(line, i+1, k) && p.spans[i+1] == [2]int{k, k + 1} {
					return true
				}
			}
		}
		p.spans[i] = [2]int{pos, end}
		return p.typeOK(p.steps[i].kind, line[pos:end]) && !p.listGoesOn(p.steps[i].kind, line[end:]) && p.match(line, i+1, end)
	}
	lit := it.lit
	jsonQuote := p.c.escape == escapeJSON && lit[0] == '"'
	from := pos
	for {
		k := indexLit(line[from:], lit)
		if k < 0 {
			return false
		}
		at := from + k
		if jsonQuote && escapedAt(line, pos, at) {
			from = at + 1
			continue
		}
		p.spans[i] = [2]int{pos, at}
		if p.typeOK(p.steps[i].kind, line[pos:at]) && !p.listGoesOn(p.steps[i].kind, line[at:]) && p.match(line, i+1, at+len(lit)) {
			return true
		}
		p.budget--
		if p.budget <= 0 {
			return false
		}
		from = at + 1
	}
}

// typeOK reports whether val may be the value of a variable of this kind:
// always, unless p.strict, when times must parse and numbers be numbers,
// "-", or lists of numbers ("0.001, 0.002 : 0.003").
func (p *nginxParser) typeOK(kind vkind, val []byte) bool {
	if !p.strict || len(val) == 0 || len(val) == 1 && val[0] == '-' {
		return true
	}
	switch kind {
	case vInt, vFloat:
		// One number, as emit types it: a ':' here is an IPv6 address's,
		// left to the variable before ($remote_addr:$remote_port,
		// "::1:44330"), and a '-' after the digits the "-" of the
		// variable after ($status$request_uri).
		return numberFits(kind, val)
	case vIntList, vFloatList:
		return numberList(val, kind == vFloatList)
	case vTimeLocal:
		t, ok := p.timeLocal.parse(val)
		if ok {
			p.local.val, p.local.t = val, t
		}
		return ok
	case vTimeISO:
		t, ok := p.timeISO.parse(val)
		if ok {
			p.iso.val, p.iso.t = val, t
		}
		return ok
	case vMsec:
		_, ok := parseEpoch(val, 0)
		return ok
	}
	return true
}

// dashAt returns the first k in line[pos:end], the class run of the
// variable of item i, where a '-' is followed by the literal after item
// i+1 (or ends the line there, for the last item): where item i+1 may be
// nginx's "-". k == pos leaves item i empty: $host of a server without
// server_name answering a request without Host, "-|400" (regress22 R5).
// It returns -1 when there is none.
func (p *nginxParser) dashAt(line []byte, i, pos, end int) int {
	next := p.steps[i+1].lit
	if i+1 == len(p.steps)-1 {
		k := len(line) - len(next) - 1
		if k >= pos && k < end && line[k] == '-' {
			return k
		}
		return -1
	}
	if len(next) == 0 {
		return -1
	}
	for k := pos; k < end; k++ {
		j := bytes.IndexByte(line[k:end], '-')
		if j < 0 {
			return -1
		}
		k += j
		if bytes.HasPrefix(line[k+1:], next) {
			return k
		}
	}
	return -1
}

// numberFits reports whether val, neither empty nor "-", is a value emit
// ships as a number for a variable of kind vInt or vFloat.
func numberFits(kind vkind, val []byte) bool {
	// Digits alone, the common case, without jsonNumber's walk.
	digits := true
	for _, c := range val {
		if c < '0' || c > '9' {
			digits = false
			break
		}
	}
	if digits {
		return kind == vFloat || len(val) == 1 || val[0] != '0' || string(val) == "000"
	}
	isInt, ok := jsonNumber(val)
	if kind == vFloat {
		return ok
	}
	return ok && isInt || string(val) == "000"
}

// mistyped reports whether the split in p.spans gives a number variable
// ($status, $body_bytes_sent, $request_time, …) a value that is no number.
func (p *nginxParser) mistyped(line []byte) bool {
	for i := range p.steps {
		if k := p.steps[i].kind; k == vInt || k == vFloat {
			val := line[p.spans[i][0]:p.spans[i][1]]
			if len(val) > 0 && !(len(val) == 1 && val[0] == '-') && !numberFits(k, val) {
				return true
			}
		}
	}
	return false
}

// listGoesOn reports whether, with p.strict, a list of this kind ending
// where rest starts would leave out its next group: rest starts with " : "
// and an item. A text variable after the list took ": 200 …" (regress11:
// upstream_status "502, 502" of "502, 502 : 200", in ingress-nginx's
// format).
func (p *nginxParser) listGoesOn(kind vkind, rest []byte) bool {
	return p.strict && (kind == vIntList || kind == vFloatList) && len(rest) > 3 &&
		rest[0] == ' ' && rest[1] == ':' && rest[2] == ' ' && (rest[3] >= '0' && rest[3] <= '9' || rest[3] == '-')
}

// numberList reports whether val is a list as nginx writes the upstream
// variables: items "-" or numbers (with one '.' if float), separated by
// ", " (the upstreams tried) or " : " (an internal redirect's groups).
// Before, any run of digits, '.', '-', ',', ':' and spaces passed, so an
// address ("127.0.0.1:43662") took a list's place and every field after it
// shifted (parser11: ingress-nginx's lines of a retried request).
func numberList(val []byte, float bool) bool {
	for {
		i := 0
		if len(val) > 0 && val[0] == '-' {
			i = 1
		} else {
			dot := false
			for i < len(val) && (val[i] >= '0' && val[i] <= '9' || val[i] == '.' && float && !dot && i > 0) {
				dot = dot || val[i] == '.'
				i++
			}
			if i == 0 || val[i-1] == '.' {
				return false
			}
		}
		val = val[i:]
		switch {
		case len(val) == 0:
			return true
		case len(val) >= 2 && val[0] == ',' && val[1] == ' ':
			val = val[2:]
		case len(val) >= 3 && val[0] == ' ' && val[1] == ':' && val[2] == ' ':
			val = val[3:]
		default:
			return false
		}
	}
}

// indexLit returns the index of the first lit in s, or -1: bytes.Index,
// but cheaper for the short literals of log formats (" ", "\" \"", "] \""),
// whose first byte mostly starts a match.
func indexLit(s, lit []byte) int {
	if len(lit) == 1 {
		return indexByte(s, lit[0])
	}
	from := 0
	for misses := 0; misses < 4; misses++ {
		k := indexByte(s[from:], lit[0])
		if k < 0 {
			return -1
		}
		at := from + k
		if len(s)-at < len(lit) {
			return -1
		}
		if s[at+1] == lit[1] && (len(lit) == 2 || string(s[at+2:at+len(lit)]) == string(lit[2:])) {
			return at
		}
		from = at + 1
	}
	// The first byte is common: leave it to bytes.Index.
	if k := bytes.Index(s[from:], lit); k >= 0 {
		return from + k
	}
	return -1
}

// indexByte is bytes.IndexByte with a look at the first 8 bytes first,
// without a call: the fields of a log line are short, and many searches end
// there.
func indexByte(s []byte, c byte) int {
	if len(s) >= 8 {
		if m := hasByte(binary.LittleEndian.Uint64(s), c); m != 0 {
			return bits.TrailingZeros64(m) >> 3
		}
		if k := bytes.IndexByte(s[8:], c); k >= 0 {
			return 8 + k
		}
		return -1
	}
	return bytes.IndexByte(s, c)
}

// lastIndexByte is bytes.LastIndexByte with a look at the last 8 bytes
// first, without a call: it looks for the space before "HTTP/1.1".
func lastIndexByte(s []byte, c byte) int {
	if n := len(s); n >= 8 {
		// Exact flags (hasByte's may be wrong above a true one): the
		// highest is the last c.
		x := binary.LittleEndian.Uint64(s[n-8:]) ^ (lsb * uint64(c))
		const low7 = 0x7f7f7f7f7f7f7f7f
		if m := ^((x&low7 + low7) | x | low7); m != 0 {
			return n - 8 + (63-bits.LeadingZeros64(m))>>3
		}
		return bytes.LastIndexByte(s[:n-8], c)
	}
	return bytes.LastIndexByte(s, c)
}

// sameBytes reports whether a and b are the same non-empty bytes in memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// escapedAt reports whether line[at] is preceded, within line[start:at], by
// an odd number of backslashes (a JSON-escaped quote).
func escapedAt(line []byte, start, at int) bool {
	n := 0
	for j := at - 1; j >= start && line[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// unescape returns v with the format's escaping undone, in rec.Scratch when
// it differs from v.
func (p *nginxParser) unescape(v []byte, rec *sidetrail.Record) []byte {
	if p.c.escape == escapeNone || p.noBackslash || bytes.IndexByte(v, '\\') < 0 {
		return v
	}
	start := len(rec.Scratch)
	if p.c.escape == escapeJSON {
		rec.Scratch, _ = appendUnescapeJSON(rec.Scratch, v)
	} else {
		rec.Scratch = appendUnescapeDefault(rec.Scratch, v)
	}
	return rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
}

func (p *nginxParser) emit(line []byte, rec *sidetrail.Record) {
	var t time.Time
	rank := 0
	steps := p.steps
	for i := range steps {
		v := &steps[i]
		if v.dup {
			continue
		}
		val := line[p.spans[i][0]:p.spans[i][1]]
		if len(val) == 0 || len(val) == 1 && val[0] == '-' {
			continue
		}
		switch v.kind {
		case vInt:
			if isJSONInt(val) {
				addField(rec, v.key, sidetrail.KindInt, val)
				continue
			}
			if len(val) == 3 && val[0] == '0' && val[1] == '0' && val[2] == '0' {
				// nginx's "%03ui" of a status of 0 (no response sent).
				addField(rec, v.key, sidetrail.KindInt, zero)
				continue
			}
		case vIntList, vFloatList:
			// A string whether one upstream was tried or several: a field
			// that is a number in one record and "502, 200" in the next is
			// a mapping conflict in Elasticsearch, which rejects the
			// retried requests (parser13 F2).
		case vFloat:
			if _, ok := jsonNumber(val); ok {
				addField(rec, v.key, sidetrail.KindFloat, val)
				continue
			}
		case vTimeLocal, vTimeISO, vMsec:
			var tt time.Time
			var ok bool
			r := 1
			switch v.kind {
			case vTimeLocal:
				if sameBytes(val, p.local.val) {
					tt, ok = p.local.t, true
				} else {
					tt, ok = p.timeLocal.parse(val)
				}
			case vTimeISO:
				if sameBytes(val, p.iso.val) {
					tt, ok = p.iso.t, true
				} else {
					tt, ok = p.timeISO.parse(val)
				}
			default:
				tt, ok = parseEpoch(val, 0)
				r = 2
			}
			if ok {
				if r > rank {
					t, rank = tt, r
				}
				continue
			}
		}
		val = p.unescape(val, rec)
		addField(rec, v.key, sidetrail.KindString, val)
		switch v.kind {
		case vRequest:
			addRequestFields(rec, val, v.derive)
		case vRequestURI:
			addURIFields(rec, val, v.derive)
		}
	}
	if rank > 0 {
		rec.Time = t
	}
}

var zero = []byte("0")

// isMethod reports whether b looks like an HTTP method: a token (RFC 9110),
// in any case. nginx refuses "get" and "Get" with 400 and logs them as the
// client sent them; read as no request, the query they carry passed the
// request_query rules (parser25 P3).
func isMethod(b []byte) bool {
	if len(b) == 0 || len(b) > 32 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// addRequestFields splits a request line "GET /p?q HTTP/1.1" into the
// derived fields selected by derive. A line that does not start with a
// method and a space (TLS bytes sent to a plain port, garbage)
// yields no derived fields. The protocol is the last space-separated word
// when it starts with "HTTP/"; otherwise (HTTP/0.9) there is none and the
// rest is the URI.
func addRequestFields(rec *sidetrail.Record, req []byte, derive uint8) {
	sp := indexByte(req, ' ')
	if sp <= 0 || !isMethod(req[:sp]) {
		return
	}
	method, rest := req[:sp], req[sp+1:]
	var proto []byte
	if last := lastIndexByte(rest, ' '); last >= 0 && bytes.HasPrefix(rest[last+1:], []byte("HTTP/")) {
		proto, rest = rest[last+1:], rest[:last]
	}
	// The target as nginx's $request_uri has it: without the spaces
	// around it ("GET  /sp  HTTP/1.1"), and for an absolute-form target
	// the path ("http://host/p?q" is "/p?q"). Anything else ("HELLO
	// WORLD") is no request: no request_* fields.
	rest = bytes.Trim(rest, " ")
	var query []byte // an absolute-form target's query without a path, as req holds it
	switch {
	case len(rest) > 0 && rest[0] == '/', string(rest) == "*":
	case hasPrefixFold(rest, "http://") || hasPrefixFold(rest, "https://"):
		hostStart := bytes.Index(rest, []byte("//")) + 2
		if slash := indexByte(rest[hostStart:], '/'); slash >= 0 {
			rest = rest[hostStart+slash:]
		} else if q := indexByte(rest[hostStart:], '?'); q >= 0 {
			query = rest[hostStart+q+1:]
			rest = append([]byte("/"), rest[hostStart+q:]...)
		} else {
			rest = rootPath
		}
	default:
		return
	}
	if derive&dMethod != 0 {
		addField(rec, "request_method", sidetrail.KindString, method)
	}
	if derive&dURI != 0 && len(rest) > 0 {
		addField(rec, "request_uri", sidetrail.KindString, rest)
	}
	addURIFields(rec, rest, derive)
	if n := len(rec.Fields); len(query) > 0 && n > 0 && rec.Fields[n-1].Key == "request_query" {
		// The query as the line holds it, not a copy: the redaction
		// takes a field rule's short value out of the fields holding
		// its very bytes (regress25b R1: "GET http://h?123" kept 123).
		rec.Fields[n-1].Value = query
	}
	if derive&dProto != 0 && len(proto) > 0 {
		addField(rec, "request_protocol", sidetrail.KindString, proto)
	}
}

var rootPath = []byte("/")

// hasPrefixFold reports whether b starts with the lower-case ASCII prefix,
// in any case.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// addURIFields splits uri at its first '?' into request_path and
// request_query (each omitted when empty).
func addURIFields(rec *sidetrail.Record, uri []byte, derive uint8) {
	path, query := uri, []byte(nil)
	if q := indexByte(uri, '?'); q >= 0 {
		path, query = uri[:q], uri[q+1:]
	}
	if derive&dPath != 0 && len(path) > 0 {
		addField(rec, "request_path", sidetrail.KindString, path)
	}
	if derive&dQuery != 0 && len(query) > 0 {
		addField(rec, "request_query", sidetrail.KindString, query)
	}
}
