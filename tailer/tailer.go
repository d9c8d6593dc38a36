package tailer

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fsnotify/fsnotify"
	sidetrail "github.com/sidetrail/sidetrail"
)

// Line is one complete line (or one fragment of an overlong line), as Next
// hands it out. Only Bytes is borrowed (see there); the rest is a value.
type Line struct {
	// Key identifies the logical file: hash(source, dev, inode, fingerprint,
	// generation). A copytruncate copy inherits the original's Key, so
	// (Key, Start) is the same whichever name the line was read from.
	Key uint64
	// Path is the file's path when the line was read.
	Path string
	// Start is the offset of the line's first byte; End the offset just past
	// its newline (or past the fragment, or past the unterminated tail of a
	// finished file).
	Start, End int64
	// Bytes is the line without its trailing '\n'. It points into the
	// Tailer's read buffer and is valid only until the next call to Next.
	Bytes []byte
	// Fragment marks a piece of a line longer than MaxLineBytes. Every piece
	// of such a line is flagged; the last piece is the one whose End is past
	// its newline (End == Start+len(Bytes)+1), or the file's final bytes.
	Fragment bool
	// Pos is the line's position, to hand to Commit once the line is durable
	// downstream.
	Pos Position
}

// Position is an opaque token for Commit: the file identity and the offset
// just past one line. It holds no file descriptor and no buffer; it may be
// kept after Next is called again.
type Position struct {
	st  *stream
	end int64
	mid bool
}

// Stats is a snapshot of the Tailer's counters (monotonic over the Tailer's
// life) and gauges (current values). It owns its AtRisk slice.
type Stats struct {
	LinesRead   uint64 // lines and fragments handed out
	BytesRead   uint64 // bytes handed out, newlines included
	Fragments   uint64 // fragments handed out
	OpenFiles   int    // descriptors held
	Tracked     int    // file identities in the checkpoint
	Rotations   uint64 // files seen renamed away or deleted
	Truncations uint64 // truncations detected (size < offset or head changed)
	Copies      uint64 // copytruncate copies recognised
	// TruncatedBytesLost counts bytes seen in a file before it was truncated
	// that were neither read nor found in a copy: copytruncate's window.
	TruncatedBytesLost uint64
	// UnopenedBytesLost counts bytes of files that waited for a descriptor
	// (max_open_files) and went away before they could be read: the
	// size last seen, less what was read before a file gave its
	// descriptor up.
	UnopenedBytesLost uint64
	// NULBytesSkipped counts NUL bytes skipped before lines (a hole a
	// writer without O_APPEND left after a copytruncate).
	NULBytesSkipped uint64
	// BytesBehind is the sum over tracked files of (size - committed
	// offset), plus the sizes of the files at risk (not opened yet).
	BytesBehind int64
	// FilesAtRisk counts matching files that could not be opened because
	// MaxOpenFiles descriptors are held; AtRisk names them.
	FilesAtRisk int
	AtRisk      []string
	Polling     bool   // fsnotify is off (Options.Poll or inotify exhausted)
	Unreadable  uint64 // paths found unreadable (each counted once per episode)
	Errors      uint64 // read/stat/watch errors
	// CheckpointWrites and CheckpointErrors count checkpoint flushes.
	CheckpointWrites uint64
	CheckpointErrors uint64
	// StallScans counts scans run while no Next was running (backpressure).
	StallScans uint64
	// CorruptCheckpoints is 1 when the checkpoint file could not be read at
	// start and was set aside: every file is read again from the beginning.
	CorruptCheckpoints uint64
}

// stream is one logical file: the identity that is checkpointed. Its key,
// fpLen, fpHash and gen never change; the other fields are guarded by
// Tailer.ckMu.
type stream struct {
	key    uint64
	fpLen  int
	fpHash uint64
	gen    uint32

	// head is a copy of the current file's first bytes as read (at most
	// FingerprintBytes): the checkpoint hashes it, and a dropped stream is
	// taken up again only by a file that starts with them (see syncHead).
	head []byte
	// headLen and headHash stand for head while a checkpoint entry has no
	// file yet (headLen 0: not known, an old checkpoint).
	headLen  int
	headHash uint64

	dev, ino  uint64
	path      string
	committed int64
	mid       bool
	size      int64
	copy      bool   // continued by a copytruncate copy (see checkpointEntry.Copy)
	born      uint64 // its file's creation time (0: unknown; see checkpointEntry.Born)
	orphan    bool   // waits as an orphan for a copy (see checkpointEntry.Orphan)
	away      bool   // its file was rotated away (see checkpointEntry.Away)
	awayFrom  string // the path it went away from (checkpointEntry.AwayFrom)
}

type devIno struct{ dev, ino uint64 }

// unmatchedPattern is what glob remembers of a pattern that matches nothing.
type unmatchedPattern struct {
	since  time.Time // when it last started to match nothing; zero while it matches
	logged bool      // "no file matches" was said for this episode
}

// file is an inode we know of. Owned by the Next goroutine.
type file struct {
	seq        uint64
	id         devIno
	path       string // where last seen
	origPath   string // where first seen by this process
	fd         *os.File
	sysfd      int
	st         *stream // nil until the file has had bytes (or while a paused copy)
	head       []byte  // first bytes as read, up to FingerprintBytes
	offset     int64   // next byte to hand out
	mid        bool    // offset is inside an overlong line
	inHole     bool    // NULs before a line are being skipped (logged once per run)
	size       int64   // last stat'ed size
	mtime      int64
	eof        bool   // a read found no more bytes; cleared by wakes and growth
	away       bool   // renamed away from origPath or deleted (until back at awayFrom)
	awayFrom   string // the path it was live under when it went away
	final      bool   // finished: hand out the unterminated tail, then close
	changed    time.Time
	copyOf     *file // a paused copytruncate copy of a live file
	seenScan   uint64
	origScan   uint64
	firstScan  uint64
	resumed    bool      // matched a checkpoint entry
	lastSeen   time.Time // when a scan last found it
	linkTarget string    // path's target when path is a symlink (its directory is watched)
	skipped    bool      // compressed: closed, never read (until it is forgotten)
	born       uint64    // creation time when opened (0: unknown); see birth
	parked     bool      // a live file that gave its descriptor up (max_open_files), not finished
	wantFd     bool      // parked, and to be opened even if unchanged (see lookWhileWaiting)
	finEOF     bool      // read to its end after a scan made since Finish: done (see Next)
}

