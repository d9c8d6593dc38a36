package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/sidetrail/sidetrail"
)

func deadRecords(msgs ...string) ([]*sidetrail.Record, []string) {
	var recs []*sidetrail.Record
	var reasons []string
	for _, m := range msgs {
		recs = append(recs, &sidetrail.Record{Message: []byte(m), Source: "s"})
		reasons = append(reasons, "400: bad "+m)
	}
	return recs, reasons
}

// deadLetterMessages reads the file back: every line must be one whole
// entry; it returns their messages.
func deadLetterMessages(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var e struct{ Record struct{ Message string } }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d is not an entry: %v: %q", i+1, err, line)
		}
		out = append(out, e.Record.Message)
	}
	return out
}

// A write that fails partway (ENOSPC) is cut back, so the shipper's retry
// of the whole batch leaves each record once, on a line of its own. It was
// appended after the torn bytes: a record's only copy inside an invalid
// line, and others twice (the probe: 3,214 entries for 3,000 records).
func TestDeadLetterFailedWriteCutBack(t *testing.T) {
	dl, err := OpenDeadLetter(t.TempDir(), "es", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	recs, reasons := deadRecords("first")
	if _, err := dl.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	defer func() { writeFile = (*os.File).Write }()
	writeFile = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2+7]) // a torn write, ending mid-line
		return n, syscall.ENOSPC
	}
	recs, reasons = deadRecords("a", "b", "c")
	if _, err := dl.Write(recs, reasons); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v", err)
	}
	writeFile = (*os.File).Write
	if _, err := dl.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "first,a,b,c" {
		t.Fatalf("entries %q, want first,a,b,c", got)
	}
}

