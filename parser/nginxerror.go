package parser

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/sidetrail/sidetrail"
)

// nginxErrorParser parses nginx error-log lines:
//
//	2024/01/02 15:04:05 [error] 123#123: *45 MESSAGE, client: 10.0.0.1, server: example.com, request: "GET /x HTTP/1.1", host: "example.com"
type nginxErrorParser struct {
	loc   *time.Location // nil: UTC
	names map[string]string
	pairs []pair
}

type pair struct {
	key   string
	value []byte
}

func newNginxError(tz string) (*nginxErrorParser, error) {
	p := &nginxErrorParser{names: make(map[string]string)}
	loc, err := loadZone(tz)
	if err != nil {
		return nil, err
	}
	p.loc = loc
	return p, nil
}

// loadZone returns the zone a Config.Timezone names: nil for "" and UTC.
func loadZone(tz string) (*time.Location, error) {
	switch tz {
	case "", "UTC", "utc":
		return nil, nil
	case "Local", "local":
		return time.Local, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", tz, err)
	}
	return loc, nil
}

var errorLogDate = []byte("0000/00/00 00:00:00 [")

// Parse implements Parser for nginx error logs.
//
// Fields, in order: level, pid, tid (KindInt), connection_id (KindInt, when
// the "*N " connection number is present), error_message (the text up to
// the trailer nginx's HTTP and stream modules append), then the trailer's
// "key: value" pairs in their order: client, server, request (and, from it,
// request_method, request_uri, request_path, request_query,
// request_protocol), subrequest, upstream, host, referrer; other keys
// (stream's "bytes from/to client") become fields with spaces and '/'
// turned into '_'. The trailer is found at the first ", client: " from
// which the rest of the line parses as a trailer; if none does, the whole
// text is error_message. Quoted values are taken as written (nginx does not
// escape them in the error log). The leading time, which has no zone, is
// read in Config.Timezone and sets rec.Time.
//
// nginx writes one line per entry; a line that does not start with
// "YYYY/MM/DD HH:MM:SS [level] PID#TID: " (a continuation written by a
// module such as a Lua traceback, a truncated line) returns *Error.
func (p *nginxErrorParser) Parse(line []byte, rec *sidetrail.Record) error {
	line = trimEOL(line)
	if len(line) < len(errorLogDate) || line[len(errorLogDate)-1] != '[' {
		return newError(FormatNginxError, 0, "line does not start with a date and a [level]")
	}
	t, ok := parseErrorLogTime(line, p.loc)
	if !ok {
		return newError(FormatNginxError, 0, "invalid date")
	}
	i := len(errorLogDate)
	j := bytes.IndexByte(line[i:], ']')
	if j <= 0 || j > 16 {
		return newError(FormatNginxError, i, "invalid [level]")
	}
	level := line[i : i+j]
	for _, c := range level {
		if c < 'a' || c > 'z' {
			return newError(FormatNginxError, i, "invalid [level]")
		}
	}
	i += j + 1
	if i >= len(line) || line[i] != ' ' {
		return newError(FormatNginxError, i, "expected ' ' after [level]")
	}
	i++
	pidEnd := i
	for pidEnd < len(line) && line[pidEnd] >= '0' && line[pidEnd] <= '9' {
		pidEnd++
	}
	if pidEnd == i || pidEnd >= len(line) || line[pidEnd] != '#' {
		return newError(FormatNginxError, i, "expected PID#TID")
	}
	pid := line[i:pidEnd]
	i = pidEnd + 1
	tidEnd := i
	for tidEnd < len(line) && line[tidEnd] >= '0' && line[tidEnd] <= '9' {
		tidEnd++
	}
	if tidEnd == i || tidEnd >= len(line) || line[tidEnd] != ':' {
		return newError(FormatNginxError, i, "expected PID#TID:")
	}
	tid := line[i:tidEnd]
	i = tidEnd + 1
	if i < len(line) && line[i] == ' ' {
		i++
	}
	var conn []byte
	if i < len(line) && line[i] == '*' {
		k := i + 1
		for k < len(line) && line[k] >= '0' && line[k] <= '9' {
			k++
		}
		if k > i+1 && (k == len(line) || line[k] == ' ') {
			conn = line[i+1 : k]
			i = k
			if i < len(line) {
				i++
			}
		}
	}
	msg := line[i:]
	// nginx cuts an entry at nginxErrorMax bytes, mid-value as often as
	// not (a long request or referrer): the value cut runs to the end.
	cut := len(line) >= nginxErrorMax
	// The trailer ("client: ..., server: ..., request: "...", ...") follows
	// the message, and nginx escapes nothing in either: a decoded URI in
	// the message, or a Referer at the trailer's end, can spell a trailer
	// of its own. So every ", client: " is tried, and only a line where
	// exactly one reads as a trailer gets it split into fields; a line
	// where two do keeps both in error_message. A client address an
	// attacker wrote is never shipped as the client's.
	p.pairs = p.pairs[:0]
	at := -1
	for search := 0; ; {
		k := bytes.Index(msg[search:], []byte(", client: "))
		if k < 0 {
			break
		}
		c := search + k
		mark := len(p.pairs)
		if p.trailer(msg[c+2:], cut) {
			if at >= 0 {
				at = -2 // two readings: keep neither
				break
			}
			at = c
		} else {
			p.pairs = p.pairs[:mark]
		}
		search = c + 1
	}
	switch {
	case at >= 0:
		msg = msg[:at]
	default:
		p.pairs = p.pairs[:0]
	}
	start := len(rec.Fields)
	rec.Add("level", sidetrail.KindString, level)
	rec.Add("pid", numKind(pid), pid)
	rec.Add("tid", numKind(tid), tid)
	if conn != nil {
		rec.Add("connection_id", numKind(conn), conn)
	}
	if len(msg) > 0 {
		rec.Add("error_message", sidetrail.KindString, msg)
	}
	dotted := false
	for i, kv := range p.pairs {
		if len(kv.value) == 0 || seenBefore(p.pairs[:i], kv.key) {
			continue
		}
		if strings.IndexByte(kv.key, '.') >= 0 {
			dotted = true
		}
		rec.Add(kv.key, sidetrail.KindString, kv.value)
		if kv.key == "request" {
			addRequestFields(rec, kv.value, dMethod|dURI|dPath|dQuery|dProto)
		}
	}
	if dotted {
		fixPathConflicts(rec.Fields[start:])
	}
	if cut {
		rec.Flags |= sidetrail.FlagTruncated
	}
	rec.Time = t
	return nil
}

