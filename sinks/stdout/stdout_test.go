package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
