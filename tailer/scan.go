package tailer

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// scan is the source of truth: glob, stat, discover and identify new files,
// notice renames, deletions, truncations and copies, finish quiet rotated
// files, and keep the directory watches in step. Next goroutine only.
func (t *Tailer) scan(now time.Time) {
	t.watchDirs()
	paths, err := t.glob(now)
	if err != nil {
		// A directory that cannot be read (no descriptor left at the
		// process's limit, a permission) says nothing of which files
		// exist. Taken as "none", it marked every file rotated away,
		// closed them, found them "returned" at the next scan, and so on:
		// the scale probe's agent shipped nothing more and read a file
		// twice. The file set stays as it is until a glob works again.
		t.stats.errors.Add(1)
		if now.Sub(t.globErrLogged) >= time.Minute {
			t.globErrLogged = now
			t.log.Error("tailer: cannot read a directory of the paths; files are neither added nor given up until it works (at most once a minute)",
				"err", err)
		}
		return
	}
	t.scanSeq++

	type cand struct {
		path string
		fi   fs.FileInfo
		id   devIno
	}
	var fresh []cand
	seen := make(map[devIno]bool, len(paths))
	found := make([]cand, 0, len(paths))
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.markBad(p, "stat: "+err.Error())
			}
			continue
		}
		if fi.IsDir() {
			t.markBad(p, "is a directory")
			continue
		}
		if !fi.Mode().IsRegular() {
			t.markBad(p, "not a regular file ("+fi.Mode().String()+")")
			continue
		}
		sys := fi.Sys().(*syscall.Stat_t)
		id := devIno{uint64(sys.Dev), sys.Ino}
		if seen[id] {
			// One file at two paths (a current.log symlink beside the
			// dated file, a hard link, kubelet's containers/ and pods/
			// in one source): one file, read once, under the path that
			// is not a symlink. Each path was read, every line shipped
			// twice after each start (tailer19 F2).
			i := slices.IndexFunc(found, func(c cand) bool { return c.id == id })
			if i >= 0 && isSymlink(found[i].path) && !isSymlink(p) {
				found[i].path, found[i].fi = p, fi
			}
			continue
		}
		seen[id] = true
		found = append(found, cand{p, fi, id})
	}
	for _, c := range found {
		p, fi, id := c.path, c.fi, c.id
		f := t.files[id]
		if f == nil {
			if why := t.own(p, fi); why != "" {
				t.markBad(p, why)
				continue
			}
			fresh = append(fresh, cand{p, fi, id})
			continue
		}
		if f.skipped && (fi.Size() != f.size || fi.ModTime().UnixNano() != f.mtime) && !t.stillCompressed(p, f, fi) {
			// A skipped compressed file's inode holds a log now (ext4
			// hands a freed inode straight back): forget it, discover
			// this one. Before, the new file was never read.
			t.drop(f)
			t.order = slices.DeleteFunc(t.order, func(x *file) bool { return x == f })
			fresh = append(fresh, cand{p, fi, id})
			continue
		}
		t.clearBad(p)
		if f.origScan != t.scanSeq && f.path != p {
			f.path = p
			if f.st != nil {
				t.ckMu.Lock()
				f.st.path = p
				t.ckGen++
				t.ckMu.Unlock()
			}
		}
		f.seenScan = t.scanSeq
		f.lastSeen = now
		if p == f.origPath {
			f.origScan = t.scanSeq
		}
		// Known, finished and closed. One done at Finish (finEOF) is opened
		// again only when it shrank: a copytruncate whose copy waits for
		// the truncation, holding a descriptor the waiting files need
		// (regress20 F2).
		if f.fd == nil && !f.skipped && (!f.finEOF || fi.Size() < f.size) {
			if fi.Size() != f.size || fi.ModTime().UnixNano() != f.mtime || f.wantFd {
				t.reopen(p, f, fi, now)
			}
		}
	}

	if h := t.o.hooks; h != nil && h.afterGlob != nil {
		h.afterGlob()
	}

	// Files the last tailer handed over, rotated away and still read: a
	// path finds them no more (or finds them again, at their path or
	// renamed within the paths: then open takes the descriptor handed
	// over).
	for id, h := range t.inherited {
		h.atPath = false // looked at again at each scan until taken
		fi, err := h.fd.Stat()
		if seen[id] && t.files[id] == nil && err == nil {
			// Found at a path: open takes this descriptor rather than
			// open the path again. A rename between the glob's stat and
			// that open left the file with no descriptor and no path
			// (tailer16 F2: the rest of its lines lost, uncounted).
			h.atPath = true
			t.inherited[id] = h
			continue
		}
		if seen[id] || t.pending[id] == nil || t.files[id] != nil || err != nil || stillAt(h) {
			h.fd.Close()
			delete(t.inherited, id)
			continue
		}
		t.inherited[id] = h
		seen[id] = true
		fresh = append(fresh, cand{h.path, fi, id})
	}

	// Files we already know, then new ones: checkpoint matches by inode
	// first, so that copies can be matched against what is left.
	var unknown []cand
	for _, c := range fresh {
		if e := t.pending[c.id]; e != nil {
			if t.resume(c.path, c.fi, c.id, e, now) {
				continue
			}
		}
		unknown = append(unknown, c)
	}
	if !t.scanned {
		// Entries not found by inode may live on in a copy made while we
		// were down (an orphan matches it by content), or the file was
		// being renamed while we globbed (logrotate shifting .1 to .2): it
		// shows up at a later scan under its new name. So the entry stays
		// pending, and in the checkpoint, for a grace period; whichever
		// finds it first, the inode or a copy, takes it.
		for id, e := range t.pending {
			if seen[id] && t.files[id] == nil {
				continue // present but not opened yet: stays pending
			}
			t.startupOrphan(e, now)
			since := now
			if g, ok := t.wentMissing[id]; ok && g.Before(now) {
				since = g // missing before the reload that made this tailer
			}
			t.goneSince[id] = since
		}
		t.wentMissing = nil
	}
	// The files read at their paths first: truncated ones are noticed,
	// and those without an identity (truncated, then empty until now) get
	// one, before new files are identified. A copy among the new files
	// then meets the original's content as it is now: held as its copy,
	// or continuing the stream the truncation ended. Identified before,
	// a copy of the lines written since the truncation matched no file
	// and was read from its beginning, and the original again: two
	// copytruncates close together shipped those lines twice (tailer14 F1).
	for _, f := range t.order {
		if f.fd == nil || f.copyOf != nil || f.away || f.skipped || f.origScan != t.scanSeq || (f.st != nil && f.st.copy) {
			continue
		}
		if err := syscall.Fstat(f.sysfd, &t.statBuf); err != nil || t.statBuf.Nlink == 0 {
			continue
		}
		t.sizeSeen(f, t.statBuf.Size, t.statBuf.Mtim.Nano(), now)
		if f.st == nil && f.size > 0 {
			t.identify(f, now, false, false)
		}
	}
	// Every new file is opened before any is identified: a copy of a file
	// no checkpoint held finds the stream it continues through its
	// truncated original's inode (copiedStream), which must be among the
	// files by then whatever their names. The original renamed after the
	// copytruncate (app.log.2, the copy app.log.1) was added after the
	// copy, which a crash before any checkpoint then read again from its
	// beginning (buffer18 F3: 7,000 lines shipped twice).
	added := make([]*file, 0, len(unknown))
	for _, c := range unknown {
		if f := t.add(c.path, c.fi, c.id, now); f != nil {
			added = append(added, f)
		}
	}
	for _, f := range added {
		if len(f.head) > 0 && t.files[f.id] == f {
			t.identify(f, now, true, false)
		}
	}
	if !t.scanned {
		t.scannedAt = now
	}
	t.scanned = true
	for id, since := range t.goneSince {
		if seen[id] {
			continue // found again: resumed above, or pending until opened
		}
		if now.Sub(since) >= t.entryGrace() {
			if e := t.pending[id]; e != nil {
				why := "file gone"
				var st syscall.Stat_t
				if e.Path != "" && syscall.Stat(e.Path, &st) == nil && uint64(st.Dev) == e.Dev && st.Ino == e.Ino {
					// Narrowing paths forgets it: widened again, the file
					// is read from its beginning.
					why = "file no longer matches paths"
				}
				t.log.Info("tailer: checkpoint entry pruned: "+why, "path", e.Path, "offset", e.Offset)
				t.ckMu.Lock()
				delete(t.pending, id)
				t.ckGen++
				t.ckMu.Unlock()
			}
			delete(t.goneSince, id)
		}
	}

	// Every known file: fstat, away, truncation, copies, finish.
	changed := false
	for _, f := range t.order {
		if f.fd == nil {
			// A finished file missing from one scan may just be in the
			// middle of a rename (logrotate shifting .8 to .9 while we
			// globbed): forget it only when it stays missing.
			if f.seenScan != t.scanSeq && now.Sub(f.lastSeen) >= t.entryGrace() {
				t.drop(f)
				changed = true
			}
			continue
		}
		if err := syscall.Fstat(f.sysfd, &t.statBuf); err != nil {
			t.stats.errors.Add(1)
			continue
		}
		size, mtime := t.statBuf.Size, t.statBuf.Mtim.Nano()
		if !f.away && (t.statBuf.Nlink == 0 || f.origScan != t.scanSeq) {
			t.markAway(f, f.origPath)
			t.stats.rotations.Add(1)
			// rotate_wait, for its writer's last bytes, counts from
			// here too: a file quiet mid-line before it was renamed
			// had its line's start shipped at once, and the rest its
			// writer added after the rename as another record
			// (tailer24 P4).
			f.changed = now
		} else if f.away && f.awayFrom != "" && f.path == f.awayFrom && f.seenScan == t.scanSeq && t.statBuf.Nlink > 0 &&
			!f.final && f.copyOf == nil && (f.st == nil || !f.st.copy) {
			// Renamed away and back: live again, its unterminated tail
			// not handed out (regress12: a line its writer paused in
			// shipped as two records).
			t.unmarkAway(f)
		}
		t.sizeSeen(f, size, mtime, now)
		if f.copyOf != nil {
			t.checkCopy(f, now)
			if f.copyOf != nil && f.away && now.Sub(f.changed) >= t.o.RotateWait {
				t.log.Info("tailer: copy went away while its original was still read; forgotten", "path", f.path)
				t.drop(f)
				changed = true
				continue
			}
		}
		quiet := now.Sub(f.changed) >= t.o.RotateWait
		// Read to the end it has since Finish was called (see finEOF).
		finDone := t.finScanned && (f.finEOF || f.eof)
		if f.st == nil && f.copyOf == nil && f.size > 0 {
			t.identify(f, now, false, f.away && quiet)
		}
		if f.st != nil {
			t.ckMu.Lock()
			f.st.size = f.size
			t.ckMu.Unlock()
		}
		if f.away && (f.eof || f.st == nil) && f.copyOf == nil && quiet {
			if f.st == nil || f.offset >= f.size {
				t.finish(f)
			} else if !f.final {
				f.final = true
				f.eof = false
			}
		} else if len(t.atRisk) > 0 && f.away && f.offset >= f.size && f.st != nil && f.copyOf == nil && !f.final && !finDone {
			// Files wait for a descriptor: a rotated file with every
			// byte handed out up to the size this scan saw (no
			// unfinished line; not f.eof, which each directory event
			// clears: a fast rotation's kept coming) gives its own up at
			// once, and is opened again if its writer adds a line. It
			// held it for rotate_wait, and a log rotated more often
			// than max_open_files in rotate_wait left its live file
			// waiting, whole generations rotated away and deleted
			// unread (tailer24 P3: 5,025 of 8,040 lines).
			t.finish(f)
		} else if len(t.atRisk) > 0 && f.away && finDone && f.st != nil && f.copyOf == nil && !f.final {
			// After Finish, a rotated file read to its end gives its
			// descriptor up to the files that wait, without waiting out
			// rotate_wait: the finish ended with them unread (delivery20
			// F1: 2,000 of 16,000 lines). Its unterminated tail, if any,
			// is not handed out: the next start reads on from there.
			t.finish(f)
			f.finEOF = true
		} else if len(t.atRisk) > 0 && !f.away && f.copyOf == nil && !f.final &&
			(f.st != nil && (f.eof && (quiet || t.finishing.Load()) && !t.linesPending(f) || finDone) ||
				f.st == nil && (quiet || t.finishing.Load())) {
			// Files wait for a descriptor (max_open_files): a live file
			// read to its end and quiet for rotate_wait gives its
			// descriptor up, as a rotated one does, and is opened again
			// when it grows. Live files held their descriptors for good,
			// and the waiting ones were never read. After Finish, one
			// read to its end since gives it up though it grew, and is
			// not opened again (finEOF: regress19c R2). So does a file
			// ending in an unfinished line (read again from that line's
			// start when it grows), and one with no line yet, empty:
			// they held theirs for good (regress20 F1: nginx's empty
			// error.log, and no line of the waiting files read).
			t.finish(f)
			f.parked = true
			f.finEOF = finDone
		}
	}
	if changed {
		t.order = slices.DeleteFunc(t.order, func(f *file) bool { return t.files[f.id] != f })
	}
	// A file that waited and went away is decided a scan later
	// (lostUnopened): it may be an orphan's copy.
	waiting := len(t.atRisk) > 0 || len(t.goneRisk) > 0
	t.orphans = slices.DeleteFunc(t.orphans, func(o *orphan) bool {
		if now.Before(o.until) {
			return false
		}
		if waiting && len(t.orphans) <= maxOrphans {
			// Files wait for a descriptor (max_open_files): the copy
			// this one waits for may be among them. So may a copy of a
			// checkpoint entry's file made while we were stopped, or
			// before a reload (tailer10: the whole copy was read again).
			return false
		}
		// Lines past the checkpoint that a crash left in the disk buffer
		// (a resume point) were read: counted lost, a false alarm of the
		// whole file (regress19 F-C).
		read := o.offset
		if r, ok := t.resumeAt[o.st.key]; ok && r > read {
			read = r
		}
		if d := o.lastSize - read; d > 0 {
			t.stats.lost.Add(uint64(d))
			t.log.Warn("tailer: truncated file's unread bytes not found in any copy: lost",
				"path", o.st.path, "bytes", d)
		}
		t.removeStream(o.st)
		return true
	})
	t.updateRisk()
	t.pruneResume(now)
	if t.newLinkDir {
		t.newLinkDir = false
		t.watchDirs() // the directories the symlinks just found point into
	}
}

