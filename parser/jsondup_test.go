package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// A key written twice inside a value ships once, as a JSON reader reads it
// (its first place, its last value), as at a line's top level, once the
// redactor has seen them all (parser22 P2: they shipped as written, which
// Elasticsearch refuses). Keys that differ only in invalid UTF-8 are one
// key there: the parser writes both U+FFFD before the redactor sees them.
func TestJSONNestedDuplicateKeys(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON})
	many := func(dup bool) string {
		var b strings.Builder
		b.WriteString(`{"x":{`)
		for i := range 40 {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		if dup {
			b.WriteString(`"k3":"last",`)
		}
		b.WriteString(`"end":true}}`)
		return b.String()
	}
	for _, tt := range []struct{ line, want string }{
		{`{"x":{"a":1,"a":2}}`, `{"a":2}`},
		{`{"x":[{"a":1,"a":2}]}`, `[{"a":2}]`},
		{`{"x":{"y":{"z":1,"z":2}}}`, `{"y":{"z":2}}`},
		{`{"x":{"\u0061":1,"a":2}}`, `{"a":2}`},
		{`{"x":{"":1,"":2}}`, `{"":2}`},
		{`{"x":{"a":{"q":1},"b":2, "a" : {"r":[3]}}}`, `{"a":{"r":[3]},"b":2}`},
		{"{\"x\":{\"\xff\":1,\"\xfe\":2,\"\ufffd_\":3}}", `{"` + "\ufffd" + `":2,"` + "\ufffd_" + `":3}`},
		// Nothing twice: as written, escapes and white space included.
		{`{"x":{"a":1, "b" : [1,{"a":2}], "c":{"d":"\u00e9"}, "\u0062x":0}}`, `{"a":1, "b" : [1,{"a":2}], "c":{"d":"\u00e9"}, "\u0062x":0}`},
		{`{"x":{"a":{"b":1},"c":{"b":2}}}`, `{"a":{"b":1},"c":{"b":2}}`},
		{many(false), many(false)[5 : len(many(false))-1]},
	} {
		_, rec := parseOK(t, p, tt.line)
		DedupeFields(rec)
		if len(rec.Fields) != 1 || rec.Fields[0].Kind != sidetrail.KindJSON {
			t.Errorf("%s: fields %+v", tt.line, rec.Fields)
			continue
		}
		if got := string(rec.Fields[0].Value); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.line, got, tt.want)
		}
	}
	_, rec := parseOK(t, p, many(true))
	if !rec.Twins {
		t.Errorf("40 keys and one twice: not marked")
	}
	DedupeFields(rec)
	var m map[string]any
	if err := json.Unmarshal(rec.Fields[0].Value, &m); err != nil || len(m) != 41 || m["k3"] != "last" || !bytes.HasPrefix(rec.Fields[0].Value, []byte(`{"k0":0,"k1":1,"k2":2,"k3":"last","k4":4`)) {
		t.Errorf("40 keys and one twice: %s (%v)", rec.Fields[0].Value, err)
	}
}

// uniqueKeys reports the first object key in the JSON value v that its
// object holds twice, as encoding/json decodes keys.
func uniqueKeys(v []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(v))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // the next string token is a key
	}
	var st []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return "", true
		}
		top := (*frame)(nil)
		if len(st) > 0 {
			top = st[len(st)-1]
		}
		if k, isStr := tok.(string); isStr && top != nil && top.obj && top.key {
			if top.keys[k] {
				return k, false
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			st = append(st, &frame{obj: true, keys: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			st = append(st, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			st = st[:len(st)-1]
		}
		if len(st) == 0 {
			return "", true
		}
		if t := st[len(st)-1]; t.obj {
			t.key = true
		}
	}
}
