package elasticsearch

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// indexPattern is a compiled Config.Index: literal pieces and date verbs.
// Expanding it for a record costs a comparison with the previous record's
// hour; the name is re-rendered (into reused memory) only when the hour
// changes.
type indexPattern struct {
	parts  []indexPart
	dated  bool
	quoted []byte // the last rendered name as a JSON string
	hour   int64  // the hour (Unix hours) quoted was rendered for
	valid  bool
}

type indexPart struct {
	lit  string
	verb byte // 0 for a literal, else 'Y', 'm', 'd', 'H'
}

// compileIndex parses an index pattern. Elasticsearch index names are
// lowercase and may not contain \ / * ? " < > | , # space or colon.
func compileIndex(p string) (*indexPattern, error) {
	if p == "" {
		return nil, fmt.Errorf("empty index name")
	}
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("%q: not valid UTF-8", p)
	}
	ip := &indexPattern{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ip.parts = append(ip.parts, indexPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			if strings.IndexByte(`\/*?"<>|, #:`, c) >= 0 || c < 0x20 {
				return nil, fmt.Errorf("%q: character %q is not allowed in an index name", p, c)
			}
			if c >= 'A' && c <= 'Z' {
				return nil, fmt.Errorf("%q: index names must be lowercase", p)
			}
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(p) {
			return nil, fmt.Errorf("%q: trailing %%", p)
		}
		i++
		switch v := p[i]; v {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd', 'H':
			flush()
			ip.parts = append(ip.parts, indexPart{verb: v})
			ip.dated = true
		default:
			return nil, fmt.Errorf("%q: unknown verb %%%c (want %%Y, %%m, %%d, %%H or %%%%)", p, v)
		}
	}
	flush()
	if first := p[0]; first == '-' || first == '_' || first == '+' || first == '.' {
		return nil, fmt.Errorf("%q: an index name must not start with %q", p, first)
	}
	if !ip.dated {
		ip.quoted = ip.render(nil, time.Time{})
		ip.valid = true
	}
	return ip, nil
}

// appendQuoted appends the index name for t as a JSON string.
func (ip *indexPattern) appendQuoted(dst []byte, t time.Time) []byte {
	if !ip.dated {
		return append(dst, ip.quoted...)
	}
	sec := t.Unix()
	h := sec / 3600
	if sec < 0 && sec%3600 != 0 {
		h--
	}
	if !ip.valid || h != ip.hour {
		ip.quoted = ip.render(ip.quoted[:0], t)
		ip.hour, ip.valid = h, true
	}
	return append(dst, ip.quoted...)
}

func (ip *indexPattern) render(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	t = t.UTC()
	y, mo, d := t.Date()
	dst = append(dst, '"')
	for _, p := range ip.parts {
		switch p.verb {
		case 0:
			// compileIndex refused quotes, backslashes and control
			// characters, so the literal needs no escaping.
			dst = append(dst, p.lit...)
		case 'Y':
			dst = appendPad(dst, y, 4)
		case 'm':
			dst = appendPad(dst, int(mo), 2)
		case 'd':
			dst = appendPad(dst, d, 2)
		case 'H':
			dst = appendPad(dst, t.Hour(), 2)
		}
	}
	return append(dst, '"')
}

func appendPad(dst []byte, v, width int) []byte {
	var b [8]byte
	i := len(b)
	for v > 0 || i == len(b) {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	for len(b)-i < width {
		i--
		b[i] = '0'
	}
	return append(dst, b[i:]...)
}
