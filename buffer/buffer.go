package buffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	sidetrail "github.com/sidetrail/sidetrail"
)

// FsyncPolicy says when appended records are fsynced.
type FsyncPolicy int

const (
	// FsyncBatch (the default) fsyncs once per Append call: when Append
	// returns, every record of the call survives a power failure.
	FsyncBatch FsyncPolicy = iota
	// FsyncAlways writes and fsyncs each record on its own: the expensive
	// mode, for callers that cannot batch.
	FsyncAlways
	// FsyncInterval fsyncs at most every Options.FsyncInterval from a
	// background goroutine; Append returns once the records are written.
	// Loss window: on a power failure (or kernel crash) the records appended
	// in the last FsyncInterval may be lost. A process crash (SIGKILL, OOM
	// kill, panic) loses nothing, because written data lives in the page
	// cache, which survives the process.
	FsyncInterval
)

// String returns the policy's configuration name.
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncBatch:
		return "batch"
	case FsyncAlways:
		return "always"
	case FsyncInterval:
		return "interval"
	}
	return fmt.Sprintf("FsyncPolicy(%d)", int(p))
}

// WhenFull says what Append does when the buffer holds MaxBytes.
type WhenFull int

const (
	// Block (the default) makes Append wait until acknowledgements free
	// space (or its context ends). Nothing is ever dropped.
	Block WhenFull = iota
	// DropOldest deletes the oldest segment even if some cursor has not
	// acknowledged it, counts the records lost in Stats.Dropped and logs it.
	DropOldest
)

// String returns the mode's configuration name.
func (w WhenFull) String() string {
	switch w {
	case Block:
		return "block"
	case DropOldest:
		return "drop_oldest"
	}
	return fmt.Sprintf("WhenFull(%d)", int(w))
}

// Options configure a Buffer. The zero value of every field means its
// default.
type Options struct {
	// MaxBytes bounds the total size of the segment files (default 1 GiB).
	// A single Append larger than MaxBytes is still accepted when no
	// unacknowledged record is buffered, so an oversized batch never
	// deadlocks.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is cut (default
	// 16 MiB, at most MaxBytes/2): a segment is cut when the next Append
	// would make it larger. A single batch larger than SegmentBytes goes
	// into one segment.
	SegmentBytes int64
	// WhenFull: Block (default) or DropOldest.
	WhenFull WhenFull
	// Fsync: FsyncBatch (default), FsyncAlways or FsyncInterval.
	Fsync FsyncPolicy
	// FsyncInterval is the period of FsyncInterval (default 1s).
	FsyncInterval time.Duration
	// Cursors names the cursors, one per sink: the authoritative set.
	// Names are made of letters, digits, '.', '_' and '-'. Cursor files of
	// other names are removed at Open (and logged). A new cursor starts at
	// the oldest retained record. With no cursors, nothing is ever
	// acknowledged, so nothing is deleted except by DropOldest.
	Cursors []string
	// Positions names the cursors of Cursors that deliver nothing: a
	// source's place (what its checkpoint covers), not a sink's. They hold
	// records like the others, but a drop (DropOldest) counts as lost only
	// the records some other cursor had not read.
	Positions []string
	// FS is the file system; nil means the real one (OSFS).
	FS FS
	// Logger receives corruption reports, cut tails, drops and removed
	// cursors; nil discards.
	Logger *slog.Logger
	// CursorSync is the longest a cursor file goes without an fsync while
	// it is being acknowledged (default 1s; negative: fsync every Ack).
	// Every Ack writes the file (temp and rename) before returning, so a
	// crash of the process loses no acknowledgement; a power failure may
	// lose up to this much of them, which only means records are sent
	// again. Close fsyncs what is left.
	CursorSync time.Duration
	// TailCache is how many of the newest bytes of the active segment are
	// also kept in memory for Readers (default 4 MiB; negative: none).
	TailCache int
	// Seen, shared by the Buffers that one process opens on one directory
	// in turn (a configuration reload), keeps damage that one counted from
	// being counted again by the next: Stats then adds only what is new,
	// and the log says the rest is still there at Info. nil: count all.
	Seen *DamageSeen
}

// DamageSeen remembers the damage Buffers counted (see Options.Seen). It is
// safe for concurrent use; the zero value is ready.
type DamageSeen struct {
	mu sync.Mutex
	m  map[string]bool
}

// first reports whether key is seen for the first time, and remembers it.
// A nil DamageSeen has seen nothing.
func (d *DamageSeen) first(key string) bool {
	if d == nil {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m[key] {
		return false
	}
	if d.m == nil {
		d.m = make(map[string]bool)
	}
	d.m[key] = true
	return true
}

func (o *Options) setDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegBytes
	}
	if o.SegmentBytes > o.MaxBytes/2 {
		// Retention works in whole segments: keep at least two per buffer.
		o.SegmentBytes = max(o.MaxBytes/2, 1)
	}
	if o.FsyncInterval <= 0 {
		o.FsyncInterval = time.Second
	}
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TailCache == 0 {
		o.TailCache = defaultTailCache
	}
	if o.CursorSync == 0 {
		o.CursorSync = time.Second
	}
}

