// Package tailer discovers log files by glob, follows them across rename and
// copytruncate rotation, and hands out complete lines with exact byte offsets
// and a stable per-file identity. It owns the tailer checkpoint: the committed
// offset of every file identity, persisted temp → fsync → rename → fsync dir.
//
// How it works: the goroutine calling Next owns all file state. It scans
// (glob + stat + fstat of open descriptors) every ScanInterval, which is the
// source of truth, and reads files at its own offsets with pread into one
// shared buffer; lines are slices of that buffer. fsnotify watches the
// directories holding the globs (never the files) and only wakes the reader
// or asks for an early scan. A flusher goroutine writes committed positions;
// a stall scanner scans (never reads) while nobody is inside Next.
//
// What it guarantees:
//   - Every byte of a file it has opened is handed out exactly once per
//     process lifetime, in order, as complete '\n'-terminated lines (or as
//     flagged fragments of at most MaxLineBytes of an overlong line).
//   - A live file's unterminated tail is never handed out (a writer may be
//     mid-line). It is handed out as a final line (End without a newline)
//     only once the file is finished: rotated away or deleted, read to EOF
//     and quiet for RotateWait. Should the file still grow after that, the
//     rest of that line arrives as a separate line.
//   - Rotated and deleted files stay open until read to their end (bounded
//     by MaxOpenFiles); rotated files are read before live ones. With a
//     Handoff, Close passes those still open to the next Tailer of the
//     source (a reload), which reads on from the same descriptors.
//   - Line.Key and Line.Start identify a line across renames, restarts and
//     copytruncate copies, so record IDs derived from them are stable.
//   - The checkpoint only ever holds offsets handed to Commit, so a crash
//     re-reads at most the uncommitted lines (duplicates, never loss).
//
// Identity: device, inode, and a hash of the file's first line (newline
// included, at most FingerprintBytes), plus a generation that only moves
// when the same inode starts over with the same first line. A file has no
// identity, and nothing is read from it, until it has a complete first line
// or FingerprintBytes bytes (or is finished). Using the first line rather
// than "whatever size the file had when first seen" makes the key the same
// whenever it is computed, so a crash before the first checkpoint flush
// cannot change a file's key.
//
// The key alone does not make a file resumable: many files share their first
// line (CSV headers, #Version banners) and ext4 hands a freed inode out again
// at once. So a file is continued at a remembered offset (a checkpoint entry,
// a forgotten file turning up again, a copy made while we were down) only if
// its first bytes (as many as were read, up to FingerprintBytes) are the ones
// read before; the checkpoint keeps their length and hash (head_len,
// head_hash), also at offset 0. A file judged to be another file on a reused
// inode is read from 0 under a new key; one now shorter than that head was
// truncated, and a copy made meanwhile must hold the head.
//
// Copies (copytruncate): a new file that holds the whole head of a file
// being read (at least 64 bytes; of several, the longest) is held, unread,
// as its copy; one that holds a part of it so far waits to be told. When the original
// is truncated, the copy continues the original's stream (same Key, same
// offsets) from what was already read, so no line is read twice. A held
// copy that diverges from its original, or whose original finishes without a
// truncation, is read as a file of its own from offset 0 (duplicates rather
// than a skipped line). Files that appear in the same scan are never taken
// for copies of each other, nor are files under 64 bytes.
//
// Known, documented limits:
//   - copytruncate: lines written to the original between the copy and the
//     truncation, and not read by us before the truncation, are lost (in any
//     tailer). When the tailer can see them (the size it last saw exceeds both
//     what it read and what the copy holds) it counts the bytes in
//     Stats.TruncatedBytesLost and logs a warning. So it does for a copy it
//     does not tail (one not matched by Paths): all of the backlog not read
//     at the truncation is lost then.
//   - A truncation (or a new file on a reused inode) that leaves the first
//     FingerprintBytes bytes unchanged and regrows the file past
//     our offset before we look is indistinguishable from growth. Entries of
//     checkpoints written before head_hash existed are checked on the first
//     line only, until their next flush.
//   - A file renamed out of the globs or deleted while the agent is down,
//     or closed by Close before it was read to its end, cannot be found
//     again: its unread tail is lost.
//   - While the caller does not call Next (backpressure) a stall scanner
//     keeps opening new files and following rotations, but nothing is read:
//     a file created and deleted within one ScanInterval can be missed, as
//     in any scanning tailer (fsnotify events only wake a running Next).
//
// It must never parse lines, touch the network, advance a checkpoint past a
// line that was not committed, or hold a whole overlong line in memory.
package tailer
