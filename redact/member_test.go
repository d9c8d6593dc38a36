package redact

import (
	"encoding/json"
	"testing"
)

// FuzzFindMember: findMember never panics, and a span it finds in a valid
// JSON text is a valid JSON value.
func FuzzFindMember(f *testing.F) {
	f.Add([]byte(`{"client":{"ip":"10.1.1.1","port":1}}`), "client.ip")
	f.Add([]byte(`{"a.b":{"c":[1,{"d":"}"}]},"a":{"b.c":2}}`), "a.b.c")
	f.Add([]byte(`{"x":"\"}","y" : { "z" : -1.5e3 } }`), "y.z")
	f.Fuzz(func(t *testing.T, b []byte, path string) {
		s, e, ok := findMember(b, 0, path)
		if !ok {
			return
		}
		if s < 0 || e > len(b) || s >= e {
			t.Fatalf("span [%d,%d) of %d bytes", s, e, len(b))
		}
		if json.Valid(b) && !json.Valid(b[s:e]) {
			t.Fatalf("%q: %q at %q is not a JSON value", b, path, b[s:e])
		}
	})
}