// orphan is a stream whose file was truncated (or, on start, a checkpoint
// entry whose file is gone): a copy appearing later continues it.
type orphan struct {
	st       *stream
	head     []byte // nil for checkpoint entries: match by fp hash
	offset   int64
	mid      bool
	lastSize int64
	until    time.Time
	startup  bool
}

// Tailer follows the files matching Options.Paths.
//
// Concurrency: Next and Commit are called from one goroutine. Close and
// Stats may be called from any goroutine. All file state is guarded by
// nextMu, which Next holds for its whole call; a stall scanner takes it only
// while no Next runs. A watcher goroutine (fsnotify) only signals wake-ups,
// and a flusher goroutine writes the checkpoint from committed positions
// (guarded by ckMu).
type Tailer struct {
	o     Options
	log   *slog.Logger
	fpMax int

	nextMu      sync.Mutex // held by Next; Close takes it to wait Next out
	closed      atomic.Bool
	finishing   atomic.Bool // Finish was called: Next reads to the end, then says so
	finishScans int         // the scans Next made since finishing (see Next)
	finScanned  bool        // a scan began after Finish was called
	closeCh     chan struct{}
	closeOnce   sync.Once
	closeErr    error
	wg          sync.WaitGroup

	wake   chan struct{}
	rescan atomic.Bool
	// dirty names the files written since the last wake-up (fsnotify
	// Write events); dirtyAll says to look at every file (another event, an
	// overflow, too many names). A wake-up reads only the files named: it
	// used to read every open file, which with 500 files at 2,000 lines/s
	// took a whole core (a read per file and a pick over all per wake).
	dirtyMu    sync.Mutex
	dirty      map[string]bool // true once a wake-up found a file under the name
	dirtySpare map[string]bool
	dirtyAll   bool
	// unidentified: the paths (and symlink targets) of the files the last
	// scan left waiting for the first bytes that give them an identity.
	unidentified atomic.Pointer[map[string]bool]
	watcher      *fsnotify.Watcher
	watched      map[string]uint64 // dir -> inode
	newLinkDir   bool              // a symlink found by this scan points into a directory: watch it

	// Next-goroutine state.
	files         map[devIno]*file
	unmatched     []unmatchedPattern // per Options.Paths
	order         []*file            // by seq
	seq           uint64
	scanSeq       uint64
	nextScan      time.Time
	timer         *time.Timer
	rr            int
	fills         uint64 // reads into the buffer (tests count them)
	globErrLogged time.Time
	riskLogged    time.Time
	nOpen         int
	firstRun      bool
	scanned       bool
	firstSaved    bool
	pending       map[devIno]*checkpointEntry // loaded, not yet matched; written under ckMu
	resumeAt      map[uint64]int64            // Options.Resume and the checkpoint's; owned like files, deleted from under ckMu (see pruneResume)
	scannedAt     time.Time                   // when the first scan ran
	resumePruned  time.Time                   // when pruneResume last looked
	orphans       []*orphan
	goneSince     map[devIno]time.Time // pending entries not found at start, since when
	wentMissing   map[devIno]time.Time // since when the last tailer missed the files it knew (Handoff)
	dropped       map[uint64]*stream   // streams of forgotten files, by key (see rememberDropped); owned like files
	usedKeys      map[uint64]struct{}
	cwd           string   // where relative paths are from ("" if unknown)
	absExclude    []string // Options.Exclude absolute (from cwd) and cleaned
	// gens: per file, the gen its next stream starts from, kept in the
	// checkpoint. A file truncated in place and written again with the
	// same first line gets a new key each time by its gen, which counted
	// only the keys this run remembered: after a restart or reload, with
	// the keys of the generations before gone from the checkpoint (their
	// copies deleted, or never made), the next generation took gen 0
	// again, and the record IDs of the first one's lines; Elasticsearch
	// answered 409 for each, and they were lost (tailer22 P3). Guarded by
	// ckMu; at most maxGens entries, the oldest set dropped first.
	gens       map[genID]genFloor
	genSeq     uint64
	bad        map[string]string  // path -> reason, logged once
	badLogged  map[string]badNote // when each skipped path was last logged (markBad)
	atRisk     map[string]riskEntry
	handedRisk map[string]riskEntry // the last tailer's atRisk, until the first scan's end (Handoff)
	goneRisk   map[riskKey]goneRisk // files at risk that went away (lostUnopened)
	inherited  map[devIno]heldFile  // handed over by the last tailer; taken up by the first scan
	startAt    StartAt

	buf     []byte
	bufFile *file
	bufOff  int64
	r, w    int
	bufEOF  bool
	// Lines and bytes handed out from buf and not yet added to stats:
	// they are added once the buffer is used up, not with two atomic adds
	// per line.
	bufLines, bufBytes uint64
	scratch            []byte
	statBuf            syscall.Stat_t

	// ckMu guards streams, every stream's mutable fields, ckGen, atRiskList.
	ckMu        sync.Mutex
	streams     map[*stream]struct{}
	ckGen       uint64
	ckWritten   uint64
	atRiskList  []string
	atRiskBytes int64
	writeMu     sync.Mutex // serialises checkpoint writes

	stats struct {
		lines, bytes, frags                  atomic.Uint64
		rotations, truncations, copies, lost atomic.Uint64
		unopenedLost, nuls                   atomic.Uint64
		unreadable, errors, ckWrites, ckErrs atomic.Uint64
		open                                 atomic.Int64
		stallScans, corruptCk                atomic.Uint64
		polling                              atomic.Bool
	}
}

