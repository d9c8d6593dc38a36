package parser

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/recordjson"
)

// A record's fields become one JSON object, dotted names nested ("a.b" is
// {"a":{"b":…}}). Two fields where one name is the other's dotted prefix
// ("a" and "a.b") would write the key "a" twice: Elasticsearch rejects such
// a document. These tests read the JSON the encoder writes.

// leaves renders "k=v" pairs as the map encodedFields returns.
func leaves(kv ...string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

func renderLeaves(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "\t%s=%s\n", k, m[k])
	}
	return b.String()
}

// checkFields parses line with p and checks the encoded record's fields.
func checkFields(t *testing.T, p Parser, line string, want map[string]string) *sidetrail.Record {
	t.Helper()
	rec := &sidetrail.Record{Message: []byte(line)}
	if err := p.Parse([]byte(line), rec); err != nil {
		t.Fatalf("Parse(%s): %v", line, err)
	}
	got, err := recordjson.FieldLeaves(rec)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s: fields\n%swant\n%s", line, renderLeaves(got), renderLeaves(want))
	}
	return rec
}

func TestJSONPathConflicts(t *testing.T) {
	tests := []struct {
		name, line string
		want       map[string]string
	}{
		{
			name: "no dots: unchanged",
			line: `{"a":"x","ab":1,"a_b":true,"b":{"c":[1,2]},"d":null}`,
			want: leaves("a=x", "ab=1", "a_b=true", "b.c[0]=1", "b.c[1]=2", "d=<nil>"),
		},
		{
			name: "dots without conflict: nested as before",
			line: `{"log.level":"info","service.name":"api","http.request.method":"GET","http.response.status_code":200,"a.b":1,"ab.c":2,"a.bc":3}`,
			want: leaves("log.level=info", "service.name=api", "http.request.method=GET",
				"http.response.status_code=200", "a.b=1", "ab.c=2", "a.bc=3"),
		},
		{
			name: "a then a.b",
			line: `{"a":"x","a.b":"y"}`,
			want: leaves("a=x", "a_b=y"),
		},
		{
			name: "a.b then a",
			line: `{"a.b":"y","a":"x"}`,
			want: leaves("a=x", "a_b=y"),
		},
		{
			name: "a.b and a.b.c",
			line: `{"a.b":"x","a.b.c":"y"}`,
			want: leaves("a.b=x", "a_b_c=y"),
		},
		{
			name: "a.b.c then a.b",
			line: `{"a.b.c":"y","a.b":"x"}`,
			want: leaves("a.b=x", "a_b_c=y"),
		},
		{
			name: "a value and an object under it",
			line: `{"k8s":"x","k8s.pod":{"name":"p1"}}`,
			want: leaves("k8s=x", "k8s_pod.name=p1"),
		},
		{
			name: "three levels",
			line: `{"a":1,"a.b":2,"a.b.c":3,"a.x":4}`,
			want: leaves("a=1", "a_b=2", "a_b_c=3", "a_x=4"),
		},
		{
			name: "three levels, deepest first",
			line: `{"a.b.c":3,"a.b":2,"a":1}`,
			want: leaves("a=1", "a_b=2", "a_b_c=3"),
		},
		{
			name: "siblings under a shared object stay nested",
			line: `{"a.b":1,"a.c.d":2,"a.c.e":3,"a.c":4}`,
			want: leaves("a.b=1", "a.c=4", "a_c_d=2", "a_c_e=3"),
		},
		{
			name: "the flat name is taken",
			line: `{"a":1,"a.b":2,"a_b":3}`,
			want: leaves("a=1", "a_b_=2", "a_b=3"),
		},
		{
			name: "the flat name and the next are taken",
			line: `{"a_b_":4,"a":1,"a.b":2,"a_b":3}`,
			want: leaves("a=1", "a_b__=2", "a_b=3", "a_b_=4"),
		},
		{
			name: "two names flatten alike",
			line: `{"a":1,"a.b_c":2,"a_b.c":3,"a_b":4}`,
			// a.b_c → a_b_c; a_b.c is below a_b → a_b_c is taken → a_b_c_.
			want: leaves("a=1", "a_b_c=2", "a_b_c_=3", "a_b=4"),
		},
		{
			name: "a flattened name is the prefix of another dotted name",
			line: `{"a_b.c":3,"a":1,"a.b":2}`,
			want: leaves("a=1", "a_b=2", "a_b_c=3"),
		},
		{
			name: "a chain of flattened prefixes",
			line: `{"a_b_c.d":4,"a_b.c":3,"a.b":2,"a":1}`,
			want: leaves("a=1", "a_b=2", "a_b_c=3", "a_b_c_d=4"),
		},
		{
			name: "exact duplicates: first place, last value",
			line: `{"a.b":1,"x":0,"a.b":2}`,
			want: leaves("a.b=2", "x=0"),
		},
		{
			name: "duplicates of both names",
			line: `{"a":1,"a.b":2,"a":3,"a.b":4}`,
			want: leaves("a=3", "a_b=4"),
		},
		{
			name: "renamed record keys: json and json.message",
			line: `{"message":"m","json":1}`,
			want: leaves("json=1", "json_message=m"),
		},
		{
			name: "the time key is no field and holds nothing up",
			line: `{"time":"2024-01-02T15:04:05Z","time.zone":"UTC"}`,
			want: leaves("time.zone=UTC"),
		},
		{
			name: "a time key that does not parse stays a field",
			line: `{"time":"later","time.zone":"UTC"}`,
			want: leaves("time=later", "time_zone=UTC"),
		},
		{
			name: "deeper than maxUp: below a value",
			line: `{"a":1,"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r":2}`,
			want: leaves("a=1", "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q_r=2"),
		},
		{
			name: "deeper than maxUp: no conflict",
			line: `{"x":1,"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r":2,"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.s":3}`,
			want: leaves("x=1", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r=2", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.s=3"),
		},
		{
			name: "deeper than maxUp, then its prefix",
			line: `{"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r":2,"a.b.c":1}`,
			want: leaves("a.b.c=1", "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q_r=2"),
		},
		{
			name: "keys that differ in invalid UTF-8 only: two fields",
			line: "{\"a\xff\":1,\"a\xfe\":2,\"b\":3,\"a\xff\":4}",
			want: leaves("a\ufffd=4", "a\ufffd_=2", "b=3"),
		},
		{
			name: "a renamed key and the same name written out: two values",
			line: `{"message":"hi","json.message":"x"}`,
			want: leaves("json.message=hi", "json.message_=x"),
		},
		{
			name: "the same, the other way round, and a true duplicate of each",
			line: `{"json.message":"x","message":"hi","json.message":"y","message":"ho"}`,
			want: leaves("json.message=y", "json.message_=ho"),
		},
		{
			name: "a twin's new name is taken by a later key",
			line: `{"message":"hi","json.message":"x","json.message_":"z"}`,
			want: leaves("json.message=hi", "json.message__=x", "json.message_=z"),
		},
		{
			name: "an empty key and _empty",
			line: `{"":1,"_empty":2}`,
			want: leaves("_empty=1", "_empty_=2"),
		},
		{
			name: "many keys that differ in invalid UTF-8 only",
			line: "{\"a\x80\":0,\"a\x81\":1,\"a\x82\":2,\"a\x83\":3,\"a\x84\":4,\"a\x85\":5,\"a\x86\":6,\"a\x87\":7,\"a\x88\":8,\"a\x89\":9,\"a\x8a\":10}",
			want: leaves("a\ufffd=0", "a\ufffd_=1", "a\ufffd__=2", "a\ufffd___=3", "a\ufffd____=4", "a\ufffd_____=5", "a\ufffd______=6", "a\ufffd_______=7", "a\ufffd________=8", "a\ufffd_9=9", "a\ufffd_10=10"),
		},
		{
			name: "escaped keys",
			line: `{"\u0061":1,"a\u002eb":2}`,
			want: leaves("a=1", "a_b=2"),
		},
	}
	warm, warmHashed := newJSONParser(t, smallPaths), newJSONParser(t, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFields(t, newJSONParser(t, smallPaths), tt.line, tt.want)
			checkFields(t, newJSONParser(t, 0), tt.line, tt.want)
			// Twice with parsers that have seen the other lines: their
			// caches must not change the result.
			for range 2 {
				checkFields(t, warm, tt.line, tt.want)
				checkFields(t, warmHashed, tt.line, tt.want)
			}
		})
	}
}

