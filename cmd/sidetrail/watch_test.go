package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// mountConfigMap lays out a directory the way the kubelet mounts a
// ConfigMap: the file is a symlink into ..data, itself a symlink to a
// timestamped directory.
func mountConfigMap(t *testing.T, dir, version, content string) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_11_26_"+version)
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "sidetrail.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil { // the atomic swap
		t.Fatal(err)
	}
	link := filepath.Join(dir, "sidetrail.yaml")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		if err := os.Symlink("..data/sidetrail.yaml", link); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWatchConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	mountConfigMap(t, dir, "v1", "a: 1\n")
	w, err := watchConfig(filepath.Join(dir, "sidetrail.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Noise in the same directory is not a change.
	os.WriteFile(filepath.Join(dir, "other.log"), []byte("x"), 0o644)
	select {
	case <-w.Changes():
		t.Fatal("change reported for another file")
	case <-time.After(600 * time.Millisecond):
	}
	mountConfigMap(t, dir, "v2", "a: 2\n")
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("symlink swap not noticed")
	}
}

// The watcher judges a change against what the agent loaded, not against
// what it saw last. An edit reverted while a reload ran left the agent on
// the edit for good: the watcher had seen (and reported) the revert before
// the agent read the file, so the file and the running configuration
// differed and nothing was reported again (reload9 probe, 9 of 10 trials).
func TestWatchJudgesAgainstWhatWasLoaded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sidetrail.yaml")
	if err := os.WriteFile(path, []byte("a: F\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := watchConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The agent read G (the file held it then); it holds F again now.
	w.Loaded([]byte("hash of G"))
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("the file differs from what was loaded, and no change was reported")
	}
	// Loaded what the file holds: nothing to report.
	w.Loaded(hashFile(path))
	select {
	case <-w.Changes():
		t.Fatal("change reported for the content already loaded")
	case <-time.After(600 * time.Millisecond):
	}
}
