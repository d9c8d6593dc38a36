package tailer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The files of these tests start with the same first line, as W3C/IIS logs
// (#Version), CSV files (a header) and banners do: only the bytes after it
// tell two such files apart.
const reuseHeader = "#Version: 1.0 header\n"

func headerFile(tag string, n int) string {
	var b strings.Builder
	b.WriteString(reuseHeader)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s-%07d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", tag, i)
	}
	return b.String()
}

func inode(t testing.TB, p string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// createOnInode creates path holding content on inode ino, which must be
// free: it creates files outside the globs until the file system hands ino
// out again (ext4 reuses a freed inode at once), then renames that one to
// path. It skips the test where inodes are not reused (tmpfs).
func createOnInode(t testing.TB, path string, ino uint64, content string) {
	t.Helper()
	dir := filepath.Dir(path)
	var tries []string
	defer func() {
		for _, p := range tries {
			os.Remove(p)
		}
	}()
	for i := range 200 {
		p := filepath.Join(dir, fmt.Sprintf("try-%d.tmp", i))
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if inode(t, p) == ino {
			if err := os.Rename(p, path); err != nil {
				t.Fatal(err)
			}
			return
		}
		tries = append(tries, p) // kept, so the next try gets another inode
	}
	t.Skipf("the file system did not hand inode %d out again", ino)
}

// waitClosed waits until the tailer holds no descriptor (a deleted file
// read to its end was finished after RotateWait).
func waitClosed(t testing.TB, tl *Tailer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for tl.Stats().OpenFiles != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", tl.Stats())
		}
		expectQuiet(t, tl, 20*time.Millisecond)
	}
}

// checkWhole asserts that ls is content read from offset 0, line by line,
// under one key other than old.
func checkWhole(t testing.TB, ls []got, content string, old uint64) {
	t.Helper()
	want := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	if len(ls) != len(want) {
		t.Fatalf("%d lines, want %d", len(ls), len(want))
	}
	var off int64
	for i, l := range ls {
		if l.Bytes != want[i] || l.Start != off || l.Key != ls[0].Key || l.Key == old {
			t.Fatalf("line %d: %+v, want %q at %d under a new key (old %x)", i, l, want[i], off, old)
		}
		off = l.End
	}
}

// TestInodeReuseSameHeaderWhileRunning: a file deleted and recreated at the
// same path, on the same inode and with the same first line, is another
// file: it is read from 0, not from the old file's offset. Whether the new
// file turns up while the old one is still remembered as closed (reopen) or
// after it was forgotten (the dropped streams).
func TestInodeReuseSameHeaderWhileRunning(t *testing.T) {
	for _, forgotten := range []bool{false, true} {
		t.Run(fmt.Sprintf("forgotten=%v", forgotten), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "a.log")
			old := headerFile("OLD", 50)
			appendFile(t, p, old)
			tl := mustNew(t, testOptions(dir))
			ls := collect(t, tl, 51, 5*time.Second)
			ino := inode(t, p)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, tl)
			if forgotten {
				// A scan after entryGrace forgets the missing file (and
				// remembers its stream among the dropped).
				tl.nextMu.Lock()
				tl.scan(time.Now().Add(time.Hour))
				n := len(tl.dropped)
				tl.nextMu.Unlock()
				if n != 1 {
					t.Fatalf("%d dropped streams, want 1", n)
				}
			}
			content := headerFile("NEW", 100)
			createOnInode(t, p, ino, content)
			checkWhole(t, collect(t, tl, 101, 3*time.Second), content, ls[0].Key)
			expectQuiet(t, tl, 100*time.Millisecond)
		})
	}
}

// TestSameFileReturnsWhileRunning is the control: the same file, out of
// the globs' sight until it was forgotten, returns under another name and
// grew meanwhile. It continues where it was: no line twice.
func TestSameFileReturnsWhileRunning(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	old := headerFile("OLD", 50)
	appendFile(t, p, old)
	tl := mustNew(t, testOptions(dir))
	first := collect(t, tl, 51, 5*time.Second)
	hidden := filepath.Join(dir, "moving.tmp")
	if err := os.Rename(p, hidden); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, tl)
	tl.nextMu.Lock()
	tl.scan(time.Now().Add(time.Hour))
	tl.nextMu.Unlock()
	appendFile(t, hidden, "grown\n")
	if err := os.Rename(hidden, p+".1"); err != nil {
		t.Fatal(err)
	}
	ls := collect(t, tl, 1, 3*time.Second)
	if ls[0].Bytes != "grown" || ls[0].Start != int64(len(old)) || ls[0].Key != first[0].Key {
		t.Fatalf("got %+v", ls)
	}
	expectQuiet(t, tl, 100*time.Millisecond)
}

