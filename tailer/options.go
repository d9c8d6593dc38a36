package tailer

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// StartAt says where to start reading files that are present on the very
// first run.
type StartAt int

const (
	// Beginning reads every file from offset 0 (the zero value).
	Beginning StartAt = iota
	// End starts files present at the first scan of the very first run (no
	// checkpoint file yet) at their last complete line. Files that appear
	// later, or on any later run, are always read from offset 0.
	End
)

// Options configures a Tailer. Zero values mean the documented defaults,
// applied in one place (withDefaults).
type Options struct {
	// Source is the source name; it is mixed into every file key.
	Source string
	// Paths are globs (path/filepath.Match syntax), absolute or relative.
	Paths []string
	// Exclude globs are matched against the base name and the full path.
	Exclude []string
	// OwnDirs and OwnFiles are what sidetrail writes itself: its data_dir
	// (absolute, symlinks resolved) and its stdout and stderr when they are
	// files. A path that matches them is skipped with a warning, never
	// read: its own output read back grew without end, each record the
	// last one quoted (tailer24 P1: 25 GB in 90 s), and its buffer's
	// segments and checkpoints shipped as lines (P2).
	OwnDirs  []string
	OwnFiles []fs.FileInfo
	// StartAt applies only on the very first run (no checkpoint file yet) to
	// files present then; see End.
	StartAt StartAt
	// MaxLineBytes (default 1 MiB): longer lines are handed out as fragments
	// of at most this many bytes, flagged Line.Fragment.
	MaxLineBytes int
	// ScanInterval (default 250ms): the periodic glob+stat scan, the source of
	// truth; fsnotify events only make it come sooner.
	ScanInterval time.Duration
	// Poll disables fsnotify. It is also the automatic fallback when inotify
	// instances or watches run out (logged once, Stats.Polling).
	Poll bool
	// RotateWait (default 5s): a rotated or deleted file is closed after it
	// has been read to EOF and stayed quiet this long; its unterminated tail,
	// if any, is handed out as a final line just before.
	RotateWait time.Duration
	// MaxOpenFiles (default 1024): files beyond it are not opened; a log line
	// and Stats.AtRisk name them until they can be.
	MaxOpenFiles int
	// FingerprintBytes (default 1024): how many head bytes identify a file.
	FingerprintBytes int
	// CheckpointPath: "" means no persistence. Otherwise the checkpoint is
	// written temp → fsync → rename → fsync dir.
	CheckpointPath string
	// CheckpointInterval (default 1s): how often committed positions are
	// flushed in the background when they changed.
	CheckpointInterval time.Duration
	// Resume holds, per file Key, an offset known to be delivered downstream
	// although the checkpoint may not say so yet: the end of the last line
	// of that file already in the disk buffer, found after a crash. A stream
	// with that Key starts at the larger of its checkpoint offset and this.
	// Read only; nil means none.
	Resume map[uint64]int64
	// ResumePaths holds, per file Key of Resume, the path its last
	// buffered line was read under: a file found under another name was
	// renamed while the agent was down, before its first checkpoint, and
	// is rotated away (its unterminated last line ships once it is quiet).
	// Read only; nil means none.
	ResumePaths map[uint64]string
	// ResumeFragments holds the Keys of Resume whose last buffered line was
	// a fragment of a longer line: its offset may lie inside that line.
	// Read only; nil means none.
	ResumeFragments map[uint64]bool
	// ResumeStarts holds, per file Key of Resume, where the last buffered
	// line starts; ResumeSame tells whether raw, a file's bytes from there
	// to the Resume offset, is that line still. A file that does not hold
	// it there (or is shorter) is another generation of the file than the
	// one whose lines were buffered (an app that reopened its log with
	// O_TRUNC and wrote the same first line, while the agent was down
	// after a crash): it neither resumes there nor takes the buffered
	// lines' Key (regress22 R8: 2,000 of 4,000 lines were skipped). Nil:
	// no such check.
	ResumeStarts map[uint64]int64
	ResumeSame   func(key uint64, raw []byte) bool
	// Claims, shared by an agent's tailers, lets a source tell that
	// another one tails a file too (see Claims). Nil: no check.
	Claims *Claims
	// Handoff, shared by an agent's tailers across reloads, carries the
	// files a tailer still read after they were rotated away from its
	// Close to the next tailer of the source (see Handoff). Nil: they are
	// closed, and what is written into them after the Close is lost.
	Handoff *Handoff
	// RiskLog, shared by an agent's tailers across reloads, limits the
	// "max_open_files reached" error to once a minute per source. Nil:
	// once a minute per Tailer.
	RiskLog *LogLimit
	// ReadBufferBytes (default 256 KiB): the size of one read. The buffer
	// grows up to MaxLineBytes+2 when a line does not fit.
	ReadBufferBytes int
	// Logger receives warnings and errors; nil discards. Messages do not
	// name the source: the caller's logger does (slog.Logger.With).
	Logger *slog.Logger

	hooks *hooks // fault injection for tests
}

// hooks let tests make the watcher fail as an exhausted inotify would, and
// act between a scan's glob and what it does with the files found.
type hooks struct {
	newWatcher func() (*fsnotify.Watcher, error)
	addWatch   func(dir string) error
	afterGlob  func()
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Paths) == 0 {
		return o, errors.New("tailer: no paths")
	}
	for _, p := range append(append([]string(nil), o.Paths...), o.Exclude...) {
		if _, err := filepath.Match(p, ""); err != nil {
			return o, fmt.Errorf("tailer: glob %q: %w", p, err)
		}
	}
	if o.StartAt != Beginning && o.StartAt != End {
		return o, fmt.Errorf("tailer: bad StartAt %d", o.StartAt)
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 1 << 20
	}
	if o.ScanInterval <= 0 {
		o.ScanInterval = 250 * time.Millisecond
	}
	if o.RotateWait <= 0 {
		o.RotateWait = 5 * time.Second
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = 1024
	}
	if o.FingerprintBytes <= 0 {
		o.FingerprintBytes = 1024
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Second
	}
	if o.ReadBufferBytes <= 0 {
		o.ReadBufferBytes = 256 << 10
	}
	if o.ReadBufferBytes < 64 {
		o.ReadBufferBytes = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
