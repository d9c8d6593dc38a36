package parser

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/sidetrail/sidetrail"
)

// Objects inside a JSON line's values are shipped as written, unless one
// of them holds a key twice: Elasticsearch refuses a document with a key
// written twice, and a JSON reader keeps one of them anyway (parser22 P2:
// {"x":{"a":1,"a":2}} shipped so). skipValue tells the plain case apart as
// it validates (noteKey) and marks the record (Record.Twins); DedupeFields
// rewrites the rest once the redactor has seen every value: a field rule
// takes each of them out of the message, the earlier ones too.

// Dedupe is DedupeFields, for the pipeline, which knows the parser only by
// its methods.
func (p *jsonParser) Dedupe(rec *sidetrail.Record) { DedupeFields(rec) }

// DedupeFields writes the objects in rec's KindJSON fields with each key
// once (see appendDeduped), when rec.Twins says one may hold a key twice.
// A value the redaction left invalid JSON is left as it is.
func DedupeFields(rec *sidetrail.Record) {
	if !rec.Twins {
		return
	}
	rec.Twins = false
	for i := range rec.Fields {
		f := &rec.Fields[i]
		if f.Kind != sidetrail.KindJSON || !json.Valid(f.Value) {
			continue
		}
		s := len(rec.Scratch)
		var changed bool
		rec.Scratch, _ = appendDeduped(rec.Scratch, f.Value, 0, &changed)
		if changed {
			f.Value = rec.Scratch[s:len(rec.Scratch):len(rec.Scratch)]
		} else {
			rec.Scratch = rec.Scratch[:s]
		}
	}
}

// maxKeysCompared is how many keys of one object noteKey compares each new
// key with; an object with more is left to appendDeduped, which hashes them.
const maxKeysCompared = 32

// keySpan is one key of an object open in skipValue: b[s:e], as written.
type keySpan struct{ s, e int }

// noteKey records the key b[s:e] of the innermost open object and reports
// whether the value needs appendDeduped: the key is written before in the
// object, or it holds an escape or invalid UTF-8 (which may make it another
// key's twin), or the object has more keys than maxKeysCompared.
func (p *jsonParser) noteKey(b []byte, s, e int, esc bool) bool {
	key := b[s:e]
	if esc {
		return true
	}
	for _, c := range key {
		if c >= utf8.RuneSelf {
			if !utf8.Valid(key) {
				return true
			}
			break
		}
	}
	keys := p.okeys[p.obase[len(p.obase)-1]:]
	if len(keys) >= maxKeysCompared {
		return true
	}
	for _, k := range keys {
		if bytes.Equal(b[k.s:k.e], key) {
			return true
		}
	}
	p.okeys = append(p.okeys, keySpan{s, e})
	return false
}

// appendDeduped appends the valid JSON value at b[i:] to dst with the keys
// of every object in it unique as a JSON reader sees them. A key repeated
// (the same once its escapes are decoded: "\u0061" and "a") keeps its first
// place and takes its last value, as at a line's top level; keys that come
// to one name only as invalid UTF-8 is written (U+FFFD) stay two, the later
// one with '_' added, as at the top level too. Objects are written anew
// (keys re-encoded, white space left out); other values are copied.
// changed reports whether a key was dropped or renamed. The value's depth is
// at most maxDepth, which bounds the recursion.
func appendDeduped(dst, b []byte, i int, changed *bool) ([]byte, int) {
	i = skipWS(b, i)
	switch b[i] {
	case '{':
		return appendDedupedObject(dst, b, i, changed)
	case '[':
		dst = append(dst, '[')
		i = skipWS(b, i+1)
		if b[i] == ']' {
			return append(dst, ']'), i + 1
		}
		for {
			dst, i = appendDeduped(dst, b, i, changed)
			i = skipWS(b, i)
			if b[i] == ']' {
				return append(dst, ']'), i + 1
			}
			dst = append(dst, ',')
			i++
		}
	case '"':
		end, _, _ := scanString(b, i)
		return append(dst, b[i:end]...), end
	case 't', 'n':
		return append(dst, b[i:i+4]...), i + 4
	case 'f':
		return append(dst, b[i:i+5]...), i + 5
	}
	end, _, _ := scanNumber(b, i)
	return append(dst, b[i:end]...), end
}

func appendDedupedObject(dst, b []byte, i int, changed *bool) ([]byte, int) {
	type member struct {
		name   string // decoded, as written in the line
		v0, v1 int    // its value in vals
	}
	var ms []member
	var vals []byte
	at := map[string]int{}
	i = skipWS(b, i+1)
	if b[i] == '}' {
		return append(dst, '{', '}'), i + 1
	}
	for {
		end, esc, _ := scanString(b, i)
		raw := b[i+1 : end-1]
		name := string(raw)
		if esc {
			u, _ := appendUnescapeJSON(nil, raw)
			name = string(u)
		}
		i = skipWS(b, end) + 1 // after ':'
		v0 := len(vals)
		vals, i = appendDeduped(vals, b, i, changed)
		if k, ok := at[name]; ok {
			ms[k].v0, ms[k].v1 = v0, len(vals)
			*changed = true
		} else {
			at[name] = len(ms)
			ms = append(ms, member{name, v0, len(vals)})
		}
		i = skipWS(b, i)
		if b[i] == '}' {
			i++
			break
		}
		i = skipWS(b, i+1) // after ','
	}
	names := make([]string, len(ms))
	taken := make(map[string]bool, len(ms))
	for k := range ms {
		names[k] = validUTF8(ms[k].name)
		taken[names[k]] = true
	}
	first := make(map[string]bool, len(ms))
	var buf []byte
	for k, n := range names {
		if !first[n] {
			first[n] = true
			continue
		}
		for j := 1; ; j++ {
			buf = appendSuffix(append(buf[:0], n...), j)
			if !taken[string(buf)] {
				break
			}
		}
		names[k] = string(buf)
		taken[names[k]] = true
		*changed = true
	}
	dst = append(dst, '{')
	for k := range ms {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = sidetrail.AppendJSONString(dst, names[k])
		dst = append(dst, ':')
		dst = append(dst, vals[ms[k].v0:ms[k].v1]...)
	}
	return append(dst, '}'), i
}
