package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/tailer"
)

// ResumePoints gives, per file key of the source, the end of its last line
// buffered after the source's cursor and the path that line was read
// under (a file found under another name after the crash was renamed
// meanwhile). Other sources' records are not its.
func TestResumePointsEndsAndPaths(t *testing.T) {
	b, err := buffer.Open(t.TempDir(), buffer.Options{Cursors: []string{"_source.s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var batch [][]byte
	for _, r := range []sidetrail.Record{
		{Source: "s", FileKey: 1, Offset: 0, End: 10, Path: "/l/a.log"},
		{Source: "s", FileKey: 1, Offset: 10, End: 25, Path: "/l/a.log", Flags: sidetrail.FlagFragment},
		{Source: "s", FileKey: 2, Offset: 0, End: 7, Path: "/l/b.log"},
		{Source: "other", FileKey: 3, Offset: 0, End: 99, Path: "/l/c.log"},
	} {
		batch = append(batch, sidetrail.AppendBinary(nil, &r))
	}
	if _, err := b.Append(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	r, err := b.Reader("_source.s")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ResumePoints(context.Background(), r, "s")
	if err != nil {
		t.Fatal(err)
	}
	points, paths, frags := res.Points, res.Paths, res.Frags
	if len(points) != 2 || points[1] != 25 || points[2] != 7 {
		t.Errorf("points %v", points)
	}
	if len(paths) != 2 || paths[1] != "/l/a.log" || paths[2] != "/l/b.log" {
		t.Errorf("paths %v", paths)
	}
	if !frags[1] || frags[2] {
		t.Errorf("fragments %v", frags)
	}
}

// Same puts the bytes read back through the source's parser and redaction
// and compares the message with the buffered one: the line as buffered
// (its newline or "\r\n" left out, a fragment as it was) is the same, a
// line that differs only where the redaction masks is the same too (the
// buffer cannot tell, and nothing of the secret is kept to tell it), and
// another line is not.
func TestResumeSameComparesRedactedMessages(t *testing.T) {
	p, err := parser.New(parser.Config{Format: "nginx", LogFormat: "combined"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := redact.New(redact.Defaults(), redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Transform{Source: "s", Parser: p, Redactor: red}
	line := `10.0.0.1 - - [26/Nov/2026:00:00:00 +0000] "GET /login?token=abcdef123456 HTTP/1.1" 200 12 "-" "curl/8"`
	var rec sidetrail.Record
	tr.Apply(&rec, tailer.Line{Key: 7, Bytes: []byte(line)}, time.Now())
	if bytes.Contains(rec.Message, []byte("abcdef123456")) {
		t.Fatalf("not redacted: %s", rec.Message)
	}
	res := &Resume{Points: map[uint64]int64{7: 100}, Starts: map[uint64]int64{7: 0}, Frags: map[uint64]bool{},
		Messages: map[uint64][]byte{7: bytes.Clone(rec.Message)}}
	for _, c := range []struct {
		raw  string
		same bool
	}{
		{line + "\n", true},
		{line + "\r\n", true},
		{strings.Replace(line, "abcdef123456", "zyxwvu987654", 1) + "\n", true},
		{strings.Replace(line, "200 12", "200 13", 1) + "\n", false},
		{strings.Replace(line, "10.0.0.1", "10.0.0.2", 1) + "\n", false},
	} {
		if got := res.Same(tr, 7, []byte(c.raw)); got != c.same {
			t.Errorf("Same(%q) = %v, want %v", c.raw, got, c.same)
		}
	}
	if !res.Same(tr, 8, []byte("anything\n")) {
		t.Error("a key with no buffered message is taken as the same")
	}
	// A fragment is compared raw.
	res.Frags[7], res.Messages[7] = true, []byte(line[:40])
	if !res.Same(tr, 7, []byte(line[:40])) || res.Same(tr, 7, []byte(line[1:41])) {
		t.Error("fragments")
	}
}