// newJSONParser returns a json parser that hashes the names of a line with a
// conflict when it has more than small fields (smallPaths, or 0 to test
// the hash table with short lines).
func newJSONParser(t testing.TB, small int) Parser {
	p := mustNew(t, Config{Format: FormatJSON})
	p.(*jsonParser).paths.small = small
	return p
}

// TestJSONPathConflictsOrder: renaming keeps the fields' order and kinds.
func TestJSONPathConflictsOrder(t *testing.T) {
	p := mustNew(t, Config{Format: FormatJSON})
	got, _ := parseOK(t, p, `{"a.b":{"c":1},"a":"x","n":2,"a.b.c":3.5}`)
	want := lines(`a_b=json:{"c":1}`, "a=x", "n=int:2", "a_b_c=float:3.5")
	if got != want {
		t.Errorf("fields:\n%swant:\n%s", got, want)
	}
}

// TestJSONPathConflictsManyAlike: names that all flatten to one name are
// told apart by '_', then by a number, and keep every value.
func TestJSONPathConflictsManyAlike(t *testing.T) {
	// The 2^4 spellings of a.b_c_d_e_f with '.' or '_', all below "a".
	var b strings.Builder
	b.WriteString(`{"a":0`)
	want := leaves("a=0")
	n := 0
	for m := 0; m < 16; m++ {
		name := []byte("a.b_c_d_e_f")
		for bit := 0; bit < 4; bit++ {
			if m&(1<<bit) != 0 {
				name[3+2*bit] = '.'
			}
		}
		n++
		fmt.Fprintf(&b, `,%q:%d`, name, n)
		flat := "a_b_c_d_e_f"
		switch {
		case m == 0:
		case m <= 8:
			flat += strings.Repeat("_", m)
		default:
			flat += "_" + strconv.Itoa(m)
		}
		want[flat] = strconv.Itoa(n)
	}
	b.WriteString("}")
	checkFields(t, newJSONParser(t, smallPaths), b.String(), want)
	checkFields(t, newJSONParser(t, 0), b.String(), want)
}

