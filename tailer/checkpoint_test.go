package tailer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// On a volume too full for the temp file, the checkpoint is written over
// the old one, within its padded size: a SIGTERM on a full volume exited 1
// with the old checkpoint and the restart shipped 20,000 lines again
// (buffer13 F5). What does not fit is an error, as before.
func TestCheckpointWrittenInPlaceOnAFullVolume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	cp := func(n int) *checkpointFile {
		c := &checkpointFile{Version: checkpointVersion, Source: "s"}
		for i := range n {
			c.Files = append(c.Files, checkpointEntry{Path: fmt.Sprintf("/var/log/app-%d.log", i), Offset: int64(100 * i)})
		}
		return c
	}
	if err := writeCheckpoint(path, cp(1)); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Size()%checkpointBlock != 0 {
		t.Fatalf("checkpoint file: %v, %v", info, err)
	}
	defer func(w func(string, []byte) error) { writeTemp = w }(writeTemp)
	writeTemp = func(name string, data []byte) error {
		os.WriteFile(name, data[:10], 0o644) // a partial temp file, as a full volume leaves
		return fmt.Errorf("write checkpoint %s: %w", name, syscall.ENOSPC)
	}
	if err := writeCheckpoint(path, cp(5)); err != nil {
		t.Fatalf("in place: %v", err)
	}
	got, err := loadCheckpoint(path)
	if err != nil || len(got.Files) != 5 || got.Files[4].Offset != 400 {
		t.Fatalf("after the in-place write: %+v, %v", got, err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temp file stays: %v", err)
	}
	if err := writeCheckpoint(path, cp(500)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a checkpoint larger than the file: %v", err)
	}
	if got, err := loadCheckpoint(path); err != nil || len(got.Files) != 5 {
		t.Errorf("the old checkpoint is gone: %+v, %v", got, err)
	}
}