// validCursorName reports whether name can be a cursor file name.
func validCursorName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 200 {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// segment is one segment file. All fields are guarded by Buffer.mu, except
// that the appender (holding Buffer.sem) writes to file beyond size.
type segment struct {
	first   uint64
	last    uint64 // last valid seq; 0 if none
	records int64
	size    int64 // end of the valid data: readers read [segHeaderSize, size)
	disk    int64 // bytes on disk (size plus any garbage that could not be cut)
	file    File
	name    string
	broken  bool           // take no more appends (a write could not be undone, or fsync failed)
	known   map[int64]bool // start offsets of corrupt regions already counted
	// found holds the damaged regions Open's scan found, with the last
	// seq each could have held, until the cursors are read: a region
	// whose records every cursor had acknowledged lost nothing
	// (countFound).
	found []foundRegion
	// accounted is, after Open's scan, the last seq this segment accounts
	// for: held, or counted as lost in its damaged tail (first-1: none).
	accounted uint64
}

// cursor is the durable state of one named cursor, guarded by Buffer.mu.
type cursor struct {
	name    string
	acked   uint64
	ackPos  position // a frame boundary at or before the first unacked record
	reader  *Reader
	dropped uint64 // records DropOldest deleted before this cursor had them; b.mu
	// held: records this cursor's reader had read, not yet acknowledged,
	// when DropOldest deleted their segment: lost unless acknowledged
	// (countAbandoned). b.mu.
	held []seqRange

	// Guarded by reader.ackMu: when the cursor file was last fsynced,
	// whether it has been written since, and an open handle on it for the
	// writes in between (nil: write it the durable way).
	lastSync time.Time
	unsynced bool
	file     File
}

// position is a place in the log: a segment (by first seq), the offset of
// a frame boundary in it, and the seq of the frame before (0 if unknown).
type position struct {
	seg  uint64
	off  int64
	prev uint64
}

// Buffer is the disk queue. Append, Reader, Stats and Close are safe for
// concurrent use, and Readers run concurrently with Append.
//
// Concurrency model: one mutex (mu) guards all state; Append calls are
// serialised by a one-slot semaphore (sem) and write and fsync without
// holding mu, publishing the new size under mu afterwards, so Readers never
// see bytes that are not fully written. Readers read under mu (ReadAt
// calls the page cache normally serves; a slow disk read delays other
// Readers and Append's publishing step, never its write or fsync). Waiting
// (for data, for space) is done on channels that are closed and replaced
// when the awaited event happens, so every wait also honours its context
// and Close. Segment files stay open from Open (or creation) until they are
// deleted or the Buffer closes: one descriptor per segment.
type Buffer struct {
	dir  string
	opts Options
	fs   FS
	log  *slog.Logger

	sem chan struct{} // held by the one Append doing I/O
	// wbuf is the appender's frame buffer when the tail cache's ring
	// cannot be (disabled, or a batch larger than it), guarded by sem.
	wbuf []byte

	mu        sync.Mutex
	segs      []*segment // oldest first; the last one is active
	nextSeq   uint64
	cursors   []*cursor
	closed    bool
	closedCh  chan struct{}
	dataCh    chan struct{} // closed when records are published
	spaceCh   chan struct{} // closed when segments are deleted
	dirty     bool          // written since the last fsync (FsyncInterval)
	bytes     int64
	stats     counters
	lastDrop  time.Time
	dropSince uint64
	dropTimer *time.Timer // logs dropSince when no append comes to

	tail tailCache

	syncStop chan struct{}
	syncDone chan struct{}

	// doomed are segments taken out of segs, to be closed and deleted by
	// reapLoop: deleting a 64 MiB file whose pages are cached takes about
	// 20 ms, too long to hold mu or to keep the appender or an Ack
	// waiting. Guarded by mu; reapWake (one slot) wakes reapLoop.
	doomed []*segment
	// stuck are doomed segments whose file could not be removed (made
	// immutable, say): still on disk, so still in Stats' Bytes and
	// Segments (buffer13 F4), though no longer in the bound on room.
	// The next reap tries again. Guarded by mu.
	stuck    []*segment
	reapWake chan struct{}
	reapDone chan struct{}
	reapMu   sync.Mutex // held while reaping, so a reap also waits for one under way
}

// counters are the cumulative Stats counters, guarded by Buffer.mu.
type counters struct {
	appended, appendErrors, syncErrors, corrupt, corruptRecords uint64
	dropped, ackErrors, tailCacheReads                          uint64
	corruptBytes, tornBytes, blockedNanos                       int64
	blocked                                                     int
}

// Open opens (creating if needed) the buffer in dir and recovers it: every
// segment is scanned and checked, a torn tail of the last segment is cut,
// damaged regions elsewhere are counted and skipped, leftover temp files
// and cursors not named in opts.Cursors are removed. Open reads every
// segment once, so it takes time proportional to the data buffered.
//
// The caller must Close the Buffer. Only one Buffer may use dir at a time
// (there is no lock file: the agent is the only writer).
func Open(dir string, opts Options) (*Buffer, error) {
	opts.setDefaults()
	seen := map[string]bool{}
	for _, n := range opts.Cursors {
		if !validCursorName(n) {
			return nil, fmt.Errorf("buffer: invalid cursor name %q: use letters, digits, '.', '_' and '-'", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("buffer: duplicate cursor name %q", n)
		}
		seen[n] = true
	}
	b := &Buffer{
		dir:      dir,
		opts:     opts,
		fs:       opts.FS,
		log:      opts.Logger,
		sem:      make(chan struct{}, 1),
		closedCh: make(chan struct{}),
		dataCh:   make(chan struct{}),
		spaceCh:  make(chan struct{}),
		reapWake: make(chan struct{}, 1),
		reapDone: make(chan struct{}),
	}
	if opts.TailCache > 0 {
		b.tail.ring = make([]byte, opts.TailCache)
	}
	if err := b.recover(); err != nil {
		for _, s := range b.segs {
			s.file.Close()
		}
		b.reap()
		return nil, err
	}
	go b.reapLoop()
	if opts.Fsync == FsyncInterval {
		b.syncStop = make(chan struct{})
		b.syncDone = make(chan struct{})
		go b.syncLoop()
	}
	return b, nil
}

func (b *Buffer) path(name string) string { return filepath.Join(b.dir, name) }

// recover loads the directory's state. It runs before b is shared.
func (b *Buffer) recover() error {
	if err := b.fs.MkdirAll(b.dir, 0o755); err != nil {
		return fmt.Errorf("buffer: create dir: %w", err)
	}
	entries, err := b.fs.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("buffer: read dir: %w", err)
	}
	var firsts []uint64
	cursorFiles := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && slices.Contains(b.opts.Cursors, strings.TrimSuffix(name, cursorSuffix)) && strings.HasSuffix(name, cursorSuffix):
			// The cursor could never be written (a rename onto a
			// directory fails): refuse to start.
			return fmt.Errorf("buffer: %s is a directory, where the buffer keeps the cursor's file: move it away", b.path(name))
		case e.IsDir():
			b.log.Warn("buffer: ignoring a directory in the buffer's directory", "dir", b.path(name))
		case strings.HasSuffix(name, tmpSuffix):
			if err := b.fs.Remove(b.path(name)); err != nil {
				return fmt.Errorf("buffer: remove leftover %s: %w", name, err)
			}
		case strings.HasSuffix(name, segSuffix):
			if first, ok := parseSegName(name); ok {
				firsts = append(firsts, first)
			} else {
				b.log.Warn("buffer: ignoring a file named like a segment with a name no buffer writes", "file", b.path(name))
			}
		case strings.HasSuffix(name, cursorSuffix):
			cursorFiles[strings.TrimSuffix(name, cursorSuffix)] = true
		}
	}
	slices.Sort(firsts)
	// A segment file with a damaged header and no valid record (a crash
	// while the last one was created, or a stray file anywhere) goes
	// first: it must not bound the scan of the segment before it, whose
	// records past its name would look like garbage and be lost. A stray
	// named inside another segment's range lost 3,145 intact records
	// (buffer13 F1). What such a file stood for, if it was a segment, is
	// counted as missing below. A segment renamed by hand is renamed back
	// first, to a name a stray may have held (regress25a P8: removed with
	// the empty file at its name, its records lost uncounted); one whose
	// name stays taken goes as a stray after all.
	if firsts, err = b.removeStrays(firsts, true); err != nil {
		return err
	}
	if firsts, err = b.renameMisnamed(firsts); err != nil {
		return err
	}
	if firsts, err = b.removeStrays(firsts, false); err != nil {
		return err
	}
	for i, first := range firsts {
		var next uint64
		if i+1 < len(firsts) {
			next = firsts[i+1]
		}
		seg, err := b.openSegment(first, next, i == len(firsts)-1)
		if err != nil {
			return err
		}
		if seg != nil {
			b.segs = append(b.segs, seg)
			b.bytes += seg.disk
		}
	}

	// Cursors.
	for name := range cursorFiles {
		if !slices.Contains(b.opts.Cursors, name) {
			b.log.Info("buffer: removing cursor not in the configuration", "cursor", name)
			if err := b.fs.Remove(b.path(name + cursorSuffix)); err != nil {
				return fmt.Errorf("buffer: remove cursor %s: %w", name, err)
			}
		}
	}
	var maxAcked uint64
	for _, name := range b.opts.Cursors {
		c := &cursor{name: name}
		acked, ok, err := b.readCursor(name, cursorFiles[name])
		if err != nil {
			return err
		}
		if ok {
			c.acked = acked
		} else if len(b.segs) > 0 {
			c.acked = b.segs[0].first - 1
		}
		if !ok {
			// A cursor has its file from the start: on a volume too full
			// for a new file, an Ack writes it in place (a new sink's
			// Acks, with none, failed for as long as it stayed full:
			// regress11).
			if err := b.writeCursor(name, c.acked, true); err != nil {
				b.log.Warn("buffer: cannot write a new cursor file now; the cursor's acknowledgements will try again", "cursor", name, "err", err)
			}
		}
		maxAcked = max(maxAcked, c.acked)
		b.cursors = append(b.cursors, c)
	}

	b.countFound()
	b.countMissing(maxAcked)

	// The next sequence number.
	b.nextSeq = max(1, maxAcked+1)
	for _, s := range b.segs {
		b.nextSeq = max(b.nextSeq, s.first, s.last+1)
	}
	if a := b.active(); a == nil || a.broken || a.records > 0 && a.last+1 != b.nextSeq || a.records == 0 && a.first != b.nextSeq {
		if err := b.cutSegment(); err != nil {
			return err
		}
	}
	for _, c := range b.cursors {
		c.ackPos = b.firstPosAfter(c.acked)
	}
	b.collect() // a crash may have come between a cursor write and a deletion
	return nil
}

