package buffer

import "time"

// appendTestFrame exposes the frame encoder to the external tests.
var AppendTestFrame = appendFrame

// CursorFile returns the bytes of a valid cursor file acknowledging acked.
func CursorFile(acked uint64) []byte { return appendFileHeader(nil, cursorMagic, acked) }

// Reap deletes the segments the buffer has let go of now, instead of
// waiting for its reaping goroutine, so a test can count files.
func Reap(b *Buffer) { b.reap() }

// SetDropLogEvery changes how often the drop warning may be logged, for
// the rest of the test.
func SetDropLogEvery(t interface{ Cleanup(func()) }, d time.Duration) {
	old := dropLogEvery
	dropLogEvery = d
	t.Cleanup(func() { dropLogEvery = old })
}
