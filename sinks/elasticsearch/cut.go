package elasticsearch

import (
	"bytes"
	"unicode/utf8"
)

// maxAnswerString is the most of one JSON string of a bulk answer the sink
// keeps. An item's reason quotes the refused value since Elasticsearch 8.2
// ("Preview of field's value: '…'", the whole field): two refused records
// of 600 KB made an answer longer than responseLimit, which was cut, read
// as a bad response and retried whole without end (sinks23 P3). What is
// kept of a reason is for the dead-letter file and the log.
const maxAnswerString = 2 << 10

// cutStrings is an io.Writer that appends a JSON text to dst with every
// string longer than maxAnswerString cut to about that length, "..." added:
// the text stays JSON, with the same members, items and numbers. It never
// cuts inside an escape sequence or a UTF-8 character. Bytes that are not
// in a string are kept as they are (the answer's shape is checked later).
// Text is copied a piece at a time, not a string at a time: an answer of
// short strings costs little more than a copy.
type cutStrings struct {
	dst *bytes.Buffer
	// limit bounds dst: what comes once it holds that many bytes is
	// dropped (and the answer, cut, is read as a bad one).
	limit int
	// in is set inside a string, and skip past its cut. start is where
	// its content begins in dst (counting bytes of the current piece
	// not yet copied), and slashes how many backslashes the content
	// before the current piece ends with.
	in, skip bool
	start    int
	slashes  int
}

func (c *cutStrings) Write(p []byte) (int, error) {
	n := len(p)
	if c.limit > 0 && c.dst.Len() >= c.limit {
		return n, nil
	}
	seg := 0 // p[seg:] is not copied yet
	for i := 0; i < len(p); {
		if !c.in {
			j := bytes.IndexByte(p[i:], '"')
			if j < 0 {
				break
			}
			i += j + 1
			c.in, c.skip, c.slashes = true, false, 0
			c.start = c.dst.Len() + i - seg
			continue
		}
		// The string's content runs from i to its closing quote q (or
		// on past this piece).
		q := -1
		for k := i; k < len(p); {
			j := bytes.IndexByte(p[k:], '"')
			if j < 0 {
				break
			}
			if !c.escaped(p, i, k+j) {
				q = k + j
				break
			}
			k += j + 1
		}
		end := len(p)
		if q >= 0 {
			end = q
		}
		if !c.skip && c.dst.Len()+end-seg-c.start > maxAnswerString {
			need := c.start + maxAnswerString - c.dst.Len()
			c.dst.Write(p[seg : seg+need])
			c.trim()
			c.skip = true
		}
		if c.skip {
			seg = end // the content is dropped; a closing quote is copied
		}
		c.noteSlashes(p[i:end])
		if q < 0 {
			break
		}
		i, c.in = q+1, false
	}
	rest := p[seg:]
	if c.limit > 0 {
		rest = rest[:min(len(rest), c.limit-c.dst.Len())]
	}
	c.dst.Write(rest)
	return n, nil
}

// escaped reports whether the quote at p[q] follows an odd run of
// backslashes, counting from, where the piece's part of the content
// starts, and the backslashes the content ended with before it.
func (c *cutStrings) escaped(p []byte, from, q int) bool {
	k := 0
	for q-k > from && p[q-k-1] == '\\' {
		k++
	}
	if q-k == from {
		k += c.slashes
	}
	return k%2 == 1
}

// noteSlashes follows the backslashes that end the content, b its part in
// the current piece.
func (c *cutStrings) noteSlashes(b []byte) {
	t := 0
	for t < len(b) && b[len(b)-1-t] == '\\' {
		t++
	}
	if t == len(b) {
		c.slashes += t
	} else {
		c.slashes = t
	}
}

// trim cuts the string dst ends with, its content maxAnswerString bytes
// long, back to a whole character and a whole escape sequence, and adds
// "...".
func (c *cutStrings) trim() {
	s := c.dst.Bytes()[c.start:]
	cut := len(s)
	st := cut - 1 // where the last character starts
	for st > 0 && st > cut-utf8.UTFMax && !utf8.RuneStart(s[st]) {
		st--
	}
	if st >= 0 && s[st] >= utf8.RuneSelf {
		if r, size := utf8.DecodeRune(s[st:]); r == utf8.RuneError && size <= 1 {
			cut = st // a character cut short
		}
	}
	for k := max(0, cut-6); k < cut; k++ {
		if s[k] != '\\' {
			continue
		}
		// An escape starts at k if an even run of backslashes precedes it.
		run := 0
		for k-run-1 >= 0 && s[k-run-1] == '\\' {
			run++
		}
		if run%2 == 1 {
			continue
		}
		need := 2
		if k+1 < cut && s[k+1] == 'u' {
			need = 6
		}
		if k+need > cut {
			cut = k
			break
		}
		k += need - 1
	}
	c.dst.Truncate(c.start + cut)
	c.dst.WriteString("...")
}
