package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sidetrail/sidetrail"
)

// DeadLetter appends rejected records, with the reason, to an NDJSON file:
//
//	{"time":"…","sink":"es","reason":"mapper_parsing_exception: …","record":{…record JSON…}}
//
// Write returns only after the lines are fsynced, because the shipper
// acknowledges the batch right after: a dead-lettered record must survive a
// crash as surely as a delivered one. Safe for concurrent use.
type DeadLetter struct {
	mu   sync.Mutex
	path string
	sink string
	f    *os.File
	enc  sidetrail.JSONEncoder
	buf  []byte
}

// OpenDeadLetter opens (creating) dir/<sink>.ndjson for appending.
func OpenDeadLetter(dir, sink string) (*DeadLetter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dead-letter dir: %w", err)
	}
	path := filepath.Join(dir, sink+".ndjson")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	return &DeadLetter{path: path, sink: sink, f: f}, nil
}

// Path is the file's path.
func (d *DeadLetter) Path() string { return d.path }

// Write appends one line per record (reasons[i] for recs[i]) and fsyncs.
func (d *DeadLetter) Write(recs []*sidetrail.Record, reasons []string) error {
	if len(recs) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return sidetrail.ErrClosed
	}
	d.buf = d.buf[:0]
	now := sidetrail.AppendTimestamp(nil, time.Now())
	for i, r := range recs {
		d.buf = append(d.buf, `{"time":"`...)
		d.buf = append(d.buf, now...)
		d.buf = append(d.buf, `","sink":`...)
		d.buf = sidetrail.AppendJSONString(d.buf, d.sink)
		d.buf = append(d.buf, `,"reason":`...)
		d.buf = sidetrail.AppendJSONString(d.buf, reasons[i])
		d.buf = append(d.buf, `,"record":`...)
		d.buf = d.enc.Append(d.buf, r)
		d.buf = append(d.buf, "}\n"...)
	}
	if _, err := d.f.Write(d.buf); err != nil {
		return fmt.Errorf("dead-letter write: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("dead-letter sync: %w", err)
	}
	return nil
}

// Close closes the file; idempotent.
func (d *DeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
