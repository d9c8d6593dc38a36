package buffer

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FS is the file-system seam: everything the buffer does to disk goes
// through it, so tests can inject failures (see package faultfs). All paths
// are full paths as the buffer builds them from its directory.
//
// Implementations must be safe for concurrent use.
type FS interface {
	// OpenFile opens or creates a file, like os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Remove removes a file.
	Remove(name string) error
	// Rename atomically replaces newpath with oldpath (POSIX rename).
	Rename(oldpath, newpath string) error
	// ReadDir lists a directory.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// SyncDir fsyncs a directory, making creations, renames and removals in
	// it durable.
	SyncDir(dir string) error
}

// File is an open file. ReadAt and WriteAt never use or move a shared
// offset, so one File may be read by several goroutines while another
// appends beyond what they read.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes everything written so far durable (fsync).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Stat returns the file's metadata (its size).
	Stat() (fs.FileInfo, error)
	// Close releases the file.
	Close() error
}

// OSFS is the real file system. Its zero value is ready.
type OSFS struct{}

// OpenFile calls os.OpenFile, without blocking, and refuses what is not a
// regular file: a FIFO named like a segment or a cursor blocked the open,
// and the agent's start with it, for good (buffer25 P3).
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	return openRegular(name, flag, perm)
}

// openRegular opens name as os.OpenFile does, with O_NONBLOCK (which a
// regular file ignores), and fails for anything but a regular file.
func openRegular(name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag|syscall.O_NONBLOCK, perm)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
		}
		return nil, err
	}
	return f, nil
}

// errNotRegular: a buffer file that is a FIFO, a device or a directory.
var errNotRegular = errors.New("not a regular file")

// Remove calls os.Remove.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// Rename calls os.Rename.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// ReadDir calls os.ReadDir.
func (OSFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

// MkdirAll calls os.MkdirAll.
func (OSFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// SyncDir opens dir and fsyncs it.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