// New validates opts, loads the checkpoint (a corrupt one is renamed to
// .corrupt, logged and replaced by a from-the-beginning first run), and
// starts the fsnotify watcher (unless polling), the checkpoint flusher (when
// CheckpointPath is set) and the stall scanner. Files are opened by the
// first scan: the first Next, or the stall scanner after ScanInterval.
func New(opts Options) (*Tailer, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Tailer{
		o:           o,
		cwd:         cwd(),
		log:         o.Logger,
		fpMax:       o.FingerprintBytes,
		closeCh:     make(chan struct{}),
		wake:        make(chan struct{}, 1),
		dirty:       make(map[string]bool),
		dirtySpare:  make(map[string]bool),
		watched:     make(map[string]uint64),
		files:       make(map[devIno]*file),
		pending:     make(map[devIno]*checkpointEntry),
		resumeAt:    maps.Clone(o.Resume),
		goneSince:   make(map[devIno]time.Time),
		dropped:     make(map[uint64]*stream),
		usedKeys:    make(map[uint64]struct{}),
		gens:        make(map[genID]genFloor),
		bad:         make(map[string]string),
		atRisk:      make(map[string]riskEntry),
		inherited:   o.Handoff.take(o.Source),
		wentMissing: o.Handoff.takeGone(o.Source),
		streams:     make(map[*stream]struct{}),
		startAt:     o.StartAt,
		buf:         make([]byte, min(o.ReadBufferBytes, o.MaxLineBytes+2)),
		scratch:     make([]byte, o.FingerprintBytes),
		ckGen:       1,
	}
	if len(t.buf) < 64 {
		t.buf = make([]byte, 64)
	}
	for _, ex := range o.Exclude {
		t.absExclude = append(t.absExclude, t.absPath(ex))
	}
	t.firstRun = true
	if r := o.Handoff.takeRisk(o.Source); len(r.atRisk) > 0 || len(r.gone) > 0 {
		t.handedRisk = r.atRisk
		t.goneRisk = make(map[riskKey]goneRisk, len(r.gone))
		for id, g := range r.gone {
			g.scan = 0 // decided at the first scan, which sees where files are now
			t.goneRisk[id] = g
		}
	}
	if o.CheckpointPath != "" {
		cp, err := loadCheckpoint(o.CheckpointPath)
		switch {
		case errors.Is(err, errCorruptCheckpoint):
			aside := o.CheckpointPath + ".corrupt"
			rerr := os.Rename(o.CheckpointPath, aside)
			t.log.Error("tailer: corrupt checkpoint set aside; reading every file from the beginning",
				"err", err, "moved_to", aside, "rename_err", rerr)
			if rerr != nil {
				return nil, fmt.Errorf("tailer: %w (and cannot set it aside: %v)", err, rerr)
			}
			t.startAt = Beginning
			t.stats.corruptCk.Store(1)
		case err != nil:
			return nil, fmt.Errorf("tailer: %w", err)
		case cp != nil:
			t.firstRun = false
			if t.resumeAt == nil && len(cp.Resume) > 0 {
				t.resumeAt = make(map[uint64]int64, len(cp.Resume))
			}
			for _, r := range cp.Resume {
				if r.Offset > t.resumeAt[r.Key] {
					t.resumeAt[r.Key] = r.Offset
				}
			}
			now := time.Now()
			for _, g := range cp.Gens {
				t.genSeq++
				t.gens[genID{g.Dev, g.Ino, g.Born, g.FpLen, g.FpHash}] = genFloor{next: g.Next, seq: t.genSeq}
			}
			for i := range cp.Files {
				e := &cp.Files[i]
				t.usedKeys[e.Key] = struct{}{}
				t.usePastGens(e)
				id := devIno{e.Dev, e.Ino}
				if other := t.pending[id]; e.Orphan || other != nil {
					// A truncated file's entry waiting for its copy (its
					// inode holds the file's new content, another entry):
					// matched by content only. Of two entries for one
					// inode in an older checkpoint, the one left over
					// waits so too; only one was kept, and a reload
					// read the other's lines again (regress10).
					if other != nil && !e.Orphan {
						t.pending[id], e = e, other
					}
					t.loadedOrphan(e, now)
					continue
				}
				t.pending[id] = e
			}
		}
	}
	t.timer = time.NewTimer(time.Hour)
	t.timer.Stop()
	if o.Poll {
		t.stats.polling.Store(true)
	} else if w, err := t.newWatcher(); err != nil {
		t.stats.polling.Store(true)
		t.log.Warn("tailer: fsnotify unavailable (inotify instances exhausted?); polling", "err", err)
	} else {
		t.watcher = w
		t.wg.Add(1)
		go t.watchLoop(w)
	}
	if t.firstRun && t.startAt == End {
		// A first run starts at the files' ends as they are now, before
		// the agent says it runs, not at the first read: a line written
		// in between was skipped. The first scan also writes the first
		// checkpoint, which makes the next start no first run.
		t.nextMu.Lock()
		t.runScan(time.Now())
		t.nextMu.Unlock()
	}
	if o.CheckpointPath != "" {
		t.wg.Add(1)
		go t.flushLoop()
	}
	t.wg.Add(1)
	go t.stallScanLoop()
	return t, nil
}

// ErrFinished is what Next returns, after Finish, once every file has been
// read to the end it had.
var ErrFinished = errors.New("tailer: every file read to its end")