// TestInodeReuseSameHeaderAcrossRestart: the same while the agent is
// stopped. The checkpoint entry matches by inode and first line; the hash
// of the head up to the committed offset tells the files apart.
func TestInodeReuseSameHeaderAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	appendFile(t, p, headerFile("OLD", 50))
	tl := mustNew(t, o)
	ls := collect(t, tl, 51, 5*time.Second)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	ino := inode(t, p)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	content := headerFile("NEW", 100)
	createOnInode(t, p, ino, content)
	tl = mustNew(t, o)
	checkWhole(t, collect(t, tl, 101, 3*time.Second), content, ls[0].Key)
	expectQuiet(t, tl, 100*time.Millisecond)
}

// TestInodeReuseAfterForgottenAcrossRestart: the old file was deleted and
// forgotten (its checkpoint entry pruned) before the agent stopped, and its
// inode holds a new file with the same first line at the next start (or
// reload). Nothing remembers the old key then, so the key must differ by
// itself: with the old key, every line at an offset the old file also had
// got the old line's Elasticsearch _id, was answered 409 and counted as
// delivered. The probe lost 21 of 21 lines so.
func TestInodeReuseAfterForgottenAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	appendFile(t, p, headerFile("OLD", 50))
	tl := mustNew(t, o)
	ls := collect(t, tl, 51, 5*time.Second)
	ino := inode(t, p)
	// A link out of the globs holds the inode while the checkpoint is
	// written (its new file would take the freed inode).
	hold := filepath.Join(dir, "hold.tmp")
	if err := os.Link(p, hold); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, tl)
	tl.nextMu.Lock()
	tl.scan(time.Now().Add(time.Hour)) // forgets it
	tl.nextMu.Unlock()
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	if cp, err := loadCheckpoint(o.CheckpointPath); err != nil || len(cp.Files) > 0 {
		t.Fatalf("the checkpoint still holds the file: %+v (%v)", cp, err)
	}
	if err := os.Remove(hold); err != nil {
		t.Fatal(err)
	}
	content := headerFile("NEW", 100)
	createOnInode(t, p, ino, content)
	tl = mustNew(t, o)
	checkWhole(t, collect(t, tl, 101, 3*time.Second), content, ls[0].Key)
	expectQuiet(t, tl, 100*time.Millisecond)
}

// TestSameFileAcrossRestart is the control: the same file, grown while the
// agent was stopped, resumes exactly at its committed offset under its key,
// with a checkpoint of this version and with one written before the head
// hash existed.
func TestSameFileAcrossRestart(t *testing.T) {
	for _, oldFormat := range []bool{false, true} {
		t.Run(fmt.Sprintf("oldFormat=%v", oldFormat), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "a.log")
			o := testOptions(dir)
			o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
			old := headerFile("OLD", 50)
			appendFile(t, p, old)
			tl := mustNew(t, o)
			first := collect(t, tl, 51, 5*time.Second)
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}
			if oldFormat {
				stripHeadHash(t, o.CheckpointPath)
			}
			appendFile(t, p, "grown\n")
			tl = mustNew(t, o)
			ls := collect(t, tl, 1, 3*time.Second)
			if ls[0].Bytes != "grown" || ls[0].Start != int64(len(old)) || ls[0].Key != first[0].Key {
				t.Fatalf("got %+v", ls)
			}
			expectQuiet(t, tl, 100*time.Millisecond)
		})
	}
}

