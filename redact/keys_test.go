package redact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

// The secrets below must not survive anywhere in the record's JSON: not
// in a value, not in a member name, at any depth, escaped or not.
var keySecrets = []string{
	"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl",
	"AKIAIOSFODNN7EXAMPLE",
	"4111111111111111",
	"abc123secret",
}

// TestJSONMemberNamesRedacted parses JSON lines whose member names hold
// secrets (as maps keyed by user or token do), redacts them with the
// recommended rules and encodes the record as every sink does. No secret
// may remain, and no object may hold one name twice (Elasticsearch
// rejects such a document): names masked alike get "#1 ", "#2 ", ...
func TestJSONMemberNamesRedacted(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := redact.New(redact.Defaults(), redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		`{"msg":"x","alice@example.com":1,"bob@example.com":{"carol@example.com":2}}`,
		`{"users":{"alice@example.com":{"id":1},"bob@example.com":{"id":2}},"n":3}`,
		`{"sessions":[{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl":true}]}`,
		`{"keys":{"AKIAIOSFODNN7EXAMPLE":"s3"},"AKIAIOSFODNN7EXAMPLE":"top"}`,
		`{"cards":{"4111111111111111":"visa"},"4111111111111111":1}`,
		`{"q":{"token=abc123secret":1},"token=abc123secret":2}`,
		`{"esc":{"dave\u0040example.com":1},"alice\u0040example.com":"v"}`,
		`{"a":{"b":{"c":{"dave@example.com":{"alice@example.com":1}}}}}`,
		`{"user.alice@example.com":1,"x":"alice@example.com"}`,
	}
	var enc sidetrail.JSONEncoder
	for _, line := range lines {
		var rec sidetrail.Record
		rec.Message = []byte(line)
		if err := p.Parse([]byte(line), &rec); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !rec.KeysFromLine {
			t.Fatalf("%s: the JSON parser did not mark its keys as the line's", line)
		}
		r.Apply(&rec)
		out := enc.Append(nil, &rec)
		for _, s := range keySecrets {
			if bytes.Contains(out, []byte(s)) || bytes.Contains(out, []byte(strings.ReplaceAll(s, "@", `\u0040`))) {
				t.Errorf("%s\nleft %q in %s", line, s, out)
			}
		}
		if err := noDuplicateKeys(out); err != nil {
			t.Errorf("%s\n%v in %s", line, err, out)
		}
	}

	// Names from the configuration (nginx variables, static fields) are
	// not the line's text and stay as they are.
	rec := sidetrail.Record{Message: []byte("x")}
	rec.Add("team@example.com", sidetrail.KindString, []byte("ops"))
	r.Apply(&rec)
	if rec.Fields[0].Key != "team@example.com" {
		t.Errorf("a configured field name was changed to %q", rec.Fields[0].Key)
	}
}

// noDuplicateKeys reports a member name found twice in one object.
func noDuplicateKeys(doc []byte) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	var walk func() error
	walk = func() error {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return err
				}
				name := k.(string)
				if seen[name] {
					return fmt.Errorf("member %q twice", name)
				}
				seen[name] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		case json.Delim('['):
			for d.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		}
		return nil
	}
	if err := walk(); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("trailing data")
	}
	return nil
}
