package tailer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sidetrail/sidetrail/tailer"
)

// The pipeline's loop: Next, encode the line into the batch at once (Bytes
// is reused), append the batch durably, then Commit the last position.
func Example() {
	dir, _ := os.MkdirTemp("", "tailer-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "access.log"), []byte("GET /a\nGET /b\npartial"), 0o644)

	t, err := tailer.New(tailer.Options{
		Source:         "nginx",
		Paths:          []string{filepath.Join(dir, "access.log*")},
		CheckpointPath: filepath.Join(dir, "checkpoint.json"),
	})
	if err != nil {
		panic(err)
	}
	defer t.Close()

	var last tailer.Position
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		line, err := t.Next(ctx)
		cancel()
		if err != nil {
			break // the batch lingered long enough
		}
		fmt.Printf("%d-%d %s\n", line.Start, line.End, line.Bytes)
		last = line.Pos
	}
	// ... buffer.Append(batch) returned: the lines are durable.
	t.Commit(last)
	// Output:
	// 0-7 GET /a
	// 7-14 GET /b
}