// TestJSONPathConflictsFullTables: a parser whose name tables are full
// (a log with ever new keys) still finds conflicts between new names.
func TestJSONPathConflictsFullTables(t *testing.T) {
	for _, small := range []int{smallPaths, 0} {
		p := newJSONParser(t, small)
		for i := 0; i < maxNames+10; i++ {
			rec := &sidetrail.Record{}
			if err := p.Parse(fmt.Appendf(nil, `{"n%d":1}`, i), rec); err != nil {
				t.Fatal(err)
			}
		}
		checkFullTables(t, p)
	}
}

func checkFullTables(t *testing.T, p Parser) {
	for _, tt := range []struct {
		line string
		want map[string]string
	}{
		{`{"new":1,"new.a":2,"new.a.b":3}`, leaves("new=1", "new_a=2", "new_a_b=3")},
		{`{"new.a.b":3,"new.a":2,"new":1,"new_a":4}`, leaves("new=1", "new_a_=2", "new_a_b=3", "new_a=4")},
		{`{"a":1,"a.b":2}`, leaves("a=1", "a_b=2")},
		{`{"n1.x":1,"n1":2}`, leaves("n1=2", "n1_x=1")},
	} {
		checkFields(t, p, tt.line, tt.want)
	}
}

// TestJSONPathConflictsWarm: lines with and without conflicts parse alike
// with a warm and a new parser.
func TestJSONPathConflictsWarm(t *testing.T) {
	checkWarm(t, Config{Format: FormatJSON}, splitLines(strings.Join([]string{
		`{"a.b":1}`,
		`{"a":1}`,
		`{"a":1,"a.b":2}`,
		`{"a.b":2,"a":1}`,
		`{"a.b.c":1,"a.b":2}`,
		`{"a.b":1,"a.c":2}`,
		`{"a_b.c":3,"a":1,"a.b":2}`,
		`{"time":"2024-01-02T15:04:05Z","time.zone":"UTC","a":1}`,
		`{"a":1,"a.b":2,"a_b":3}`,
		`{"a":1,"a.b":2,"a":3,"a.b":4,"b":`,
		`{"a":1,"a.b":2,"a.b.c":3}`,
	}, "\n")))
}

// TestJSONPathConflictsAllocs: a log whose every line has a conflict
// allocates nothing once warm.
func TestJSONPathConflictsAllocs(t *testing.T) {
	for _, small := range []int{smallPaths, 0} {
		checkNoAllocs(t, newJSONParser(t, small))
	}
}

func checkNoAllocs(t *testing.T, p Parser) {
	line := []byte(`{"a":1,"a.b":2,"a_b":3,"k8s.pod":"p","k8s.ns":"n","k8s":"x","c.d":4}`)
	rec := &sidetrail.Record{}
	if err := p.Parse(line, rec); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		rec.Reset()
		if err := p.Parse(line, rec); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per line, want 0", allocs)
	}
}

