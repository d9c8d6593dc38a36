package buffer

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error that reports damaged bytes on disk:
// errors.Is(err, ErrCorrupt) tells corruption from I/O failures.
var ErrCorrupt = errors.New("corrupt")

// ErrFull is TryAppend's answer when the buffer has no room (WhenFull:
// Block) for the records.
var ErrFull = errors.New("buffer full")

// CorruptionError reports a damaged region of a segment (or a damaged
// segment header or cursor file) with the coordinates needed to look at it
// or repair it. The buffer logs it, counts it in Stats.Corrupt and carries
// on with the rest; it is never returned from Append or Read.
type CorruptionError struct {
	// Segment is the file's base name ("00000000000000000042.seg").
	Segment string
	// Offset is where the damage starts; End where the next valid frame
	// starts (or the end of the valid data), so End-Offset bytes were skipped.
	Offset, End int64
	// Lost is how many records the region held, known from the sequence
	// numbers of the valid frames around it (0 for a header or when the
	// region ends a segment with no successor).
	Lost uint64
	// Err says what was wrong; it wraps ErrCorrupt.
	Err error
}

// Error describes the region and the reason.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupt segment %s at offset %d (%d bytes, %d records skipped): %v", e.Segment, e.Offset, e.End-e.Offset, e.Lost, e.Err)
}

// Unwrap returns the underlying reason, which wraps ErrCorrupt.
func (e *CorruptionError) Unwrap() error { return e.Err }
