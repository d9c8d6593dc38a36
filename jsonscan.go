package sidetrail

import "unsafe"

// specialMask32Generic returns a mask with bit k set when p[k] (k < 32)
// needs a look from appendJSONBytes: a quote, a backslash, a control
// character (below 0x20) or a byte of a multi-byte UTF-8 sequence (0x80 and
// above). p must point at 32 readable bytes. It is the reference for the
// assembly version and what other architectures run.
func specialMask32Generic(p *byte) uint32 {
	b := unsafe.Slice(p, 32)
	var m uint32
	for k, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			m |= 1 << k
		}
	}
	return m
}