// countMissing counts and logs the records that a cursor acknowledged
// (so they were appended, and durable) but no segment holds any more,
// while another cursor has not acknowledged them: a segment truncated,
// emptied or removed outside sidetrail, or, with fsync: interval, records
// a power failure took after the cursor file was written. A crash cannot
// cause it: the torn tail of an interrupted write is never acknowledged.
// Records before the oldest segment are not counted: segments every
// cursor had passed are deleted, and a cursor file (fsynced at most once
// a second) may be older than the deletion after a power failure; and
// when_full: drop_oldest counts its own.
//
// Records no cursor has acknowledged count too when a later segment shows
// they were appended: a segment's name is the seq appended after the
// segments before it, so a gap below it is damage. A middle segment
// removed after a crash, before any cursor passed its records, lost them
// without a word (buffer13 F0: 4,096 lines).
func (b *Buffer) countMissing(maxAcked uint64) {
	for _, s := range b.segs {
		maxAcked = max(maxAcked, s.first-1)
		if s.accounted >= s.first {
			maxAcked = max(maxAcked, s.accounted)
		}
	}
	m, ok := b.minAcked()
	if !ok || m >= maxAcked {
		return
	}
	delivered, _ := b.minDelivered()
	next := m + 1 // the first seq some cursor still needs
	if len(b.segs) > 0 {
		next = max(next, b.segs[0].first)
	}
	for _, s := range b.segs {
		if next > maxAcked {
			return
		}
		if s.accounted < s.first {
			continue // holds nothing
		}
		if s.first > next {
			b.reportMissing(next, min(s.first-1, maxAcked), delivered)
		}
		next = max(next, s.accounted+1)
	}
	if next <= maxAcked {
		// A tail: no record after it is held. Past every source's place
		// (what its checkpoint covers), its lines are read again, from
		// where the last record held for their file left off (regress24
		// R4: 1,046 records called lost, every one delivered after).
		if p, ok := b.maxPosition(); ok && p < next {
			b.log.Info("buffer: records missing past every source's checkpoint (nothing lost: their lines are read again from the files, where they still are)",
				"first_seq", next, "last_seq", maxAcked, "records", maxAcked-next+1)
			return
		}
		b.reportMissing(next, maxAcked, delivered)
	}
}

// maxPosition is the highest acknowledgement of the Positions cursors (the
// sources' places), and false when there are none.
func (b *Buffer) maxPosition() (uint64, bool) {
	var m uint64
	found := false
	for _, c := range b.cursors {
		if slices.Contains(b.opts.Positions, c.name) {
			m, found = max(m, c.acked), true
		}
	}
	return m, found
}

// reportMissing counts and logs the missing records [lo, hi]; those up to
// delivered, which every sink had acknowledged, only a source's place had
// not, lost nothing: they are logged, not counted (buffer22 P1: a power
// cut took the tail its sink had sent, and 33 records were called lost;
// its source reads those lines again, past its checkpoint).
func (b *Buffer) reportMissing(lo, hi, delivered uint64) {
	if lo <= delivered {
		top := min(hi, delivered)
		b.log.Info("buffer: records every sink had acknowledged are missing (nothing lost: a source whose checkpoint is behind them reads their lines again)",
			"first_seq", lo, "last_seq", top, "records", top-lo+1)
		if hi <= delivered {
			return
		}
		lo = delivered + 1
	}
	n := hi - lo + 1
	if !b.opts.Seen.first(fmt.Sprintf("%s: missing %d-%d", b.dir, lo, hi)) {
		b.log.Info("buffer: missing records counted before are still missing", "first_seq", lo, "last_seq", hi)
		return
	}
	b.stats.corrupt++
	b.stats.corruptRecords += n
	b.log.Error("buffer: records written are missing and cannot be delivered: a segment was truncated, emptied or removed outside sidetrail, or (fsync: interval) a power failure lost them",
		"first_seq", lo, "last_seq", hi, "records", n)
}

// removeStrays removes the stray segment files among firsts (removeStray),
// but for a single file, and, with spareMisnamed, those whose sound header
// names another first record; it returns the others.
func (b *Buffer) removeStrays(firsts []uint64, spareMisnamed bool) ([]uint64, error) {
	if len(firsts) <= 1 {
		return firsts, nil
	}
	kept := firsts[:0]
	for _, first := range firsts {
		if spareMisnamed {
			if _, ok, err := b.misnamed(first); err != nil {
				return nil, err
			} else if ok {
				kept = append(kept, first)
				continue
			}
		}
		removed, err := b.removeStray(first)
		if err != nil {
			return nil, err
		}
		if !removed {
			kept = append(kept, first)
		}
	}
	return kept, nil
}

// renameMisnamed gives each segment file whose sound header names another
// first sequence number than its name (renamed by hand) that number's name
// again, when no other file has it, and returns the segments' firsts. Taken
// for a stray (its records lie below its name), the oldest segment so
// renamed was removed, its records lost uncounted (buffer25 P2).
func (b *Buffer) renameMisnamed(firsts []uint64) ([]uint64, error) {
	renamed := false
	// Pass after pass: a name taken at one pass may be freed by the
	// rename of its file later in it (segments renamed in a chain: the
	// oldest was removed as a stray; regress25a P4).
	for again := true; again; {
		again = false
		for i, first := range firsts {
			v, ok, err := b.misnamed(first)
			if err != nil {
				return nil, err
			}
			if !ok || slices.Contains(firsts, v) {
				continue // as its name says, or the name is taken: see removeStray
			}
			b.log.Warn("buffer: a segment file's header says it holds the records from another sequence number (renamed outside sidetrail): renamed back",
				"segment", segName(first), "to", segName(v))
			if err := b.fs.Rename(b.path(segName(first)), b.path(segName(v))); err != nil {
				return nil, fmt.Errorf("buffer: rename segment %s back to %s: %w", segName(first), segName(v), err)
			}
			firsts[i], renamed, again = v, true, true
		}
	}
	if renamed {
		if err := b.fs.SyncDir(b.dir); err != nil {
			return nil, fmt.Errorf("buffer: sync dir: %w", err)
		}
		slices.Sort(firsts)
	}
	return firsts, nil
}