// Finish makes Next read every file to its end as it is now (after one more
// scan, which finds grown and new files), then return ErrFinished instead
// of waiting for more. For a stop that must not leave what the files hold
// behind: the next start a deleted pod never has (docs19 F7). Safe from any
// goroutine.
func (t *Tailer) Finish() {
	t.finishing.Store(true)
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Next blocks until a line is ready and returns it. Line.Bytes is valid until
// the next call. Next returns ctx.Err() when ctx ends and sidetrail.ErrClosed
// after Close. Only one goroutine may call Next (and Commit).
//
// A line is handed out once per process; it is durable nowhere until the
// caller commits its Position.
func (t *Tailer) Next(ctx context.Context) (Line, error) {
	t.nextMu.Lock()
	defer t.nextMu.Unlock()
	for {
		if t.closed.Load() {
			return Line{}, sidetrail.ErrClosed
		}
		if t.bufFile != nil {
			if l, ok := t.bufLine(); ok {
				return l, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return Line{}, err
		}
		now := time.Now()
		due := !now.Before(t.nextScan)
		if t.rescan.Swap(false) || due {
			t.runScan(now)
		}
		if f := t.pick(); f != nil {
			t.fill(f, now)
			continue
		}
		if t.finishing.Load() {
			// A scan, to see every file as it is now (grown, new); then
			// again while files wait for a descriptor (a file read to its
			// end gives its descriptor up, and the next scan opens one
			// that waits: regress19 F-A), a bounded number of times, so
			// that files that never free one end it too. A file read to
			// its end since that scan is not opened again, though it
			// grows: its descriptor goes to the files that wait
			// (regress19c R2).
			if t.finishScans == 0 || len(t.atRisk) > 0 && t.finishScans <= 2*(len(t.files)+len(t.atRisk))+1 {
				t.finishScans++
				t.runScan(now)
				continue
			}
			t.flushLineStats()
			return Line{}, ErrFinished
		}
		t.flushLineStats()
		t.timer.Reset(t.nextScan.Sub(now))
		select {
		case <-ctx.Done():
			t.timer.Stop()
			return Line{}, ctx.Err()
		case <-t.closeCh:
			t.timer.Stop()
			return Line{}, sidetrail.ErrClosed
		case <-t.wake:
			t.timer.Stop()
			t.wakeDirty()
		case <-t.timer.C:
		}
	}
}

// Checkpoint writes the committed positions to the checkpoint file now, if
// they changed since the last write, and returns when they are durable (or
// the write failed). The pipeline calls it before it tells the buffer that
// this source's records are covered by a checkpoint. Safe for concurrent use.
func (t *Tailer) Checkpoint() error { return t.flush(false) }

// Commit records that the line at p and every earlier line of its file are
// durable downstream, so the checkpoint may advance to p's End. Call it after
// the buffer's Append returned, from any goroutine: it takes only the
// checkpoint lock, never the one Next holds. It does not block on I/O; the
// background flusher, Checkpoint and Close persist it.
func (t *Tailer) Commit(p Position) {
	if p.st == nil {
		return
	}
	t.ckMu.Lock()
	if p.end > p.st.committed {
		p.st.committed = p.end
		p.st.mid = p.mid
		t.ckGen++
	}
	t.ckMu.Unlock()
}

// Close stops the watcher, the flusher and the stall scanner, waits for a running Next to
// return (it returns ErrClosed), closes every file and writes the final
// checkpoint of committed positions. It is idempotent and returns the first
// error.
func (t *Tailer) Close() error { return t.shutdown(true) }

// shutdown(false) is a crash: no final checkpoint.
func (t *Tailer) shutdown(final bool) error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		close(t.closeCh)
		if t.watcher != nil {
			t.watcher.Close()
		}
		t.wg.Wait()
		t.nextMu.Lock()
		var held []heldFile
		for _, f := range t.order {
			if f.fd == nil {
				continue
			}
			if final && t.o.Handoff != nil && f.st != nil && f.copyOf == nil && !f.st.copy {
				// The next tailer of the source goes on with it (its
				// stream is in the final checkpoint): rotated away and
				// still read, or rotated away while the reload runs, which
				// no tailer sees by its path. Only the files seen rotated
				// away were handed over, and lines written into one
				// renamed out of paths during a reload were lost (ops15
				// F6). The next tailer closes those it finds by path.
				held = append(held, heldFile{fd: f.fd, id: f.id, path: f.path})
			} else {
				f.fd.Close()
			}
			f.fd = nil
		}
		for _, h := range t.inherited { // not taken up: for the next one
			if final && t.o.Handoff != nil {
				h.atPath = false
				held = append(held, h)
			} else {
				h.fd.Close()
			}
		}
		t.inherited = nil
		t.o.Handoff.put(t.o.Source, held)
		if final {
			t.o.Handoff.putGone(t.o.Source, t.missing())
			t.o.Handoff.putRisk(t.o.Source, handedRisk{atRisk: maps.Clone(t.atRisk), gone: maps.Clone(t.goneRisk)})
		}
		t.stats.open.Store(0)
		t.dropBuf()
		t.nextMu.Unlock()
		if final {
			t.closeErr = t.flush(true)
		}
	})
	return t.closeErr
}

// missing returns since when each file this tailer knew and misses now
// went missing: entries not found at its start, and files no scan found
// at their paths since. nextMu is held.
func (t *Tailer) missing() map[devIno]time.Time {
	gone := maps.Clone(t.goneSince)
	for _, f := range t.order {
		if f.fd == nil && f.seenScan != t.scanSeq {
			if gone == nil {
				gone = make(map[devIno]time.Time)
			}
			if _, ok := gone[f.id]; !ok {
				gone[f.id] = f.lastSeen
			}
		}
	}
	return gone
}