// A torn last line left by a crash is cut at open: its records were not
// acknowledged, so they come again whole.
func TestDeadLetterTornTailCutAtOpen(t *testing.T) {
	dir := t.TempDir()
	dl, err := OpenDeadLetter(dir, "es", 0)
	if err != nil {
		t.Fatal(err)
	}
	recs, reasons := deadRecords("kept")
	if _, err := dl.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	dl.Close()
	f, _ := os.OpenFile(dl.Path(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-11-26T00:00:00Z","sink":"es","reason":"x","rec`)
	f.Close()

	dl, err = OpenDeadLetter(dir, "es", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	recs, reasons = deadRecords("again")
	if _, err := dl.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "kept,again" {
		t.Fatalf("entries %q", got)
	}

	// A file that is one torn line, and an empty one, open too.
	os.WriteFile(dl.Path(), []byte(`{"torn`), 0o640)
	if d2, err := OpenDeadLetter(dir, "es", 0); err != nil {
		t.Fatal(err)
	} else {
		d2.Close()
	}
	if b, _ := os.ReadFile(dl.Path()); len(b) != 0 {
		t.Fatalf("left %q", b)
	}
}

// The file stops at its bound: lines that do not fit are discarded and
// counted, a smaller one that fits is still written, and room made by hand
// (the file emptied or moved away) is used again. ops12 F3: a backend
// refusing every line wrote 6 times the log's bytes into data_dir, which a
// Kubernetes emptyDir's sizeLimit turns into an eviction, buffer and all.
func TestDeadLetterBounded(t *testing.T) {
	dir := t.TempDir()
	recs, reasons := deadRecords("x")
	one, err := OpenDeadLetter(dir, "probe", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	one.Close()
	st, _ := os.Stat(one.Path())
	line := st.Size()

	dl, err := OpenDeadLetter(dir, "es", 3*line+line/2)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	recs, reasons = deadRecords("a", "b", "c", "d", "e")
	if n, err := dl.Write(recs, reasons); err != nil || n != 2 {
		t.Fatalf("discarded %d, %v; want 2", n, err)
	}
	recs, reasons = deadRecords("f")
	if n, err := dl.Write(recs, reasons); err != nil || n != 1 {
		t.Fatalf("discarded %d, %v; want 1", n, err)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "a,b,c" {
		t.Fatalf("entries %q, want a,b,c", got)
	}
	// Emptied by hand: written again.
	if err := os.Truncate(dl.Path(), 0); err != nil {
		t.Fatal(err)
	}
	recs, reasons = deadRecords("g")
	if n, err := dl.Write(recs, reasons); err != nil || n != 0 {
		t.Fatalf("after emptying: discarded %d, %v", n, err)
	}
	// Moved away: a new file.
	if err := os.Rename(dl.Path(), dl.Path()+".old"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"h", "i", "j", "k"} {
		recs, reasons = deadRecords(m)
		if _, err := dl.Write(recs, reasons); err != nil {
			t.Fatal(err)
		}
	}
	// The moved file is the operator's now, full or not (sinks15 F1: the
	// records went on into it until it was full, and into nothing once it
	// was deleted).
	if got := strings.Join(deadLetterMessages(t, dl.Path()+".old"), ","); got != "g" {
		t.Fatalf("old file %q, want g", got)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "h,i,j" {
		t.Fatalf("new file %q, want h,i,j", got)
	}
	// Moved and deleted.
	if err := os.Rename(dl.Path(), dl.Path()+".read"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dl.Path() + ".read"); err != nil {
		t.Fatal(err)
	}
	recs, reasons = deadRecords("l")
	if n, err := dl.Write(recs, reasons); err != nil || n != 0 {
		t.Fatalf("after a move and delete: discarded %d, %v", n, err)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "l" {
		t.Fatalf("new file %q, want l", got)
	}
	// Moved, and no new file can be made at the path: an error, so that
	// the records stay buffered (regress15 F2: written into the deleted
	// file, counted as dead-lettered).
	if err := os.Rename(dl.Path(), dl.Path()+".read"); err != nil {
		t.Fatal(err)
	}
	os.Remove(dl.Path() + ".read")
	if err := os.Mkdir(dl.Path(), 0o755); err != nil {
		t.Fatal(err)
	}
	recs, reasons = deadRecords("m")
	if _, err := dl.Write(recs, reasons); err == nil || !strings.Contains(err.Error(), "cannot be made") {
		t.Fatalf("a write with no file to go to: %v", err)
	}
	os.Remove(dl.Path())
	if n, err := dl.Write(recs, reasons); err != nil || n != 0 {
		t.Fatalf("once the path is free: discarded %d, %v", n, err)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "m" {
		t.Fatalf("new file %q, want m", got)
	}
}

// A symbolic link at the dead-letter path, at start or put there after the
// file was moved away, is refused: the write fails (its records stay
// buffered) and the file it names is left as it was. It was followed: the
// named file's unterminated last line cut, the records appended to it
// (regress15 F3).
func TestDeadLetterRefusesASymbolicLink(t *testing.T) {
	dir := t.TempDir()
	victim := dir + "/victim.txt"
	const before = "keep line 1\nkeep line 2 no newline at end"
	if err := os.WriteFile(victim, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, dir+"/early.ndjson"); err != nil {
		t.Fatal(err)
	}
	early, err := OpenDeadLetter(dir, "early", 0)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("open over a symbolic link: %v", err)
	}
	// The sink runs on: a write fails, retried, until the path is usable
	// (regress16 F6: the agent stopped).
	recs, reasons := deadRecords("e")
	if _, err := early.Write(recs, reasons); err == nil {
		t.Fatal("a write over a symbolic link succeeded")
	}
	if err := os.Remove(dir + "/early.ndjson"); err != nil {
		t.Fatal(err)
	}
	if _, err := early.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	early.Close()
	if got := strings.Join(deadLetterMessages(t, dir+"/early.ndjson"), ","); got != "e" {
		t.Fatalf("early file %q, want e", got)
	}
	if _, err := early.Write(recs, reasons); err == nil {
		t.Fatal("a write after Close succeeded")
	}

	dl, err := OpenDeadLetter(dir, "es", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	recs, reasons = deadRecords("a")
	if _, err := dl.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dl.Path(), dl.Path()+".read"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, dl.Path()); err != nil {
		t.Fatal(err)
	}
	recs, reasons = deadRecords("b")
	if _, err := dl.Write(recs, reasons); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("write over a symbolic link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != before {
		t.Fatalf("the linked file was changed: %q", b)
	}
	// The link removed: the next write makes a file and keeps the record.
	if err := os.Remove(dl.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := dl.Write(recs, reasons); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deadLetterMessages(t, dl.Path()), ","); got != "b" {
		t.Fatalf("new file %q, want b", got)
	}
}
