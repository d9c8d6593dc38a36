package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

// lines splits what the sink wrote into its lines, as bufio.Scanner does.
func lines(text string) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func TestConformance(t *testing.T) {
	var out *syncbuf.Buffer
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) sidetrail.Sink {
			out = &syncbuf.Buffer{}
			return New(out)
		},
		Stored: func(t *testing.T) []sinktest.Stored {
			var stored []sinktest.Stored
			for _, line := range lines(out.String()) {
				var doc struct {
					Timestamp string `json:"@timestamp"`
					Message   string
					Source    string
					Log       struct {
						Offset int64
						File   struct{ Path string }
					}
				}
				if err := json.Unmarshal(line, &doc); err != nil {
					t.Fatalf("stdout wrote invalid JSON %q: %v", line, err)
				}
				stored = append(stored, sinktest.Stored{Message: doc.Message, Offset: doc.Log.Offset, Path: doc.Log.File.Path, Source: doc.Source})
			}
			return stored
		},
	})
}

// failWriter fails after n bytes.
type failWriter struct {
	n   int
	buf bytes.Buffer
}

func (f *failWriter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.n {
		return 0, errors.New("EPIPE")
	}
	return f.buf.Write(p)
}

func TestWriteErrorLeavesRecordsUnsent(t *testing.T) {
	// Big records so the batch is written in several chunks; the writer
	// fails on the second chunk.
	big := bytes.Repeat([]byte("x"), 200<<10)
	batch := make([]sidetrail.Record, 4)
	for i := range batch {
		batch[i] = sidetrail.Record{Offset: int64(i), Message: big}
	}
	w := &failWriter{n: 500 << 10} // the first chunk (two records) fits, the second does not
	s := New(w)
	res := make([]sidetrail.Result, len(batch))
	err := s.Send(context.Background(), batch, res)
	if err == nil {
		t.Fatal("no error from failing writer")
	}
	delivered := 0
	for _, r := range res {
		if r.Status.Delivered() {
			delivered++
		}
	}
	// Exactly the records whose bytes were written count as delivered.
	if delivered != 2 || w.buf.Len() == 0 || s.Stats().WriteErrors != 1 {
		t.Fatalf("delivered %d, wrote %d bytes, stats %+v", delivered, w.buf.Len(), s.Stats())
	}
}

// partialWriter writes at most room bytes in all (ENOSPC on a file: the
// write that meets the end writes what fits and fails), then takes
// writes again once given more room.
type partialWriter struct {
	room int
	buf  bytes.Buffer
}

func (p *partialWriter) Write(b []byte) (int, error) {
	n := min(len(b), p.room-p.buf.Len())
	p.buf.Write(b[:n])
	if n < len(b) {
		return n, errors.New("no space left on device")
	}
	return n, nil
}

// A write that fails partway wrote some records whole and one in part: the
// whole ones count as delivered, and the next write ends the cut line
// before the rest. Before, every record of the chunk was sent again (519
// lines twice), and the cut head was glued to the resent first record, so
// a record was in no line a JSON reader could parse (sinks21 F1).
func TestPartialWriteDeliversWholeRecordsAndEndsTheCutLine(t *testing.T) {
	for _, cut := range []string{"inside the third record", "inside the first record", "at a line's end"} {
		t.Run(cut, func(t *testing.T) {
			batch := make([]sidetrail.Record, 6)
			for i := range batch {
				batch[i] = sidetrail.Record{Offset: int64(i), Message: []byte(fmt.Sprintf("line %d %s", i, strings.Repeat("x", 50)))}
			}
			var one bytes.Buffer
			var enc sidetrail.JSONEncoder
			one.Write(enc.Append(nil, &batch[0]))
			lineLen := one.Len() + 1 // every record's line is as long
			w := &partialWriter{}
			switch cut {
			case "inside the third record":
				w.room = 2*lineLen + 10
			case "inside the first record":
				w.room = 10
			case "at a line's end":
				w.room = 2 * lineLen
			}
			s := New(w)
			pending := batch
			var sent []int64
			for try := 0; len(pending) > 0; try++ {
				if try > 1 {
					t.Fatalf("still %d records unsent", len(pending))
				}
				res := make([]sidetrail.Result, len(pending))
				err := s.Send(context.Background(), pending, res)
				if try == 0 && err == nil {
					t.Fatal("no error from a write that failed partway")
				}
				var rest []sidetrail.Record
				for i, r := range res {
					if r.Status.Delivered() {
						sent = append(sent, pending[i].Offset)
					} else {
						rest = append(rest, pending[i])
					}
				}
				pending = rest
				w.room = 1 << 20 // room again
			}
			if len(sent) != len(batch) {
				t.Fatalf("delivered %v", sent)
			}
			seen := map[int64]int{}
			broken := 0
			for _, l := range lines(w.buf.String()) {
				var doc struct{ Log struct{ Offset int64 } }
				if json.Unmarshal(l, &doc) != nil {
					broken++
					continue
				}
				seen[doc.Log.Offset]++
			}
			for i := range batch {
				if seen[int64(i)] != 1 {
					t.Errorf("record %d in %d whole lines; output:\n%s", i, seen[int64(i)], w.buf.String())
				}
			}
			if want := map[bool]int{true: 0, false: 1}[cut == "at a line's end"]; broken != want {
				t.Errorf("%d broken lines, want %d; output:\n%s", broken, want, w.buf.String())
			}
		})
	}
}

// A file left with a cut line by the last run (a write that failed
// partway, then a stop) is ended before the first record: the record
// written again whole was glued to the cut head (regress21 F2: one record
// in no parseable line across a restart).
func TestCutLineLeftByTheLastRunIsEnded(t *testing.T) {
	for _, tc := range []struct{ before, want string }{
		{`{"cut`, "{\"cut\n"},
		{"{\"whole\":1}\n", "{\"whole\":1}\n"},
		{"", ""},
	} {
		path := filepath.Join(t.TempDir(), "out.ndjson")
		if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := sendOne(t, f, path); !strings.HasPrefix(got, tc.want+"{") || strings.Count(got, "\n") != strings.Count(tc.want, "\n")+1 {
			t.Errorf("before %q: file %q", tc.before, got)
		}
	}
	// Open read-write without appending (systemd's StandardOutput=file:,
	// a shell's 1<>), the next write goes over the older file from its
	// start: no break (regress21b G7: an empty line at every start and
	// reload).
	path := filepath.Join(t.TempDir(), "out.ndjson")
	if err := os.WriteFile(path, []byte(`{"older, and cut`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := sendOne(t, f, path); !strings.HasPrefix(got, `{"@timestamp"`) {
		t.Errorf("file %q", got)
	}
}

// sendOne sends one record through a sink writing to f, closes f and
// returns what the file at path holds.
func sendOne(t *testing.T, f *os.File, path string) string {
	t.Helper()
	s := New(f)
	res := make([]sidetrail.Result, 1)
	if err := s.Send(context.Background(), []sidetrail.Record{{Message: []byte("m")}}, res); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, _ := os.ReadFile(path)
	return string(got)
}
