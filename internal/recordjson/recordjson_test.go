package recordjson

import (
	"testing"

	"github.com/sidetrail/sidetrail"
)

func TestFieldLeaves(t *testing.T) {
	rec := sidetrail.Record{Message: []byte("m"), Source: "s", Path: "/p"}
	rec.Add("a.b", sidetrail.KindInt, []byte("1"))
	rec.Add("c", sidetrail.KindJSON, []byte(`{"d":[true,"x"]}`))
	got, err := FieldLeaves(&rec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.b": "1", "c.d[0]": "true", "c.d[1]": "x"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// A key twice is an error.
	rec.Add("a", sidetrail.KindInt, []byte("2"))
	if _, err := FieldLeaves(&rec); err == nil {
		t.Fatalf("a and a.b: no error")
	}
}
