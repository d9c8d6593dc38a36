package pipeline

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/tailer"
)

// LagReader is a source's buffer cursor, read once at start.
type LagReader interface {
	BatchReader
	Lag() (records uint64, bytes int64)
}

// Resume is what a source's records in the buffer after its cursor say,
// per file key, about the last of its lines buffered there: where that
// line ends (Points), starts (Starts), the path it was read under (Paths),
// whether it was a fragment of a longer line (Frags: then it may end inside
// that line) and its message as buffered, redacted (Messages). Those lines
// were buffered after the last checkpoint was written (a crash came
// first); the tailer resumes past them instead of reading them again,
// once Same says the file still holds the last of them.
type Resume struct {
	Points   map[uint64]int64
	Starts   map[uint64]int64
	Paths    map[uint64]string
	Frags    map[uint64]bool
	Messages map[uint64][]byte
}

// ResumePoints reads every record after the source's cursor (see Resume).
// The cursor is not acknowledged here.
func ResumePoints(ctx context.Context, r LagReader, source string) (*Resume, error) {
	res := &Resume{
		Points: map[uint64]int64{}, Starts: map[uint64]int64{}, Paths: map[uint64]string{},
		Frags: map[uint64]bool{}, Messages: map[uint64][]byte{},
	}
	left, _ := r.Lag()
	var (
		arena   []byte
		entries []buffer.Entry
		dec     sidetrail.Decoder
		rec     sidetrail.Record
		err     error
	)
	for left > 0 {
		// Lag is exact but for corrupt regions: never wait long for
		// records that are not there.
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		arena, entries, err = r.ReadAppend(rctx, arena[:0], entries, 4096, 0)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			return res, err
		}
		for _, e := range entries {
			if dec.Decode(e.Data, &rec) != nil || rec.Source != source {
				continue
			}
			if rec.End > res.Points[rec.FileKey] {
				res.Points[rec.FileKey] = rec.End
				res.Starts[rec.FileKey] = rec.Offset
				res.Paths[rec.FileKey] = string(rec.Path)
				res.Frags[rec.FileKey] = rec.Flags&sidetrail.FlagFragment != 0
				res.Messages[rec.FileKey] = append(res.Messages[rec.FileKey][:0], rec.Message...)
			}
		}
		left -= min(left, uint64(len(entries)))
	}
	return res, nil
}

// Same reports whether raw, a file's bytes from Starts[key] to
// Points[key], gives through t the message buffered for key's last line:
// whether the file still holds that line where it was read. A file
// rewritten since, beginning alike, does not (regress22 R8). The line is
// made again as the tailer made it (its newline, and a '\r' before it,
// dropped) and put through the source's parser and redaction, so that the
// buffer needs to keep nothing of the line but its redacted message. t
// must not be used by another goroutine meanwhile.
func (r *Resume) Same(t *Transform, key uint64, raw []byte) bool {
	want, ok := r.Messages[key]
	if !ok {
		return true
	}
	line := raw
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	var rec sidetrail.Record
	t.Apply(&rec, tailer.Line{Key: key, Start: r.Starts[key], End: r.Points[key], Bytes: line, Fragment: r.Frags[key]}, time.Now())
	return bytes.Equal(rec.Message, want)
}