// stripHeadHash rewrites a checkpoint as versions without head_len and
// head_hash wrote it.
func stripHeadHash(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cp map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber() // keys and hashes are uint64: no float64 round trip
	if err := d.Decode(&cp); err != nil {
		t.Fatal(err)
	}
	files := cp["files"].([]any)
	if len(files) == 0 {
		t.Fatal("empty checkpoint")
	}
	for _, f := range files {
		e := f.(map[string]any)
		delete(e, "head_len")
		delete(e, "head_hash")
	}
	if data, err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNewFileSameHeaderAcrossRestart: while the agent is stopped the file
// is replaced by another one (another inode) with the same first line. The
// checkpoint entry, not found by inode, may still be continued by a copy
// made while we were down, but that copy holds the head the entry hashed:
// this file does not, so it is read from 0.
func TestNewFileSameHeaderAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	appendFile(t, p, headerFile("OLD", 50))
	tl := mustNew(t, o)
	ls := collect(t, tl, 51, 5*time.Second)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	content := headerFile("NEW", 100)
	tmp := filepath.Join(dir, "new.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil { // created while the old inode is in use
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil { // replaces (deletes) the old file
		t.Fatal(err)
	}
	tl = mustNew(t, o)
	checkWhole(t, collect(t, tl, 101, 3*time.Second), content, ls[0].Key)
	expectQuiet(t, tl, 100*time.Millisecond)
}

// checkpointedTailer writes content at dir/a.log and starts a tailer with
// a checkpoint on it.
func checkpointedTailer(t *testing.T, content string) (dir, p string, o Options, tl *Tailer) {
	t.Helper()
	dir = t.TempDir()
	p = filepath.Join(dir, "a.log")
	o = testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	appendFile(t, p, content)
	return dir, p, o, mustNew(t, o)
}

// readAndStop writes content at dir/a.log, reads its n lines with a
// checkpointing tailer and stops it: a file sidetrail read before a stop.
func readAndStop(t *testing.T, content string, n int) (dir, p string, o Options, ls []got) {
	t.Helper()
	dir, p, o, tl := checkpointedTailer(t, content)
	ls = collect(t, tl, n, 5*time.Second)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, p, o, ls
}

// TestHeaderOnlyFileRecreatedAcrossRestart: the old file held only its
// header (a CSV or W3C log just after its writer started), read whole;
// while the agent was stopped it was deleted and a new file with the same
// header and rows made at its path, on the old inode or another. The new
// file holds the old one whole, so its bytes could not tell them apart: it
// was taken for the old file grown (same inode) or for a copy of it
// (another inode), and its header was skipped, lost (tailer19 F1). Its
// birth time (same inode) and its path (a copy is never at its original's
// path) tell it apart.
func TestHeaderOnlyFileRecreatedAcrossRestart(t *testing.T) {
	for _, sameInode := range []bool{true, false} {
		t.Run(fmt.Sprintf("sameInode=%v", sameInode), func(t *testing.T) {
			dir, p, o, ls := readAndStop(t, reuseHeader, 1)
			ino := inode(t, p)
			content := headerFile("NEW", 10)
			if sameInode {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond) // a birth time of its own
				createOnInode(t, p, ino, content)
			} else {
				tmp := filepath.Join(dir, "new.tmp")
				if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, p); err != nil {
					t.Fatal(err)
				}
			}
			tl := mustNew(t, o)
			checkWhole(t, collect(t, tl, 11, 3*time.Second), content, ls[0].Key)
			expectQuiet(t, tl, 100*time.Millisecond)
		})
	}
}

// TestHeaderOnlyFileCopiedAndRecreatedAcrossRestart is the control: the
// header-only file grew, was copied to a.log.1 and deleted, and a new
// a.log made with the same header, while the agent was stopped. The copy
// continues the old file after its header; the new file is read whole.
func TestHeaderOnlyFileCopiedAndRecreatedAcrossRestart(t *testing.T) {
	_, p, o, ls := readAndStop(t, reuseHeader, 1)
	old := headerFile("OLD", 5)
	if err := os.WriteFile(p+".1", []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	content := headerFile("NEW", 10)
	appendFile(t, p, content)
	tl := mustNew(t, o)
	all := collect(t, tl, 5+11, 3*time.Second)
	var fromCopy, fromNew []got
	for _, l := range all {
		if l.Path == p+".1" {
			fromCopy = append(fromCopy, l)
		} else {
			fromNew = append(fromNew, l)
		}
	}
	if len(fromCopy) != 5 || fromCopy[0].Bytes != "OLD-0000001 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" || fromCopy[0].Start != int64(len(reuseHeader)) || fromCopy[0].Key != ls[0].Key {
		t.Fatalf("from the copy: %+v", fromCopy)
	}
	checkWhole(t, fromNew, content, ls[0].Key)
	expectQuiet(t, tl, 100*time.Millisecond)
}

// TestOneFileAtTwoPaths: a file the globs reach by two paths (a
// current.log symlink beside the dated file, a hard link) is one file, read
// once, under the path that is not a symlink; also across a restart and
// when both appear while running. Each path was read: every line twice
// after each start (tailer19 F2).
func TestOneFileAtTwoPaths(t *testing.T) {
	for _, link := range []string{"symlink", "hardlink"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app-1.log")
			mk := func(target, name string) {
				var err error
				if link == "symlink" {
					err = os.Symlink(target, filepath.Join(dir, name))
				} else {
					err = os.Link(target, filepath.Join(dir, name))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			appendFile(t, p, headerFile("A", 100))
			mk(p, "current.log")
			o := testOptions(dir)
			o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
			tl := mustNew(t, o)
			ls := collect(t, tl, 101, 5*time.Second)
			if link == "symlink" {
				for _, l := range ls {
					if l.Path != p {
						t.Fatalf("read at %s, want %s", l.Path, p)
					}
				}
			}
			expectQuiet(t, tl, 200*time.Millisecond)
			// Both paths of a new file appear while running.
			q := filepath.Join(dir, "app-2.log")
			appendFile(t, q, headerFile("B", 10))
			mk(q, "latest.log")
			collect(t, tl, 11, 5*time.Second)
			expectQuiet(t, tl, 200*time.Millisecond)
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}
			appendFile(t, p, "after\n")
			tl = mustNew(t, o)
			if ls := collect(t, tl, 1, 5*time.Second); ls[0].Bytes != "after" {
				t.Fatalf("after the restart: %+v", ls)
			}
			expectQuiet(t, tl, 200*time.Millisecond)
		})
	}
}