// misnamed reads the header of the segment file named for first: the first
// sequence number it says, and true, when the header is sound and says
// another.
func (b *Buffer) misnamed(first uint64) (uint64, bool, error) {
	f, err := b.fs.OpenFile(b.path(segName(first)), os.O_RDONLY, 0)
	if err != nil {
		return 0, false, fmt.Errorf("buffer: open segment %s: %w", segName(first), err)
	}
	defer f.Close()
	v, ok := headerNames(f, first)
	return v, ok, nil
}

// headerNames returns the first sequence number the segment header of f
// says, and true, when the header is sound and says another than first.
func headerNames(f io.ReaderAt, first uint64) (uint64, bool) {
	hdr := make([]byte, segHeaderSize)
	if n, _ := f.ReadAt(hdr, 0); n != segHeaderSize {
		return 0, false
	}
	v, err := parseFileHeader(hdr, segMagic)
	if err != nil || v == first || v == 0 || v > maxSeq {
		return 0, false
	}
	return v, true
}

// removeStray removes the segment file named for first if its header is
// damaged and it holds no valid record, and reports whether it did. A
// segment with a sound header is not scanned here.
func (b *Buffer) removeStray(first uint64) (bool, error) {
	name := segName(first)
	f, err := b.fs.OpenFile(b.path(name), os.O_RDONLY, 0)
	if err != nil {
		return false, fmt.Errorf("buffer: open segment %s: %w", name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("buffer: stat segment %s: %w", name, err)
	}
	stray, herr, err := isStray(f, info.Size(), name, first)
	if err != nil || !stray {
		return false, err
	}
	b.log.Warn("buffer: removing a segment file with a damaged header and no records", "segment", name, "bytes", info.Size(), "err", herr)
	if err := b.fs.Remove(b.path(name)); err != nil {
		return false, fmt.Errorf("buffer: remove segment %s: %w", name, err)
	}
	return true, nil
}

// HasCursorFile reports whether the buffer in dir has the named cursor's
// file: the cursor was opened there before.
func HasCursorFile(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name+cursorSuffix))
	return err == nil
}

// isStray reports whether the segment file f (size bytes, named for
// first) has a damaged header and holds no valid record, and why its header
// is damaged.
func isStray(f io.ReaderAt, size int64, name string, first uint64) (stray bool, headerErr, err error) {
	hdr := make([]byte, segHeaderSize)
	if n, _ := f.ReadAt(hdr, 0); n == segHeaderSize {
		if v, err := parseFileHeader(hdr, segMagic); err == nil && v == first {
			return false, nil, nil
		}
	}
	res, err := scanSegment(f, name, first, 0, size, slog.New(slog.DiscardHandler))
	if err != nil {
		return false, nil, fmt.Errorf("buffer: scan segment %s: %w", name, err)
	}
	return res.records == 0, res.headerErr, nil
}

