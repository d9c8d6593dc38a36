package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
)

// LagReader is a source's buffer cursor, read once at start.
type LagReader interface {
	BatchReader
	Lag() (records uint64, bytes int64)
}

// ResumePoints reads every record after the source's cursor and returns,
// per file key, the end of the last of this source's lines already in the
// buffer, the path that line was read under, and whether it was a fragment
// of a longer line (then it may end inside that line). Those lines were
// buffered after the last checkpoint was written (a crash came first); the
// tailer resumes past them instead of reading them again. The cursor is
// not acknowledged here.
func ResumePoints(ctx context.Context, r LagReader, source string) (points map[uint64]int64, paths map[uint64]string, frags map[uint64]bool, err error) {
	points, paths, frags = map[uint64]int64{}, map[uint64]string{}, map[uint64]bool{}
	left, _ := r.Lag()
	var (
		arena   []byte
		entries []buffer.Entry
		dec     sidetrail.Decoder
		rec     sidetrail.Record
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
			return points, paths, frags, err
		}
		for _, e := range entries {
			if dec.Decode(e.Data, &rec) != nil || rec.Source != source {
				continue
			}
			if rec.End > points[rec.FileKey] {
				points[rec.FileKey] = rec.End
				paths[rec.FileKey] = string(rec.Path)
				frags[rec.FileKey] = rec.Flags&sidetrail.FlagFragment != 0
			}
		}
		left -= min(left, uint64(len(entries)))
	}
	return points, paths, frags, nil
}
