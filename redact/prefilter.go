package redact

import (
	"bytes"
	mathbits "math/bits"
)

// maybeMask returns each value rule's maybe(v) as a bit: bit j for
// valueRules[j], bit 63 for any of the rules from the 64th on.
func (sh *shared) maybeMask(v []byte) uint64 { return sh.maybeMaskWithin(v, ^uint64(0)) }

// maybeMaskWithin is maybeMask(v) for a v whose maybeMask is known to lie
// within bound: the rules outside bound are not asked. Nor is a rule whose
// summary bits are all clear in v's summary: its maybe is false (see
// summary.go).
func (sh *shared) maybeMaskWithin(v []byte, bound uint64) uint64 {
	var sum uint32
	if bound&sh.gatedBits != 0 {
		sum = summary(v)
	}
	var m uint64
	for j, ru := range sh.valueRules {
		bit := uint64(1) << min(j, 63)
		if bound&bit == 0 || m&bit != 0 || ru.need != 0 && sum&ru.need == 0 {
			continue
		}
		if ru.maybe(v) {
			m |= bit
		}
	}
	return m
}

// candidate reports whether find could match in b from 0 for a field that
// is not keyed, or secretMember a member of b: whether a secret name (as
// secret sees it, but without its separator check) ends right before a
// '=', a "%3D" (or "%3d"), or a '"' that white space and ':' follow.
//
// find reports a name=value pair at a '=' or "%3D" after a secret name and
// a JSON member at a '"', white space and ':' after a secret name; applyJSON's
// secretMember a member whose key (a string followed by white space and
// ':') is a secret name. In each case the name is a suffix of the bytes
// before the trigger, and secret drops the name's closing brackets ("]",
// "%5D", "%255D") and compares the end of what remains with q.names, as
// endsWithSecret does at every such level: so when candidate is false,
// neither matches. It is monotone: a trigger and the bytes before it in a substring
// of b are there in b too.
//
// Each trigger byte is looked for with its own scan: the order in which
// triggers are examined does not matter for the answer.
func (q queryDetector) candidate(b []byte) bool {
	if haveSummary {
		return q.candidateVec(b)
	}
	return q.candidateScalar(b)
}

// candidateVec is candidateScalar finding the '=' and ':' of 64 bytes at a
// time with eqColonMasks: a JSON line has a ':' every 16 bytes, each of
// which cost candidateScalar a bytes.IndexByte call.
func (q queryDetector) candidateVec(b []byte) bool {
	var tail [64]byte
	for base := 0; base < len(b); base += 64 {
		var eq, colon uint64
		if len(b)-base >= 64 {
			eq, colon = eqColonMasks(&b[base])
		} else {
			copy(tail[:], b[base:])
			eq, colon = eqColonMasks(&tail[0])
		}
		for ; eq != 0; eq &= eq - 1 {
			if t := base + mathbits.TrailingZeros64(eq); (t < 2 || q.pairs[(int(b[t-2])<<8|int(b[t-1]))>>6]&(1<<(b[t-1]&63)) != 0) && q.endsWithSecret(b[:t]) {
				return true
			}
		}
		for ; colon != 0; colon &= colon - 1 {
			c := base + mathbits.TrailingZeros64(colon)
			if c >= 3 && b[c-1] == '"' && b[c-2] != '\\' && b[c-3] != '%' && q.pairs[(int(b[c-3])<<8|int(b[c-2]))>>6]&(1<<(b[c-2]&63)) == 0 {
				// A compact JSON member ("name":) whose name is no
				// secret's, told by its last bytes alone: what the
				// checks below would find for it. A JSON line has a
				// member every 16 bytes.
				continue
			}
			if k, ok := nameQuoteBefore(b, 0, c); ok && q.endsWithSecret(b[:k-backslashesBefore(b, 0, k)]) {
				return true
			}
			if !pctColon(b, 0, c) {
				continue
			}
			if k, _, ok := pctNameEnd(b, 0, c); ok && q.endsWithSecret(b[:k]) {
				return true
			}
		}
	}
	return q.pct3DSecret(b)
}

