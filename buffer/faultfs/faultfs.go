package faultfs

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync"
	"syscall"

	"github.com/sidetrail/sidetrail/buffer"
)

// ErrInjected is the default injected error.
var ErrInjected = errors.New("faultfs: injected fault")

// FS wraps a buffer.FS. All methods are safe for concurrent use. Each
// "next" fault fires once, on the next matching operation, then clears.
type FS struct {
	inner buffer.FS

	mu           sync.Mutex
	suffix       string
	failWrite    error
	failSync     error
	failTruncate error
	failRename   error
	failSyncDir  error
	shortWrite   int // bytes the next write really writes; -1 = off
	noSpace      bool
	failRemove   bool
	// Counters of operations on matching files.
	writes, syncs int
}

// New wraps inner (nil means buffer.OSFS{}).
func New(inner buffer.FS) *FS {
	if inner == nil {
		inner = buffer.OSFS{}
	}
	return &FS{inner: inner, shortWrite: -1}
}

// SetFilter limits file faults to files whose name ends with suffix
// ("" = every file).
func (f *FS) SetFilter(suffix string) { f.mu.Lock(); f.suffix = suffix; f.mu.Unlock() }

// FailNextWrite makes the next write fail with err, writing nothing.
func (f *FS) FailNextWrite(err error) { f.mu.Lock(); f.failWrite = orDefault(err); f.mu.Unlock() }

// FailNextSync makes the next fsync of a file fail with err.
func (f *FS) FailNextSync(err error) { f.mu.Lock(); f.failSync = orDefault(err); f.mu.Unlock() }

// FailNextTruncate makes the next truncate fail with err.
func (f *FS) FailNextTruncate(err error) { f.mu.Lock(); f.failTruncate = orDefault(err); f.mu.Unlock() }

// FailNextRename makes the next rename fail with err.
func (f *FS) FailNextRename(err error) { f.mu.Lock(); f.failRename = orDefault(err); f.mu.Unlock() }

// FailNextSyncDir makes the next directory fsync fail with err.
func (f *FS) FailNextSyncDir(err error) { f.mu.Lock(); f.failSyncDir = orDefault(err); f.mu.Unlock() }

// ShortNextWrite makes the next write write only its first n bytes and
// return io.ErrShortWrite.
func (f *FS) ShortNextWrite(n int) { f.mu.Lock(); f.shortWrite = n; f.mu.Unlock() }

// SetFailRemove makes every Remove of a matching file fail (while on).
func (f *FS) SetFailRemove(on bool) { f.mu.Lock(); f.failRemove = on; f.mu.Unlock() }

// SetNoSpace makes every write (while on) write half its bytes and fail
// with syscall.ENOSPC, as a filling disk does.
func (f *FS) SetNoSpace(on bool) { f.mu.Lock(); f.noSpace = on; f.mu.Unlock() }

// Counts returns how many writes and fsyncs matching files have seen.
func (f *FS) Counts() (writes, syncs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, f.syncs
}

func orDefault(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

func (f *FS) matches(name string) bool { return strings.HasSuffix(name, f.suffix) }

// OpenFile opens a file through the wrapped FS.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (buffer.File, error) {
	file, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &File{File: file, fs: f, name: name}, nil
}

// Remove removes through the wrapped FS.
// Remove fails with EPERM for matching files while SetFailRemove is on (a
// file made immutable).
func (f *FS) Remove(name string) error {
	f.mu.Lock()
	fail := f.failRemove && f.matches(name)
	f.mu.Unlock()
	if fail {
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.EPERM}
	}
	return f.inner.Remove(name)
}

// Rename renames through the wrapped FS unless a rename fault is set.
func (f *FS) Rename(oldpath, newpath string) error {
	f.mu.Lock()
	err := f.failRename
	f.failRename = nil
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.inner.Rename(oldpath, newpath)
}

// ReadDir lists through the wrapped FS.
func (f *FS) ReadDir(dir string) ([]fs.DirEntry, error) { return f.inner.ReadDir(dir) }

// MkdirAll creates through the wrapped FS.
func (f *FS) MkdirAll(dir string, perm fs.FileMode) error { return f.inner.MkdirAll(dir, perm) }

// SyncDir fsyncs through the wrapped FS unless a fault is set.
func (f *FS) SyncDir(dir string) error {
	f.mu.Lock()
	err := f.failSyncDir
	f.failSyncDir = nil
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.inner.SyncDir(dir)
}

// File is a file opened through FS.
type File struct {
	buffer.File
	fs   *FS
	name string
}

// WriteAt writes unless a write fault applies.
func (w *File) WriteAt(p []byte, off int64) (int, error) {
	f := w.fs
	f.mu.Lock()
	if !f.matches(w.name) {
		f.mu.Unlock()
		return w.File.WriteAt(p, off)
	}
	f.writes++
	fail, short, nospace := f.failWrite, f.shortWrite, f.noSpace
	f.failWrite = nil
	f.shortWrite = -1
	f.mu.Unlock()
	switch {
	case fail != nil:
		return 0, fail
	case short >= 0:
		n, err := w.File.WriteAt(p[:min(short, len(p))], off)
		if err != nil {
			return n, err
		}
		return n, io.ErrShortWrite
	case nospace:
		n, err := w.File.WriteAt(p[:len(p)/2], off)
		if err != nil {
			return n, err
		}
		return n, &fs.PathError{Op: "write", Path: w.name, Err: syscall.ENOSPC}
	}
	return w.File.WriteAt(p, off)
}

// Sync fsyncs unless a sync fault applies.
func (w *File) Sync() error {
	f := w.fs
	f.mu.Lock()
	if !f.matches(w.name) {
		f.mu.Unlock()
		return w.File.Sync()
	}
	f.syncs++
	err := f.failSync
	f.failSync = nil
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return w.File.Sync()
}

// Truncate truncates unless a truncate fault applies.
func (w *File) Truncate(size int64) error {
	f := w.fs
	f.mu.Lock()
	var err error
	if f.matches(w.name) {
		err = f.failTruncate
		f.failTruncate = nil
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return w.File.Truncate(size)
}
