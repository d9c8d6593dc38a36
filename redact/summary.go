package redact

import "unsafe"

// The trigger summary: one pass over a value that tells which of the
// built-in detectors' pre-filters can possibly say yes, so maybeMask skips
// the others without each scanning the value on its own. Each bit is a
// necessary condition of a detector's maybe (so of its matches): when the
// bit is clear, maybe is false. A set bit decides nothing; the detector's
// own maybe then runs as before.
const (
	sumEmail  uint32 = 1 << iota // a '@' or a '%' ("%40")
	sumJWT                       // "yJ" (of "eyJ")
	sumAWS                       // "IA" (of "AKIA", "ASIA")
	sumBearer                    // "be" or "za" in any case (of "bearer", "authorization")
	sumCard                      // 13 bytes in a row that are digits, spaces, dashes, '+' or '%' (of "%20")
)

// summaryGeneric is the summary byte by byte: the reference the vector
// version is tested against, and what runs where there is none.
func summaryGeneric(b []byte) uint32 {
	var s uint32
	run := 0
	for i, c := range b {
		var n byte
		if i+1 < len(b) {
			n = b[i+1]
		}
		if c == '@' || c == '%' {
			s |= sumEmail
		}
		if c == 'y' && n == 'J' {
			s |= sumJWT
		}
		if c == 'I' && n == 'A' {
			s |= sumAWS
		}
		if lc, ln := c|0x20, n|0x20; lc == 'b' && ln == 'e' || lc == 'z' && ln == 'a' {
			s |= sumBearer
		}
		if c >= '0' && c <= '9' || c == ' ' || c == '-' || c == '+' || c == '%' {
			if run++; run >= 13 {
				s |= sumCard
			}
		} else {
			run = 0
		}
	}
	return s
}

// needer is a detector whose maybe needs one of the summary bits it names.
type needer interface {
	need() uint32
}

func (cardDetector) need() uint32   { return sumCard }
func (emailDetector) need() uint32  { return sumEmail }
func (jwtDetector) need() uint32    { return sumJWT }
func (awsKeyDetector) need() uint32 { return sumAWS }
func (bearerDetector) need() uint32 { return sumBearer }

// eqColonMasksGeneric returns, for the 64 bytes at p, a bit per '=' (eq)
// and per ':' (colon): the reference for the vector version.
func eqColonMasksGeneric(p *byte) (eq, colon uint64) {
	for k, c := range unsafe.Slice(p, 64) {
		switch c {
		case '=':
			eq |= 1 << k
		case ':':
			colon |= 1 << k
		}
	}
	return eq, colon
}