// nginxErrorMax is the length of an error log line nginx cut: its entries
// are at most NGX_MAX_ERROR_STR (2048) bytes with the newline.
const nginxErrorMax = 2047

// seenBefore reports whether key is among pairs (a repeated trailer key
// keeps its first value).
func seenBefore(pairs []pair, key string) bool {
	for _, kv := range pairs {
		if kv.key == key {
			return true
		}
	}
	return false
}

// numKind is KindInt for a valid JSON integer, else KindString (a pid with
// leading zeros, say).
func numKind(b []byte) sidetrail.Kind {
	if isJSONInt(b) {
		return sidetrail.KindInt
	}
	return sidetrail.KindString
}

// trailer parses "client: ADDR[, KEY: VALUE]..." to the end of t into
// p.pairs. Keys are lowercase words, spaces, '/' and '_'; nginx writes the
// known ones in a fixed order (client, server, request, subrequest,
// upstream, host, referrer; other keys after them). A value is either quoted
// or bare. nginx does not escape quoted values, so a quoted value ends at
// the first quote that ends the line or is followed by ", KEY:" with KEY a
// key that may come later in that order: a referrer cannot fake a host.
// The referrer, which nginx writes last, runs to the end of the line: it
// cannot add keys either. A bare value runs to the next ", KEY:". The first
// key must be client and its value a bare address. In a line nginx cut
// (cut), a quoted value may run to the end unterminated, and a key cut
// short ends the trailer.
func (p *nginxErrorParser) trailer(t []byte, cut bool) bool {
	first := true
	prev := -1
	for len(t) > 0 {
		k, rank := trailerKeyAt(t)
		if cut && !first && cutName(t) {
			break // "refer" of "referrer: ", cut
		}
		if k == 0 || rank < prev || (rank == prev && rank < rankOther) {
			return false
		}
		rawKey := t[:k]
		if first != (rank == 0) {
			return false
		}
		prev = rank
		t = t[k+1:]
		if len(t) > 0 && t[0] == ' ' {
			t = t[1:]
		}
		var val []byte
		if len(t) > 0 && t[0] == '"' && !first {
			end := -1
			for q := 1; q < len(t); q++ {
				if t[q] != '"' {
					continue
				}
				if q == len(t)-1 {
					end = q
					break
				}
				if rank == rankReferrer {
					continue // nginx writes nothing after the referrer
				}
				if cut && cutKey(t[q+1:]) {
					end = q
					break
				}
				if q+2 < len(t) && t[q+1] == ',' && t[q+2] == ' ' {
					if k2, r2 := trailerKeyAt(t[q+3:]); k2 > 0 && (r2 > rank || r2 == rankOther) {
						end = q
						break
					}
				}
			}
			switch {
			case end >= 0:
				val = t[1:end]
				t = t[end+1:]
			case cut:
				val, t = t[1:], nil
			default:
				return false
			}
		} else {
			end := -1
			for from := 0; ; {
				n := bytes.Index(t[from:], []byte(", "))
				if n < 0 {
					break
				}
				if k2, _ := trailerKeyAt(t[from+n+2:]); k2 > 0 {
					end = from + n
					break
				}
				from += n + 2
			}
			if end < 0 {
				end = len(t)
				if c := bytes.LastIndexByte(t, ','); cut && c >= 0 && cutKey(t[c:]) {
					end = c // "client: 127.0.0.1, serv", cut
				}
			}
			val = t[:end]
			t = t[end:]
			if first && bytes.ContainsAny(val, " \"") {
				return false
			}
		}
		p.pairs = append(p.pairs, pair{key: p.name(rawKey), value: val})
		first = false
		if len(t) == 0 {
			break
		}
		if cut && cutKey(t) {
			break // ", ser" of ", server: ", cut
		}
		if len(t) < 2 || t[0] != ',' || t[1] != ' ' {
			return false
		}
		t = t[2:]
	}
	return !first
}

