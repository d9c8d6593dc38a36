package sidetrail

// specialMask32 is in jsonscan_amd64.s: specialMask32Generic's answer for
// the 32 bytes at p, with SSE2.
//
//go:noescape
func specialMask32(p *byte) uint32