// openSegment opens and scans one segment file. A last segment that holds
// nothing valid and has a damaged header (a crash while it was created) is
// removed and nil returned.
func (b *Buffer) openSegment(first, next uint64, last bool) (*segment, error) {
	name := segName(first)
	// A sealed segment is only read and deleted: opened for writing, one
	// made read-only (a restored backup) kept the agent from starting
	// (buffer11).
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := b.fs.OpenFile(b.path(name), flag, 0)
	if err != nil {
		return nil, fmt.Errorf("buffer: open segment %s: %w", name, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("buffer: stat segment %s: %w", name, err)
	}
	seg := &segment{first: first, file: f, name: name, disk: info.Size(), size: info.Size()}
	res, err := scanSegment(f, name, first, next, info.Size(), b.log)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("buffer: scan segment %s: %w", name, err)
	}
	seg.last, seg.records = res.last, res.records
	seg.accounted = first - 1
	if res.records > 0 {
		seg.accounted = res.last
	}
	if res.tail && !last && res.tailLost > 0 {
		seg.accounted = next - 1 // counted below
	}
	if res.headerErr != nil && last && res.records == 0 {
		b.log.Warn("buffer: removing last segment with a damaged header and no records", "segment", name, "err", res.headerErr)
		f.Close()
		if err := b.fs.Remove(b.path(name)); err != nil {
			return nil, fmt.Errorf("buffer: remove segment %s: %w", name, err)
		}
		return nil, nil
	}
	seg.found = res.corrupt // counted once the cursors are read
	if res.tail {
		if last {
			// A torn tail: the crash interrupted a write. Cut it.
			if err := f.Truncate(res.tailOffset); err != nil {
				f.Close()
				return nil, fmt.Errorf("buffer: cut torn tail of %s: %w", name, err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, fmt.Errorf("buffer: sync %s: %w", name, err)
			}
			torn := info.Size() - res.tailOffset
			b.stats.tornBytes += torn
			b.log.Info("buffer: cut torn tail", "segment", name, "offset", res.tailOffset, "bytes", torn)
			seg.disk = res.tailOffset
		} else {
			var lastSeq uint64
			if res.tailLost > 0 {
				lastSeq = next - 1
			}
			seg.found = append(seg.found, foundRegion{&CorruptionError{Segment: name, Offset: res.tailOffset, End: info.Size(), Lost: res.tailLost, Err: fmt.Errorf("%w: no valid frame after this offset", ErrCorrupt)}, lastSeq})
		}
		seg.size = res.tailOffset
	}
	if res.headerErr != nil {
		seg.broken = true // never append behind a header we cannot trust
		seg.found = append(seg.found, foundRegion{&CorruptionError{Segment: name, Offset: 0, End: segHeaderSize, Err: res.headerErr}, 0})
	}
	return seg, nil
}

// countCorrupt records a corrupt region once. b.mu is held (or b is not yet
// shared).
func (b *Buffer) countCorrupt(seg *segment, ce *CorruptionError) {
	if seg.known == nil {
		seg.known = map[int64]bool{}
	}
	if seg.known[ce.Offset] {
		return
	}
	seg.known[ce.Offset] = true
	if !b.opts.Seen.first(fmt.Sprintf("%s@%d", b.path(ce.Segment), ce.Offset)) {
		b.log.Info("buffer: corrupt data counted before is still there", "segment", ce.Segment, "offset", ce.Offset)
		return
	}
	b.stats.corrupt++
	b.stats.corruptRecords += ce.Lost
	b.stats.corruptBytes += ce.End - ce.Offset
	b.log.Error("buffer: skipping corrupt data", "err", ce, "segment", ce.Segment, "offset", ce.Offset, "bytes", ce.End-ce.Offset, "records", ce.Lost)
}

// foundRegion is a damaged region Open's scan found and the last seq it
// could have held (0: it held none, a damaged header).
type foundRegion struct {
	ce   *CorruptionError
	last uint64
}

// countFound counts the damaged regions Open's scan found, now that the
// cursors are read. A region whose records every cursor had acknowledged
// lost nothing: its records were delivered, and its segment stays only for
// the later ones. It is logged, not counted: counted, it raised
// sidetrail_buffer_corrupt_records_total at every start until its segment
// went (buffer22 P2).
func (b *Buffer) countFound() {
	m, ok := b.minDelivered()
	for _, seg := range b.segs {
		for _, r := range seg.found {
			if ok && r.ce.Lost > 0 && r.last <= m {
				if seg.known == nil {
					seg.known = map[int64]bool{}
				}
				seg.known[r.ce.Offset] = true
				b.log.Info("buffer: damaged data of records every sink had acknowledged (nothing lost)",
					"segment", r.ce.Segment, "offset", r.ce.Offset, "bytes", r.ce.End-r.ce.Offset, "records", r.ce.Lost, "last_seq", r.last)
				continue
			}
			b.countCorrupt(seg, r.ce)
		}
		seg.found = nil
	}
}

// scanResult is what a full scan of a segment found.
type scanResult struct {
	last       uint64
	records    int64
	corrupt    []foundRegion
	tail       bool
	tailOffset int64
	tailLost   uint64 // records lost in the tail, if a next segment bounds it
	headerErr  error
}

// scanSegment reads a whole segment and checks every frame. It never
// modifies the file.
func scanSegment(r io.ReaderAt, name string, first, next uint64, size int64, log *slog.Logger) (scanResult, error) {
	var res scanResult
	hdr := make([]byte, segHeaderSize)
	if size < segHeaderSize {
		res.headerErr = fmt.Errorf("%w: short header (%d bytes)", ErrCorrupt, size)
		res.tail, res.tailOffset = true, segHeaderSize
		if size < segHeaderSize {
			res.tailOffset = size
		}
		return res, nil
	}
	if _, err := r.ReadAt(hdr, 0); err != nil && !errors.Is(err, io.EOF) {
		return res, err
	}
	if v, err := parseFileHeader(hdr, segMagic); err != nil {
		res.headerErr = err
	} else if v != first {
		res.headerErr = fmt.Errorf("%w: header says first seq %d, name says %d", ErrCorrupt, v, first)
	}
	var s scanner
	s.reset(r, first, next, segHeaderSize, size, 0)
	s.onCorrupt = func(off, end int64, lost uint64, err error) {
		// The region held the seqs from the one after the last valid
		// frame's on: lost of them.
		last := max(s.prev+1, first) + lost - 1
		if lost == 0 {
			last = 0
		}
		res.corrupt = append(res.corrupt, foundRegion{&CorruptionError{Segment: name, Offset: off, End: end, Lost: lost, Err: err}, last})
	}
	for s.Next() {
		res.last = s.Seq()
		res.records++
	}
	if s.Err() != nil {
		return res, s.Err()
	}
	res.tail, res.tailOffset = s.tail, s.tailOffset
	if s.tail && next != 0 {
		res.tailLost = s.lostBefore(next)
	}
	return res, nil
}

// readCursor reads a cursor file. A damaged cursor file is reported and
// treated as missing (the cursor restarts at the oldest record: duplicates,
// never loss).
func (b *Buffer) readCursor(name string, exists bool) (uint64, bool, error) {
	if !exists {
		return 0, false, nil
	}
	fname := name + cursorSuffix
	f, err := b.fs.OpenFile(b.path(fname), os.O_RDONLY, 0)
	if err != nil {
		return 0, false, fmt.Errorf("buffer: open cursor %s: %w", name, err)
	}
	defer f.Close()
	buf := make([]byte, cursorFileSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false, fmt.Errorf("buffer: read cursor %s: %w", name, err)
	}
	var held uint64
	for _, s := range b.segs {
		held = max(held, s.last, s.first-1)
	}
	v, err := parseCursor(buf[:n], held)
	if err != nil {
		b.stats.corrupt++
		b.log.Error("buffer: damaged cursor file; the cursor restarts at the oldest record (its sink gets duplicates, never a loss)",
			"file", fname, "bytes", n, "err", err, "cursor", name)
		return 0, false, nil
	}
	return v, true, nil
}

// writeCursor stores acked for a cursor: temp file, rename; with sync the
// temp file is fsynced before the rename and the directory after it.
func (b *Buffer) writeCursor(name string, acked uint64, sync bool) error {
	final := b.path(name + cursorSuffix)
	tmp := final + tmpSuffix
	f, err := b.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write cursor %s: %w", name, err)
	}
	data := appendFileHeader(make([]byte, 0, cursorFileSize), cursorMagic, acked)
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		b.fs.Remove(tmp) // a full volume: leave it no emptier
		return fmt.Errorf("write cursor %s: %w", name, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync cursor %s: %w", name, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close cursor %s: %w", name, err)
	}
	if err := b.fs.Rename(tmp, final); err != nil {
		return fmt.Errorf("rename cursor %s: %w", name, err)
	}
	if sync {
		if err := b.fs.SyncDir(b.dir); err != nil {
			return fmt.Errorf("sync dir for cursor %s: %w", name, err)
		}
	}
	return nil
}

// active returns the segment appends go to.
func (b *Buffer) active() *segment {
	if len(b.segs) == 0 {
		return nil
	}
	return b.segs[len(b.segs)-1]
}

// findSeg returns the index of the segment whose first seq is first, or
// the index of the first segment after it (len(segs) if none).
func (b *Buffer) findSeg(first uint64) int {
	i, _ := slices.BinarySearchFunc(b.segs, first, func(s *segment, v uint64) int {
		switch {
		case s.first < v:
			return -1
		case s.first > v:
			return 1
		}
		return 0
	})
	return i
}

// firstPosAfter returns a frame boundary at or before the first record
// with seq > acked: the start of the segment that may hold it.
func (b *Buffer) firstPosAfter(acked uint64) position {
	for i := len(b.segs) - 1; i >= 0; i-- {
		if b.segs[i].first <= acked+1 {
			return position{seg: b.segs[i].first, off: segHeaderSize}
		}
	}
	if len(b.segs) > 0 {
		return position{seg: b.segs[0].first, off: segHeaderSize}
	}
	return position{}
}

// cutSegment creates a new active segment starting at nextSeq: header,
// fsync, fsync dir. The caller holds sem or b is not yet shared; b.mu must
// not be held (it is taken to publish the segment).
func (b *Buffer) cutSegment() error {
	b.mu.Lock()
	first := b.nextSeq
	old := b.active()
	if old != nil && old.broken && old.records == 0 {
		// A sealed segment without records has the name the new one needs:
		// forget it; creating the new one truncates the file.
		b.segs = b.segs[:len(b.segs)-1]
		b.bytes -= old.disk
		b.tail.forget(old)
		old.file.Close()
		old = b.active()
	}
	b.mu.Unlock()
	if old != nil && b.opts.Fsync == FsyncInterval {
		if err := old.file.Sync(); err != nil {
			b.mu.Lock()
			b.stats.syncErrors++
			b.mu.Unlock()
			b.log.Error("buffer: fsync of sealed segment failed; records written since the last fsync may not survive a power failure", "segment", old.name, "err", err)
		}
	}
	name := segName(first)
	p := b.path(name)
	f, err := b.fs.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create segment %s: %w", name, err)
	}
	fail := func(err error) error {
		f.Close()
		b.fs.Remove(p)
		return err
	}
	hdr := appendFileHeader(make([]byte, 0, segHeaderSize), segMagic, first)
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fail(fmt.Errorf("write segment header %s: %w", name, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("sync segment %s: %w", name, err))
	}
	if err := b.fs.SyncDir(b.dir); err != nil {
		return fail(fmt.Errorf("sync dir for segment %s: %w", name, err))
	}
	seg := &segment{first: first, file: f, name: name, size: segHeaderSize, disk: segHeaderSize}
	b.mu.Lock()
	b.segs = append(b.segs, seg)
	b.bytes += seg.disk
	b.collect() // the old active segment may be fully acknowledged
	b.mu.Unlock()
	return nil
}