// Stats returns a snapshot. It never blocks on I/O and is safe from any
// goroutine, also during a blocked Next and after Close. Counters are
// updated as lines are handed out; gauges (OpenFiles, BytesBehind, AtRisk)
// at each scan.
func (t *Tailer) Stats() Stats {
	s := Stats{
		LinesRead:          t.stats.lines.Load(),
		BytesRead:          t.stats.bytes.Load(),
		Fragments:          t.stats.frags.Load(),
		OpenFiles:          int(t.stats.open.Load()),
		Rotations:          t.stats.rotations.Load(),
		Truncations:        t.stats.truncations.Load(),
		Copies:             t.stats.copies.Load(),
		TruncatedBytesLost: t.stats.lost.Load(),
		UnopenedBytesLost:  t.stats.unopenedLost.Load(),
		NULBytesSkipped:    t.stats.nuls.Load(),
		Polling:            t.stats.polling.Load(),
		Unreadable:         t.stats.unreadable.Load(),
		Errors:             t.stats.errors.Load(),
		CheckpointWrites:   t.stats.ckWrites.Load(),
		CheckpointErrors:   t.stats.ckErrs.Load(),
		StallScans:         t.stats.stallScans.Load(),
		CorruptCheckpoints: t.stats.corruptCk.Load(),
	}
	t.ckMu.Lock()
	s.Tracked = len(t.streams)
	for st := range t.streams {
		if d := st.size - st.committed; d > 0 {
			s.BytesBehind += d
		}
	}
	s.BytesBehind += t.atRiskBytes
	s.AtRisk = slices.Clone(t.atRiskList)
	s.FilesAtRisk = len(s.AtRisk)
	t.ckMu.Unlock()
	return s
}

// bufLine hands out the next complete line (or fragment) from the buffer.
func (t *Tailer) bufLine() (Line, bool) {
	f := t.bufFile
	data := t.buf[t.r:t.w]
	if len(data) == 0 {
		return Line{}, false
	}
	start := t.bufOff + int64(t.r)
	if data[0] == 0 && !f.mid {
		// NULs before a line: the hole a writer opened without O_APPEND
		// leaves when it writes on at its offset after a copytruncate.
		// Glued to the next line, they made it unparsable (a JSON line
		// whose field rules then did not run: parser19 N), or shipped as
		// fragments of NULs. Skipped, counted, logged.
		n := LeadingNULs(data)
		t.r += n
		f.offset = start + int64(n)
		t.stats.nuls.Add(uint64(n))
		if !f.inHole {
			f.inHole = true
			t.log.Warn("tailer: skipping NUL bytes before a line (a writer without O_APPEND after a copytruncate?)", "path", f.path, "offset", start)
		}
		if n == len(data) {
			return Line{}, false
		}
		data, start = data[n:], start+int64(n)
	}
	f.inHole = false
	// A line ends at "\n" or "\r\n" (neither is part of it), so a line of
	// MaxLineBytes takes up to MaxLineBytes+2 bytes.
	maxLen := t.o.MaxLineBytes
	lim := min(len(data), maxLen+2)
	var (
		b    []byte
		end  int64
		frag = f.mid
	)
	if i := bytes.IndexByte(data[:lim], '\n'); i >= 0 && (i <= maxLen || data[i-1] == '\r') {
		b, end = data[:i], start+int64(i)+1
		if i > 0 && data[i-1] == '\r' {
			b = data[:i-1]
		}
		f.mid = false
		t.r += i + 1
	} else if len(data) > maxLen+1 || len(data) == maxLen+1 && (data[maxLen] != '\r' || f.final && t.bufEOF) {
		// (A "\r" just after MaxLineBytes may be the start of the line's
		// "\r\n": wait for the next byte.)
		cut := FragmentCut(data, maxLen)
		b, end = data[:cut], start+int64(cut)
		frag, f.mid = true, true
		t.r += cut
	} else if f.final && t.bufEOF {
		// The unterminated tail of a finished file.
		b, end = data, start+int64(len(data))
		f.mid = false
		t.r = t.w
	} else {
		return Line{}, false
	}
	f.offset = end
	t.bufLines++
	t.bufBytes += uint64(end - start)
	if t.r == t.w {
		t.flushLineStats()
	}
	if frag {
		t.stats.frags.Add(1)
	}
	return Line{
		Key: f.st.key, Path: f.path, Start: start, End: end, Bytes: b, Fragment: frag,
		Pos: Position{st: f.st, end: end, mid: f.mid},
	}, true
}

// LeadingNULs returns how many NUL bytes data starts with: skipped before
// a line (see Stats.NULBytesSkipped).
func LeadingNULs(data []byte) int {
	n := 0
	for n < len(data) && data[n] == 0 {
		n++
	}
	return n
}

// FragmentCut returns where to cut data, longer than n bytes, into a
// fragment of at most n bytes: n, or before a UTF-8 character that n would
// split. Each half of a cut character shipped as U+FFFD, so the fragments
// could not give it back (parser13 F5). Bytes that are no character's are
// cut where they fall. The character may end beyond data (the tailer holds
// n+2 bytes at most when it cuts): its bytes there must be its own.
func FragmentCut(data []byte, n int) int {
	if n >= len(data) || n < 1 || utf8.RuneStart(data[n]) {
		return n
	}
	for lead := n - 1; lead >= max(n-3, 1); lead-- {
		if !utf8.RuneStart(data[lead]) {
			continue
		}
		size := runeLen(data[lead])
		if size == 0 || lead+size <= n {
			return n // no character's first byte, or one that ends before n
		}
		if avail := data[lead:min(lead+size, len(data))]; len(avail) == size {
			if r, w := utf8.DecodeRune(avail); r == utf8.RuneError && w == 1 {
				return n
			}
		} else {
			for _, c := range avail[1:] {
				if utf8.RuneStart(c) {
					return n
				}
			}
		}
		return lead
	}
	return n
}

// runeLen is the length of the UTF-8 sequence that starts with c, 0 if c
// starts none.
func runeLen(c byte) int {
	switch {
	case c >= 0xc2 && c <= 0xdf:
		return 2
	case c >= 0xe0 && c <= 0xef:
		return 3
	case c >= 0xf0 && c <= 0xf4:
		return 4
	}
	return 0
}

