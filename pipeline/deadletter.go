package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sidetrail/sidetrail"
)

// DeadLetter appends rejected records, with the reason, to an NDJSON file:
//
//	{"time":"…","sink":"es","id":"…","reason":"mapper_parsing_exception: …","record":{…record JSON…}}
//
// id is the record's ID (the Elasticsearch _id): a record a crash made the
// shipper reject twice is in the file twice, and the id tells the copies.
//
// Write returns only after the lines are fsynced, because the shipper
// acknowledges the batch right after: a dead-lettered record must survive a
// crash as surely as a delivered one. The file holds at most maxBytes: a
// line that would make it larger is discarded (and counted by the caller),
// so a backend that rejects everything cannot fill the volume the buffer
// shares (a full emptyDir gets the pod evicted, buffer and all). Safe for
// concurrent use.
type DeadLetter struct {
	mu     sync.Mutex
	path   string
	sink   string
	f      *os.File
	enc    sidetrail.JSONEncoder
	buf    []byte
	size   int64 // of the file's whole lines: a failed Write is cut back to it
	torn   bool  // a failed Write could not be cut back yet
	max    int64 // the file's bound; 0: none
	closed bool
}

// OpenDeadLetter opens (creating) dir/<sink>.ndjson for appending, to hold
// at most maxBytes (0: no bound). When the file cannot be opened (a
// directory or a symbolic link at its path, the directory not writable) it
// returns the error together with a DeadLetter that opens the file at its
// first Write, and fails that Write (retried, the records kept) while it
// still cannot: a sink that rejects nothing never needs it, and the agent
// runs on. Such a path ended the agent at start, and a reload both of whose
// configurations had the sink ended it too (regress16 F6).
func OpenDeadLetter(dir, sink string, maxBytes int64) (*DeadLetter, error) {
	d := &DeadLetter{path: filepath.Join(dir, sink+".ndjson"), sink: sink, max: maxBytes}
	if err := d.open(); err != nil {
		return d, err
	}
	return d, nil
}

// open opens the file and cuts a torn tail. d.mu is held, or d is new.
func (d *DeadLetter) open() error {
	if err := os.MkdirAll(filepath.Dir(d.path), 0o750); err != nil {
		return fmt.Errorf("dead-letter dir: %w", err)
	}
	f, err := openDeadLetterFile(d.path)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	size, err := cutTornTail(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("dead-letter file %s: %w", d.path, err)
	}
	if d.f != nil {
		d.f.Close()
	}
	d.f, d.size, d.torn = f, size, false
	return nil
}

// openDeadLetterFile opens (creating) the regular file at path to append to
// it. A symbolic link there is refused, not followed: whoever could write
// the dead-letter directory made the agent cut and append to any file the
// link named (regress15 F3).
func openDeadLetterFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o640)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: dead letters are written only to a regular file", path)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
		}
		return nil, err
	}
	return f, nil
}

// cutTornTail cuts a last line that lacks its newline, the torn end of a
// write a crash interrupted (its records were not acknowledged, so they are
// written again whole), and returns the file's size after it.
func cutTornTail(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	var last [1]byte
	if size == 0 {
		return 0, nil
	}
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		return size, nil
	}
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	return end, f.Truncate(end)
}

// Path is the file's path.
func (d *DeadLetter) Path() string { return d.path }

// Write appends one line per record (reasons[i] for recs[i]) and fsyncs.
// It returns how many records it discarded because their line did not fit
// under the file's bound.
func (d *DeadLetter) Write(recs []*sidetrail.Record, reasons []string) (discarded int, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, sidetrail.ErrClosed
	}
	if d.f == nil {
		if err := d.open(); err != nil {
			return 0, err
		}
	}
	d.buf = d.buf[:0]
	// A file moved away (as the README says to, once read) is the
	// operator's: the records go to a new one at the path. Looked at only
	// when the file seemed full, they went on into the moved file, and
	// into nothing once it was deleted (sinks15 F1).
	if _, err := d.refreshed(); err != nil {
		return 0, err
	}
	now := sidetrail.AppendTimestamp(nil, time.Now())
	for i, r := range recs {
		start := len(d.buf)
		d.buf = append(d.buf, `{"time":"`...)
		d.buf = append(d.buf, now...)
		d.buf = append(d.buf, `","sink":`...)
		d.buf = sidetrail.AppendJSONString(d.buf, d.sink)
		d.buf = append(d.buf, `,"id":"`...)
		d.buf = r.ID().AppendText(d.buf)
		d.buf = append(d.buf, `","reason":`...)
		d.buf = sidetrail.AppendJSONString(d.buf, reasons[i])
		d.buf = append(d.buf, `,"record":`...)
		d.buf = d.enc.Append(d.buf, r)
		d.buf = append(d.buf, "}\n"...)
		if full := func() bool { return d.max > 0 && d.size+int64(len(d.buf)) > d.max }; full() && (!d.made() || full()) {
			d.buf = d.buf[:start]
			discarded++
		}
	}
	if len(d.buf) == 0 {
		return discarded, nil
	}
	if d.torn {
		if err := d.f.Truncate(d.size); err != nil {
			return 0, fmt.Errorf("dead-letter: cutting back a failed write: %w", err)
		}
		d.torn = false
	}
	if _, err := writeFile(d.f, d.buf); err != nil {
		d.cutBack()
		return 0, fmt.Errorf("dead-letter write: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		d.cutBack()
		return 0, fmt.Errorf("dead-letter sync: %w", err)
	}
	d.size += int64(len(d.buf))
	return discarded, nil
}

// refreshed looks whether someone moved the file away or made room in it:
// the file emptied (truncate -s 0) or moved away. It reopens or re-sizes the
// file and reports whether it did. Lines already in d.buf are counted as
// if they were in the file still, which errs toward discarding. d.mu is
// held.
//
// A file moved away or deleted whose path cannot be opened again (a
// directory put there) is an error: the records stay in the buffer and the
// write is retried. Written on into the deleted file, they were counted and
// logged as dead-lettered, and kept nowhere (regress15 F2).
func (d *DeadLetter) refreshed() (bool, error) {
	if d.torn {
		return false, nil
	}
	cur, err := d.f.Stat()
	if err != nil {
		return false, nil
	}
	if fi, err := os.Lstat(d.path); err == nil && os.SameFile(fi, cur) {
		if cur.Size() >= d.size {
			return false, nil
		}
		d.size = cur.Size() // emptied, or cut, by hand
		return true, nil
	}
	if err := d.open(); err != nil {
		return false, fmt.Errorf("dead-letter file moved away or deleted, and a new one cannot be made: %w", err)
	}
	return true, nil
}

// made is refreshed for the bound's check, whose failure discards: an
// error there was already returned at the Write's start.
func (d *DeadLetter) made() bool {
	ok, _ := d.refreshed()
	return ok
}

// writeFile is (*os.File).Write; tests make it fail partway.
var writeFile = (*os.File).Write

// cutBack removes what a failed Write left (a torn line, or lines not
// known to be durable): the shipper writes the whole batch again, which
// glued to a torn line left a record only inside an invalid line, and
// others twice. If it cannot, the next Write tries again first.
func (d *DeadLetter) cutBack() {
	d.torn = d.f.Truncate(d.size) != nil
}

// Close closes the file; idempotent.
func (d *DeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