// minAcked returns the smallest acked seq over all cursors, and false if
// there are no cursors (then nothing counts as acknowledged).
func (b *Buffer) minAcked() (uint64, bool) {
	if len(b.cursors) == 0 {
		return 0, false
	}
	m := b.cursors[0].acked
	for _, c := range b.cursors[1:] {
		m = min(m, c.acked)
	}
	return m, true
}

// minDelivered is minAcked over the cursors of sinks, Positions aside:
// records up to it were delivered everywhere, whatever a source's place.
// With no sink's cursor, it is minAcked.
func (b *Buffer) minDelivered() (uint64, bool) {
	var m uint64
	sinks := false
	for _, c := range b.cursors {
		if slices.Contains(b.opts.Positions, c.name) {
			continue
		}
		if !sinks || c.acked < m {
			m = c.acked
		}
		sinks = true
	}
	if !sinks {
		return b.minAcked()
	}
	return m, true
}

// unacked reports whether some retained record is not acknowledged by
// every cursor. b.mu is held.
func (b *Buffer) unacked() bool {
	m, ok := b.minAcked()
	if !ok {
		for _, s := range b.segs {
			if s.records > 0 {
				return true
			}
		}
		return false
	}
	return m+1 < b.nextSeq && b.recordsAfter(m) > 0
}

// recordsAfter counts retained records with seq > acked. b.mu is held.
func (b *Buffer) recordsAfter(acked uint64) uint64 {
	var n uint64
	for _, s := range b.segs {
		switch {
		case s.records == 0 || s.last <= acked:
		case s.first > acked:
			n += uint64(s.records)
		default:
			n += min(uint64(s.records), s.last-acked)
		}
	}
	return n
}

// collect deletes the sealed segments every cursor has passed. b.mu is held.
func (b *Buffer) collect() {
	m, ok := b.minAcked()
	if !ok {
		return
	}
	removed := false
	for len(b.segs) > 1 && b.segs[1].first-1 <= m {
		b.removeOldest()
		removed = true
	}
	if removed {
		b.signalSpace()
	}
}

// removeOldest takes the oldest segment out of the log and hands it to
// reapLoop to close and delete. Its bytes stop counting at once. b.mu is
// held.
func (b *Buffer) removeOldest() *segment {
	s := b.segs[0]
	b.segs = b.segs[1:]
	b.bytes -= s.disk
	b.tail.forget(s)
	b.doomed = append(b.doomed, s)
	select {
	case b.reapWake <- struct{}{}:
	default: // already woken
	}
	return s
}

// reapLoop closes and deletes doomed segments until Close, then deletes
// what is left.
func (b *Buffer) reapLoop() {
	defer close(b.reapDone)
	for {
		select {
		case <-b.reapWake:
			b.reap()
		case <-b.closedCh:
			b.reap()
			return
		}
	}
}