// flushLineStats adds the lines handed out from the buffer to the stats:
// when bufLine hands out the buffer's last line, before the buffer is
// refilled or dropped, and before Next waits.
func (t *Tailer) flushLineStats() {
	if t.bufLines > 0 {
		t.stats.lines.Add(t.bufLines)
		t.stats.bytes.Add(t.bufBytes)
		t.bufLines, t.bufBytes = 0, 0
	}
}

func readable(f *file) bool {
	return f.fd != nil && f.st != nil && f.copyOf == nil && !f.eof
}

// pick chooses the next file to read: rotated files first (oldest first),
// then the file in the buffer, then the others round-robin.
func (t *Tailer) pick() *file {
	for _, f := range t.order {
		if f.away && readable(f) {
			return f
		}
	}
	if f := t.bufFile; f != nil && readable(f) {
		return f
	}
	n := len(t.order)
	for i := 0; i < n; i++ {
		j := (t.rr + i) % n
		if f := t.order[j]; readable(f) {
			t.rr = j + 1
			return f
		}
	}
	return nil
}

func (t *Tailer) dropBuf() {
	t.flushLineStats()
	t.bufFile = nil
	t.r, t.w = 0, 0
	t.bufEOF = false
}

// fill reads the next chunk of f into the buffer, after the unfinished tail
// of the previous chunk, and verifies that f was not truncated meanwhile.
func (t *Tailer) fill(f *file, now time.Time) {
	t.fills++
	t.flushLineStats()
	if t.bufFile != f {
		t.bufFile = f
		t.r, t.w = 0, 0
		t.bufOff = f.offset
	} else if t.r > 0 {
		n := copy(t.buf, t.buf[t.r:t.w])
		t.bufOff += int64(t.r)
		t.r, t.w = 0, n
	}
	if t.w == len(t.buf) {
		// A line longer than the buffer: grow towards MaxLineBytes+2 (a
		// line and its "\r\n"), at which point bufLine cuts a fragment.
		if len(t.buf) > t.o.MaxLineBytes+1 {
			panic("tailer: full buffer without a line") // bufLine would have cut a fragment
		}
		nb := make([]byte, min(2*len(t.buf), t.o.MaxLineBytes+2))
		copy(nb, t.buf[:t.w])
		t.buf = nb
	}
	n, err := f.fd.ReadAt(t.buf[t.w:], t.bufOff+int64(t.w))
	t.bufEOF = false
	if n > 0 {
		if t.headChanged(f) {
			t.truncated(f, now, "head changed")
			return
		}
		if t.extendHead(f, t.bufOff+int64(t.w), t.buf[t.w:t.w+n]) {
			t.syncHead(f)
		}
		t.w += n
		f.changed = now
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		t.bufEOF = true
		f.eof = true
		if t.finScanned {
			// At or past the end it had when Finish was called: while
			// files wait for a descriptor, it gives its own up for good
			// (runScan), though its writer goes on (regress19c R2).
			f.finEOF = true
		}
		if n == 0 {
			// f.size stays the size last seen before the truncation:
			// what lay between it and our offset was never read, and
			// truncated counts it as lost unless a copy holds it.
			// truncated fstats the new size itself.
			if err := syscall.Fstat(f.sysfd, &t.statBuf); err == nil && t.statBuf.Size < f.offset && !f.st.copy {
				t.truncated(f, now, "size below offset")
			}
		}
	default:
		f.eof = true
		t.stats.errors.Add(1)
		t.log.Warn("tailer: read failed; retrying at next scan", "path", f.path, "err", err)
	}
}

// headChanged re-reads f's known head bytes and compares.
func (t *Tailer) headChanged(f *file) bool {
	if len(f.head) == 0 {
		return false
	}
	b := t.scratch[:len(f.head)]
	n, err := f.fd.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false // a read error is not a truncation; the scan retries
	}
	return n < len(b) || !bytes.Equal(b, f.head)
}

// extendHead appends bytes read at off to f.head while it is shorter than
// FingerprintBytes and they follow on. It reports whether f.head grew.
func (t *Tailer) extendHead(f *file, off int64, b []byte) bool {
	h := int64(len(f.head))
	if h >= int64(t.fpMax) || off > h || off+int64(len(b)) <= h {
		return false
	}
	b = b[h-off:]
	if room := t.fpMax - len(f.head); len(b) > room {
		b = b[:room]
	}
	f.head = append(f.head, b...)
	return true
}

// syncHead copies the bytes f.head gained to f's stream (f.head's array is
// reused by readHead, so the stream, read by the flusher, has its own).
// f.st.head is a prefix of f.head while f.st is f's stream (see adopt).
func (t *Tailer) syncHead(f *file) {
	st := f.st
	if st == nil || len(st.head) >= len(f.head) {
		return
	}
	t.ckMu.Lock()
	st.head = append(st.head, f.head[len(st.head):]...)
	t.ckMu.Unlock()
}

// headSum returns the hash of st's head (the first bytes read, at most
// FingerprintBytes) and its length, for the checkpoint. Caller holds ckMu.
// The whole head counts, not only the bytes up to the committed offset: a
// file's first bytes never change while it is the same file, and an entry
// at offset 0 (a crash before the first lines were committed) hashed
// nothing, so any new file with the same first line continued its buffered
// lines (tailer10: 301 of 401 lines skipped).
func (st *stream) headSum() (int, uint64) {
	if st.head == nil {
		return st.headLen, st.headHash
	}
	n := len(st.head)
	if n == 0 {
		return 0, 0
	}
	return n, fnv64(fnvBasis, st.head[:n])
}

