package sinkhttp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"s3cret\n":     "s3cret",
		"s3cret\r\n\n": "s3cret",
		"":             "error: is empty",
		"\n":           "error: is empty",
		"a\nb\n":       "error: holds a line break",
		"a\x00b":       "error: holds a line break or another control",
		"a\x01b":       "error: holds a line break or another control",
		"a\tb":         "a\tb",
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadSecret(p)
		if err != nil {
			got = "error: " + strings.TrimPrefix(err.Error(), p+" ")
			if strings.Contains(err.Error(), "a\nb") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%q: the error holds the secret: %v", content, err)
			}
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("%q: got %q, want %q", content, got, want)
		}
	}
	if _, err := ReadSecret(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file read")
	}
}

func TestCheckHeaders(t *testing.T) {
	got := CheckHeaders(map[string]string{
		"X-Team":          "sre",
		"X-Bad":           "a\r\nX-Injected: 1",
		"a b":             "c",
		"content-type":    "text/plain",
		"Authorization":   "x",
		"X-Nul":           "a\x00",
		"X-Ctl":           "a\x1fb",
		"X-Del":           "a\x7f",
		"X-Tab":           "a\tb",
		"accept-encoding": "gzip",
	}, []string{"Content-Type"}, true)
	want := []string{
		`headers: "Authorization" is set by the sink itself from the credentials configured`,
		`headers: "X-Bad" has a control character in its value`,
		`headers: "X-Ctl" has a control character in its value`,
		`headers: "X-Del" has a control character in its value`,
		`headers: "X-Nul" has a control character in its value`,
		`headers: "a b" is not a valid header name`,
		`headers: "accept-encoding" is set by the sink's HTTP client itself (it asks for gzip and decompresses the answer)`,
		`headers: "content-type" is set by the sink itself`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := CheckHeaders(map[string]string{"Authorization": "ApiKey k"}, nil, false); len(got) != 0 {
		t.Fatalf("Authorization without credentials: %v", got)
	}
}
