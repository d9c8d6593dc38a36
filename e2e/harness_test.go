package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// The harness's own checks, without any server: they must count what a
// mission run produces the way the summary says.

func TestStdoutReaderCountsTornLinesAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	id1, id2, id3 := "0123456789abcdef0123456789abcdef", "1123456789abcdef0123456789abcdef", "2123456789abcdef0123456789abcdef"
	run1 := filepath.Join(dir, "stdout-01.ndjson")
	run2 := filepath.Join(dir, "stdout-02.ndjson")
	// Run 1 was killed in the middle of its third line.
	if err := os.WriteFile(run1, []byte(`{"message":"a `+id1+`","request_id":"`+id1+`"}`+"\n"+
		`{"message":"b token=secret123 `+id2+`","request_id":"`+id2+`"}`+"\n"+`{"message":"c`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(run2, []byte(`{"message":"b `+id2+`","request_id":"`+id2+`"}`+"\n"+
		`{"message":"raw line `+id3+`","log":{"flags":["parse_failure"]}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newStdoutReader([]string{"secret123"})
	if err := r.scan([]string{run1, run2}, false); err != nil {
		t.Fatal(err)
	}
	if r.d.torn != 0 || r.d.rows != 4 {
		t.Fatalf("before final: torn %d rows %d", r.d.torn, r.d.rows)
	}
	if err := r.scan([]string{run1, run2}, true); err != nil {
		t.Fatal(err)
	}
	d := r.d
	if d.torn != 1 || d.rows != 4 || d.duplicates() != 1 || d.parseFail != 1 || len(d.ids) != 3 || d.secrets["secret123"] != 1 {
		t.Fatalf("torn %d rows %d dups %d parseFail %d ids %d secrets %v", d.torn, d.rows, d.duplicates(), d.parseFail, len(d.ids), d.secrets)
	}
	truth := map[string]int{id1: 1, id2: 1, id3: 1, "3123456789abcdef0123456789abcdef": 1}
	if m := d.missing(truth); len(m) != 1 {
		t.Fatalf("missing %v", m)
	}
}

func TestRowIDs(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	for name, tc := range map[string]struct {
		f   func(map[string]any) (string, bool)
		row map[string]any
	}{
		"es field":        {esID, map[string]any{"request_id": id}},
		"es raw message":  {esID, map[string]any{"_msg": `1.2.3.4 - - [x] "GET / HTTP/1.1" 200 3 "-" "curl" ` + id}},
		"loki json":       {lokiID, map[string]any{"_msg": `{"message":"m","request_id":"` + id + `"}`}},
		"loki raw record": {lokiID, map[string]any{"_msg": `{"message":"GET / ` + id + `"}`}},
	} {
		got, ok := tc.f(tc.row)
		if !ok || got != id {
			t.Errorf("%s: %q %v", name, got, ok)
		}
	}
	if _, ok := esID(map[string]any{"_msg": "no id here"}); ok {
		t.Error("an id found in a line without one")
	}
}