// cutKey reports whether rest, the end of a line nginx cut, is the start of
// a ", KEY: " that the cut left without its colon.
func cutKey(rest []byte) bool {
	if len(rest) == 0 || rest[0] != ',' {
		return false
	}
	if len(rest) > 1 && rest[1] != ' ' {
		return false
	}
	return cutName(rest[min(2, len(rest)):])
}

// cutName reports whether t, the end of a line nginx cut, is a key's first
// characters without its colon.
func cutName(t []byte) bool {
	for _, c := range t {
		if !keyByte(c) {
			return false
		}
	}
	return true
}

// keyByte reports whether c may be part of a trailer key.
func keyByte(c byte) bool { return c >= 'a' && c <= 'z' || c == ' ' || c == '/' || c == '_' }

// rankOther is the order rank of keys nginx's HTTP module does not write;
// rankReferrer that of the key it writes last.
const (
	rankOther    = 100
	rankReferrer = 6
)

// trailerKeyAt returns the length of the "key" before the ':' that t
// starts with (0 if none) and its rank in nginx's trailer order.
func trailerKeyAt(t []byte) (int, int) {
	k := 0
	for k < len(t) && keyByte(t[k]) {
		k++
	}
	if k == 0 || k >= len(t) || t[k] != ':' || t[0] == ' ' || t[k-1] == ' ' {
		return 0, 0
	}
	switch string(t[:k]) {
	case "client":
		return k, 0
	case "server":
		return k, 1
	case "request":
		return k, 2
	case "subrequest":
		return k, 3
	case "upstream":
		return k, 4
	case "host":
		return k, 5
	case "referrer":
		return k, 6
	}
	return k, rankOther
}

// name maps a trailer key to its field name, without allocating for keys
// seen before (the table is bounded).
func (p *nginxErrorParser) name(raw []byte) string {
	if s, ok := p.names[string(raw)]; ok {
		return s
	}
	k := string(raw)
	name := strings.NewReplacer(" ", "_", "/", "_").Replace(k)
	switch name {
	case "level", "pid", "tid", "connection_id", "error_message",
		"request_method", "request_uri", "request_path", "request_query", "request_protocol":
		name = "nginx." + name
	}
	name = fieldKey(name)
	if len(p.names) < maxNames {
		p.names[k] = name
	}
	return name
}