// candidateScalar is candidate with one bytes.IndexByte scan per trigger
// byte: what runs without AVX2, and candidateVec's reference.
func (q queryDetector) candidateScalar(b []byte) bool {
	for i := 0; i < len(b); {
		p := bytes.IndexByte(b[i:], '=')
		if p < 0 {
			break
		}
		p += i
		if q.endsWithSecret(b[:p]) {
			return true
		}
		i = p + 1
	}
	if q.pct3DSecret(b) {
		return true
	}
	for i := 0; i < len(b); {
		p := bytes.IndexByte(b[i:], ':')
		if p < 0 {
			break
		}
		p += i
		if k, ok := nameQuoteBefore(b, 0, p); ok && q.endsWithSecret(b[:k-backslashesBefore(b, 0, k)]) {
			return true
		}
		if k, _, ok := pctNameEnd(b, 0, p); ok && q.endsWithSecret(b[:k]) {
			return true
		}
		i = p + 1
	}
	return false
}

// pct3DSecret reports whether a secret name ends right before a "%3D" (or
// "%3d") in b, or before "%22%3A" (any case), a percent-encoded JSON
// member's closing quote and colon.
func (q queryDetector) pct3DSecret(b []byte) bool {
	for i := 0; i < len(b); {
		p := bytes.IndexByte(b[i:], '%')
		if p < 0 {
			return false
		}
		p += i
		if p+2 < len(b) && b[p+1] == '3' && (b[p+2] == 'D' || b[p+2] == 'd') && q.endsWithSecret(b[:p]) {
			return true
		}
		// %22password%22%3A: a percent-encoded JSON member's name.
		if p+2 < len(b) && b[p+1] == '3' && lower(b[p+2]) == 'a' {
			if k, _, ok := pctNameEnd(b, 0, p); ok && q.endsWithSecret(b[:k]) {
				return true
			}
		}
		i = p + 1
	}
	return false
}

// mayEndWithSecret is false only where endsWithSecret(b[:t]) is: a last
// byte that is no digit and no closing bracket's, whose last two bytes end
// no name (q.ends). It is endsWithSecret's first step; q.pairs holds its
// answers for t >= 2, looked up where most bytes before a trigger end no
// name.
func (q queryDetector) mayEndWithSecret(b []byte, t int) bool {
	if t <= 0 {
		return false
	}
	c := b[t-1]
	if q.all || is(c, cDigit) || c == ']' || c == 'D' || c == 'd' {
		return true
	}
	if t < 2 {
		return false
	}
	h := endHash(lower(b[t-2]), lower(c))
	return q.ends[h>>6]&(1<<(h&63)) != 0
}

// endsWithSecret reports whether b ends with one of q.names, ignoring case,
// after dropping none, some or all of its closing brackets ("]", "%5D",
// "%255D"; see closeBracketEnd). Every level is tried, not just the last
// that secret reads, so that a b cut inside an encoded bracket ("5D") is
// never a match its longer self is not: the drops made on a suffix of b
// are made on b too.
func (q queryDetector) endsWithSecret(b []byte) bool {
	for t := len(b); t > 0; {
		if q.endsWithName(b, t) {
			return true
		}
		c := b[t-1]
		if is(c, cDigit) {
			// A numbered copy, which secret tries without its digits.
			d := digitsStart(b, t)
			if q.endsWithName(b, d) {
				return true
			}
			if d > 1 && (b[d-1] == '_' || b[d-1] == '-') && q.endsWithName(b, d-1) {
				return true
			}
		}
		if c != ']' && c != 'D' && c != 'd' {
			return false // the common case: no closing bracket to drop
		}
		k := closeBracketEnd(b[:t])
		if k == 0 {
			return false
		}
		t -= k
		// An empty pair or an index ("password[]", "password[0]"), which
		// secret drops whole: the level inside the pair is tried too.
		d := digitsStart(b, t)
		if o := openBracketEnd(b[:d]); o > 0 {
			if q.endsWithName(b, t) {
				return true
			}
			t = d - o
		}
	}
	return false
}

// endsWithName reports whether b[:t] ends with one of q.names, ignoring
// case.
func (q queryDetector) endsWithName(b []byte, t int) bool {
	if t == 0 {
		return false
	}
	// The last two bytes' hash first.
	c := b[t-1]
	maybe := q.all
	if !maybe && t >= 2 {
		h := endHash(lower(b[t-2]), lower(c))
		maybe = q.ends[h>>6]&(1<<(h&63)) != 0
	}
	if maybe {
		for _, s := range q.byLast[lower(c)] {
			if t >= len(s) && hasFoldPrefix(b[t-len(s):t], s) {
				return true
			}
		}
	}
	return false
}