func fnv64(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

const fnvBasis = 14695981039346656037

// makeKey derives a new stream's key. born is the file's creation time (0
// when unknown), which sets apart a new file on a freed inode with the same
// first line after the old one's key is forgotten (pruned from the
// checkpoint): gen only counts the keys this run remembers.
func (t *Tailer) makeKey(dev, ino uint64, fpLen int, fpHash uint64, gen uint32, born uint64) uint64 {
	h := fnv64(fnvBasis, []byte(t.o.Source))
	var b [45]byte
	binary.BigEndian.PutUint64(b[1:], dev)
	binary.BigEndian.PutUint64(b[9:], ino)
	binary.BigEndian.PutUint64(b[17:], uint64(fpLen))
	binary.BigEndian.PutUint64(b[25:], fpHash)
	binary.BigEndian.PutUint32(b[33:], gen)
	if born == 0 {
		return fnv64(h, b[:37]) // as before creation times counted
	}
	binary.BigEndian.PutUint64(b[37:], born)
	return fnv64(h, b[:])
}

// cwd returns the working directory, or "" when it cannot be had.
func cwd() string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	return d
}

// genID is a file as its stream keys are made from it, but for the gen:
// its inode, creation time (0: unknown) and first line.
type genID struct {
	dev, ino, born uint64
	fpLen          int
	fpHash         uint64
}

// genFloor is a file's entry in Tailer.gens.
type genFloor struct {
	next uint32
	seq  uint64 // when it was set: the oldest go first
}

// maxGens bounds Tailer.gens.
const maxGens = 4096

// genFrom returns the gen a new stream of the file starts from.
func (t *Tailer) genFrom(id genID) uint32 {
	t.ckMu.Lock()
	defer t.ckMu.Unlock()
	return t.gens[id].next
}

// setGen notes that the file's stream took gen; ckMu held.
func (t *Tailer) setGen(id genID, gen uint32) {
	if g, ok := t.gens[id]; ok && g.next > gen {
		return
	}
	if _, ok := t.gens[id]; !ok && len(t.gens) >= maxGens {
		var oldest genID
		oldestSeq := uint64(1<<64 - 1)
		for k, g := range t.gens {
			if g.seq < oldestSeq {
				oldest, oldestSeq = k, g.seq
			}
		}
		delete(t.gens, oldest)
	}
	t.genSeq++
	t.gens[id] = genFloor{next: gen + 1, seq: t.genSeq}
}

// maxPastGens bounds the keys usePastGens marks for one entry (a file
// truncated in place that many times keeps its gen counting from there
// within a run; a restart past it may repeat a key of a generation that
// many back).
const maxPastGens = 1 << 12

// usePastGens marks as used the keys of the generations before e's on its
// file: the key of a file truncated in place and written again with the
// same first line (an app opening its log with O_TRUNC at each start; a
// copytruncate whose copies are gone) counts its gen past the keys this
// run remembers, and after a restart or reload, where only the
// checkpoint's keys were remembered, the next generation took gen 0
// again: the first one's key and so every record ID of its lines at the
// same offsets. Elasticsearch answered 409 for each, and they were lost
// (tailer22 P3). A copy's entry keeps its original's key, made from
// another inode: it marks nothing (the original's own entry does). The
// checkpoint's Gens (see gens) say as much since they exist; this reads
// a checkpoint written before them.
func (t *Tailer) usePastGens(e *checkpointEntry) {
	if e.Gen == 0 || t.makeKey(e.Dev, e.Ino, e.FpLen, e.FpHash, e.Gen, e.Born) != e.Key {
		return
	}
	for g := e.Gen - min(e.Gen, maxPastGens); g < e.Gen; g++ {
		t.usedKeys[t.makeKey(e.Dev, e.Ino, e.FpLen, e.FpHash, g, e.Born)] = struct{}{}
	}
}