// reap closes and deletes the doomed segments. No Reader can reach them:
// Readers read only the segments in segs, under mu. A crash before the
// deletion leaves a file every cursor is past, which the next Open
// deletes.
func (b *Buffer) reap() {
	b.reapMu.Lock()
	defer b.reapMu.Unlock()
	b.mu.Lock()
	doomed := b.doomed
	b.doomed = nil
	retry := slices.Clone(b.stuck) // they stay counted while tried
	b.mu.Unlock()
	var stuck, gone []*segment
	for _, s := range doomed {
		s.file.Close()
		if err := b.fs.Remove(b.path(s.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("buffer: remove segment failed; it stays on disk and counts in sidetrail_buffer_bytes until a later try succeeds", "segment", s.name, "err", err)
			stuck = append(stuck, s)
		}
	}
	for _, s := range retry {
		if err := b.fs.Remove(b.path(s.name)); err == nil || errors.Is(err, os.ErrNotExist) {
			gone = append(gone, s)
		}
	}
	if len(stuck) > 0 || len(gone) > 0 {
		b.mu.Lock()
		b.stuck = slices.DeleteFunc(b.stuck, func(s *segment) bool { return slices.Contains(gone, s) })
		b.stuck = append(b.stuck, stuck...)
		b.mu.Unlock()
	}
}

// dropOldest deletes the oldest sealed segment regardless of cursors
// (WhenFull: DropOldest). b.mu is held; len(b.segs) > 1.
func (b *Buffer) dropOldest() {
	s := b.segs[0]
	m, ok := b.minThrough()
	lost := s.lostAfter(m, ok)
	for _, c := range b.cursors {
		if !slices.Contains(b.opts.Positions, c.name) {
			t := b.through(c)
			c.dropped += s.lostAfter(t, true)
			if lo, hi := max(s.first, c.acked+1), min(s.last, t); s.records > 0 && hi >= lo {
				c.held = append(c.held, seqRange{lo, hi})
			}
		}
	}
	b.removeOldest()
	b.stats.dropped += lost
	b.dropSince += lost
	b.logDrops(false)
	b.signalSpace()
}

// countAbandoned counts as dropped, at Close, the records a sink's reader
// had read and not acknowledged whose segment DropOldest deleted: a drop
// did not count them, their reader being about to deliver them, and the
// stop (or reload) abandoned them (delivery20 F2: 2,000 lost uncounted).
// b.mu is held.
func (b *Buffer) countAbandoned() {
	most := uint64(0)
	for _, c := range b.cursors {
		var n uint64
		for _, h := range c.held {
			n += h.hi - h.lo + 1
		}
		c.held = nil
		c.dropped += n
		most = max(most, n)
	}
	// The buffer's count is of records some sink lost: sinks that
	// abandoned the same records count them once (those of one sink that
	// another also lost may be counted there already: the larger share).
	b.stats.dropped += most
	b.dropSince += most
}

// seqRange is the records lo through hi.
type seqRange struct{ lo, hi uint64 }

// ackHeld forgets what c.held holds through seq: acknowledged, delivered.
// b.mu is held.
func (c *cursor) ackHeld(seq uint64) {
	c.held = slices.DeleteFunc(c.held, func(h seqRange) bool { return h.hi <= seq })
	for i := range c.held {
		c.held[i].lo = max(c.held[i].lo, seq+1)
	}
}

// minThrough is the lowest seq through which every sink's cursor
// (Positions aside) has its records: acknowledged, or read and in flight (a
// Reader delivers what it has read though its segment goes). Records after it that a drop deletes
// are lost; those before it are not, and are not counted. b.mu is held.
func (b *Buffer) minThrough() (uint64, bool) {
	if len(b.cursors) == 0 {
		return 0, false
	}
	m, ok := ^uint64(0), false
	for _, c := range b.cursors {
		if slices.Contains(b.opts.Positions, c.name) {
			continue
		}
		ok = true
		m = min(m, b.through(c))
	}
	return m, ok
}

// through is the seq through which c has its records: acknowledged, or read
// and in flight. b.mu is held.
func (b *Buffer) through(c *cursor) uint64 {
	t := c.acked
	if r := c.reader; r != nil && len(r.marks) > 0 {
		t = max(t, r.marks[len(r.marks)-1].last)
	}
	return t
}

// lostAfter is how many of s's records a drop loses for a reader that has
// them through seq m (ok false: no reader at all, every record).
func (s *segment) lostAfter(m uint64, ok bool) uint64 {
	switch {
	case s.records == 0:
		return 0
	case !ok || m < s.first:
		return uint64(s.records)
	case s.last > m:
		return min(uint64(s.records), s.last-m)
	}
	return 0
}

// dropLogEvery is how often the drop warning may be logged.
var dropLogEvery = 10 * time.Second

// logDrops logs the records dropped since the last such warning: at most
// every 10 s, unless final (Close). Drops held back are logged when the 10 s
// are over, by a timer: a burst's count waited for the next append or the
// stop (sinks11: 5,594 drops logged 71 s late). Appends call it too. b.mu
// is held.
func (b *Buffer) logDrops(final bool) {
	now := time.Now()
	if b.dropSince == 0 {
		return
	}
	if wait := dropLogEvery - now.Sub(b.lastDrop); !final && wait > 0 {
		if b.dropTimer == nil {
			b.dropTimer = time.AfterFunc(wait, func() {
				b.mu.Lock()
				defer b.mu.Unlock()
				b.dropTimer = nil
				if !b.closed {
					b.logDrops(false)
				}
			})
		}
		return
	}
	b.log.Warn("buffer: full, dropped the oldest unacknowledged records (when_full: drop_oldest)", "dropped", b.dropSince, "dropped_total", b.stats.dropped)
	b.lastDrop, b.dropSince = now, 0
}

func (b *Buffer) signalSpace() {
	close(b.spaceCh)
	b.spaceCh = make(chan struct{})
}

func (b *Buffer) signalData() {
	close(b.dataCh)
	b.dataCh = make(chan struct{})
}

// Append writes records to the log as one write followed (per the fsync
// policy) by one fsync, and returns the sequence number of the last one;
// the records get consecutive numbers ending there. When Append returns
// nil, the records are durable (FsyncBatch, FsyncAlways) or written to the
// page cache (FsyncInterval). The buffer copies the records; the caller
// keeps ownership of records and may reuse them at once.
//
// Append blocks while the buffer is full in Block mode, until acks free
// space or ctx ends (then it returns ctx.Err() and wrote nothing). A batch
// larger than MaxBytes is accepted when no unacknowledged record is
// buffered. Appending zero records returns the last assigned seq.
//
// On a write or fsync error nothing of this call counts as written: the
// file is cut back to where the call started (and, if fsync failed or the
// cut-back failed, the segment is sealed and a new one cut), the error is
// counted in Stats and returned, and the caller should retry. The failed
// call's sequence numbers are reused by the retry. Known limit: if the
// cut-back fails and the process then dies before the new segment exists,
// complete frames of the failed call may be read after restart (a
// duplicate once the caller has retried, never a loss).
//
// Append is safe for concurrent use with itself (calls are serialised) and
// with Readers. After Close it returns sidetrail.ErrClosed.
func (b *Buffer) Append(ctx context.Context, records [][]byte) (lastSeq uint64, err error) {
	return b.append(ctx, records, false)
}

// TryAppend is Append, except that where Append would wait for room it
// returns ErrFull at once, having written nothing. A source calls it first,
// and on ErrFull moves its own cursor before it waits: the segments its
// cursor holds back are the room (a small buffer filled and waited 50 ms
// for each segment, buffer13 F2).
func (b *Buffer) TryAppend(ctx context.Context, records [][]byte) (lastSeq uint64, err error) {
	return b.append(ctx, records, true)
}

func (b *Buffer) append(ctx context.Context, records [][]byte, try bool) (lastSeq uint64, err error) {
	need := int64(0)
	for _, r := range records {
		if len(r) > maxRecordBytes {
			return 0, fmt.Errorf("buffer: record of %d bytes exceeds the limit of %d", len(r), maxRecordBytes)
		}
		need += frameHeaderSize + int64(len(r))
	}
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-b.closedCh:
		return 0, sidetrail.ErrClosed
	}
	defer func() { <-b.sem }()

	var seg *segment
	var blockedSince time.Time
	defer func() {
		if !blockedSince.IsZero() {
			b.endBlocked(blockedSince)
		}
	}()
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return 0, sidetrail.ErrClosed
		}
		if len(records) == 0 {
			last := b.nextSeq - 1
			b.mu.Unlock()
			return last, nil
		}
		a := b.active()
		cut := a == nil || a.broken || (a.records > 0 && a.disk+need > b.opts.SegmentBytes)
		if !cut && b.bytes+need > b.opts.MaxBytes {
			switch {
			case !b.unacked():
				// Empty: accept whatever the size. If the active segment
				// holds acknowledged records, cut it so it can be deleted.
				cut = a.records > 0
			case b.opts.WhenFull == DropOldest && len(b.segs) > 1:
				b.dropOldest()
				b.mu.Unlock()
				continue
			case b.opts.WhenFull == DropOldest:
				cut = true // seal the only segment so it can be dropped
			case try:
				b.mu.Unlock()
				return 0, ErrFull
			default:
				if blockedSince.IsZero() {
					blockedSince = time.Now()
					b.stats.blocked++
					b.signalData() // wake ReadMore: nothing more comes until acks make room
				}
				space := b.spaceCh
				b.mu.Unlock()
				select {
				case <-space:
				case <-ctx.Done():
					return 0, ctx.Err()
				case <-b.closedCh:
					return 0, sidetrail.ErrClosed
				}
				continue
			}
		}
		if cut {
			b.mu.Unlock()
			if err := b.cutSegment(); err != nil {
				b.mu.Lock()
				b.stats.appendErrors++
				b.mu.Unlock()
				return 0, fmt.Errorf("buffer: append: %w", err)
			}
			continue
		}
		seg = a
		break
	}
	first := b.nextSeq // only the appender changes nextSeq, and we hold sem
	start := seg.size
	b.logDrops(false)
	if !blockedSince.IsZero() {
		b.stats.blocked--
		b.stats.blockedNanos += time.Since(blockedSince).Nanoseconds()
		blockedSince = time.Time{}
	}
	// The frames are built in the tail cache's ring, which then holds
	// them without a copy; in wbuf when the ring cannot.
	out := b.tail.reserve(seg, start, int(need))
	inRing := out != nil
	b.mu.Unlock()

	if !inRing {
		// One allocation when the batch is the largest yet, not a
		// doubling series whose garbage lingers until the next collection.
		b.wbuf = slices.Grow(b.wbuf[:0], int(need))
		out = b.wbuf[:0]
	}
	reserved := out
	for i, r := range records {
		out = appendFrame(out, first+uint64(i), r)
	}
	// The frames fill the reserved memory exactly; had appendFrame ever
	// outgrown it, the ring would not hold them.
	inRing = inRing && len(out) == int(need) && &out[0] == &reserved[:1][0]
	var werr, serr error
	if b.opts.Fsync == FsyncAlways {
		off := 0
		for i := range records {
			n := frameHeaderSize + len(records[i])
			if _, werr = seg.file.WriteAt(out[off:off+n], start+int64(off)); werr != nil {
				break
			}
			if serr = seg.file.Sync(); serr != nil {
				break
			}
			off += n
		}
	} else {
		_, werr = seg.file.WriteAt(out, start)
		if werr == nil && b.opts.Fsync == FsyncBatch {
			serr = seg.file.Sync()
		}
	}
	if werr != nil || serr != nil {
		terr := seg.file.Truncate(start)
		b.mu.Lock()
		if werr != nil {
			b.stats.appendErrors++
		} else {
			b.stats.syncErrors++
		}
		broken := serr != nil || terr != nil
		if broken {
			// After a failed fsync the kernel's view of the file cannot be
			// trusted; after a failed cut there may be frames beyond size.
			// Seal the segment. The next segment starts at the same
			// sequence number the failed frames carry, so on reopen they
			// fail the "seq below the next segment's first" check and are
			// skipped as corruption instead of read as records.
			seg.broken = true
			if terr != nil {
				seg.disk += need
				b.bytes += need
			}
		}
		b.mu.Unlock()
		if broken {
			// Cut the next segment now rather than at the next Append, so a
			// crash before then does not leave the sealed one last (where
			// its leftover frames would pass as records).
			if cerr := b.cutSegment(); cerr != nil {
				b.log.Error("buffer: cutting a new segment after a failed append failed; retrying at the next append", "err", cerr)
			}
		}
		err := werr
		if err == nil {
			err = serr
		}
		if terr != nil {
			b.log.Error("buffer: could not cut back a failed append; the segment is sealed", "segment", seg.name, "err", terr)
			return 0, fmt.Errorf("buffer: append: %w (and cutting back failed: %v)", err, terr)
		}
		return 0, fmt.Errorf("buffer: append: %w", err)
	}

	b.mu.Lock()
	if inRing {
		b.tail.commit(seg, start, len(out))
	}
	seg.size += need
	seg.disk += need
	seg.records += int64(len(records))
	seg.last = first + uint64(len(records)) - 1
	b.bytes += need
	b.nextSeq = seg.last + 1
	b.stats.appended += uint64(len(records))
	if b.opts.Fsync == FsyncInterval {
		b.dirty = true
	}
	b.signalData()
	b.mu.Unlock()
	return seg.last, nil
}

