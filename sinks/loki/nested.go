package loki

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/sidetrail/sidetrail"
)

// nestedField finds a dotted name inside a field holding a JSON object, as
// the record JSON writes it: "m.svc" is the member "svc" of the field "m"
// ({"m":{"svc":"v1"}} and {"m.svc":"v1"} ship the same record JSON). Each
// dot parts two names or belongs to one, as the parser's time_key reads
// them. A string comes back unquoted, a number or true/false as written,
// an object or array as its JSON; null as none. A label_fields or
// metadata_fields name missed such a member, silently (sinks23 P1).
func nestedField(r *sidetrail.Record, name string) (str string, b []byte, ok bool) {
	for i := strings.IndexByte(name, '.'); i > 0; {
		f, found := r.Get(name[:i])
		if found && f.Kind == sidetrail.KindJSON {
			if v := memberPath(f.Value, name[i+1:]); v != nil {
				return jsonText(v)
			}
		}
		j := strings.IndexByte(name[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return "", nil, false
}

// memberPath returns the value at the dotted path inside the JSON object
// obj, or nil.
func memberPath(obj []byte, path string) []byte {
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		v := member(obj, path[:i])
		switch {
		case v == nil:
		case i == len(path):
			return v
		case v[0] == '{':
			if w := memberPath(v, path[i+1:]); w != nil {
				return w
			}
		}
	}
	return nil
}

// member returns the value of obj's member named name (the last, of a name
// given twice, as the parser keeps it), or nil.
func member(obj []byte, name string) []byte {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	var found []byte
	for i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '"'; {
		end := valueEnd(obj, i)
		if end < 0 {
			return nil
		}
		key := obj[i:end]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil
		}
		vs := skipSpace(obj, i+1)
		ve := valueEnd(obj, vs)
		if ve < 0 {
			return nil
		}
		if keyIs(key, name) {
			found = obj[vs:ve]
		}
		i = skipSpace(obj, ve)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return found
}

// keyIs reports whether the quoted JSON string key is name.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1:len(key)-1]) == name
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

// valueEnd returns the end of the JSON value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := valueEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonText is a JSON value as a label's text.
func jsonText(v []byte) (string, []byte, bool) {
	switch {
	case string(v) == "null":
		return "", nil, false
	case v[0] == '"' && bytes.IndexByte(v, '\\') < 0:
		return "", v[1 : len(v)-1], true
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", nil, false
		}
		return s, nil, true
	}
	return "", v, true
}
