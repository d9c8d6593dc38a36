package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	path, w := newTestWatcher(t, "a: F\n")
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

// kubeletUpdate swaps in a new version of a mounted ConfigMap as the
// kubelet does: a new timestamped directory, ..data_tmp renamed over
// ..data, then the old directory removed. file is the key's path below
// the timestamped directory (items[].path), with the first of its parts
// linked from the volume's root on the first call.
func kubeletUpdate(t *testing.T, vol, version, file, content string) {
	t.Helper()
	ts := filepath.Join(vol, "..2026_11_27_"+version)
	if err := os.MkdirAll(filepath.Join(ts, filepath.Dir(file)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(vol, "..data"))
	tmp := filepath.Join(vol, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(vol, "..data")); err != nil {
		t.Fatal(err)
	}
	top := strings.Split(file, "/")[0]
	if _, err := os.Lstat(filepath.Join(vol, top)); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", top), filepath.Join(vol, top)); err != nil {
			t.Fatal(err)
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(vol, old)); err != nil {
			t.Fatal(err)
		}
	}
}

// noPoll makes a test prove the watch, not the fallback poll.
func noPoll(t *testing.T) {
	old := configPollEvery
	configPollEvery = time.Hour
	t.Cleanup(func() { configPollEvery = old })
}

// newTestWatcher writes content to a config file in a new directory and
// watches it until the test ends.
func newTestWatcher(t *testing.T, content string) (string, *configWatcher) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sidetrail.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := watchConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return path, w
}

func expectChange(t *testing.T, w *configWatcher, what string) {
	t.Helper()
	select {
	case <-w.Changes():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not noticed", what)
	}
}

// A ConfigMap mounted with items[].path in a subdirectory: -config
// VOL/conf/sidetrail.yaml, where VOL/conf -> ..data/conf. Watching
// VOL/conf watched the first timestamped directory: the first update
// deleted it and every later update went unnoticed (config12 F1).
func TestWatchConfigMapItemInSubdirectory(t *testing.T) {
	noPoll(t)
	vol := t.TempDir()
	kubeletUpdate(t, vol, "v1", "conf/sidetrail.yaml", "a: 1\n")
	w, err := watchConfig(filepath.Join(vol, "conf", "sidetrail.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, v := range []string{"v2", "v3", "v4"} {
		kubeletUpdate(t, vol, v, "conf/sidetrail.yaml", fmt.Sprintf("a: %d\n", i+2))
		expectChange(t, w, "update "+v)
	}
}

// A -config that is a symlink into another directory: edits of the file
// it points at, in place or by rename, are changes (config12 F2).
func TestWatchSymlinkedConfigFile(t *testing.T) {
	noPoll(t)
	root := t.TempDir()
	etc, real := filepath.Join(root, "etc"), filepath.Join(root, "real")
	for _, d := range []string{etc, real} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(real, "agent.yaml")
	if err := os.WriteFile(target, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../real/agent.yaml", filepath.Join(etc, "sidetrail.yaml")); err != nil {
		t.Fatal(err)
	}
	w, err := watchConfig(filepath.Join(etc, "sidetrail.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.WriteFile(target, []byte("a: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "an edit in place")
	tmp := filepath.Join(real, ".agent.yaml.swp")
	if err := os.WriteFile(tmp, []byte("a: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, target); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "a rename over the file")
	// The link retargeted to a file in a third directory: that one is
	// watched from then on.
	other := filepath.Join(root, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "x.yaml"), []byte("a: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../other/x.yaml", filepath.Join(etc, "tmp-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(etc, "tmp-link"), filepath.Join(etc, "sidetrail.yaml")); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "the link retargeted")
	if err := os.WriteFile(filepath.Join(other, "x.yaml"), []byte("a: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "an edit of the new target")
}

// Where no watch sees a change (a file system without inotify events, such
// as a network mount written from elsewhere), the poll does.
func TestWatchPollFallback(t *testing.T) {
	old := configPollEvery
	configPollEvery = 200 * time.Millisecond
	t.Cleanup(func() { configPollEvery = old })
	dir := t.TempDir()
	path := filepath.Join(dir, "sidetrail.yaml")
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := newConfigWatcher(path, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.WriteFile(path, []byte("a: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "a change with no watch")
	select {
	case <-w.Changes():
		t.Fatal("one change reported twice")
	case <-time.After(600 * time.Millisecond):
	}
}

// After a reload that failed to start, Retry makes the next save a change
// even with the same content, and nothing else: the re-check that Loaded
// armed reported the unchanged file as a change, and every failed start
// retried again, three times a second (config12 F4).
func TestWatchRetryWaitsForASave(t *testing.T) {
	path, w := newTestWatcher(t, "a: 1\n")
	// The agent reads the file for a reload, which fails to start.
	w.Loaded(hashFile(path))
	w.Retry()
	select {
	case <-w.Changes():
		t.Fatal("a change reported with no save after Retry")
	case <-time.After(1500 * time.Millisecond):
	}
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o644); err != nil { // saved again, unchanged
		t.Fatal(err)
	}
	expectChange(t, w, "a save after Retry")
	// The retry is spent: the same save again is no change.
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Changes():
		t.Fatal("a second unchanged save reported")
	case <-time.After(1000 * time.Millisecond):
	}
}

// A reload that found the file missing loaded nothing: the same content
// put back is no change (ops15 F8: it restarted the pipeline once more).
func TestWatchSameContentBackAfterAMissingFile(t *testing.T) {
	path, w := newTestWatcher(t, "a: 1\n")
	w.Loaded(hashFile(path)) // what runs
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	w.Loaded(hashFile(path)) // a SIGHUP's reload finds no file: rejected
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Changes():
		t.Fatal("the running content put back reported as a change")
	case <-time.After(1200 * time.Millisecond):
	}
	if err := os.WriteFile(path, []byte("a: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expectChange(t, w, "a new content")
}
