package buffer

// appendTestFrame exposes the frame encoder to the external tests.
var AppendTestFrame = appendFrame
