package parser

import (
	"encoding/json"
	"testing"

	"go.uber.org/goleak"

	"github.com/sidetrail/sidetrail"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkValidJSON asserts that the record JSON of rec is valid JSON.
func checkValidJSON(t testing.TB, rec *sidetrail.Record) {
	t.Helper()
	var e sidetrail.JSONEncoder
	out := e.Append(nil, rec)
	if !json.Valid(out) {
		t.Errorf("invalid JSON: %s", out)
	}
}
