package tailer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The checkpoint file is JSON:
//
//	{"version":1,"source":"nginx","files":[
//	  {"key":123,"dev":2049,"ino":42,"fp_len":1024,"fp_hash":987,"gen":0,
//	   "head_len":1024,"head_hash":654,
//	   "offset":4096,"mid_line":false,"path":"/var/log/nginx/access.log"}]}
//
// offset is the committed offset: every line before it is durable downstream.
// head_hash is the hash of the file's first head_len bytes, head_len being
// the head bytes known (at most FingerprintBytes; older versions wrote
// at most offset): fp_len/fp_hash cover
// only the first line, which files with a header or banner share, and
// resuming another file at this offset would skip its beginning. Entries
// written before it existed lack it (0: not checked).
// mid_line says offset falls inside an overlong line (the next piece is a
// fragment). copy says the file is a copytruncate copy continuing an
// original: its offset may lie past its end (lines read from the original
// after the copy was made), which is not a truncation. orphan says the
// entry waits for a copy of its truncated file (see checkpointEntry.Orphan). Written temp → fsync → rename → fsync dir.
const checkpointVersion = 1

type checkpointFile struct {
	Version int               `json:"version"`
	Source  string            `json:"source"`
	Files   []checkpointEntry `json:"files"`
	// Resume keeps, per file key, where lines already buffered end
	// (Options.Resume) for files no stream of this run has taken up yet:
	// the source's cursor moves past those records once this file is
	// written, and without it the next run would read them again.
	Resume []resumeEntry `json:"resume,omitempty"`
	// Gens keeps, per file (device, inode, creation time and first line),
	// the gen its next stream starts from (see Tailer.gens).
	Gens []genEntry `json:"gens,omitempty"`
}

type genEntry struct {
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Born   uint64 `json:"born,omitempty"`
	FpLen  int    `json:"fp_len"`
	FpHash uint64 `json:"fp_hash"`
	Next   uint32 `json:"next"`
}

type resumeEntry struct {
	Key    uint64 `json:"key"`
	Offset int64  `json:"offset"`
}

// maxResume bounds the resume entries a checkpoint keeps: one per file
// whose lines were buffered but that waits for a descriptor (points of
// files that are gone are pruned, see pruneResume).
const maxResume = 1 << 16

type checkpointEntry struct {
	Key    uint64 `json:"key"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FpLen  int    `json:"fp_len"`
	FpHash uint64 `json:"fp_hash"`
	Gen    uint32 `json:"gen"`
	// HeadLen and HeadHash: see the format above. Zero in old checkpoints.
	HeadLen  int    `json:"head_len,omitempty"`
	HeadHash uint64 `json:"head_hash,omitempty"`
	Offset   int64  `json:"offset"`
	MidLine  bool   `json:"mid_line,omitempty"`
	Copy     bool   `json:"copy,omitempty"`
	// Orphan says the entry's file was truncated (or now holds another
	// file) and the entry waits for a copy to continue it: its dev/ino may
	// be another entry's too, and at a start it is matched by content
	// only, for the grace period.
	Orphan bool `json:"orphan,omitempty"`
	// Away says the file was seen rotated away (renamed or deleted): at a
	// start it is still away, so its unterminated last line ships once it
	// is quiet, as it would have without the stop.
	Away bool `json:"away,omitempty"`
	// AwayFrom is the path the file went away from: found there again, it
	// is live again (renamed away and back).
	AwayFrom string `json:"away_from,omitempty"`
	Path     string `json:"path"`
	// Born is the file's creation time (see birth; 0 where the file system
	// does not say, and in older checkpoints): a file on the same inode
	// born otherwise is another file, whatever its bytes.
	Born uint64 `json:"born,omitempty"`
	// Size is the file's size when last seen: what lies beyond Offset was
	// seen and not read, lost if the file is truncated and no copy holds
	// it (counted then; 0 in older checkpoints).
	Size int64 `json:"size,omitempty"`
}

// errCorruptCheckpoint marks a checkpoint file that exists but cannot be
// used.
var errCorruptCheckpoint = errors.New("corrupt checkpoint")

// loadCheckpoint reads path. It returns (nil, nil) when the file does not
// exist, and an error wrapping errCorruptCheckpoint when it cannot be parsed.
func loadCheckpoint(path string) (*checkpointFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	var cp checkpointFile
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errCorruptCheckpoint, path, err)
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("%w: %s: version %d", errCorruptCheckpoint, path, cp.Version)
	}
	for _, e := range cp.Files {
		if e.Offset < 0 || e.FpLen < 0 || e.HeadLen < 0 {
			return nil, fmt.Errorf("%w: %s: bad entry for %q", errCorruptCheckpoint, path, e.Path)
		}
	}
	return &cp, nil
}

// writeCheckpoint writes cp to path atomically and durably: temp file, fsync,
// rename over path, fsync the directory. Every error is returned.
//
// The file is padded with spaces to twice its content, in whole
// checkpointBlocks, so that on a volume too full for the temp file
// (ENOSPC) the checkpoint can be written over the old one in place, within
// its blocks: a SIGTERM on a full
// volume exited 1 with the old checkpoint, and the restart shipped 20,000
// lines again (buffer13 F5). A crash during that in-place write leaves a
// checkpoint that does not parse: set aside, every file read again
// (duplicates, never a loss).
func writeCheckpoint(path string, cp *checkpointFile) (err error) {
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	n := len(data)
	// Room to grow in place: twice the content, in whole blocks (a
	// checkpoint of 17 files filled its 4 KiB, and the next rotation on a
	// full volume could not be written: regress13 R5).
	data = padCheckpoint(data, (2*n/checkpointBlock+1)*checkpointBlock)
	tmp := path + ".tmp"
	if err := writeTemp(tmp, data); err != nil {
		os.Remove(tmp) // its blocks, on a full volume
		if errors.Is(err, syscall.ENOSPC) {
			if ierr := writeInPlace(path, data[:n]); ierr == nil {
				return nil
			}
		}
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename checkpoint: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("open checkpoint dir: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync checkpoint dir: %w", err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close checkpoint dir: %w", err)
	}
	return nil
}

// checkpointBlock is the unit a checkpoint file's size is padded to.
const checkpointBlock = 4096

// padCheckpoint pads JSON data with spaces and a newline to size bytes.
func padCheckpoint(data []byte, size int) []byte {
	for len(data) < size-1 {
		data = append(data, ' ')
	}
	return append(data, '\n')
}

// writeTemp writes the temp file (a test injects ENOSPC here).
var writeTemp = writeSynced

func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write checkpoint %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync checkpoint %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close checkpoint %s: %w", name, err)
	}
	return nil
}

// writeInPlace writes the JSON data over the checkpoint at path, padded to
// the file's size, if it fits there.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if int64(len(data)) >= info.Size() {
		return fmt.Errorf("checkpoint of %d bytes does not fit in place (%d)", len(data), info.Size())
	}
	if _, err := f.WriteAt(padCheckpoint(data, int(info.Size())), 0); err != nil {
		return err
	}
	return f.Sync()
}
