package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/recordjson"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/tailer"
)

// Static fields join the parsed ones in one JSON object, dotted names
// nested. A static field whose name equals a parsed one, or is its dotted
// prefix or lies below it ("k8s.pod" and a parsed "k8s"), would write one
// key twice, and Elasticsearch rejects the document: the parsed field
// wins, the static one is left out.

func renderLeaves(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "\t%s=%s\n", k, m[k])
	}
	return b.String()
}

func staticFields(kv ...string) []sidetrail.Field {
	var fs []sidetrail.Field
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		fs = append(fs, sidetrail.Field{Key: k, Kind: sidetrail.KindString, Value: []byte(v)})
	}
	return fs
}

func TestStaticFieldsYieldToParsedPaths(t *testing.T) {
	const combined = `10.0.0.1 - - [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"`
	combinedWant := []string{"remote_addr=10.0.0.1", "request=GET / HTTP/1.1", "request_method=GET",
		"request_uri=/", "request_path=/", "request_protocol=HTTP/1.1", "status=200",
		"body_bytes_sent=5", "http_user_agent=curl/8"}
	tests := []struct {
		name   string
		format string
		static []string
		line   string
		want   []string
	}{
		{
			name: "static below a parsed value", format: "json",
			static: []string{"k8s.pod=p1", "env=prod"}, line: `{"k8s":"x"}`,
			want: []string{"k8s=x", "env=prod"},
		},
		{
			name: "static above a parsed value", format: "json",
			static: []string{"k8s=x", "env=prod"}, line: `{"k8s.pod":"p1"}`,
			want: []string{"k8s.pod=p1", "env=prod"},
		},
		{
			name: "static two levels below", format: "json",
			static: []string{"a.b.c=s"}, line: `{"a":"x"}`,
			want: []string{"a=x"},
		},
		{
			name: "static two levels above", format: "json",
			static: []string{"a=s"}, line: `{"a.b.c":"x"}`,
			want: []string{"a.b.c=x"},
		},
		{
			name: "static a.b, parsed a.b.c", format: "json",
			static: []string{"a.b=s"}, line: `{"a.b.c":"x"}`,
			want: []string{"a.b.c=x"},
		},
		{
			name: "the same name: the parsed field wins", format: "json",
			static: []string{"a=s"}, line: `{"a":"x"}`,
			want: []string{"a=x"},
		},
		{
			name: "siblings and look-alikes are no conflict", format: "json",
			static: []string{"k8s.ns=shop", "k8sx=1", "k8s_pod=2", "a.bc=3", "ab.c=4", "a.b.x=5"},
			line:   `{"k8s.pod":"p1","a.b":{"y":1}}`,
			// a.b is a parsed object, written as it came: a.b.x cannot
			// join it.
			want: []string{"k8s.pod=p1", "k8s.ns=shop", "k8sx=1", "k8s_pod=2", "a.b.y=1",
				"a.bc=3", "ab.c=4"},
		},
		{
			name: "nginx: static below $request", format: "nginx",
			static: []string{"request.x=y", "request_method.x=z", "env=prod"}, line: combined,
			want: append(slices.Clone(combinedWant), "env=prod"),
		},
		{
			name: "no static fields", format: "json",
			line: `{"a":"x","b.c":1}`,
			want: []string{"a=x", "b.c=1"},
		},
		{
			name: "a line that does not parse keeps every static field", format: "json",
			static: []string{"k8s.pod=p1", "k8s.ns=shop"}, line: `not json`,
			want: []string{"k8s.pod=p1", "k8s.ns=shop"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parser.New(parser.Config{Format: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			tr := &Transform{Source: "s", Parser: p, Fields: staticFields(tt.static...)}
			var rec sidetrail.Record
			tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte(tt.line)}, time.Now())
			got, err := recordjson.FieldLeaves(&rec)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, s := range tt.want {
				k, v, _ := strings.Cut(s, "=")
				want[k] = v
			}
			if !maps.Equal(got, want) {
				t.Errorf("fields\n%swant\n%s", renderLeaves(got), renderLeaves(want))
			}
		})
	}
}

// TestAddStaticAllocs: static fields cost no allocation, conflicts or not.
func TestAddStaticAllocs(t *testing.T) {
	tr := &Transform{Fields: staticFields("k8s.pod=p1", "env=prod", "a=1")}
	parsed := staticFields("k8s=x", "a.b=2", "status=200", "msg=m")
	rec := &sidetrail.Record{Fields: make([]sidetrail.Field, 0, 16)}
	if n := testing.AllocsPerRun(100, func() {
		rec.Fields = append(rec.Fields[:0], parsed...)
		tr.addStatic(rec)
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
	if len(rec.Fields) != len(parsed)+1 || rec.Fields[len(parsed)].Key != "env" {
		t.Errorf("fields %+v", rec.Fields)
	}
}

// BenchmarkAddStatic is addStatic on a record of ten parsed fields.
func BenchmarkAddStatic(b *testing.B) {
	parsed := staticFields("remote_addr=1", "request=GET / HTTP/1.1", "request_method=GET",
		"request_uri=/", "request_path=/", "request_protocol=HTTP/1.1", "status=200",
		"body_bytes_sent=5", "http_referer=-", "http_user_agent=curl")
	for _, c := range []struct {
		name   string
		static []string
	}{
		{"none", nil},
		{"two", []string{"env=prod", "k8s.pod=web-1"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			tr := &Transform{Fields: staticFields(c.static...)}
			rec := &sidetrail.Record{Fields: make([]sidetrail.Field, 0, 16)}
			b.ReportAllocs()
			for b.Loop() {
				rec.Fields = append(rec.Fields[:0], parsed...)
				tr.addStatic(rec)
			}
		})
	}
}

// A field rule naming a static field (a rule meant for nginx_error's host
// meeting a static host on another source) acts on the field, and does not
// look for the configuration's value in the line: every message was
// withheld, "[message withheld: field host could not be redacted in it]".
func TestFieldRuleOnStaticField(t *testing.T) {
	t.Setenv("SIDETRAIL_TEST_KEY", "0123456789abcdef0123456789abcdef")
	red, err := redact.New([]redact.Rule{{Field: "host", Action: "hash", KeyEnv: "SIDETRAIL_TEST_KEY"}, {Field: "zone", Action: "drop"}}, redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Redactor: red, Fields: staticFields("host=node-7", "zone=eu-1", "env=prod")}
	var rec sidetrail.Record
	tr.Apply(&rec, tailer.Line{Path: "/a.log", Bytes: []byte("GET /x 200")}, time.Now())
	if string(rec.Message) != "GET /x 200" {
		t.Fatalf("message %q", rec.Message)
	}
	h, _ := rec.Get("host")
	if !strings.HasPrefix(string(h.Value), "[HASH:") {
		t.Errorf("host %q", h.Value)
	}
	if _, ok := rec.Get("zone"); ok {
		t.Error("zone kept")
	}
	if e, _ := rec.Get("env"); string(e.Value) != "prod" || rec.Statics != 2 {
		t.Errorf("env %q, statics %d", e.Value, rec.Statics)
	}
}
