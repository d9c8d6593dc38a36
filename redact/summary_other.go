//go:build !amd64

package redact

// haveSummary: without a vector version the summary would cost more than
// the pre-filters it spares, so maybeMask does not use it.
const haveSummary = false

func summary(b []byte) uint32 { return summaryGeneric(b) }

func eqColonMasks(p *byte) (eq, colon uint64) { return eqColonMasksGeneric(p) }