// FuzzJSONKeys: whatever the line, the encoded record has no object with a
// key twice, and every field's value is in it.
func FuzzJSONKeys(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","a.b":"y"}`, `{"a.b":1,"a.b.c":2}`, `{"a_b.c":3,"a":1,"a.b":2}`,
		`{"a":1,"a.b":2,"a_b":3}`, `{"message":1,"json":2,"json.x":3}`,
		`{"time":"2024-01-02T15:04:05Z","time.zone":"UTC"}`, `{"a..b":1,"a__b":2,"a":3,"a.b":4}`,
		"{\"a\xff\":1,\"a\xfe\":2,\"a\xff.b\":3}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec := &sidetrail.Record{}
		if newJSONParser(t, smallPaths).Parse(line, rec) != nil {
			return
		}
		// The hash table finds what comparing finds.
		hashed := &sidetrail.Record{}
		if err := newJSONParser(t, 0).Parse(line, hashed); err != nil {
			t.Fatal(err)
		}
		if a, b := fieldsString(rec.Fields), fieldsString(hashed.Fields); a != b {
			t.Fatalf("compared:\n%shashed:\n%s", a, b)
		}
		// Nested values are kept verbatim (a duplicate key inside one is
		// the line's own): stand them in by their position.
		want := map[string]bool{}
		for i := range rec.Fields {
			f := &rec.Fields[i]
			f.Kind, f.Value = sidetrail.KindInt, strconv.AppendInt(nil, int64(i), 10)
			want[string(f.Value)] = true
		}
		got, err := recordjson.FieldLeaves(rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d leaves for %d fields: %v", len(got), len(want), got)
		}
		for _, v := range got {
			if !want[v] {
				t.Fatalf("leaf %q is no field's value: %v", v, got)
			}
		}
	})
}

// Lines with dotted keys (ECS-style logs) and with a conflict, for the cost
// of the path check and of the renaming. BenchmarkJSON has no dotted key.
var (
	benchJSONDotted   = []byte(`{"@timestamp":"2024-01-02T15:04:05.123Z","log.level":"info","log.logger":"http.server","message":"request completed","http.request.method":"GET","url.path":"/api/v1/users/12345","http.response.status_code":200,"event.duration":12500000,"http.response.body.bytes":5123,"user.id":"12345","trace.id":"4bf92f3577b34da6a3ce929d0e0e4736","client.ip":"203.0.113.195","tags":["a","b"]}` + "\n")
	benchJSONConflict = []byte(`{"@timestamp":"2024-01-02T15:04:05.123Z","level":"info","msg":"request completed","k8s":"prod","k8s.pod":"web-7d9f","k8s.namespace":"shop","http.method":"GET","http.status":200,"user_id":12345,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}` + "\n")
)

func BenchmarkJSONDotted(b *testing.B) {
	benchParse(b, Config{Format: FormatJSON}, benchJSONDotted)
}

func BenchmarkJSONDottedParseOnly(b *testing.B) {
	benchParseOnly(b, Config{Format: FormatJSON}, benchJSONDotted)
}

func BenchmarkJSONConflictParseOnly(b *testing.B) {
	benchParseOnly(b, Config{Format: FormatJSON}, benchJSONConflict)
}

func TestNginxFieldNames(t *testing.T) {
	tests := []struct {
		name, format, line string
		want               []string
	}{
		{
			name:   "combined",
			format: "",
			line:   `10.0.0.1 - bob [02/Jan/2024:15:04:05 +0100] "GET /a?b=1 HTTP/1.1" 200 612 "http://r/" "curl/8.0"`,
			want: []string{"remote_addr", "remote_user", "time_local", "request", "request_method",
				"request_uri", "request_path", "request_query", "request_protocol", "status",
				"body_bytes_sent", "http_referer", "http_user_agent"},
		},
		{
			name:   "renamed, repeated and derived variables",
			format: `'$message $request_uri "$request" $status $message [$time_iso8601] $msec'`,
			line:   `hi /x?y "POST /z?w HTTP/2.0" 201 hi [bad] 1704207845.123`,
			want: []string{"nginx.message", "request_uri", "request_path", "request_query", "request",
				"request_method", "request_protocol", "status", "time_iso8601", "msec"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NginxFieldNames(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("NginxFieldNames(%q) = %q, want %q", tt.format, got, tt.want)
			}
			// Every field a line gives is among them.
			rec := &sidetrail.Record{}
			if err := mustNew(t, Config{Format: FormatNginx, LogFormat: tt.format}).Parse([]byte(tt.line), rec); err != nil {
				t.Fatal(err)
			}
			for _, f := range rec.Fields {
				if !slices.Contains(got, f.Key) {
					t.Errorf("field %q is not in %q", f.Key, got)
				}
			}
		})
	}
	if _, err := NginxFieldNames(`'$a ${b'`); err == nil {
		t.Error("bad format: no error")
	}
}