func (b *Buffer) endBlocked(since time.Time) {
	b.mu.Lock()
	b.stats.blocked--
	b.stats.blockedNanos += time.Since(since).Nanoseconds()
	b.mu.Unlock()
}

// syncLoop fsyncs the active segment every FsyncInterval while it is dirty.
func (b *Buffer) syncLoop() {
	defer close(b.syncDone)
	t := time.NewTicker(b.opts.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-b.syncStop:
			return
		case <-t.C:
			b.syncActive()
		}
	}
}

// syncActive fsyncs the active segment if it was written since the last
// fsync.
func (b *Buffer) syncActive() error {
	b.mu.Lock()
	seg, dirty := b.active(), b.dirty
	b.dirty = false
	b.mu.Unlock()
	if !dirty || seg == nil {
		return nil
	}
	err := seg.file.Sync()
	if err == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Contains(b.segs, seg) {
		return nil // deleted meanwhile
	}
	b.stats.syncErrors++
	seg.broken = true
	b.log.Error("buffer: periodic fsync failed; records written since the last fsync may not survive a power failure", "segment", seg.name, "err", err)
	return err
}

// Close fsyncs and closes the buffer. It wakes blocked Append and Read
// calls, which return sidetrail.ErrClosed, waits for an Append in progress
// to finish, and returns the first error. Close is idempotent; after it,
// every other method returns sidetrail.ErrClosed.
func (b *Buffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closedCh)
	b.countAbandoned()
	b.logDrops(true)
	if b.dropTimer != nil {
		b.dropTimer.Stop()
		b.dropTimer = nil
	}
	cursors := slices.Clone(b.cursors)
	b.mu.Unlock()
	// Make the last acknowledgements durable. Holding ackMu waits for an
	// Ack under way; later ones see closed.
	var cerr error
	for _, c := range cursors {
		if c.reader == nil {
			continue
		}
		c.reader.ackMu.Lock()
		if c.unsynced {
			if err := b.syncCursor(c.name); err != nil && cerr == nil {
				cerr = fmt.Errorf("buffer: close: %w", err)
			}
			c.unsynced = false
		}
		b.closeCursor(c)
		c.reader.ackMu.Unlock()
	}
	if b.syncStop != nil {
		close(b.syncStop)
		<-b.syncDone
	}
	b.sem <- struct{}{} // wait for an Append doing I/O
	defer func() { <-b.sem }()
	<-b.reapDone
	defer b.reap() // what was doomed after reapLoop's last look
	b.mu.Lock()
	defer b.mu.Unlock()
	first := cerr
	if a := b.active(); a != nil {
		if err := a.file.Sync(); err != nil {
			first = fmt.Errorf("buffer: close: sync %s: %w", a.name, err)
		}
	}
	for _, s := range b.segs {
		if err := s.file.Close(); err != nil && first == nil {
			first = fmt.Errorf("buffer: close %s: %w", s.name, err)
		}
	}
	return first
}

// overwriteCursor writes acked over the cursor file through c.file, in
// place: 20 bytes in one sector, checksummed (a torn write reads as a
// damaged cursor, which restarts at the oldest record: duplicates, never
// loss). Used between the durable writes.
func (b *Buffer) overwriteCursor(c *cursor, acked uint64) error {
	var buf [cursorFileSize]byte
	data := appendFileHeader(buf[:0], cursorMagic, acked)
	if _, err := c.file.WriteAt(data, 0); err != nil {
		return fmt.Errorf("write cursor %s: %w", c.name, err)
	}
	return nil
}

// overwriteCursorFull writes acked over the cursor file in place, as
// overwriteCursor, on a volume too full for writeCursor's temp file, and
// fsyncs it with sync. It needs the cursor file to exist.
func (b *Buffer) overwriteCursorFull(c *cursor, acked uint64, sync bool) error {
	if c.file == nil {
		b.reopenCursor(c)
		if c.file == nil {
			return fmt.Errorf("cursor %s: no file to write in place", c.name)
		}
	}
	if err := b.overwriteCursor(c, acked); err != nil {
		return err
	}
	if sync {
		return c.file.Sync()
	}
	return nil
}

// cursorFileExists reports whether the cursor named name has a file (an
// error other than its absence counts as one: nothing is assumed).
func (b *Buffer) cursorFileExists(name string) bool {
	f, err := b.fs.OpenFile(b.path(name+cursorSuffix), os.O_RDONLY, 0)
	if err == nil {
		f.Close()
	}
	return !errors.Is(err, os.ErrNotExist)
}

// noSpace reports whether err says the volume is full.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// reopenCursor points c.file at the cursor file now in place (after
// writeCursor renamed a new one over it); on failure c.file is nil.
func (b *Buffer) reopenCursor(c *cursor) {
	b.closeCursor(c)
	if f, err := b.fs.OpenFile(b.path(c.name+cursorSuffix), os.O_WRONLY, 0); err == nil {
		c.file = f
	}
}

func (b *Buffer) closeCursor(c *cursor) {
	if c.file != nil {
		c.file.Close()
		c.file = nil
	}
}

// syncCursor fsyncs a cursor file and the directory.
func (b *Buffer) syncCursor(name string) error {
	f, err := b.fs.OpenFile(b.path(name+cursorSuffix), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sync cursor %s: %w", name, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = b.fs.SyncDir(b.dir)
	}
	if err != nil {
		return fmt.Errorf("sync cursor %s: %w", name, err)
	}
	return nil
}

// Dir returns the buffer's directory.
func (b *Buffer) Dir() string { return b.dir }
