package buffer

// appendTestFrame exposes the frame encoder to the external tests.
var AppendTestFrame = appendFrame

// Reap deletes the segments the buffer has let go of now, instead of
// waiting for its reaping goroutine, so a test can count files.
func Reap(b *Buffer) { b.reap() }