// replaceWhole replaces the file at p by a new inode holding content, as
// rsync, sed -i and an editor's save do.
func replaceWhole(t *testing.T, p, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(p), ".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// TestFileReplacedWholeAcrossRestart: while the agent was stopped, a file
// longer than its head was replaced at its path by a new inode holding its
// old content and more (rsync, sed -i, an editor's save): it continues at
// the old offset. 923db22 read it from 0 (regress19 F-D: 1,400
// duplicates), taking it for a new file at a copy's original path; that
// rule is for an old file its head held whole (see
// TestHeaderOnlyFileRecreatedAcrossRestart).
func TestFileReplacedWholeAcrossRestart(t *testing.T) {
	old := headerFile("OLD", 100) // longer than fingerprint_bytes
	_, p, o, ls := readAndStop(t, old, 101)
	replaceWhole(t, p, old+"more-1\nmore-2\n")
	tl := mustNew(t, o)
	got := collect(t, tl, 2, 5*time.Second)
	if got[0].Bytes != "more-1" || got[0].Start != int64(len(old)) || got[0].Key != ls[0].Key {
		t.Fatalf("got %+v", got)
	}
	expectQuiet(t, tl, 300*time.Millisecond)
}

// TestLongHeadRecreatedOnTheSameInode: while the agent was stopped, a file
// longer than fingerprint_bytes was deleted and made again on its inode
// with the same first fingerprint_bytes and other bytes after them. Its
// creation time says it is another file; the orphan rule then took it for
// the old file's copy anyway and continued it at the old offset: the new
// file's bytes up to there were lost (regress19c R1, a regression of
// 615b76e). A file on the orphan's own inode is never its copy.
func TestLongHeadRecreatedOnTheSameInode(t *testing.T) {
	head := reuseHeader + strings.Repeat("#banner line that every file of this log starts with\n", 30) // over 1,024 bytes
	old := head + "OLD-1\nOLD-2\nOLD-3\n"
	_, p, o, ls := readAndStop(t, old, strings.Count(old, "\n"))
	ino := inode(t, p)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a creation time of its own
	content := head + "NEW-1\nNEW-2\nNEW-3\nNEW-4\n"
	createOnInode(t, p, ino, content)
	tl := mustNew(t, o)
	checkWhole(t, collect(t, tl, strings.Count(content, "\n"), 3*time.Second), content, ls[0].Key)
	expectQuiet(t, tl, 100*time.Millisecond)
}

// TestFileReplacedWholeStaysLive: the file replaced whole at its path
// while stopped is the live file, not a copy: its unterminated last line
// is not shipped after rotate_wait as if rotated away (regress19c R8: a
// line its writer finished later shipped as two records).
func TestFileReplacedWholeStaysLive(t *testing.T) {
	old := headerFile("OLD", 100)
	_, p, o, _ := readAndStop(t, old, 101)
	replaceWhole(t, p, old+"more-1\nfirst-half")
	tl := mustNew(t, o)
	if got := collect(t, tl, 1, 5*time.Second); got[0].Bytes != "more-1" {
		t.Fatalf("got %+v", got)
	}
	expectQuiet(t, tl, 3*o.RotateWait) // the half line is not shipped
	appendFile(t, p, " second-half\n")
	if got := collect(t, tl, 1, 5*time.Second); got[0].Bytes != "first-half second-half" {
		t.Fatalf("got %+v", got)
	}
}

// TestFileReplacedWholeAfterACrash: the file replaced whole while stopped
// after a crash that came before the checkpoint caught up (its lines in
// the buffer: a resume point past the head) continues at that point; it
// was read again whole (regress19c R7: 43 lines).
func TestFileReplacedWholeAfterACrash(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	o := testOptions(dir)
	o.CheckpointPath = filepath.Join(t.TempDir(), "ck.json")
	old := headerFile("OLD", 100)
	appendFile(t, p, old)
	tl := mustNew(t, o)
	var last Line
	for range 101 {
		last = nextLine(t, tl) // not committed: the checkpoint stays at 0
	}
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	replaceWhole(t, p, old+"more-1\n")
	o.Resume = map[uint64]int64{last.Key: last.End}
	tl = mustNew(t, o)
	if got := collect(t, tl, 1, 5*time.Second); got[0].Bytes != "more-1" || got[0].Start != int64(len(old)) {
		t.Fatalf("got %+v", got)
	}
	expectQuiet(t, tl, 300*time.Millisecond)
}
