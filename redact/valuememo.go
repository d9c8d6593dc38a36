package redact

import "math"

// valueMemo answers skipValue for the objects and arrays of one text in
// about linear time overall. query_secrets masks a secret member's object or
// array whole when it closes within the text; a walk to a close that never
// comes crosses the rest of the text, and a text repeating an unclosed
// `{"password":` made one walk per repetition: a 1 MB line took 40 s of
// CPU, and 12 KB of a User-Agent 8 ms (parser13 F7).
//
// A walk that did not close is walked again, keeping its depth after each
// byte it stepped on outside a string. A later object or array the walk
// stepped on is the start of the same walk, its depth offset: it closes
// where the kept walk's depth first falls below its depth there, and does
// not close if it never does. A start the kept walks passed inside a string
// is walked afresh. Two walks are kept: walks started outside a string
// agree from the first byte both step on outside a string, so starts come
// in at most two phases (the quotes' parity) in practice.
//
// Starts need not fall in step, though: a `\"` outside a string opens one,
// and a line repeating `{"password":{"a":"x{\"token\":[` puts each start
// inside a string of every walk before it, and each walk was walked afresh
// (parser17 B: 10 s of CPU for a line of 400 KB). So the walks are given a
// budget: once the bytes walked to no close pass walkBudget(len(b)), a
// value whose close was not known is taken to run to the end of the text,
// masked with it, rather than walked.
type valueMemo struct {
	walks [2]failedWalk
	next  int // the walk to replace
	spent int // bytes walked since reset, by walks that did not close
}

// walkBudget is how many bytes the walks that do not close may cover in a
// text of n bytes: eight times the text, and 256 KiB more.
func walkBudget(n int) int { return 8*n + 256<<10 }

// failedWalk is a walk from start that reached the end of the text open.
// For the byte at start+k: depth[k] is the walk's depth after it, -1 where
// the walk was inside a string; least[k] is the least depth at or after it.
type failedWalk struct {
	start int
	esc   bool // a walk of JSON inside a string (skipEscaped)
	depth []int32
	least []int32
}

// reset forgets the walks (a new text), keeping their memory.
func (m *valueMemo) reset() {
	for i := range m.walks {
		m.walks[i].start = -1
		m.walks[i].depth = m.walks[i].depth[:0]
		m.walks[i].least = m.walks[i].least[:0]
	}
	m.next = 0
	m.spent = 0
}

// skipValue is skipValue(b, i), b being the text every call since reset
// was about. A nil m is no memo.
func (m *valueMemo) skipValue(b []byte, i int) (int, bool) {
	if m == nil || i >= len(b) || b[i] != '{' && b[i] != '[' {
		return skipValue(b, i)
	}
	return m.skip(b, i, false)
}

// skipEscaped is skipEscaped(b, i) for an object or array, b being the
// text every call since reset was about. A nil m is no memo.
func (m *valueMemo) skipEscaped(b []byte, i int) (int, bool) {
	if m == nil {
		return skipEscaped(b, i)
	}
	return m.skip(b, i, true)
}

// skip is skipValue (!esc) or skipEscaped (esc) with the walks kept. The
// walk of JSON inside a string is one whatever the level of its quotes
// (each string is skipped at its own level): one kind of walk kept per
// level, three levels in turn evicted each other's walks, and a line
// repeating unclosed members at levels 1, 3 and 7 took time in the square
// of its length (regress16 F1: 97 s for 1 MB).
func (m *valueMemo) skip(b []byte, i int, esc bool) (int, bool) {
	for k := range m.walks {
		w := &m.walks[k]
		if w.start < 0 || w.esc != esc || i < w.start || i-w.start >= len(w.depth) {
			continue
		}
		d := w.depth[i-w.start]
		if d < 0 {
			continue // the walk was inside a string here
		}
		if j := i - w.start + 1; j >= len(w.least) || w.least[j] >= d {
			return 0, false // the same walk never gets back to i's depth
		}
		break // it closes: walk it, the walk ends at the close
	}
	if m.spent > walkBudget(len(b)) {
		return len(b), true
	}
	var end int
	var ok bool
	if esc {
		end, ok = skipEscaped(b, i)
	} else {
		end, ok = skipValue(b, i)
	}
	if !ok {
		// What the walk covered: to the text's end, or (JSON inside a
		// string) to that string's end. Charged the rest of the text,
		// twenty truncated bodies in a line of 42 KB used the budget up,
		// and the line's second half was masked (regress17b B1).
		m.spent += m.keep(b, i, esc)
	}
	return end, ok
}

// keep walks from i again, as skipValue (or skipEscaped) does, keeping the
// depths as far as the walk went. It returns how far that is.
func (m *valueMemo) keep(b []byte, i int, esc bool) int {
	w := &m.walks[m.next]
	m.next = (m.next + 1) % len(m.walks)
	w.start, w.esc = i, esc
	n := len(b) - i
	w.depth = grow32(w.depth, n)
	w.least = grow32(w.least, n)
	depth := int32(0)
	// str marks the string b[j:next] (its opening byte at the depth, the
	// rest inside a string).
	str := func(j, next int) {
		w.depth[j-i] = depth
		for k := j + 1; k < next; k++ {
			w.depth[k-i] = -1
		}
	}
walk:
	for j := i; j < len(b); j++ {
		switch {
		case !esc && b[j] == '"':
			_, next, _ := nextJSONToken(b, j)
			str(j, next)
			j = next - 1
			continue
		case esc && b[j] == '\\':
			k := escapedQuoteLevel(b, j)
			if k == 0 {
				break
			}
			_, next, ok := escapedStringEnd(b, j, k)
			if !ok {
				n = j - i // the walk ends in a string that does not close
				break walk
			}
			str(j, next)
			j = next - 1
			continue
		case esc && b[j] == '"':
			n = j - i // a quote of a level below: the walk ends
			break walk
		case b[j] == '{' || b[j] == '[':
			depth++
		case b[j] == '}' || b[j] == ']':
			depth--
		}
		w.depth[j-i] = depth
	}
	w.depth, w.least = w.depth[:n], w.least[:n]
	least := int32(math.MaxInt32)
	for k := n - 1; k >= 0; k-- {
		if d := w.depth[k]; d >= 0 && d < least {
			least = d
		}
		w.least[k] = least
	}
	return n
}

// skipEscaped returns the end of the object or array at b[i] in JSON whose
// quotes are escaped (JSON inside a string), and whether it closes within b.
func skipEscaped(b []byte, i int) (int, bool) { return bracketEnd(b, i, true) }

// bracketEnd returns the end of the object or array at b[i] and whether it
// closes within b: in JSON text (!esc: its strings skipped as tokens), or in
// JSON inside a string (esc: its quotes escaped 1, 3, 7, … times, each
// string skipped at its own level; an unescaped quote ends the string
// holding it, and the value does not close).
func bracketEnd(b []byte, i int, esc bool) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; {
		case !esc && c == '"':
			_, next, ok := nextJSONToken(b, j)
			if !ok {
				return 0, false
			}
			j = next - 1
		case esc && c == '\\':
			k := escapedQuoteLevel(b, j)
			if k == 0 {
				continue
			}
			_, next, ok := escapedStringEnd(b, j, k)
			if !ok {
				return 0, false
			}
			j = next - 1
		case esc && c == '"':
			return 0, false
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

func grow32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
