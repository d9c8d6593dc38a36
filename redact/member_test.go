package redact

import (
	"encoding/json"
	"testing"
)

// FuzzFindMember: findMembers never panics, and a span it finds in a valid
// JSON text is a valid JSON value.
func FuzzFindMember(f *testing.F) {
	f.Add([]byte(`{"client":{"ip":"10.1.1.1","port":1}}`), "client.ip")
	f.Add([]byte(`{"a.b":{"c":[1,{"d":"}"}]},"a":{"b.c":2}}`), "a.b.c")
	f.Add([]byte(`{"x":"\"}","y" : { "z" : -1.5e3 } }`), "y.z")
	f.Add([]byte(`{"p":[{"i":"x"},[{"i":1}],3]}`), "p.i")
	f.Fuzz(func(t *testing.T, b []byte, path string) {
		for _, m := range findMembers(b, 0, path, nil) {
			if m[0] < 0 || m[1] > len(b) || m[0] >= m[1] {
				t.Fatalf("span %v of %d bytes", m, len(b))
			}
			if json.Valid(b) && !json.Valid(b[m[0]:m[1]]) {
				t.Fatalf("%q: %q at %q is not a JSON value", b, path, b[m[0]:m[1]])
			}
		}
	})
}
