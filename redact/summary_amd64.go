package redact

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// haveSummary says whether summary is the vector version: worth running
// ahead of the pre-filters. Without AVX2 maybeMask does not use it.
var haveSummary = cpu.X86.HasAVX2

// summaryAVX2 is in summary_amd64.s: the summary of the n 32-byte blocks
// at p (p must have n*32+1 readable bytes: the pairs look one byte on) and
// then of the 64 bytes at tail, whose first 32 hold the rest of the value,
// zero-padded.
//
//go:noescape
func summaryAVX2(p *byte, n int, tail *[64]byte) uint32

// summary returns summaryGeneric(b), 32 bytes at a time (byte by byte
// without AVX2: the tests call it whatever the processor).
func summary(b []byte) uint32 {
	if !haveSummary {
		return summaryGeneric(b)
	}
	if len(b) == 0 {
		return 0
	}
	n := (len(b) - 1) / 32 // whole blocks whose byte after stays inside b
	var tail [64]byte
	copy(tail[:32], b[n*32:])
	return summaryAVX2(unsafe.SliceData(b), n, &tail)
}

// eqColonMasksAVX2 is in summary_amd64.s: eqColonMasksGeneric with AVX2.
//
//go:noescape
func eqColonMasksAVX2(p *byte) (eq, colon uint64)

// eqColonMasks is eqColonMasksGeneric, with AVX2 when the processor has it.
func eqColonMasks(p *byte) (eq, colon uint64) {
	if !haveSummary {
		return eqColonMasksGeneric(p)
	}
	return eqColonMasksAVX2(p)
}
