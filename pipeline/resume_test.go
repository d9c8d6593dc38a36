package pipeline

import (
	"context"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
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
	points, paths, frags, err := ResumePoints(context.Background(), r, "s")
	if err != nil {
		t.Fatal(err)
	}
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
