package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// kv is a test field: a string value unless kind says otherwise.
type kv struct {
	key, value string
	kind       sidetrail.Kind
}

// newRecord builds a record the way the nginx parser does: the message is
// the line, and a field value found in it is a slice of it (so the alias
// fast path is exercised); other values get their own memory.
func newRecord(msg string, fields ...kv) *sidetrail.Record {
	line := []byte(msg)
	rec := &sidetrail.Record{Message: line}
	for _, f := range fields {
		var v []byte
		if i := bytes.Index(line, []byte(f.value)); i >= 0 && f.value != "" {
			v = line[i : i+len(f.value)]
		} else {
			v = []byte(f.value)
		}
		rec.Add(f.key, f.kind, v)
	}
	return rec
}

func mustNew(t testing.TB, rules []Rule, opts ...Options) *Redactor {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	r, err := New(rules, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func field(rec *sidetrail.Record, key string) (string, bool) {
	f, ok := rec.Get(key)
	return string(f.Value), ok
}

// remaining returns a description of the first match any value rule of r
// would still redact in v (a field named key, "" for the message): the
// detectors run again on the output, ignoring replacement tokens and
// matches the rule would leave as they are (truncated addresses, templates
// that rebuild their match).
func remaining(r *Redactor, v []byte, key string, msg bool) string {
	return remainingIn(r, v, key, msg, false)
}

// remainingIn is remaining; jsonText says v is a JSON line's message, which
// Apply takes for valid JSON without checking (newQuote).
func remainingIn(r *Redactor, v []byte, key string, msg, jsonText bool) string {
	for _, ru := range r.sh.valueRules {
		if !msg && !ru.targets(key) {
			continue
		}
		// Matches are fitted to a JSON text's strings as Apply fits them
		// (numQuote.place): the rest of a match cut at a string's end is
		// searched again, and the bytes of an escape it cut are not its.
		var q numQuote
		if jsonText {
			q.checked, q.json = true, true
		}
		if ru.kind == kindPattern {
			locs := ru.re.FindAllSubmatchIndex(v, -1)
			for i := 0; i < len(locs); i++ {
				loc := locs[i]
				s, e, clipped, skip := q.place(v, loc[0], loc[1])
				if clipped {
					more := ru.re.FindAllSubmatchIndex(v[e:], -1)
					for _, l := range more {
						for k := range l {
							if l[k] >= 0 {
								l[k] += e
							}
						}
					}
					locs = append(locs[:i+1], more...)
				}
				m := v[s:e]
				if skip || len(m) == 0 || isToken(m) || cutsToken(v, s, e) {
					continue
				}
				if ru.tmpl != nil && ru.act == actMask && !clipped && s == loc[0] && e == loc[1] {
					if bytes.Equal(ru.re.Expand(nil, ru.tmpl, v, loc), m) {
						continue
					}
				}
				if ru.tmpl != nil && (clipped || s != loc[0] || e != loc[1]) {
					if l := ru.re.FindSubmatchIndex(m); l == nil || bytes.Equal(ru.re.Expand(nil, ru.tmpl, m, l), m[l[0]:l[1]]) {
						continue
					}
				}
				return ru.name + ": " + string(m)
			}
			continue
		}
		var st findState
		for pos := 0; pos < len(v); {
			s, e, ok := ru.det.find(v, pos, key, &st)
			if !ok {
				break
			}
			pos = e
			s, e, clipped, skip := q.place(v, s, e)
			if clipped {
				pos = e
			}
			m := v[s:e]
			if skip || isToken(m) || bytes.Equal(r.replacement(ru, m), m) {
				continue
			}
			return ru.name + ": " + string(m)
		}
	}
	return ""
}

// leftovers checks a redacted record: nothing any rule matches remains in
// the message or a field (strings inside JSON values unescaped), and JSON
// values are still valid JSON.
func leftovers(t testing.TB, r *Redactor, rec *sidetrail.Record) {
	t.Helper()
	if m := remainingIn(r, rec.Message, "", true, jsonLine(rec)); m != "" {
		t.Errorf("message %q still holds %s", rec.Message, m)
	}
	for _, f := range rec.Fields {
		if rec.KeysFromLine {
			if m := remaining(r, []byte(f.Key), "", true); m != "" {
				t.Errorf("field name %q still holds %s", f.Key, m)
			}
		}
		switch f.Kind {
		case sidetrail.KindString, sidetrail.KindInt, sidetrail.KindFloat:
			if m := remaining(r, f.Value, f.Key, false); m != "" {
				t.Errorf("field %s=%q still holds %s", f.Key, f.Value, m)
			}
		case sidetrail.KindJSON:
			if !json.Valid(f.Value) {
				t.Errorf("field %s is no longer valid JSON: %q", f.Key, f.Value)
				continue
			}
			for i := 0; ; {
				tk, next, ok := nextJSONToken(f.Value, i)
				if !ok {
					break
				}
				i = next
				c := appendUnescapeJSON(nil, f.Value[tk.s:tk.e])
				if m := remaining(r, c, f.Key, false); m != "" {
					t.Errorf("field %s: JSON %q still holds %s", f.Key, f.Value, m)
				}
			}
		}
	}
}

// appendPercent writes what url.QueryEscape and url.PathEscape write.
func TestAppendPercentAsNetURL(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, v := range []string{"", "plain", "ACCT R7", "a@b.c/d?e=f&g+h;i,j:k$l~m", "é\x00\xff%", "100% sure", string(all)} {
		if got, want := string(appendPercent(nil, []byte(v), pctQuery)), url.QueryEscape(v); got != want {
			t.Errorf("query %q: got %q, want %q", v, got, want)
		}
		if got, want := string(appendPercent(nil, []byte(v), pctPath)), url.PathEscape(v); got != want {
			t.Errorf("path %q: got %q, want %q", v, got, want)
		}
	}
}
