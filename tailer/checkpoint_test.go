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
// (buffer13 F5). A checkpoint has room to double so (regress13 R5: 17
// files filled 4 KiB). What does not fit is an error, as before.
func TestCheckpointWrittenInPlaceOnAFullVolume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	cp := func(n int) *checkpointFile {
		c := &checkpointFile{Version: checkpointVersion, Source: "s"}
		for i := range n {
			c.Files = append(c.Files, checkpointEntry{Path: fmt.Sprintf("/var/log/app-%d.log", i), Offset: int64(100 * i)})
		}
		return c
	}
	load := func(want int) {
		t.Helper()
		got, err := loadCheckpoint(path)
		if err != nil || len(got.Files) != want || got.Files[want-1].Offset != int64(100*(want-1)) {
			t.Fatalf("checkpoint of %d files wanted: %v", want, err)
		}
	}
	full := func(name string, data []byte) error {
		os.WriteFile(name, data[:10], 0o644) // a partial temp file, as a full volume leaves
		return fmt.Errorf("write checkpoint %s: %w", name, syscall.ENOSPC)
	}
	defer func(w func(string, []byte) error) { writeTemp = w }(writeTemp)

	if err := writeCheckpoint(path, cp(1)); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Size()%checkpointBlock != 0 {
		t.Fatalf("checkpoint file: %v, %v", info, err)
	}
	writeTemp = full
	if err := writeCheckpoint(path, cp(5)); err != nil {
		t.Fatalf("in place: %v", err)
	}
	load(5)
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temp file stays: %v", err)
	}

	writeTemp = writeSynced
	if err := writeCheckpoint(path, cp(20)); err != nil {
		t.Fatal(err)
	}
	writeTemp = full
	if err := writeCheckpoint(path, cp(39)); err != nil {
		t.Fatalf("twice as many files, in place: %v", err)
	}
	load(39)
	if err := writeCheckpoint(path, cp(500)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a checkpoint larger than the file: %v", err)
	}
	load(39)
}
