package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on data_dir/lock, and on data_dir
// itself, for the life of the process: two agents sharing one buffer and
// one set of checkpoints would corrupt both. The file's lock is the one
// older versions take; the directory's holds when the file is deleted
// while the agent runs (buffer11: a second agent started, and the two
// deleted each other's segments). The kernel drops both when the process
// dies, SIGKILL included.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("data_dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data_dir %s is in use by another sidetrail (lock %s): %w", dir, path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data_dir lock: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		f.Close()
		return nil, fmt.Errorf("data_dir %s is in use by another sidetrail (its lock file was deleted): %w", dir, err)
	}
	return func() { d.Close(); f.Close() }, nil
}
