// Package buffer is sidetrail's crash-safe disk queue: a segmented,
// CRC-framed append-only log with one named, durable cursor per sink.
//
// It owns: the segment files (NNNNNNNNNNNNNNNNNNNN.seg, named by the sequence
// number of their first record), their framing and checksums, the cursor
// files (NAME.cursor), retention (deleting segments every cursor has
// passed), backpressure when MaxBytes is reached, and recovery on open:
// a torn tail of the last segment is cut, corruption elsewhere is skipped,
// counted and reported as a *CorruptionError, and delivery of every intact
// record continues.
//
// It must never: know what a record contains (records are opaque []byte;
// the caller encodes them with sidetrail.AppendBinary), advance a cursor
// when a record is handed out rather than when it is acknowledged, write a
// state file in place (every cursor file is written temp, fsync, rename,
// fsync dir), crash-loop on a damaged file, or start goroutines other than
// the one FsyncInterval needs (stopped by Close).
//
// Sequence numbers start at 1, are stored in every frame and strictly
// increase; a successful Append gets consecutive numbers. The numbers of
// records lost to a corrupt region are simply missing. The sequence number
// of a record never changes, so a cursor ("everything ≤ seq is done") stays
// meaningful across restarts, corruption and dropped segments.
//
// The fault seam is the FS interface: tests inject write, sync and ENOSPC
// failures with the faultfs subpackage.
package buffer