// glob returns the matching paths, deduplicated and with excludes removed.
// A pattern that matches nothing for unmatchedGrace is logged (once per
// episode: from the first scan, or from when its last file went), so
// "nothing is shipped" has an answer in the log. The grace keeps a rename
// rotation, which leaves the name free between two scans, out of the log.
func (t *Tailer) glob(now time.Time) ([]string, error) {
	var out []string
	if t.unmatched == nil {
		t.unmatched = make([]unmatchedPattern, len(t.o.Paths))
	}
	for i, pat := range t.o.Paths {
		m, err := globErr(pat) // patterns were validated in New
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, p := range m {
			if !t.excluded(p) {
				out = append(out, p)
			}
		}
		u := &t.unmatched[i]
		switch {
		case len(out) > n:
			if u.logged {
				t.log.Info("tailer: the pattern matches files now", "pattern", pat, "files", len(out)-n)
			}
			*u = unmatchedPattern{}
		case u.since.IsZero():
			u.since = now
		case !u.logged && now.Sub(u.since) >= t.unmatchedGrace():
			t.log.Warn("tailer: no file matches the pattern (yet); globs are filepath.Match patterns, where * does not cross /",
				"pattern", pat, "for", now.Sub(u.since).Round(time.Millisecond))
			u.logged = true
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// globErr is filepath.Glob, but a directory that exists and cannot be read
// is an error, where Glob ignores it and matches nothing there. A
// directory that does not exist (or is not one) matches nothing, as in
// Glob.
func globErr(pattern string) ([]string, error) {
	dir, file := filepath.Split(pattern)
	dir = cleanGlobDir(dir)
	if !hasGlobMeta(dir) {
		return globDir(dir, file, nil)
	}
	if dir == pattern { // a pattern like "/*/" would recurse for ever
		return nil, filepath.ErrBadPattern
	}
	dirs, err := globErr(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dirs {
		if out, err = globDir(d, file, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// globDir appends to out the names in dir matching pattern, joined to dir.
func globDir(dir, pattern string, out []string) ([]string, error) {
	if !hasGlobMeta(pattern) {
		// Literal: as Glob, it is there if it can be stat'ed.
		p := filepath.Join(dir, pattern)
		if _, err := os.Lstat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return out, nil
			}
			return out, err
		}
		return append(out, p), nil
	}
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return out, nil
		}
		return out, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return out, nil
		}
		return out, err
	}
	slices.Sort(names)
	for _, n := range names {
		if ok, _ := filepath.Match(pattern, n); ok {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

// cleanGlobDir is filepath.Glob's cleaning of the directory part.
func cleanGlobDir(dir string) string {
	switch dir {
	case "":
		return "."
	case string(filepath.Separator):
		return dir
	}
	return dir[:len(dir)-1] // the trailing separator
}

// stillAt reports whether the file h was handed over with is still at the
// path it was last seen at. No glob found it there: the reload narrowed
// paths or widened exclude, and the file is left out, not carried over
// (regress15 F0).
func stillAt(h heldFile) bool {
	var st syscall.Stat_t
	return syscall.Stat(h.path, &st) == nil && (devIno{uint64(st.Dev), st.Ino}) == h.id
}

func hasGlobMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// unmatchedGrace is how long a pattern matches nothing before glob logs it:
// longer than the gap a rename rotation leaves between the old file's
// rename and the new file's creation.
func (t *Tailer) unmatchedGrace() time.Duration {
	return max(t.o.RotateWait, 3*t.o.ScanInterval)
}

// linesPending reports whether f holds whole lines it has not handed out:
// its reads reached its end (f.eof) into the read buffer, where they wait
// while the consumer does not take them (a full buffer). A live file gives
// its descriptor up to the waiting files only without them: it dropped
// them, and was opened again only when it grew, a finished file never, a
// deleted one losing them uncounted (ops24 P2). An unfinished line at its
// end is not one: it is read again from its start when the file grows.
func (t *Tailer) linesPending(f *file) bool {
	if f.offset >= f.size || f.fd == nil {
		return false
	}
	if t.bufFile == f && t.bufOff+int64(t.w) >= f.size {
		return bytes.IndexByte(t.buf[t.r:t.w], '\n') >= 0
	}
	// The read buffer went on to another file: look at the bytes left.
	if f.size-f.offset > int64(t.o.MaxLineBytes) {
		return true // a fragment at least
	}
	var chunk [4096]byte
	for off := f.offset; off < f.size; {
		k, err := f.fd.ReadAt(chunk[:min(int64(len(chunk)), f.size-off)], off)
		if bytes.IndexByte(chunk[:k], '\n') >= 0 {
			return true
		}
		if k == 0 || err != nil && !errors.Is(err, io.EOF) {
			return false
		}
		off += int64(k)
	}
	return false
}

// own says why sidetrail must not read the file at p, fi (Options.OwnDirs
// and OwnFiles), or "". It is asked of files the tailer does not know yet.
func (t *Tailer) own(p string, fi fs.FileInfo) string {
	for _, o := range t.o.OwnFiles {
		if os.SameFile(fi, o) {
			return ownFile
		}
	}
	if len(t.o.OwnDirs) == 0 {
		return ""
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return ""
	}
	real = t.absPath(real)
	for _, d := range t.o.OwnDirs {
		if rel, err := filepath.Rel(d, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return ownDir
		}
	}
	return ""
}

// The reasons own gives, as markBad logs them.
const (
	ownFile = "sidetrail's own stdout or stderr: its output read back as logs would grow without end; leave it out of paths"
	ownDir  = "inside sidetrail's data_dir (its buffer and checkpoints); leave it out of paths"
)

func (t *Tailer) excluded(p string) bool {
	base := filepath.Base(p)
	abs := ""
	for i, ex := range t.o.Exclude {
		if ok, _ := filepath.Match(ex, base); ok {
			return true
		}
		if ok, _ := filepath.Match(ex, p); ok {
			return true
		}
		// The full path however either side spells it: an absolute
		// exclude against a relative pattern's paths, "./x" or "a/../x"
		// excluded nothing (tailer22 P5).
		if abs == "" {
			abs = t.absPath(p)
		}
		if ok, _ := filepath.Match(t.absExclude[i], abs); ok {
			return true
		}
	}
	return false
}

// absPath returns p absolute (from the directory sidetrail started in) and
// cleaned.
func (t *Tailer) absPath(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(t.cwd, p)
}

// sizeSeen takes a scan's fstat of f: a new size or modification time
// marks it changed, and one below the offset (but for an adopted copy) or
// a new head is a truncation.
func (t *Tailer) sizeSeen(f *file, size, mtime int64, now time.Time) {
	if size == f.size && mtime == f.mtime {
		return
	}
	f.eof, f.changed = false, now
	prev := f.size
	f.size, f.mtime = size, mtime
	if f.st != nil && ((size < f.offset && !f.st.copy) || t.headChanged(f)) {
		f.size = prev
		t.truncated(f, now, "at scan")
		f.size = size
	}
}

func (t *Tailer) markBad(p, why string) {
	if t.bad[p] == why {
		return
	}
	t.bad[p] = why
	if why != "is a directory" && why != ownFile && why != ownDir {
		t.stats.unreadable.Add(1)
	}
	// A path that flips between a file and something else (a FIFO
	// swapped in and out) is logged once a minute, not at every flip
	// (tailer14: 2,002 WARNs in 20 s).
	now := time.Now()
	if n, ok := t.badLogged[p]; ok && n.why == why && now.Sub(n.at) < time.Minute {
		return
	}
	if t.badLogged == nil || len(t.badLogged) >= maxBadLogged {
		t.badLogged = map[string]badNote{}
	}
	t.badLogged[p] = badNote{why: why, at: now, shown: true}
	t.log.Warn("tailer: skipping path; retried at every scan, logged at most once a minute", "path", p, "reason", why)
}

// maxBadLogged bounds badLogged: past it, the notes start anew.
const maxBadLogged = 4096

// badNote is when a skipped path was last logged, and why.
type badNote struct {
	why   string
	at    time.Time
	shown bool // "readable again" not logged yet
}

func (t *Tailer) clearBad(p string) {
	if _, ok := t.bad[p]; ok {
		delete(t.bad, p)
		if n, ok := t.badLogged[p]; ok && n.shown {
			n.shown = false
			t.badLogged[p] = n
			t.log.Info("tailer: path readable again", "path", p)
		}
	}
}

// open opens p read-only without following it into a FIFO's blocking open,
// and checks that it is still the regular file id.
func (t *Tailer) open(p string, id devIno) (*os.File, bool) {
	if h, ok := t.inherited[id]; ok && h.atPath {
		// Handed over by the last tailer and found at p: its descriptor
		// is the file, whatever p holds now.
		delete(t.inherited, id)
		t.riskOpened(p, id)
		t.clearBad(p)
		t.nOpen++
		t.stats.open.Add(1)
		return h.fd, true
	}
	if t.nOpen >= t.o.MaxOpenFiles {
		if _, ok := t.atRisk[p]; !ok {
			_, born, _ := pathBirth(p)
			t.atRisk[p] = riskEntry{id: id, unread: -1, born: born} // logged by updateRisk, with the count
		}
		return nil, false
	}
	fd, err := openNonblock(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.markBad(p, "open: "+err.Error())
		}
		return nil, false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd.Fd()), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		uint64(st.Dev) != id.dev || st.Ino != id.ino {
		fd.Close() // replaced between stat and open: the next scan sees the new one
		return nil, false
	}
	// Off the files at risk once open: a file that waited and was deleted
	// between the scan's look and this open was taken off them, and its
	// loss neither counted nor named (regress25a P9: 60 of 232 files).
	t.riskOpened(p, id)
	t.clearBad(p)
	t.nOpen++
	t.stats.open.Add(1)
	return fd, true
}

// openNonblock opens p to read without blocking: a FIFO swapped in at a
// path between its stat and its open blocked open() (and the tailer with
// it) until a writer came (tailer12). The caller checks that it opened
// the file it stat'ed.
func openNonblock(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
}

func (t *Tailer) closeFd(f *file) {
	if f.fd == nil {
		return
	}
	f.fd.Close()
	f.fd = nil
	t.nOpen--
	t.stats.open.Add(-1)
	if t.bufFile == f {
		t.dropBuf()
	}
}

// updateRisk publishes the files left unopened for want of a descriptor,
// with their bytes (counted in BytesBehind: unread, not yet committed), and
// says so in one line, with the count, when their number grows (and at
// most once a minute): a line per file was mostly swallowed by the agent's
// log limiter, and the count never said.
func (t *Tailer) updateRisk() {
	for p, e := range t.handedRisk {
		// The last tailer's, at the end of this tailer's first scan: one
		// that no longer waits at its path and is not found by this scan
		// either went away during the reload.
		if cur, ok := t.atRisk[p]; ok && cur.id == e.id {
			continue // waits here still: looked at below
		}
		if t.files[e.id] != nil {
			continue // opened, or found under another name
		}
		if fi, err := os.Stat(p); err == nil && fileID(fi) == e.id {
			continue // at its path, outside the new paths: not tailed, not lost
		}
		t.riskGone(p, e)
	}
	t.handedRisk = nil
	list := make([]string, 0, len(t.atRisk))
	var bytes int64
	for p, e := range t.atRisk {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			delete(t.atRisk, p) // gone before it could be opened, or renamed
			t.riskGone(p, e)
			continue
		}
		list = append(list, p)
		if err != nil {
			continue
		}
		_, born, _ := pathBirth(p)
		if id := fileID(fi); !e.sameFile(id, born) {
			// Rotated: renamed (or deleted) and a new file made at its
			// path, which waits in its place (regress15 F4: the old one's
			// bytes went uncounted), on the same inode too.
			t.riskGone(p, e)
			e.id, e.born, e.head = id, born, nil
		}
		if f := t.files[e.id]; f != nil && f.st != nil {
			// A known file (one that gave its descriptor up): its stream
			// counts what it had when last seen; add what it grew since.
			e.unread = max(0, fi.Size()-f.st.size)
		} else if ce := t.pending[e.id]; ce != nil {
			// Known from the checkpoint only (after a reload or a
			// restart): read up to its offset. It was counted lost whole,
			// the lines shipped before included (tailer16 F3).
			e.unread = max(0, fi.Size()-ce.Offset)
		} else {
			e.unread = fi.Size()
			if n := int(min(fi.Size(), int64(t.fpMax))); len(e.head) < n {
				e.head = peekHead(p, e.id, n, e.head)
			}
		}
		t.atRisk[p] = e
		bytes += e.unread
	}
	t.lostUnopened()
	slices.Sort(list)
	t.ckMu.Lock()
	grew := len(list) > len(t.atRiskList)
	t.atRiskList, t.atRiskBytes = list, bytes
	t.ckMu.Unlock()
	if now := time.Now(); grew && now.Sub(t.riskLogged) >= time.Minute && t.o.RiskLog.allow(t.o.Source, now, time.Minute) {
		t.riskLogged = now
		t.log.Error("tailer: max_open_files reached; files not opened wait until an open one is finished, and are lost if deleted or rotated away meanwhile (sidetrail_source_files_at_risk)",
			"files", len(list), "first", list[0], "max_open_files", t.o.MaxOpenFiles)
	}
}

// riskOpened takes p off the files at risk as id is opened there: the file
// that waited at p, if another, went away (rotated, and a descriptor freed
// before a scan saw it).
func (t *Tailer) riskOpened(p string, id devIno) {
	if e, ok := t.atRisk[p]; ok {
		if e.id != id {
			t.riskGone(p, e)
		}
		delete(t.atRisk, p)
	}
}

// fileID is the identity of the file fi describes.
func fileID(fi fs.FileInfo) devIno {
	sys := fi.Sys().(*syscall.Stat_t)
	return devIno{uint64(sys.Dev), sys.Ino}
}

// riskEntry is a file waiting for a descriptor: its identity and how many
// of its bytes were not read when last seen (-1 until then).
type riskEntry struct {
	id     devIno
	unread int64
	born   uint64 // its birth (see birth; 0: unknown)
	// head is a file unknown to the tailer's first bytes (up to
	// fingerprint_bytes), unread its whole size: a copytruncate copy is
	// told by them from its original's orphan (lostUnopened).
	head []byte
}

// sameFile reports whether a file known by id and birth is the one e
// names: a deleted file's inode goes to the next file made, at once on
// ext4, and a file lost while it waited was taken for that one, opened or
// waiting, and neither counted nor named (tailer24 P5: 244 of 265 files).
func (e riskEntry) sameFile(id devIno, born uint64) bool {
	return e.id == id && (e.born == 0 || born == 0 || e.born == born)
}

// sameAs is sameFile, and where a birth is unknown (ext2, some network file
// systems), heads that disagree tell two files on one inode apart: a file
// deleted while it waited was taken for the next one made on its inode,
// and neither counted nor named (regress25a P2: 0 of 11 on ext2).
func (e riskEntry) sameAs(id devIno, born uint64, head []byte) bool {
	if !e.sameFile(id, born) {
		return false
	}
	if e.born != 0 && born != 0 {
		return true
	}
	n := min(len(e.head), len(head))
	return n == 0 || bytes.Equal(e.head[:n], head[:n])
}

// riskKey tells the files at risk that went away apart: by inode and birth.
// By inode alone, a deleted file's entry was replaced by that of the file
// made on its inode at once, gone from its path by the next scan (renamed
// away) before the first was decided, and its loss was neither counted nor
// named (buffer25 P1: 4 of 11 files).
type riskKey struct {
	id   devIno
	born uint64
	head uint64 // where the birth is unknown: the head's hash (see sameAs)
}

// goneRisk is a file at risk that went away from its path, and the scan
// that found it gone.
type goneRisk struct {
	riskEntry
	path string
	scan uint64
}

// riskGone notes that e, waiting for a descriptor at p, is no longer there.
func (t *Tailer) riskGone(p string, e riskEntry) {
	if t.goneRisk == nil {
		t.goneRisk = map[riskKey]goneRisk{}
	}
	k := riskKey{id: e.id, born: e.born}
	if e.born == 0 {
		k.head = fnv64(fnvBasis, e.head)
	}
	t.goneRisk[k] = goneRisk{riskEntry: e, path: p, scan: t.scanSeq}
}

// lostUnopened counts and logs the paths at risk that went away (goneRisk)
// whose file is not found under another name either: open, or waiting for
// a descriptor there. That is decided a scan later, when the glob has seen
// the names files were renamed to meanwhile: a file renamed within paths
// after the glob was counted lost, and logged so, though it shipped
// whole (tailer14 F2).
func (t *Tailer) lostUnopened() {
	for id, g := range t.goneRisk {
		if g.scan == t.scanSeq {
			continue // decided at the next scan
		}
		delete(t.goneRisk, id)
		if g.unread <= 0 {
			continue
		}
		if f := t.files[g.id]; f != nil && g.sameAs(f.id, f.born, f.head) && (f.fd != nil || f.seenScan == t.scanSeq) {
			continue // opened since, or known and found under another name
		}
		elsewhere := false
		for _, o := range t.atRisk {
			if g.sameAs(o.id, o.born, o.head) {
				elsewhere = true
				break
			}
		}
		if elsewhere {
			continue
		}
		if o := t.copyOfOrphan(g); o != nil {
			// A copytruncate copy: the original was read up to its
			// truncation, so the copy's bytes up to there were read too
			// (regress24 R2: every copy counted lost whole, 62 KB, where
			// one line was missing). What the original had not read is
			// its orphan's to count, when no other copy continues it: it
			// stays for one (regress25a P7: removed with the first of two
			// copies, the second was read again whole). Only the copy's
			// bytes beyond what the original was seen to hold are this
			// file's.
			read := max(o.offset, o.lastSize)
			if r, ok := t.resumeAt[o.st.key]; ok && r > read {
				read = r
			}
			g.unread -= min(read, g.unread)
			if g.unread == 0 {
				t.log.Info("tailer: copy of a truncated file went away while waiting for a descriptor; what its original had not read is counted with the original",
					"path", g.path, "original", o.st.path)
				continue
			}
		}
		t.stats.unopenedLost.Add(uint64(g.unread))
		t.log.Warn("tailer: file waiting for a descriptor (max_open_files) went away before it could be read: lost",
			"path", g.path, "bytes", g.unread)
	}
}

// copyOfOrphan returns the orphan (a truncated file read from its live
// original) whose copy g, a file that waited for a descriptor, is by its
// head, or nil. Checkpoint entries' orphans are left out: telling their
// copies may read past the head, and g's file is gone.
func (t *Tailer) copyOfOrphan(g goneRisk) *orphan {
	if len(g.head) == 0 {
		return nil
	}
	if o, _ := t.matchOrphan(&file{id: g.id, path: g.path, head: g.head}); o != nil && o.head != nil {
		return o
	}
	return nil
}

// peekHead returns up to n of the first bytes of the file at p, in buf,
// if it is id's, with a moment's open outside max_open_files (as
// lookWhileWaiting's); buf as it is otherwise.
func peekHead(p string, id devIno, n int, buf []byte) []byte {
	fd, err := openNonblock(p)
	if err != nil {
		return buf
	}
	defer fd.Close()
	var st syscall.Stat_t
	if syscall.Fstat(int(fd.Fd()), &st) != nil || uint64(st.Dev) != id.dev || st.Ino != id.ino {
		return buf
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	m, err := fd.ReadAt(buf[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return buf[:0]
	}
	return buf[:m]
}

func (t *Tailer) readHead(f *file, size int64) {
	n := int(min(size, int64(t.fpMax)))
	if cap(f.head) < t.fpMax {
		f.head = make([]byte, 0, t.fpMax)
	}
	b := f.head[:n]
	m, err := f.fd.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		t.stats.errors.Add(1)
	}
	f.head = b[:m]
}

func (t *Tailer) addFile(p string, fi fs.FileInfo, id devIno, fd *os.File, now time.Time) *file {
	t.seq++
	if other := t.o.Claims.claim(id, t.o.Source); other != "" {
		t.log.Warn("tailer: another source tails this file too: each ships its lines, under IDs of its own (duplicates); make the sources' paths disjoint",
			"path", p, "other_source", other)
	}
	// A file is as quiet as its modification time says: an old rotation
	// found by a start or reload is not a file that has just changed (it
	// held its descriptor for rotate_wait while live files waited).
	changed := now
	if mt := fi.ModTime(); mt.Before(now) {
		changed = mt
	}
	f := &file{seq: t.seq, id: id, path: p, origPath: p, fd: fd, sysfd: int(fd.Fd()), size: fi.Size(),
		mtime: fi.ModTime().UnixNano(), changed: changed, seenScan: t.scanSeq, origScan: t.scanSeq, firstScan: t.scanSeq,
		lastSeen: now, born: birth(fd)}
	if li, err := os.Lstat(p); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(p); err == nil {
			f.linkTarget = target
			t.newLinkDir = true
		}
	}
	t.files[id] = f
	t.order = append(t.order, f)
	return f
}

// discover handles a file whose inode we do not know.
func (t *Tailer) discover(p string, fi fs.FileInfo, id devIno, now time.Time) {
	if f := t.add(p, fi, id, now); f != nil && len(f.head) > 0 {
		t.identify(f, now, true, false)
	}
}

// add opens a file whose inode we do not know and reads its head, without
// identifying it; nil if it cannot be opened now.
func (t *Tailer) add(p string, fi fs.FileInfo, id devIno, now time.Time) *file {
	fd, ok := t.open(p, id)
	if !ok {
		return nil
	}
	f := t.addFile(p, fi, id, fd, now)
	t.readHead(f, fi.Size())
	return f
}

// identify gives f (which has head bytes) an identity: a copy of something
// we know, or a new stream. finished says f is rotated away and quiet.
func (t *Tailer) identify(f *file, now time.Time, atDiscovery, finished bool) {
	if len(f.head) < t.fpMax && f.size > int64(len(f.head)) {
		t.readHead(f, f.size)
	}
	if len(f.head) == 0 {
		return
	}
	if format := compressed(f.head); format != "" {
		// logrotate's compress, matched by app.log*: its bytes are no
		// lines. Shipped, they made hundreds of records of gzip, and the
		// unterminated tail kept bytes_behind above 0 for good.
		t.log.Warn("tailer: compressed file skipped; add it to exclude", "path", f.path, "format", format, "exclude", excludeHint(f.path))
		t.stats.unreadable.Add(1)
		t.closeFd(f)
		f.skipped = true
		return
	}
	o, orphanUndecided := t.matchOrphan(f)
	if o != nil {
		if o.startup {
			t.claimEntry(o.st.key)
		}
		atItsPath := f.path == o.st.path // before adopt gives the stream f's path
		t.adopt(f, o.st, o.offset, o.mid)
		t.orphans = slices.DeleteFunc(t.orphans, func(x *orphan) bool { return x == o })
		if atItsPath {
			// The file replaced whole at its path (see matchOrphan): the
			// live file, not a copy. As a copy, its unterminated last
			// line shipped once quiet, and its writer's end of it as
			// another record (regress19c R8).
			t.log.Info("tailer: file replaced whole at its path continues it", "path", f.path, "offset", o.offset)
			return
		}
		f.away = true // a copy: nobody writes to it (its unterminated tail ships once it is quiet)
		t.markCopy(o.st)
		t.stats.copies.Add(1)
		if d := o.lastSize - max(o.offset, f.size, t.resumeAt[o.st.key]); d > 0 {
			t.stats.lost.Add(uint64(d))
		}
		t.log.Info("tailer: copy of a truncated file continues it", "path", f.path, "offset", f.offset)
		return
	}
	a, liveUndecided := t.matchLive(f)
	if a != nil {
		f.copyOf = a
		t.log.Info("tailer: file looks like a copy; held until its original is truncated or finished",
			"path", f.path, "original", a.path)
		return
	}
	if (orphanUndecided || liveUndecided) && !finished && now.Sub(f.changed) < t.o.RotateWait {
		return // too few bytes to tell a copy from a new file yet; identified at a later scan
	}
	t.newStream(f, atDiscovery && t.firstRun && !t.scanned && t.startAt == End, finished)
}

// compressed names the compression format whose magic number b starts
// with, or "".
func compressed(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "gzip"
	case len(b) >= 4 && string(b[:4]) == "\x28\xb5\x2f\xfd":
		return "zstd"
	case len(b) >= 6 && string(b[:6]) == "\xfd7zXZ\x00":
		return "xz"
	case len(b) >= 10 && string(b[:3]) == "BZh" && b[3] >= '1' && b[3] <= '9' && string(b[4:10]) == "1AY&SY":
		return "bzip2"
	}
	return ""
}

// fpLen says how many head bytes make f's fingerprint: its first line
// (newline included), at most FingerprintBytes. Until f has a complete first
// line (or FingerprintBytes bytes) it has no identity yet (0), unless it is
// finished: then whatever it has. Cutting at the first line, rather than at
// whatever size the file had when first seen, makes the fingerprint the same
// whenever it is computed, so a crash before the first checkpoint flush
// cannot change a file's key.
func (t *Tailer) fpLen(f *file, finished bool) int {
	if i := bytes.IndexByte(f.head, '\n'); i >= 0 {
		return i + 1
	}
	if len(f.head) >= t.fpMax || finished {
		return len(f.head)
	}
	return 0
}

// newStream gives f a fresh identity from its head bytes, unless it cannot
// have one yet (see fpLen). It reports whether it did.
func (t *Tailer) newStream(f *file, atEnd, finished bool) bool {
	fpLen := t.fpLen(f, finished)
	if fpLen == 0 {
		return false
	}
	fpHash := fnv64(fnvBasis, f.head[:fpLen])
	var gen uint32
	born := f.born
	key := t.makeKey(f.id.dev, f.id.ino, fpLen, fpHash, gen, born)
	if old := t.dropped[key]; old != nil && !atEnd {
		t.ckMu.Lock()
		offset, mid := old.committed, old.mid
		n := int(min(offset, int64(len(old.head))))
		same := offset <= f.size && len(f.head) >= n && bytes.Equal(f.head[:n], old.head[:n])
		t.ckMu.Unlock()
		delete(t.dropped, key) // either way: its inode now holds this file
		if same {
			t.log.Info("tailer: a file seen before returned; continuing where it was", "path", f.path, "offset", offset)
			t.adopt(f, old, offset, mid)
			return true
		}
		// Same inode and first line, other bytes before the old offset
		// (a header or banner shared by a new file on a reused inode).
		t.log.Info("tailer: inode reused by another file with the same first line; reading it from the beginning",
			"path", f.path, "old_offset", offset)
	}
	copied := false
	if _, ok := t.resumeAt[key]; !ok && len(t.resumeAt) > 0 && !atEnd {
		if k, g, orig, ok := t.copiedStream(f, fpLen, fpHash); ok {
			t.log.Info("tailer: copy of a truncated file continues the lines buffered from it", "path", f.path, "original", orig)
			key, gen, copied = k, g, true
			t.stats.copies.Add(1)
		}
	}
	id := genID{f.id.dev, f.id.ino, born, fpLen, fpHash}
	if !copied {
		// Past the gens the file's earlier streams took (see gens).
		if from := t.genFrom(id); from > gen {
			gen = from
			key = t.makeKey(f.id.dev, f.id.ino, fpLen, fpHash, gen, born)
		}
	}
	for {
		if _, used := t.usedKeys[key]; !used && (copied || !t.otherGeneration(f, key)) {
			break
		}
		gen++
		key = t.makeKey(f.id.dev, f.id.ino, fpLen, fpHash, gen, born)
	}
	t.usedKeys[key] = struct{}{}
	st := &stream{key: key, fpLen: fpLen, fpHash: fpHash, gen: gen, dev: f.id.dev, ino: f.id.ino, path: f.path,
		head: slices.Clone(f.head), copy: copied, born: f.born}
	if copied {
		f.away = true // nobody writes to a copy
	}
	f.offset, f.mid = 0, false
	if atEnd {
		f.offset, f.mid = t.lastBoundary(f)
	}
	if r, ok := t.resumePoint(f, key, f.offset); ok {
		f.offset, f.mid = r, t.midLine(f, r)
		if was := t.o.ResumePaths[key]; was != "" && was != f.path && !f.away {
			// Read under another name before a crash that came before
			// its first checkpoint: renamed away meanwhile (regress12
			// F2: its unterminated last line was never shipped).
			f.away, f.awayFrom = true, was
			t.stats.rotations.Add(1)
		}
	}
	st.committed, st.mid, st.size = f.offset, f.mid, f.size
	f.st = st
	f.eof = false
	t.ckMu.Lock()
	st.away, st.awayFrom = f.away, f.awayFrom
	t.streams[st] = struct{}{}
	if !copied && gen > 0 {
		// A file's first stream needs no entry: its key is in the
		// checkpoint, or a copy's, until a stream after it takes gen
		// 1 or more, which is kept (regress22: 3,000 files made the
		// checkpoint 1.14 MB instead of 0.81).
		t.setGen(id, gen)
	}
	t.ckGen++
	t.ckMu.Unlock()
	return true
}

// copiedStream finds the stream f continues when it is a copytruncate copy
// of a file the checkpoint never held: a crash came between the file's
// first lines reaching the buffer and its first checkpoint, and the copy
// was made before or after it. The buffer's records after the source
// cursor (Options.Resume) carry the original's key, made from the inode
// the truncated original still has and the first line the copy keeps: so
// f's first line on another file's inode whose key the buffer holds. A
// file that still starts with that line holds its own stream (a rename,
// not a copy) and is passed over, as is a key already taken.
//
// The original may hold no descriptor: given up, or never had one since
// the crash (max_open_files). Its inode and first line are then looked at
// through its path. Only files holding a descriptor were looked at before,
// and such a copy was read again from its start under a new key
// (delivery20 F3).
func (t *Tailer) copiedStream(f *file, fpLen int, fpHash uint64) (key uint64, gen uint32, orig string, ok bool) {
	line := f.head[:fpLen]
	held := func(id devIno, born uint64) (uint64, uint32, bool) {
		// The gens a stream of the original took: the first few, or
		// the first few from where the checkpoint says its next one
		// starts (see gens).
		floor := t.genFrom(genID{id.dev, id.ino, born, fpLen, fpHash})
		for i := uint32(0); i < 8; i++ {
			gen := i
			if i >= 4 {
				if floor < 4 {
					break
				}
				gen = floor + i - 4
			}
			k := t.makeKey(id.dev, id.ino, fpLen, fpHash, gen, born)
			if _, used := t.usedKeys[k]; used {
				continue
			}
			if r, held := t.resumeAt[k]; held {
				// A copy has a line end where the buffered lines of
				// its original end; another file with the same first
				// line (a CSV header) rarely does, and was continued
				// there, its lines up to it skipped (regress21 F4).
				// Where the last buffered line was a fragment of a
				// longer one, the copy's fragments end there; asked
				// of any file, that test took a file with a long line
				// across the offset for the copy (regress21c H1).
				// And a copy holds the last buffered line there
				// (ResumeSame), which another file ending a line
				// there (fixed-width CSV rows) does not.
				return k, gen, (lineEndsAt(f, r) || t.o.ResumeFragments[k] && t.fragmentEndsAt(f, r)) && t.holdsBufferedLine(f, k, r)
			}
		}
		return 0, 0, false
	}
	for _, g := range t.order {
		if g == f || g.id.dev != f.id.dev {
			continue
		}
		if g.fd != nil && len(g.head) >= fpLen && bytes.Equal(g.head[:fpLen], line) {
			continue
		}
		k, gen, ok := held(g.id, g.born)
		if !ok {
			continue
		}
		if g.fd == nil && !truncatedFrom(g.path, g.id, g.born, line) {
			continue // its head may have changed since it was read
		}
		return k, gen, g.path, true
	}
	for p, e := range t.atRisk {
		if e.id == f.id || e.id.dev != f.id.dev || t.files[e.id] != nil {
			continue
		}
		id, born, found := pathBirth(p)
		if !found || id != e.id {
			continue
		}
		if k, gen, ok := held(id, born); ok && truncatedFrom(p, id, born, line) {
			return k, gen, p, true
		}
	}
	return 0, 0, "", false
}

// lineEndsAt reports whether f, open, holds a line end just before off.
func lineEndsAt(f *file, off int64) bool {
	if off <= 0 {
		return false
	}
	var b [1]byte
	n, _ := f.fd.ReadAt(b[:], off-1)
	return n == 1 && b[0] == '\n'
}

// fragmentEndsAt reports whether f, open, holds a line longer than
// MaxLineBytes whose fragments, cut as the reader cuts them (FragmentCut),
// end at off: where a buffer that ended inside such a line of its original
// ends. Read again from its start, such a copy shipped every line twice
// (regress21b G5: 2,001 duplicates). A line that starts more than 8 times
// MaxLineBytes, or 16 MiB, before off is not looked at (the memory it
// takes is bounded so): the copy is read again.
func (t *Tailer) fragmentEndsAt(f *file, off int64) bool {
	maxLen := t.o.MaxLineBytes
	lo := max(0, off-min(8*int64(maxLen), maxFragmentLookBack))
	end := min(off+4, f.size) // FragmentCut looks at the bytes after a cut
	if off-lo <= int64(maxLen) || end <= off {
		return false
	}
	data := make([]byte, end-lo)
	if n, _ := f.fd.ReadAt(data, lo); n != len(data) {
		return false
	}
	start := 0 // the line's, in data
	if i := bytes.LastIndexByte(data[:off-lo], '\n'); i >= 0 {
		start = i + 1
	} else if lo > 0 {
		return false
	}
	pos, want := start, int(off-lo)
	if want-start < maxLen || want < len(data) && (data[want] == '\n' || data[want] == '\r' && want+1 < len(data) && data[want+1] == '\n') {
		return false // no fragment ends there: the line is shorter, or ends there whole
	}
	for pos < want {
		cut := FragmentCut(data[pos:], maxLen)
		if cut <= 0 {
			return false
		}
		pos += cut
	}
	return pos == want
}

// maxFragmentLookBack bounds how far before a resume offset fragmentEndsAt
// reads for the start of the line.
const maxFragmentLookBack = 16 << 20

// truncatedFrom reports whether the file at p is still file id, born at
// born, and no longer starts with line: the original of a copy that does.
// A moment's descriptor, outside max_open_files.
func truncatedFrom(p string, id devIno, born uint64, line []byte) bool {
	fd, err := openNonblock(p)
	if err != nil {
		return false
	}
	defer fd.Close()
	var st syscall.Stat_t
	if syscall.Fstat(int(fd.Fd()), &st) != nil || uint64(st.Dev) != id.dev || st.Ino != id.ino || birth(fd) != born {
		return false
	}
	head := make([]byte, len(line))
	n, _ := fd.ReadAt(head, 0)
	return !bytes.Equal(head[:n], line)
}

// lastBoundary finds where to start a file at its end: just after its last
// newline, looking back at most MaxLineBytes.
func (t *Tailer) lastBoundary(f *file) (int64, bool) {
	size := f.size
	lo := max(0, size-int64(t.o.MaxLineBytes))
	buf := make([]byte, 64<<10)
	for end := size; end > lo; {
		start := max(lo, end-int64(len(buf)))
		b := buf[:end-start]
		n, err := f.fd.ReadAt(b, start)
		if n < len(b) || (err != nil && !errors.Is(err, io.EOF)) {
			return size, false
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, false
		}
		end = start
	}
	if lo == 0 {
		return 0, false
	}
	return size, true
}

// adopt makes f continue stream st from offset (a copy, or a resumed file).
func (t *Tailer) adopt(f *file, st *stream, offset int64, mid bool) {
	if r, ok := t.resumePoint(f, st.key, offset); ok {
		offset, mid = r, t.midLine(f, r)
		t.ckMu.Lock()
		st.committed, st.mid = r, mid
		t.ckMu.Unlock()
	}
	f.st, f.offset, f.mid, f.copyOf, f.eof = st, offset, mid, nil, false
	t.usedKeys[st.key] = struct{}{}
	t.ckMu.Lock()
	st.orphan, st.away, st.awayFrom = false, f.away, f.awayFrom
	st.dev, st.ino, st.path, st.size, st.born = f.id.dev, f.id.ino, f.path, f.size, f.born
	st.head = slices.Clone(f.head) // a copy's head from now on: a prefix of the original's
	t.streams[st] = struct{}{}
	t.ckGen++
	t.ckMu.Unlock()
}

// pruneResume forgets the resume points no file can take up any more: once
// every file present has a descriptor (none waits for one) and the
// checkpoint's entries have had their grace, a key that no stream, pending
// entry, orphan or forgotten file holds belonged to a file that is gone.
// Kept, they filled the checkpoint's resume list for good, and crowded out
// the points of files that needed theirs (tailer10).
func (t *Tailer) pruneResume(now time.Time) {
	if len(t.resumeAt) == 0 || len(t.atRisk) > 0 || now.Sub(t.scannedAt) < t.entryGrace() ||
		now.Sub(t.resumePruned) < t.entryGrace() {
		return
	}
	t.resumePruned = now
	held := make(map[uint64]bool, len(t.pending)+len(t.orphans)+len(t.dropped))
	for _, e := range t.pending {
		held[e.Key] = true
	}
	for _, o := range t.orphans {
		held[o.st.key] = true
	}
	for k := range t.dropped {
		held[k] = true
	}
	t.ckMu.Lock()
	defer t.ckMu.Unlock()
	for st := range t.streams {
		held[st.key] = true
	}
	for k := range t.resumeAt {
		if !held[k] {
			delete(t.resumeAt, k)
			t.ckGen++
		}
	}
}

// resumePoint returns Options.Resume's offset for key when it lies beyond
// offset and within the file: lines up to it are already buffered.
func (t *Tailer) resumePoint(f *file, key uint64, offset int64) (int64, bool) {
	r, ok := t.resumeAt[key]
	if !ok || r <= offset || r > f.size {
		return 0, false
	}
	if !t.holdsBufferedLine(f, key, r) {
		t.log.Warn("tailer: the file does not hold the last line buffered from it where it was read (rewritten since, beginning alike); not resuming there",
			"path", f.path, "checkpoint", offset, "resume", r)
		return 0, false
	}
	t.log.Info("tailer: resuming past lines already buffered before a crash", "path", f.path, "checkpoint", offset, "resume", r)
	return r, true
}

// otherGeneration reports whether the lines buffered under key before a
// crash (Options.Resume) were read from another generation of f's file:
// f is shorter than where they end, or does not hold the last of them
// where it was read. f must then take another key: with this one, its
// lines would repeat the buffered lines' record IDs (which Elasticsearch
// answers with 409), and it would resume where they end.
func (t *Tailer) otherGeneration(f *file, key uint64) bool {
	r, ok := t.resumeAt[key]
	if !ok {
		return false
	}
	other := r > f.size && t.o.ResumeSame != nil && t.verifiable(key, r) || r <= f.size && !t.holdsBufferedLine(f, key, r)
	if other {
		t.log.Warn("tailer: the file does not hold the last line buffered from it before a crash where it was read (rewritten since, beginning alike); reading it from the beginning as a new generation",
			"path", f.path, "buffered_to", r, "size", f.size)
	}
	return other
}

// verifiable reports whether key's resume point r came from the buffer
// with the start of its last line, so that the line can be compared.
func (t *Tailer) verifiable(key uint64, r int64) bool {
	start, ok := t.o.ResumeStarts[key]
	return ok && t.o.Resume[key] == r && start < r && r-start <= int64(t.o.MaxLineBytes)+2
}

// holdsBufferedLine reports whether f holds, just before r, the last line
// buffered under key (Options.ResumeSame), or whether that cannot be told
// (no check configured, a resume point from the checkpoint, an unreadable
// file): then it is taken to.
func (t *Tailer) holdsBufferedLine(f *file, key uint64, r int64) bool {
	if t.o.ResumeSame == nil || f.fd == nil || !t.verifiable(key, r) {
		return true
	}
	start := t.o.ResumeStarts[key]
	raw := make([]byte, r-start)
	if n, err := f.fd.ReadAt(raw, start); n < len(raw) {
		t.log.Debug("tailer: cannot read the last buffered line back", "path", f.path, "err", err)
		return true
	}
	return t.o.ResumeSame(key, raw)
}

// midLine reports whether off falls inside a line (the byte before it is
// not a newline): the next piece read from there is a fragment.
func (t *Tailer) midLine(f *file, off int64) bool {
	if off == 0 || f.fd == nil {
		return false
	}
	var b [1]byte
	if n, _ := f.fd.ReadAt(b[:], off-1); n == 1 {
		return b[0] != '\n'
	}
	return false
}

func (t *Tailer) removeStream(st *stream) {
	if st == nil {
		return
	}
	t.ckMu.Lock()
	if _, ok := t.streams[st]; ok {
		delete(t.streams, st)
		t.ckGen++
	}
	t.ckMu.Unlock()
}

// isSymlink reports whether p is a symbolic link.
func isSymlink(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// excludeHint is an exclude pattern that leaves out the compressed file at
// p: its suffix's ("*.xz"), or its name where it has none a log's name
// would not have (the hint said '*.gz' for every format: tailer19 C1).
func excludeHint(p string) string {
	base := filepath.Base(p)
	if ext := filepath.Ext(base); ext != "" && strings.Trim(ext[1:], "0123456789") != "" && ext != ".log" {
		return "*" + ext
	}
	return base
}

// resume matches a fresh inode against its checkpoint entry.
func (t *Tailer) resume(p string, fi fs.FileInfo, id devIno, e *checkpointEntry, now time.Time) bool {
	var fd *os.File
	handedOver := false // by the last tailer, and found by no path
	if h, ok := t.inherited[id]; ok && !h.atPath {
		delete(t.inherited, id)
		fd, handedOver = h.fd, true
		t.nOpen++
		t.stats.open.Add(1)
	} else if fd, ok = t.open(p, id); !ok {
		return true // retried next scan; the entry stays pending meanwhile
	}
	f := t.addFile(p, fi, id, fd, now)
	if handedOver {
		// Not found at p in this scan, though p is its last path: not
		// "renamed away and back" (which made it live, to be found
		// rotated away, and counted, at the next scan).
		f.seenScan, f.origScan = t.scanSeq-1, t.scanSeq-1
	}
	t.readHead(f, fi.Size())
	other := len(f.head) < e.FpLen || fnv64(fnvBasis, f.head[:e.FpLen]) != e.FpHash || e.FpLen == 0
	if other && e.FpLen > 0 {
		// Emptied or rewritten while we were down: a truncation when it
		// was born when the checkpoint's file was. Neither logged nor
		// counted, the lines it lost left no trace (tailer19 F4).
		if e.Born != 0 && e.Born == f.born {
			t.stats.truncations.Add(1)
			t.log.Info("tailer: truncation detected", "path", p, "why", "its first bytes are not its checkpoint's",
				"offset", e.Offset, "size", fi.Size())
		} else {
			t.log.Info("tailer: checkpointed inode holds other bytes (truncated, or another file); reading it from the beginning",
				"path", p, "checkpoint_offset", e.Offset)
		}
	}
	if !other && !e.Copy && (fi.Size() < e.Offset || fi.Size() < int64(e.HeadLen)) {
		// Smaller than it was: truncated while we were down. What it
		// holds now is another file's content. The entry waits for a
		// copy made meanwhile, which must hold the head it hashed: with
		// only the first line to go by, a new file sharing a banner was
		// taken for the copy and read from the old offset (tailer10).
		other = true
		t.stats.truncations.Add(1)
		t.log.Info("tailer: truncation detected", "path", p, "why", "smaller than its checkpoint's offset or head",
			"offset", e.Offset, "head_len", e.HeadLen, "size", fi.Size())
	} else if !other && e.Born != 0 && f.born != 0 && e.Born != f.born {
		// Born since: deleted and made again on the freed inode while we
		// were down. A file that held only what its successor starts with
		// (a CSV header) could not be told by its bytes: the new file's
		// first bytes were skipped (tailer19 F1).
		other = true
		t.log.Info("tailer: checkpointed inode holds a file created since; reading it from the beginning",
			"path", p, "checkpoint_offset", e.Offset)
	} else if !other && !t.headMatches(f, e.HeadLen, e.HeadHash, e.Copy) {
		// The first line agrees (a header, a banner), the bytes up to the
		// offset do not: another file on the reused inode.
		other = true
		t.log.Info("tailer: checkpointed inode holds another file with the same first line; reading it from the beginning",
			"path", p, "checkpoint_offset", e.Offset)
	}
	if other {
		// Same inode, other bytes: inode reuse or a truncation while we
		// were down. Undo; it is discovered as a new file, and the entry
		// may still match a copy.
		t.closeFd(f)
		delete(t.files, id)
		t.order = t.order[:len(t.order)-1]
		t.entryOrphan(id, e, now)
		return false
	}
	t.claimEntry(e.Key)
	f.resumed = true
	st := &stream{key: e.Key, fpLen: e.FpLen, fpHash: e.FpHash, gen: e.Gen, committed: e.Offset, mid: e.MidLine, copy: e.Copy}
	t.adopt(f, st, e.Offset, e.MidLine)
	// Renamed away and back (not a file handed over by a reload, which no
	// path leads to, though it keeps its last one).
	back := !handedOver && e.Away && e.AwayFrom != "" && e.AwayFrom == p && fi.Sys().(*syscall.Stat_t).Nlink > 0
	if handedOver || e.Copy || e.Away && !back || e.Path != "" && e.Path != p {
		// A copy, rotated away before the stop, or renamed while we were
		// stopped or reloading: rotated away, as a rename seen while
		// running makes it (its unterminated last line ships once it is
		// quiet for rotate_wait, not when it is deleted). Counted as a
		// rotation once: a file the last tailer saw rotated away was
		// counted again at every reload (ops15).
		from := e.AwayFrom
		if !e.Away {
			from = e.Path
		}
		t.markAway(f, from)
		if !e.Copy && !e.Away {
			t.stats.rotations.Add(1)
		}
	}
	return true
}

// markAway records that f was rotated away from the path from, in its
// stream too, so that a checkpoint keeps it.
func (t *Tailer) markAway(f *file, from string) {
	f.away, f.awayFrom = true, from
	if f.st == nil {
		return
	}
	t.ckMu.Lock()
	if !f.st.away || f.st.awayFrom != from {
		f.st.away, f.st.awayFrom = true, from
		t.ckGen++
	}
	t.ckMu.Unlock()
}

// unmarkAway makes f live again: it is back where it went away from.
func (t *Tailer) unmarkAway(f *file) {
	f.away, f.awayFrom, f.origPath, f.origScan = false, "", f.path, t.scanSeq
	if f.st == nil {
		return
	}
	t.ckMu.Lock()
	f.st.away, f.st.awayFrom = false, ""
	t.ckGen++
	t.ckMu.Unlock()
}

// headMatches reports whether f's first n bytes hash to h, as a checkpoint
// entry's head_len and head_hash say they must for f to be that entry's
// file (n == 0: an old checkpoint, not checked). A file shorter than n
// cannot be told apart: it matches unless isCopy, so that a truncation
// while we were down is handled as one (a copy never holds fewer bytes than
// we had seen in it).
func (t *Tailer) headMatches(f *file, n int, h uint64, isCopy bool) bool {
	if n <= 0 {
		return true
	}
	if n <= len(f.head) {
		return fnv64(fnvBasis, f.head[:n]) == h
	}
	b := make([]byte, n) // FingerprintBytes was larger when the entry was written
	m, err := f.fd.ReadAt(b, 0)
	if m < n {
		if err != nil && !errors.Is(err, io.EOF) {
			return true // a read error proves nothing: the first line decides
		}
		return !isCopy
	}
	return fnv64(fnvBasis, b) == h
}

// entryOrphan turns a checkpoint entry whose file is gone (or holds other
// bytes) into an orphan, so that a copy made while we were down continues
// it. Orphans made during the first scan are pruned at its end.
// entryGrace is how long a checkpoint entry whose file was not found at
// start stays pending: long enough for a rename in flight to land.
func (t *Tailer) entryGrace() time.Duration {
	return max(t.o.RotateWait, 20*t.o.ScanInterval, 5*time.Second)
}

// startupOrphan lets a copy made while we were down continue entry e, for
// the grace period; the entry itself stays pending.
//
// Its lastSize is not known (0): the entry's file may still turn up (a
// rename landing late), and its unread bytes are not counted lost.
func (t *Tailer) startupOrphan(e *checkpointEntry, now time.Time) {
	st := entryStream(e)
	t.orphans = append(t.orphans, &orphan{st: st, offset: e.Offset, mid: e.MidLine, startup: true,
		until: now.Add(t.entryGrace())})
}

// entryStream is the stream checkpoint entry e stands for while no file
// holds it (an orphan's).
func entryStream(e *checkpointEntry) *stream {
	return &stream{key: e.Key, fpLen: e.FpLen, fpHash: e.FpHash, gen: e.Gen, headLen: e.HeadLen, headHash: e.HeadHash,
		dev: e.Dev, ino: e.Ino, path: e.Path, committed: e.Offset, mid: e.MidLine, copy: e.Copy, born: e.Born}
}

// loadedOrphan makes a checkpoint entry that waited for a copy (Orphan)
// an orphan again, for the grace period (and while files wait for
// descriptors), kept in the checkpoint while it waits.
func (t *Tailer) loadedOrphan(e *checkpointEntry, now time.Time) {
	st := entryStream(e)
	t.orphans = append(t.orphans, &orphan{st: st, offset: e.Offset, mid: e.MidLine, startup: true,
		lastSize: e.Size, until: now.Add(t.entryGrace())})
	t.keepOrphanEntry(st)
}

// keepOrphanEntry writes st, an orphan's stream, to the checkpoint while
// it waits, marked as an orphan: held only in memory, it was gone after a
// second reload, and its copy was read again whole (regress10).
func (t *Tailer) keepOrphanEntry(st *stream) {
	t.ckMu.Lock()
	st.orphan = true
	t.streams[st] = struct{}{}
	t.ckGen++
	t.ckMu.Unlock()
}

// claimEntry removes every other claim on checkpoint entry key once one
// path (the inode, or a copy) has taken it: the pending entry and the
// startup orphan.
func (t *Tailer) claimEntry(key uint64) {
	t.orphans = slices.DeleteFunc(t.orphans, func(o *orphan) bool {
		if o.startup && o.st.key == key {
			t.removeStream(o.st) // the one taking the key writes its own
			return true
		}
		return false
	})
	t.ckMu.Lock()
	for id, e := range t.pending {
		if e.Key == key {
			delete(t.pending, id)
			delete(t.goneSince, id)
			t.ckGen++
		}
	}
	t.ckMu.Unlock()
}

func (t *Tailer) entryOrphan(id devIno, e *checkpointEntry, now time.Time) {
	t.claimEntry(e.Key)
	t.ckMu.Lock()
	delete(t.pending, id)
	t.ckMu.Unlock()
	st := entryStream(e)
	t.orphans = append(t.orphans, &orphan{st: st, offset: e.Offset, mid: e.MidLine, startup: !t.scanned,
		lastSize: e.Size, until: now.Add(t.o.RotateWait)})
	t.keepOrphanEntry(st)
}

func (t *Tailer) matchOrphan(f *file) (match *orphan, undecided bool) {
	for _, o := range t.orphans {
		if f.id.dev == o.st.dev && f.id.ino == o.st.ino {
			// The orphan's own inode holds another file now (truncated,
			// or made again there: its creation time said so): never its
			// copy. Taken for one, a file made again with a long shared
			// head continued at the old offset (regress19c R1).
			continue
		}
		if o.st.path != "" && f.path == o.st.path && max(o.offset, t.resumeAt[o.st.key]) <= int64(orphanHeadLen(o)) {
			// A file made anew at the original's path that holds the
			// whole of what was read of it (a CSV header the original
			// held alone) cannot be told from it by its bytes: it was
			// taken for its copy, and the bytes up to the old offset were
			// skipped (tailer19 F1). A copytruncate copy is made while
			// the original is still there, so it is never at its path:
			// such a file is read from its start (what it repeats is at
			// most its head). One that holds more than its head, the
			// file replaced whole by a new inode (rsync, sed -i), is the
			// old file continued (regress19 F-D), also where what was
			// read of it is known by the resume point a crash left
			// (regress19c R7: read again whole).
			continue
		}
		if o.head != nil {
			switch headAgrees(o.head, f.head) {
			case agreeWhole:
				return o, false
			case agreePrefix:
				undecided = true
			}
			continue
		}
		// A checkpoint entry: a copy made while we were down holds at
		// least the bytes up to its offset, so its head hash too, where
		// the entry has one (a file with the same first line only is
		// another file).
		if o.st.fpLen > 0 && len(f.head) >= o.st.fpLen && fnv64(fnvBasis, f.head[:o.st.fpLen]) == o.st.fpHash &&
			t.headMatches(f, o.st.headLen, o.st.headHash, true) {
			return o, false
		}
	}
	return nil, undecided
}

// orphanHeadLen is how many of the orphan's first bytes are known: its
// head, or the entry's hashed head (its first line's, in a checkpoint
// written before the head hash).
func orphanHeadLen(o *orphan) int {
	switch {
	case o.head != nil:
		return len(o.head)
	case o.st.headLen > 0:
		return o.st.headLen
	}
	return o.st.fpLen
}

// How a file's head agrees with an original's (headAgrees).
const (
	agreeNot    = iota
	agreePrefix // what the file has so far agrees, but it has fewer bytes
	agreeWhole  // the file holds the original's head whole
)

// headAgrees tells whether head (a file's first bytes so far) is a copy of
// orig's: a copy holds the original's head whole. A file that holds only a
// part of it (a shared banner, a first line; a copy still being written)
// cannot be told yet, however few bytes it has (a copy written in 32-byte
// pieces was read as a new file, tailer10). A new file that starts with the
// same banner as a truncated one was taken for its copy and read from the
// old offset (regress9 probe: 108 lines skipped).
func headAgrees(orig, head []byte) int {
	n := min(len(orig), len(head))
	switch {
	case n == 0 || !bytes.Equal(orig[:n], head[:n]):
		return agreeNot
	case n < len(orig):
		return agreePrefix
	}
	return agreeWhole
}

// mayBeOriginal reports whether a copytruncate copy may be held for a: a
// file being read (open, or parked waiting for a descriptor), with an
// identity, no copy itself, and a head long enough to tell a copy by.
func mayBeOriginal(a *file) bool {
	return (a.fd != nil || a.parked) && a.st != nil && a.copyOf == nil && len(a.head) >= minCopyMatch
}

// matchLive finds a file being read whose head f's head agrees with: of
// several, the one with the longest head (a file that holds only a banner
// has it whole as its head, and a copy of a longer file sharing the banner
// was held as its copy: the real original's unread bytes were counted lost
// at its truncation, tailer10). Only files known before this scan (or
// resumed from the checkpoint) count: files that appear together are
// distinct files.
func (t *Tailer) matchLive(f *file) (match *file, undecided bool) {
	for _, a := range t.order {
		if a == f || !mayBeOriginal(a) || (a.firstScan == t.scanSeq && !a.resumed) {
			continue
		}
		switch headAgrees(a.head, f.head) {
		case agreeWhole:
			if match == nil || len(a.head) > len(match.head) {
				match = a
			}
		case agreePrefix:
			undecided = true
		}
	}
	if match != nil && undecided {
		// A longer original may still agree once f has more bytes.
		return nil, true
	}
	return match, undecided
}

// checkCopy re-examines a paused copy: it diverged (a new file after all),
// or its original finished without a truncation.
func (t *Tailer) checkCopy(c *file, now time.Time) {
	a := c.copyOf
	if len(c.head) < t.fpMax && c.size > int64(len(c.head)) {
		t.readHead(c, c.size)
	}
	n := min(len(a.head), len(c.head))
	if !bytes.Equal(a.head[:n], c.head[:n]) {
		c.copyOf = nil
		t.log.Info("tailer: presumed copy diverged from its original; reading it as a new file", "path", c.path)
		t.newStream(c, false, false)
		return
	}
	if t.files[a.id] != a || (a.fd == nil && !a.parked) {
		// The original finished without being truncated: not a
		// copytruncate copy after all. Read it as a file of its own
		// (duplicates if it really was a copy; never a skipped line).
		c.copyOf = nil
		t.newStream(c, false, false)
		return
	}
	// A copy holds no more than its original had, and copytruncate
	// truncates right after copying. A "copy" that outgrew its original,
	// or that stays complete for rotate_wait with its original whole, is a
	// new file sharing the original's head (a banner): held, it was never
	// read, and lost once rotated away (regress10).
	size, whole := t.originalSize(a)
	if !whole {
		return // its truncation is for its own scan (or reopening) to handle
	}
	grew := c.size > size
	if grew {
		if b := t.largerOriginal(c); b != nil {
			// Files sharing a long head: the copy's original is another
			// one, large enough (regress10b: a copy held under the
			// other file was read again whole, 20,090 lines).
			c.copyOf = b
			return
		}
	}
	if grew || now.Sub(c.changed) >= t.o.RotateWait {
		c.copyOf = nil
		t.log.Info("tailer: presumed copy's original was not truncated; reading it as a new file",
			"path", c.path, "original", a.path, "outgrew_original", grew)
		t.newStream(c, false, false)
	}
}

// originalSize returns a presumed copy's original's size now, and whether
// it is whole (not truncated since we saw it). An open file is asked by
// fstat; one that gave its descriptor up by a stat of its path, and only
// while it is unchanged since (a change, perhaps a truncation, is seen
// when it gets a descriptor again). A parked banner file held a new file
// sharing its banner as its copy for good (regress10b).
func (t *Tailer) originalSize(a *file) (int64, bool) {
	var st syscall.Stat_t
	if a.fd != nil {
		if syscall.Fstat(a.sysfd, &st) != nil || st.Size < a.offset {
			return 0, false
		}
		return st.Size, true
	}
	if syscall.Stat(a.path, &st) != nil || uint64(st.Dev) != a.id.dev || st.Ino != a.id.ino ||
		st.Size != a.size || st.Mtim.Nano() != a.mtime {
		return 0, false
	}
	return st.Size, true
}

// largerOriginal finds a file other than c's presumed original whose head
// c holds whole and that is whole and at least as large as c: of files
// sharing a long head, the one c may be a copy of.
func (t *Tailer) largerOriginal(c *file) *file {
	for _, b := range t.order {
		if b == c || b == c.copyOf || !mayBeOriginal(b) || headAgrees(b.head, c.head) != agreeWhole {
			continue
		}
		if size, whole := t.originalSize(b); whole && size >= c.size {
			return b
		}
	}
	return nil
}

// truncated handles f's content starting over: its stream goes to a copy if
// one is known (or waits for one as an orphan), and f starts a new identity
// at offset 0. f.size must still be the size last seen before the
// truncation: the bytes between f.offset and it are the ones lost unless a
// copy holds them.
func (t *Tailer) truncated(f *file, now time.Time, why string) {
	t.stats.truncations.Add(1)
	if t.bufFile == f {
		t.dropBuf()
	}
	old := f.st
	wasCopy := old != nil && old.copy
	t.log.Info("tailer: truncation detected", "path", f.path, "why", why, "offset", f.offset, "last_size", f.size)
	if old != nil {
		copyFile := t.heldCopy(f)
		if copyFile == nil && len(f.head) >= minCopyMatch {
			// A copy held as another file's that holds f's head whole:
			// files sharing a long head (a banner, a header) cannot be
			// told apart when the copy appears, and f's head may not
			// even be read whole yet (sidetrail behind). The file that
			// is truncated is the original (regress10: 8,000 of 8,010
			// lines lost to a copy held under the other file).
			for _, c := range t.order {
				if c.copyOf != nil && c.copyOf != f && headAgrees(f.head, c.head) == agreeWhole {
					copyFile = c
					break
				}
			}
		}
		if copyFile != nil {
			t.adopt(copyFile, old, f.offset, f.mid)
			copyFile.away = true // nobody writes to a copy
			t.markCopy(old)
			t.stats.copies.Add(1)
			// The copy's size now: a scan may have seen it half
			// written, and it was whole before the truncation came.
			csize := copyFile.size
			var cst syscall.Stat_t
			if copyFile.fd != nil && syscall.Fstat(copyFile.sysfd, &cst) == nil {
				csize = max(csize, cst.Size)
			}
			if d := f.size - max(f.offset, csize); d > 0 {
				t.stats.lost.Add(uint64(d))
				t.log.Warn("tailer: copytruncate lost bytes written between copy and truncation",
					"path", f.path, "bytes", d)
			}
		} else {
			t.orphans = append(t.orphans, &orphan{st: old, head: slices.Clone(f.head), offset: f.offset,
				mid: f.mid, lastSize: f.size, until: now.Add(t.o.RotateWait)})
			t.keepOrphanEntry(old)
		}
	}
	for _, c := range t.order {
		if c.copyOf == f {
			c.copyOf = nil
			t.newStream(c, false, false)
		}
	}
	f.st, f.offset, f.mid, f.eof, f.final = nil, 0, false, false, false
	f.head = f.head[:0]
	var st syscall.Stat_t
	if err := syscall.Fstat(f.sysfd, &st); err == nil {
		f.size, f.mtime = st.Size, st.Mtim.Nano()
	}
	if f.size > 0 {
		t.readHead(f, f.size)
		if len(f.head) > 0 && wasCopy {
			// A copy refilled in place may be the copy of a file
			// truncated with it: cp onto the last copy opens it with
			// O_TRUNC (`cp app.log app.log.1 && : > app.log`).
			// Identified as a new file is; made a new stream, every
			// generation after the first shipped twice (tailer22 P4).
			// Not a live file: its writer's new generation, taken for
			// the copy of another live file sharing its banner, was
			// skipped whole (regress22 R7).
			t.identify(f, now, false, false)
		} else if len(f.head) > 0 {
			t.newStream(f, false, false)
		}
	}
}

// reopen: a known, closed file changed. Same head: continue it; otherwise
// the inode was reused.
func (t *Tailer) reopen(p string, f *file, fi fs.FileInfo, now time.Time) {
	fd, ok := t.open(p, f.id)
	if !ok {
		if f.parked && t.nOpen >= t.o.MaxOpenFiles && t.heldCopy(f) != nil {
			t.lookWhileWaiting(p, f, now)
		}
		return
	}
	old := f.head
	f.fd, f.sysfd = fd, int(fd.Fd())
	f.head = nil
	f.parked, f.wantFd = false, false
	t.readHead(f, fi.Size())
	if t.sameFile(f, old, fi.Size()) {
		f.head = append(f.head[:0], old...)
		f.size, f.mtime, f.eof, f.final, f.changed = fi.Size(), fi.ModTime().UnixNano(), false, false, now
		return
	}
	if f.st != nil && f.born != 0 && birth(fd) == f.born {
		// The same file (born when it was), truncated while closed
		// (copytruncate of a file that gave its descriptor up): a
		// truncation, as if seen open. Its stream goes to the copy, or
		// waits for one; taken for inode reuse, the copy was read again
		// from its start.
		f.head = old
		f.eof, f.final, f.changed = false, false, now
		t.truncated(f, now, "while closed")
		return
	}
	// Inode reuse: forget the old file and discover this one. Its stream
	// is not remembered among the dropped: this inode, which its key
	// names, holds another file now.
	t.closeFd(f)
	t.drop(f)
	if f.st != nil {
		delete(t.dropped, f.st.key)
	}
	t.order = slices.DeleteFunc(t.order, func(x *file) bool { return x == f })
	t.discover(p, fi, f.id, now)
}

// sameFile reports whether f, given a descriptor again with its head read
// anew, continues what it held when closed (old, its head then): the same
// bytes first, and no shorter than it was read (a copy's stream excepted).
func (t *Tailer) sameFile(f *file, old []byte, size int64) bool {
	n := len(old)
	return len(f.head) >= n && bytes.Equal(f.head[:n], old) && (size >= f.offset || (f.st != nil && f.st.copy))
}

// heldCopy returns the file held as f's copytruncate copy, if any.
func (t *Tailer) heldCopy(f *file) *file {
	for _, c := range t.order {
		if c.copyOf == f {
			return c
		}
	}
	return nil
}

// lookWhileWaiting looks at a parked file f that changed while no
// descriptor is free for it, and whose copy is held: if f was truncated
// (copytruncate), its stream goes to the copy now, and f waits for a
// descriptor with a new stream. Both waited before: the held copy kept its
// descriptor until the original's truncation was seen, and the original
// could be opened only when another file went quiet (regress10c S1: its new
// lines waited 40 s while another file was written). The look is a moment's
// open outside max_open_files, as stillCompressed's.
func (t *Tailer) lookWhileWaiting(p string, f *file, now time.Time) {
	if f.st == nil || f.born == 0 {
		return
	}
	fd, err := openNonblock(p)
	if err != nil {
		return
	}
	defer fd.Close()
	var st syscall.Stat_t
	if syscall.Fstat(int(fd.Fd()), &st) != nil || uint64(st.Dev) != f.id.dev || st.Ino != f.id.ino ||
		birth(fd) != f.born {
		return // replaced, or another file on the inode: for reopen to tell
	}
	old := f.head
	f.fd, f.sysfd, f.head = fd, int(fd.Fd()), nil
	t.readHead(f, st.Size)
	if t.sameFile(f, old, st.Size) {
		f.fd, f.head = nil, old // grown only: it waits for a descriptor
		return
	}
	f.head = old
	f.eof, f.final, f.changed = false, false, now
	t.truncated(f, now, "while waiting for a descriptor")
	if t.bufFile == f {
		t.dropBuf()
	}
	// f keeps its new stream and waits; opening it is asked for even if
	// it does not change again.
	f.fd, f.wantFd = nil, true
}

// stillCompressed reports whether the skipped file f, whose size or mtime
// changed, still starts with a compression magic number (a file being
// compressed grows), and notes its new size and mtime if so.
func (t *Tailer) stillCompressed(p string, f *file, fi fs.FileInfo) bool {
	fd, err := openNonblock(p) // a moment, outside max_open_files
	if err != nil {
		return true // look again at the next scan
	}
	defer fd.Close()
	var st syscall.Stat_t
	if syscall.Fstat(int(fd.Fd()), &st) != nil || uint64(st.Dev) != f.id.dev || st.Ino != f.id.ino {
		return true
	}
	var b [16]byte
	n, _ := fd.ReadAt(b[:], 0)
	if compressed(b[:n]) == "" {
		return false
	}
	f.size, f.mtime = fi.Size(), fi.ModTime().UnixNano()
	return true
}

// finish closes a rotated-or-deleted file that was read to its end and
// stayed quiet. It stays known (closed), with its stream, so it is not read
// again, even when this scan missed it: a file being renamed (logrotate
// shifting .1 to .2) can be out of the glob's sight for a scan. Only when it
// stays missing for entryGrace does scan forget it (see drop). Forgetting it
// at once would make its next sighting a new file, read from 0 under a new
// key; dropped cannot catch that for a copytruncate copy, whose stream key
// is its original's, not one derived from the copy's own inode.
func (t *Tailer) finish(f *file) {
	for _, c := range t.order {
		if c.copyOf == f { // see checkCopy
			c.copyOf = nil
			t.newStream(c, false, false)
		}
	}
	if f.fd != nil {
		var st syscall.Stat_t
		if syscall.Fstat(f.sysfd, &st) == nil && st.Nlink == 0 {
			// Deleted: once closed, its inode may go to the next file
			// made, which another source's claim on it was taken for a
			// file both tail (tailer19 F3).
			t.o.Claims.release(f.id, t.o.Source)
		}
	}
	t.closeFd(f)
	f.final = false
}

// drop forgets f and prunes its stream from the checkpoint.
func (t *Tailer) drop(f *file) {
	t.closeFd(f)
	t.o.Claims.release(f.id, t.o.Source)
	if t.files[f.id] == f {
		delete(t.files, f.id)
	}
	if f.st != nil {
		t.removeStream(f.st)
		t.rememberDropped(f.st)
	}
}

// maxOrphans bounds the truncated streams kept past rotate_wait while
// files wait for a descriptor.
const maxOrphans = 256

// maxDropped bounds the memory of dropped streams.
const maxDropped = 4096

// rememberDropped keeps a dropped stream's committed offset by key. If the
// same file (same device, inode and first line, so the same key) turns up
// again, it continues from there instead of being read again from 0 under
// a new key: a safety net for renames the scans did not see land.
func (t *Tailer) rememberDropped(st *stream) {
	if len(t.dropped) >= maxDropped {
		clear(t.dropped)
	}
	t.dropped[st.key] = st
}

// watchDirs keeps one fsnotify watch per existing directory holding a
// glob, and per directory a matched symlink points into (a file rotated
// there, as kubelet rotates behind /var/log/containers/*.log, changes
// nothing in the glob's directory: unwatched, a generation that lived less
// than ScanInterval was never found).
func (t *Tailer) watchDirs() {
	if t.stats.polling.Load() || t.watcher == nil {
		return
	}
	var dirs []string
	for _, pat := range t.o.Paths {
		d := filepath.Dir(pat)
		if strings.ContainsAny(d, `*?[\`) {
			m, _ := filepath.Glob(d)
			dirs = append(dirs, m...)
		} else {
			dirs = append(dirs, d)
		}
	}
	for _, f := range t.order {
		// Rotated-away files too: while one is still read, its successor
		// may be created there (kubelet renames, then creates); unwatched
		// in that moment, it waited for the periodic scan.
		if f.linkTarget != "" {
			dirs = append(dirs, filepath.Dir(f.linkTarget))
		}
	}
	live := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() {
			continue
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		live[d] = true
		if t.watched[d] == ino {
			continue
		}
		if err := t.addWatch(d); err != nil {
			if t.closed.Load() {
				return
			}
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENOMEM) {
				t.stats.polling.Store(true)
				t.log.Warn("tailer: inotify watches exhausted; polling from now on", "dir", d, "err", err)
				t.watcher.Close()
				return
			}
			t.stats.errors.Add(1)
			continue
		}
		t.watched[d] = ino
	}
	for d := range t.watched {
		if !live[d] {
			delete(t.watched, d)
		}
	}
}

// minCopyMatch is how many head bytes a new file must share with a file being
// read to be taken for its copy. Smaller files are never taken for copies: a
// copy of one is read again (duplicates), never skipped.
const minCopyMatch = 64

func (t *Tailer) addWatch(dir string) error {
	if h := t.o.hooks; h != nil && h.addWatch != nil {
		if err := h.addWatch(dir); err != nil {
			return err
		}
	}
	return t.watcher.Add(dir)
}

func (t *Tailer) markCopy(st *stream) {
	t.ckMu.Lock()
	st.copy = true
	t.ckGen++
	t.ckMu.Unlock()
}