// flush writes the checkpoint if it changed (or always, when force).
func (t *Tailer) flush(force bool) error {
	if t.o.CheckpointPath == "" {
		return nil
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.ckMu.Lock()
	gen := t.ckGen
	if gen == t.ckWritten && !force {
		t.ckMu.Unlock()
		return nil
	}
	cp := &checkpointFile{Version: checkpointVersion, Source: t.o.Source, Files: make([]checkpointEntry, 0, len(t.streams))}
	for st := range t.streams {
		headLen, headHash := st.headSum()
		cp.Files = append(cp.Files, checkpointEntry{
			Key: st.key, Dev: st.dev, Ino: st.ino, FpLen: st.fpLen, FpHash: st.fpHash, Gen: st.gen,
			HeadLen: headLen, HeadHash: headHash,
			Offset: st.committed, MidLine: st.mid, Path: st.path, Copy: st.copy, Orphan: st.orphan, Away: st.away, AwayFrom: st.awayFrom,
			Born: st.born, Size: st.size,
		})
	}
	// Entries of files present but not opened yet (MaxOpenFiles, a
	// transient error) are kept as they were, and so is where their
	// buffered lines end.
	for _, e := range t.pending {
		cp.Files = append(cp.Files, *e)
	}
	for id, g := range t.gens {
		cp.Gens = append(cp.Gens, genEntry{Dev: id.dev, Ino: id.ino, Born: id.born, FpLen: id.fpLen, FpHash: id.fpHash, Next: g.next})
	}
	slices.SortFunc(cp.Gens, func(a, b genEntry) int {
		return cmp.Or(cmp.Compare(a.Dev, b.Dev), cmp.Compare(a.Ino, b.Ino), cmp.Compare(a.Born, b.Born), cmp.Compare(a.FpHash, b.FpHash))
	})
	if len(t.resumeAt) > 0 {
		// A stream takes its resume point up when it is read past it.
		// One still short of it (an orphan whose copy waits for a
		// descriptor) keeps it here: left out, it was gone once the
		// source's cursor moved, and the copy was read again from the
		// entry's offset (regress21d J3).
		taken := make(map[uint64]bool, len(t.streams))
		for st := range t.streams {
			if r, ok := t.resumeAt[st.key]; !ok || st.committed >= r {
				taken[st.key] = true
			}
		}
		for k, r := range t.resumeAt {
			if !taken[k] && len(cp.Resume) < maxResume {
				cp.Resume = append(cp.Resume, resumeEntry{Key: k, Offset: r})
			}
		}
		slices.SortFunc(cp.Resume, func(a, b resumeEntry) int { return cmp.Compare(a.Key, b.Key) })
	}
	t.ckMu.Unlock()
	slices.SortFunc(cp.Files, func(a, b checkpointEntry) int {
		if a.Path != b.Path {
			if a.Path < b.Path {
				return -1
			}
			return 1
		}
		return int(a.Offset - b.Offset)
	})
	if err := writeCheckpoint(t.o.CheckpointPath, cp); err != nil {
		t.stats.ckErrs.Add(1)
		t.log.Error("tailer: checkpoint write failed", "err", err)
		return err
	}
	t.stats.ckWrites.Add(1)
	t.ckMu.Lock()
	t.ckWritten = gen
	t.ckMu.Unlock()
	return nil
}

func (t *Tailer) flushLoop() {
	defer t.wg.Done()
	tk := time.NewTicker(t.o.CheckpointInterval)
	defer tk.Stop()
	for {
		select {
		case <-t.closeCh:
			return
		case <-tk.C:
			t.flush(false)
		}
	}
}

// runScan scans and schedules the next scan. Caller holds nextMu.
func (t *Tailer) runScan(now time.Time) {
	if t.finishing.Load() {
		t.finScanned = true
	}
	t.scan(now)
	t.nextScan = now.Add(t.o.ScanInterval)
	var waiting map[string]bool
	for _, f := range t.order {
		if f.st == nil && f.copyOf == nil {
			if waiting == nil {
				waiting = map[string]bool{}
			}
			waiting[f.path] = true
			if f.linkTarget != "" {
				waiting[f.linkTarget] = true
			}
		}
	}
	t.unidentified.Store(&waiting)
	if t.firstRun && !t.firstSaved {
		// Record at once where a first run starts (StartAt End): a crash
		// before the first flush must not make the next start a "first
		// run" again and skip what was written meanwhile.
		t.firstSaved = true
		t.flush(true)
	}
}

// stallScanLoop keeps scanning while nobody calls Next (backpressure: the
// pipeline is blocked appending), so that new files are opened, and thus
// kept, even if they are deleted or rotated out of the globs before reading
// resumes. It never reads lines and never touches the read buffer, so a
// Line the caller still holds stays valid. It takes nextMu only when free:
// a waiting Next scans by itself.
func (t *Tailer) stallScanLoop() {
	defer t.wg.Done()
	tk := time.NewTicker(t.o.ScanInterval)
	defer tk.Stop()
	for {
		select {
		case <-t.closeCh:
			return
		case <-tk.C:
		}
		if !t.nextMu.TryLock() {
			continue
		}
		if now := time.Now(); !t.closed.Load() && !now.Before(t.nextScan) {
			t.runScan(now)
			t.stats.stallScans.Add(1)
		}
		t.nextMu.Unlock()
	}
}

func (t *Tailer) watchLoop(w *fsnotify.Watcher) {
	defer t.wg.Done()
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			// A write rescans too while a file found empty waits for its
			// first bytes: only a scan identifies it, and the periodic one
			// may be scan_interval away.
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) ||
				ev.Has(fsnotify.Write) && t.waitsForBytes(ev.Name) {
				t.rescan.Store(true)
				t.markDirty("", true)
			} else if ev.Has(fsnotify.Write) {
				t.markDirty(ev.Name, false)
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			t.rescan.Store(true) // overflow: the scan is the source of truth
			t.markDirty("", true)
		}
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// maxDirty is how many written files a wake-up names before it becomes a
// look at every file.
const maxDirty = 256

// markDirty notes that the file at name was written (all: that every file
// is to be looked at).
func (t *Tailer) markDirty(name string, all bool) {
	t.dirtyMu.Lock()
	if all || len(t.dirty) >= maxDirty {
		t.dirtyAll = true
	} else {
		t.dirty[name] = false
	}
	t.dirtyMu.Unlock()
}

// wakeDirty clears the end-of-file mark of the files written since the
// last wake-up, so that pick reads them; of every file when an event said
// more, or named a file under a path not known (renamed since the last
// scan, say).
func (t *Tailer) wakeDirty() {
	t.dirtyMu.Lock()
	all, names := t.dirtyAll, t.dirty
	t.dirty, t.dirtySpare = t.dirtySpare, t.dirty
	t.dirtyAll = false
	t.dirtyMu.Unlock()
	defer clear(names)
	if !all {
		// Names, not files, are counted: a name two files share (one
		// renamed out of the globs keeps its old path beside its
		// successor) made up for a name no file had, and the file written
		// under that one waited for the next scan (tailer9 F4).
		hits := 0
		for _, f := range t.order {
			for _, p := range [...]string{f.path, f.linkTarget} {
				if found, ok := names[p]; ok && p != "" {
					f.eof = false
					if !found {
						names[p] = true
						hits++
					}
				}
			}
		}
		all = hits < len(names)
	}
	if all {
		for _, f := range t.order {
			f.eof = false
		}
	}
}

// waitsForBytes reports whether the file at path was found empty by the
// last scan and still waits for its identity.
func (t *Tailer) waitsForBytes(path string) bool {
	m := t.unidentified.Load()
	return m != nil && (*m)[path]
}

func (t *Tailer) newWatcher() (*fsnotify.Watcher, error) {
	if h := t.o.hooks; h != nil && h.newWatcher != nil {
		return h.newWatcher()
	}
	return fsnotify.NewWatcher()
}
