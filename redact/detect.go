package redact

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// detector finds one kind of secret in a byte string. Detectors are
// immutable and safe for concurrent use; they never allocate on the
// no-candidate path.
type detector interface {
	// maybe is the cheap literal pre-filter. It must be monotone: when it
	// reports false for b it must report false for every substring of b
	// (Apply relies on this to skip fields that are slices of a message
	// which has no candidate).
	maybe(b []byte) bool
	// keyed reports whether a field with this name must be examined even
	// when maybe reports false (its whole value is a secret by its name).
	keyed(key string) bool
	// find returns the first match in b at or after from: b[s:e] (s < e) is
	// the secret to replace. key is the field's name, "" for the message.
	// Successive calls over one b pass increasing from and the same st,
	// zeroed before the first: st carries positions already searched, so
	// that finding every match is linear in len(b).
	find(b []byte, from int, key string, st *findState) (s, e int, ok bool)
}

// findState is a detector's memory across the find calls over one value.
// Its zero value means "nothing searched yet".
type findState struct {
	c          [3]cursor
	init       bool
	runS, runE int        // credit_card: the run being examined
	vm         *valueMemo // query_secrets: the text's unclosed objects (nil: none kept)
	// quote is, after a find, the quote the match's replacement must be
	// put in ("": none): the match is a JSON member's number, literal,
	// object or array, which the replacement turns into a string, and
	// quote is that member's: '"', escaped at the level of JSON inside a
	// string (\", \\\", …), nginxQuote or jsonQuote.
	quote string
	// openFrom, openLvl, openTo: openEnd's last question and answer.
	openFrom, openLvl, openTo int
}

// cursors returns st's two cursors, set up for lit0 and lit1 on first use.
func (st *findState) cursors(lit0, lit1 string) (*cursor, *cursor) {
	if !st.init {
		st.c[0], st.c[1], st.init = newCursor(lit0), newCursor(lit1), true
	}
	return &st.c[0], &st.c[1]
}

// Byte classes, one table for every scanner.
const (
	cDigit  uint16 = 1 << iota
	cAlpha         // A-Z a-z
	cUpper         // A-Z
	cHex           // 0-9 a-f A-F
	cB64           // base64url: A-Z a-z 0-9 - _
	cLocal         // e-mail local part: alnum . _ % + -
	cDomain        // domain label: alnum -
	cName          // query parameter name: alnum _ . - [ ]
	cBearer        // bearer token (RFC 6750 b64token): alnum - . _ ~ + /
	cQDelim        // ends a query value: & ; space tab CR LF " ' < > (' only before another or the end)
	cCard          // credit card run: 0-9 space - + % (of "%20")
	cV6            // IPv6 text: hex : .
	cSpace         // space tab CR LF
)

// byteClass is a lookup table built once; it is never written after
// initialisation.
var byteClass = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var k uint16
		digit := b >= '0' && b <= '9'
		upper := b >= 'A' && b <= 'Z'
		lower := b >= 'a' && b <= 'z'
		alnum := digit || upper || lower
		if digit {
			k |= cDigit | cCard
		}
		if upper || lower {
			k |= cAlpha
		}
		if upper {
			k |= cUpper
		}
		if digit || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F') {
			k |= cHex | cV6
		}
		if alnum || b == '-' || b == '_' {
			k |= cB64
		}
		if alnum || b == '.' || b == '_' || b == '%' || b == '+' || b == '-' {
			k |= cLocal
		}
		if alnum || b == '-' {
			k |= cDomain
		}
		if alnum || b == '_' || b == '.' || b == '-' || b == '[' || b == ']' {
			k |= cName
		}
		if alnum || b == '-' || b == '.' || b == '_' || b == '~' || b == '+' || b == '/' {
			k |= cBearer
		}
		switch b {
		case '&', ';', ' ', '\t', '\r', '\n', '"', '\'', '<', '>':
			k |= cQDelim
		}
		if b == ' ' || b == '-' || b == '+' || b == '%' {
			k |= cCard
		}
		if b == ':' || b == '.' {
			k |= cV6
		}
		if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
			k |= cSpace
		}
		t[c] = k
	}
	return t
}()

func is(c byte, class uint16) bool { return byteClass[c]&class != 0 }

func isAlnum(c byte) bool { return byteClass[c]&(cDigit|cAlpha) != 0 }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasFoldPrefix reports whether b starts with lit, ignoring ASCII case; lit
// is lower case.
func hasFoldPrefix(b []byte, lit string) bool {
	if len(b) < len(lit) {
		return false
	}
	for i := 0; i < len(lit); i++ {
		if lower(b[i]) != lit[i] {
			return false
		}
	}
	return true
}

// indexFold returns the index of the first lit (lower case) in b at or
// after from, ignoring ASCII case, or -1.
func indexFold(b []byte, from int, lit string) int { return indexFoldAt(b, from, lit, 0) }

// indexFoldAt is indexFold jumping between candidates for lit[k] (both
// cases of it) with bytes.IndexByte: k should pick lit's rarest byte.
func indexFoldAt(b []byte, from int, lit string, k int) int {
	nl, nu := -2, -2
	return indexFoldNext(b, from, lit, k, &nl, &nu)
}

// indexFoldNext is indexFoldAt keeping, in *nl and *nu, where lit[k] was
// last found in lower and upper case (-2: not looked for; -1: none left),
// for a search from an index no lower: a case that is absent (the "b" of
// "bearer" in "Bearer x Bearer x …") is looked for once, not once a
// match (each ran to the end of the line: a line of 1 MB took 7 s).
func indexFoldNext(b []byte, from int, lit string, k int, pnl, pnu *int) int {
	if len(lit) == 0 {
		return from
	}
	c0 := lit[k]
	u0 := c0
	if c0 >= 'a' && c0 <= 'z' {
		u0 = c0 - 'a' + 'A'
	}
	nl, nu := *pnl, *pnu
	if u0 == c0 {
		nu = -1
	}
	for j := from + k; j+len(lit)-k <= len(b); {
		if nl != -1 && nl < j {
			if x := bytes.IndexByte(b[j:], c0); x >= 0 {
				nl = j + x
			} else {
				nl = -1
			}
		}
		if nu != -1 && nu < j {
			if x := bytes.IndexByte(b[j:], u0); x >= 0 {
				nu = j + x
			} else {
				nu = -1
			}
		}
		p := nl
		if p < 0 || (nu >= 0 && nu < p) {
			p = nu
		}
		if p < 0 || p-k+len(lit) > len(b) {
			break
		}
		if hasFoldPrefix(b[p-k:], lit) {
			*pnl, *pnu = nl, nu
			return p - k
		}
		j = p + 1
	}
	*pnl, *pnu = nl, nu
	return -1
}

// containsFoldString reports whether s contains lit (lower case), ignoring
// ASCII case.
func containsFoldString(s, lit string) bool {
	for j := 0; j+len(lit) <= len(s); j++ {
		k := 0
		for k < len(lit) && lower(s[j+k]) == lit[k] {
			k++
		}
		if k == len(lit) {
			return true
		}
	}
	return false
}

// cursor finds successive occurrences of a literal without rescanning: pos
// caches the first occurrence at or after the last index asked for. The
// indexes asked for must not decrease.
type cursor struct {
	lit string
	pos int // -1: none left; < the index asked for: not computed
	// nextFold's: where lit[k] was last found in lower and upper case
	// (see indexFoldNext).
	lo, up int
}

func newCursor(lit string) cursor { return cursor{lit: lit, pos: -2, lo: -2, up: -2} }

// next returns the first occurrence at or after i, or -1.
func (c *cursor) next(b []byte, i int) int {
	if c.pos == -1 || c.pos >= i {
		return c.pos
	}
	if i >= len(b) {
		c.pos = -1
		return -1
	}
	if p := indexString(b[i:], c.lit); p >= 0 {
		c.pos = i + p
	} else {
		c.pos = -1
	}
	return c.pos
}

// nextFold is next ignoring ASCII case (lit lower case), searching for
// lit[k] first.
func (c *cursor) nextFold(b []byte, i, k int) int {
	if c.pos == -1 || c.pos >= i {
		return c.pos
	}
	c.pos = indexFoldNext(b, i, c.lit, k, &c.lo, &c.up)
	return c.pos
}

// indexString is bytes.Index for a string needle. (The conversion of a
// short needle uses a stack buffer: it does not allocate.)
func indexString(b []byte, lit string) int {
	if len(lit) == 1 {
		return bytes.IndexByte(b, lit[0])
	}
	return bytes.Index(b, []byte(lit))
}

// indexRare returns the index of the first lit in b, searching for its
// byte lit[k] (chosen as the rarest in log text: 'J' of "eyJ", 'z' of
// "authorization") and checking the rest around it.
func indexRare(b []byte, lit string, k int) int {
	c := lit[k]
	for i := k; i < len(b); {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return -1
		}
		i += j
		if s := i - k; s+len(lit) <= len(b) && string(b[s:s+len(lit)]) == lit {
			return s
		}
		i++
	}
	return -1
}

// ---- credit_card ---------------------------------------------------------

// cardDetector finds payment card numbers: 13 to 19 digits, optionally in
// groups separated by one space or dash, or one space as a form encodes it
// ('+' or "%20": a card typed with spaces in a form sent with GET),
// starting with 2-6 (the issuer
// ranges of Mastercard, Amex, Diners, JCB, Visa, Discover, UnionPay and
// Maestro), passing the Luhn check, and not glued to a letter or digit.
type cardDetector struct{}

// cardRun returns the next maximal run of [0-9 -+%] at or after from that is
// at least 13 bytes long. It probes every 13th byte, so text without such a
// run costs about len(b)/13 table lookups.
func cardRun(b []byte, from int) (rs, re int, ok bool) {
	n := len(b)
	for i := from; i+13 <= n; {
		p := i + 12
		if byteClass[b[p]]&cCard == 0 {
			i = p + 1
			continue
		}
		rs = p
		for rs > i && byteClass[b[rs-1]]&cCard != 0 {
			rs--
		}
		re = p + 1
		for re < n && byteClass[b[re]]&cCard != 0 {
			re++
		}
		if re-rs >= 13 {
			return rs, re, true
		}
		i = re
	}
	return 0, 0, false
}

func (cardDetector) maybe(b []byte) bool {
	for from := 0; ; {
		rs, re, ok := cardRun(b, from)
		if !ok {
			return false
		}
		d := 0
		for _, c := range b[rs:re] {
			if c >= '0' && c <= '9' {
				d++
			}
		}
		if d >= 13 {
			return true
		}
		from = re
	}
}

func (cardDetector) keyed(string) bool { return false }

func (cardDetector) find(b []byte, from int, _ string, st *findState) (int, int, bool) {
	for {
		var rs, re int
		if st.runE > from && st.runS <= from {
			rs, re = from, st.runE // still inside the run of the last match
		} else {
			var ok bool
			if rs, re, ok = cardRun(b, from); !ok {
				return 0, 0, false
			}
			st.runS, st.runE = rs, re
		}
		if s, e, ok := cardInRun(b, rs, re); ok {
			return s, e, true
		}
		from = re
	}
}

// cardInRun looks for a card number among the digit groups of b[rs:re]. For
// each group that may start one it takes the longest Luhn-valid sequence of
// 13-19 digits.
func cardInRun(b []byte, rs, re int) (int, int, bool) {
	for i := rs; i < re; {
		if !is(b[i], cDigit) {
			if isPct20(b[:re], i) {
				i += 3 // its digits are no group's
			} else {
				i++
			}
			continue
		}
		gs := i
		if n := escapeDigits(b, gs); n > 0 {
			// "%224111…", "\x224111…": the escape's hex digits are not
			// the number's. After a bare "%" they may be: "5%4111…", a
			// card after a percentage, shipped read so (regress20c).
			if gs > 0 && b[gs-1] == '%' && n == 2 {
				if e := gs + n; e < re && is(b[e], cDigit) && escapeDigits(b, e) == 0 {
					if end := cardFrom(b, e, re); end > 0 {
						return e, end, true
					}
				}
				if end := cardFrom(b, gs, re); end > 0 {
					return gs, end, true
				}
			}
			i = gs + n
			continue
		}
		if end := cardFrom(b, gs, re); end > 0 {
			return gs, end, true
		}
		for i = gs; i < re && is(b[i], cDigit); i++ {
		}
	}
	return 0, 0, false
}

// cardFrom returns the end of the longest Luhn-valid card number of 13-19
// digits starting at b[gs], a digit, within b[:re]: its groups may be
// joined by one space, '-', '+' or "%20". 0 when none starts there.
func cardFrom(b []byte, gs, re int) int {
	glued := gs > 0 && isAlnum(b[gs-1]) && !escapeBefore(b, gs)
	if glued || b[gs] < '2' || b[gs] > '6' || hashTokenBefore(b, gs) {
		return 0
	}
	digits, best := 0, 0
	for j := gs; j < re; {
		k := j
		for k < re && is(b[k], cDigit) {
			k++
		}
		digits += k - j
		if digits > 19 {
			break
		}
		if digits >= 13 && (k == len(b) || !isAlnum(b[k])) && luhn(b[gs:k]) {
			best = k
		}
		if k+1 < re && (b[k] == ' ' || b[k] == '-' || b[k] == '+') && is(b[k+1], cDigit) {
			j = k + 1
			continue
		}
		if k+3 < re && isPct20(b, k) && is(b[k+3], cDigit) {
			j = k + 3
			continue
		}
		break
	}
	return best
}

// hashTokenBefore reports whether the digits at i are a hash token's hex
// ("[HASH:" just before, hashHexChars lower-case hex digits and "]" after),
// which is not a card number. Digits that only follow "[HASH:" are text
// imitating a token, and may be a card (redact12 F13).
func hashTokenBefore(b []byte, i int) bool {
	if i < len(hashPrefix) || string(b[i-len(hashPrefix):i]) != hashPrefix {
		return false
	}
	end := i + hashHexChars
	if end >= len(b) || b[end] != ']' {
		return false
	}
	for _, c := range b[i:end] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// escapeBefore reports whether b[:i] ends with a percent-escape ("%2C",
// "%3D") or an nginx escape ("\x22"): a separator a URL or nginx wrote,
// after which a number or key is not glued to the bytes before it.
//
// So does an escaped line break or tab ("\n", "\t", "\r", also escaped
// again, "\\n" in a JSON string holding such a message), as JSON, logfmt
// and Go's log/slog write a message of several lines: "cards on
// file:\n4111…" shipped the card (regress18 F7). And so do form feed and
// vertical tab, and a "\u" escape of anything but a letter or digit
// ("\u000a", JSON's other spelling of a line break: regress18b G4).
func escapeBefore(b []byte, i int) bool {
	if i >= 2 && b[i-2] == '\\' {
		switch b[i-1] {
		case 'n', 't', 'r', 'f', 'v':
			return true
		}
	}
	if i >= 6 && b[i-6] == '\\' && b[i-5] == 'u' {
		if v, ok := hex4(b, i-4); ok && (v >= 0x80 || !isAlnum(byte(v))) {
			return true
		}
	}
	return i >= 3 && is(b[i-1], cHex) && is(b[i-2], cHex) &&
		(b[i-3] == '%' || b[i-3] == 'x' && i >= 4 && b[i-4] == '\\')
}

// escapeDigits returns how many bytes at b[i:] are hex digits of an
// escape that starts before i: of a percent-escape or nginx escape, or of
// a "\u" escape, i at any of their hex digits (the second of "%A3", the
// last of "\u00A3": .NET writes "£4111…" as \u00A34111…, and the card's
// digits began at the escape's last: regress19b F1); or 0.
func escapeDigits(b []byte, i int) int {
	for j := i - 2; j >= 0 && j >= i-5; j-- {
		if b[j] == '\\' && b[j+1] == 'u' {
			if _, ok := hex4(b, j+2); ok && i < j+6 {
				return j + 6 - i
			}
			break
		}
	}
	if i >= 2 && is(b[i-1], cHex) && i < len(b) && is(b[i], cHex) &&
		(b[i-2] == '%' || i >= 3 && b[i-2] == 'x' && b[i-3] == '\\') {
		return 1 // the second hex digit
	}
	if i+2 > len(b) || !is(b[i], cHex) || !is(b[i+1], cHex) {
		return 0
	}
	if i >= 1 && b[i-1] == '%' || i >= 2 && b[i-1] == 'x' && b[i-2] == '\\' {
		return 2
	}
	return 0
}

// addrEscapeDigits is escapeDigits before an IP address: a "%XX" counts
// only when it reads as a URL's escape (pctEscapeLike). A card after any
// "%XX" keeps escapeDigits' reading (regress20c R2: "%41" then a card
// shipped).
func addrEscapeDigits(b []byte, i int) int {
	n := escapeDigits(b, i)
	switch {
	case n == 2 && b[i-1] == '%':
		if !pctEscapeLike(b[i], b[i+1]) {
			return 0
		}
	case n == 1 && b[i-2] == '%':
		if !pctEscapeLike(b[i-1], b[i]) {
			return 0
		}
	}
	return n
}

// pctEscapeLike reports whether "%" hi lo reads as a URL's escape: of
// white space, punctuation or a byte beyond ASCII, what a URL encodes. A
// letter, a digit or a control character is no URL's: "95%10.9.8.7" is a
// percentage and an address (regress20b G2: its digits were taken for an
// escape's, and it shipped).
func pctEscapeLike(hi, lo byte) bool {
	c := unhex(hi)<<4 | unhex(lo)
	switch {
	case c >= 0x80 || c == '\t' || c == '\n' || c == '\r':
		return true
	case c < 0x20 || c == 0x7f:
		return false
	}
	return !isAlnum(c)
}

// isPct20 reports whether b holds "%20", a space percent-encoded, at i.
func isPct20(b []byte, i int) bool {
	return i+3 <= len(b) && b[i] == '%' && b[i+1] == '2' && b[i+2] == '0'
}

// luhn checks the Luhn sum of the digits in b, ignoring separators (the
// digits of "%20" too).
func luhn(b []byte) bool {
	sum, alt := 0, false
	for i := len(b) - 1; i >= 0; i-- {
		c := b[i]
		if c < '0' || c > '9' {
			continue
		}
		if i >= 2 && isPct20(b, i-2) {
			i -= 2
			continue
		}
		d := int(c - '0')
		if alt {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		alt = !alt
	}
	return sum%10 == 0
}

// ---- email ---------------------------------------------------------------

// emailDetector finds e-mail addresses, also with the '@' percent-encoded
// as "%40" (query strings). The local part is at most 64 characters
// (more are left in place), the domain has at least two labels and an
// alphabetic top-level label of two or more letters.
type emailDetector struct{}

const (
	maxLocal  = 64 * 3 // 64 characters, each possibly percent-encoded
	maxDomain = 255
)

func (emailDetector) maybe(b []byte) bool {
	return bytes.IndexByte(b, '@') >= 0 || indexString(b, "%40") >= 0
}

func (emailDetector) keyed(string) bool { return false }

func (emailDetector) find(b []byte, from int, _ string, st *findState) (int, int, bool) {
	at, pct := st.cursors("@", "%40")
	for i := from; i < len(b); {
		p, w := at.next(b, i), 1
		if q := pct.next(b, i); q >= 0 && (p < 0 || q < p) {
			p, w = q, 3
		}
		if p < 0 {
			return 0, 0, false
		}
		ls := p
		for {
			// Letters beyond ASCII are letters of an internationalized
			// local part (RFC 6531): "hans.mü" of hans.müller@… shipped.
			// Other characters beyond ASCII (a no-break space, a
			// typographic quote) are not (regress12b).
			for ls > from && p-ls < maxLocal {
				if is(b[ls-1], cLocal) {
					ls--
					continue
				}
				if b[ls-1] >= 0x80 {
					if r, size := utf8.DecodeLastRune(b[from:ls]); localRune(r, size) {
						ls -= size
						continue
					}
				}
				break
			}
			if ls <= from || b[ls-1] != '\\' || !oddBackslashes(b, from, ls-1) {
				break
			}
			// An escape, whose letters and digits the loop took for
			// local-part bytes. One that stands for a local-part
			// character or one beyond ASCII is part of the address:
			// "hans.m\xC3\xBCller@" as nginx logs UTF-8, "m\u00fcller@"
			// and "jane\u002Btag@" as JSON writes them, "m\x5Cu00fc" as
			// nginx logs that (redact12: the part before it shipped).
			// Any other ("\x22" as nginx writes '"', "\u003c" as JSON
			// may write '<') comes before the address.
			c, e := escapedAt(b[:p], ls-1)
			if e > 0 && p-(ls-1) < maxLocal && (c >= 0x80 && (e == 4 || localRune(c, 2)) || c < 0x80 && is(byte(c), cLocal)) {
				ls--
				continue
			}
			if e > 0 {
				ls += e - 1
			}
			break
		}
		for ls < p && b[ls] == '.' {
			ls++
		}
		if ls < p {
			if de := emailDomain(b, p+w); de > 0 {
				return ls, de, true
			}
		}
		i = p + w
	}
	return 0, 0, false
}

// escapedAt decodes the escape at b[i], a backslash that starts one (see
// oddBackslashes): "\xHH" as nginx writes a byte, "\uHHHH" as JSON writes
// a character, and "\x5CuHHHH", JSON's escape as nginx logs it. It returns
// what the escape stands for and its length in b, or a length of 0.
func escapedAt(b []byte, i int) (c rune, n int) {
	switch e := escapeLen(b, i); e {
	case 4:
		c = rune(unhex(b[i+2])<<4 | unhex(b[i+3]))
		if c == '\\' && i+9 <= len(b) && b[i+4] == 'u' {
			if u, ok := hex4(b, i+5); ok {
				return u, 9
			}
		}
		return c, 4
	case 6:
		u, _ := hex4(b, i+2)
		return u, 6
	}
	return 0, 0
}

// escapeLen returns the length of the "\xHH" or "\uHHHH" escape at b[i],
// or 0.
func escapeLen(b []byte, i int) int {
	k := 0
	switch {
	case i+1 >= len(b):
		return 0
	case b[i+1] == 'x':
		k = 4
	case b[i+1] == 'u':
		k = 6
	default:
		return 0
	}
	if i+k > len(b) {
		return 0
	}
	for _, c := range b[i+2 : i+k] {
		if !is(c, cHex) {
			return 0
		}
	}
	return k
}

// oddBackslashes reports whether the run of backslashes ending at b[i] (a
// backslash), not looking before from, is odd: b[i] starts an escape
// rather than ending an escaped backslash ("\\x22" is a backslash and
// "x22").
func oddBackslashes(b []byte, from, i int) bool {
	n := 0
	for i >= from && b[i] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

// emailDomain returns the end of the longest domain starting at ds whose
// last label is alphabetic (two or more letters) and which has at least two
// labels, or -1.
func emailDomain(b []byte, ds int) int {
	end, labels := -1, 0
	for i := ds; i < len(b) && i-ds < maxDomain; {
		ls := i
		alpha := true                 // every character a letter
		ascii, beyond := false, false // characters of ASCII, and beyond it, seen
		lead := -1                    // where leading ASCII letters met a character beyond ASCII
		for {
			c, n := rune(0), 0
			if i < len(b) && is(b[i], cDomain) {
				c, n = rune(b[i]), 1 // the common case, inline
			} else {
				c, n = domainChar(b, ds, i)
			}
			if n == 0 || c == '.' {
				break
			}
			if c < 0x80 {
				if !is(byte(c), cAlpha) {
					alpha = false
				}
				ascii = true
			} else {
				if !beyond && alpha && ascii && i-ls >= 2 {
					lead = i
				}
				escByte := b[i] == '\\' && n == 4 // "\xHH": a byte of UTF-8, taken for a letter
				if !escByte && !unicode.IsLetter(c) && !unicode.IsMark(c) {
					alpha = false // a digit beyond ASCII
				}
				beyond = true
			}
			i += n
		}
		if i == ls {
			break
		}
		labels++
		if labels >= 2 {
			switch {
			case alpha && !(ascii && beyond) && i-ls >= 2:
				// All ASCII letters, or all letters beyond ASCII (an
				// internationalized top-level label, ".рф").
				end = i
			case lead > 0:
				// "example.com失败3次": the last label is its ASCII
				// letters, and the text after them is not the address
				// (regress12b: taken into it, the label was not
				// alphabetic, and the whole address shipped).
				end = lead
			}
		}
		if c, n := domainChar(b, ds, i); n > 0 && c == '.' {
			if c2, n2 := domainChar(b, ds, i+n); n2 > 0 && c2 != '.' {
				i += n
				continue
			}
		}
		break
	}
	return end
}

// domainChar returns the character of a domain name at b[i] and its length
// in b, or a length of 0: a label byte, a '.', a letter or digit beyond
// ASCII (an internationalized name, "müller.de"), or an escape of one of
// them ("m\u00fcller.de" as JSON writes it, "example\u002ecom", and any
// "\xHH" byte beyond ASCII as nginx logs UTF-8; redact12: the address shipped
// whole, or its end did).
func domainChar(b []byte, from, i int) (rune, int) {
	if i >= len(b) {
		return 0, 0
	}
	switch c := b[i]; {
	case is(c, cDomain), c == '.':
		return rune(c), 1
	case c >= 0x80:
		if r, size := utf8.DecodeRune(b[i:]); wordRune(r) {
			return r, size
		}
	case c == '\\' && oddBackslashes(b, from, i):
		r, n := escapedAt(b, i)
		switch {
		case n == 0:
		case r >= 0x80 && (n == 4 || wordRune(r)), r < 0x80 && (r == '.' || is(byte(r), cDomain)):
			return r, n
		}
	}
	return 0, 0
}

// localRune reports whether r (size bytes of UTF-8), beyond ASCII, may be
// part of an address's local part: anything but white space and
// punctuation (a no-break space or a typographic quote before an address
// is not part of it; an emoji or a byte that is not UTF-8 may be, and an
// address is masked rather than missed). A lone surrogate is half of a
// JSON escape pair ("\ud83d\ude00").
func localRune(r rune, size int) bool {
	if r == utf8.RuneError {
		return size == 1
	}
	return r >= 0x80 && !unicode.IsSpace(r) && !unicode.IsPunct(r)
}

// wordRune reports whether r, beyond ASCII, is a letter, a digit or a
// combining mark: what an internationalized domain may hold.
func wordRune(r rune) bool {
	return r >= 0x80 && r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))
}

// ---- jwt -----------------------------------------------------------------

// jwtDetector finds JSON Web Tokens (JWS and JWE compact form): a base64url
// header starting "eyJ" ('{"'), then at least two more dot-separated
// base64url segments (the last may be empty: unsigned tokens).
type jwtDetector struct{}

func (jwtDetector) maybe(b []byte) bool { return indexRare(b, "eyJ", 2) >= 0 }

func (jwtDetector) keyed(string) bool { return false }

func (jwtDetector) find(b []byte, from int, _ string, _ *findState) (int, int, bool) {
	n := len(b)
	for i := from; i < n; {
		p := indexRare(b[i:], "eyJ", 2)
		if p < 0 {
			return 0, 0, false
		}
		p += i
		e1 := p + 3
		for e1 < n && is(b[e1], cB64) {
			e1++
		}
		// Every "eyJ" inside b[p:e1] ends its header at e1 too: skip them.
		if e1 >= n || b[e1] != '.' {
			i = e1
			continue
		}
		e2 := e1 + 1
		for e2 < n && is(b[e2], cB64) {
			e2++
		}
		if e2 == e1+1 || e2 >= n || b[e2] != '.' {
			i = e2
			continue
		}
		e := e2 + 1
		for e < n && is(b[e], cB64) {
			e++
		}
		for e+1 < n && b[e] == '.' && is(b[e+1], cB64) {
			e++
			for e < n && is(b[e], cB64) {
				e++
			}
		}
		return p, e, true
	}
	return 0, 0, false
}

// ---- aws_access_key ------------------------------------------------------

// awsKeyDetector finds AWS access key IDs: AKIA (long-term) or ASIA
// (temporary) and 16 upper-case letters or digits, not glued to another
// letter or digit.
type awsKeyDetector struct{}

func (awsKeyDetector) maybe(b []byte) bool {
	// One scan for the 'I' both prefixes share.
	for i := 2; i < len(b)-1; {
		j := bytes.IndexByte(b[i:len(b)-1], 'I')
		if j < 0 {
			return false
		}
		i += j
		if b[i-2] == 'A' && (b[i-1] == 'K' || b[i-1] == 'S') && b[i+1] == 'A' {
			return true
		}
		i++
	}
	return false
}

func (awsKeyDetector) keyed(string) bool { return false }

func (awsKeyDetector) find(b []byte, from int, _ string, st *findState) (int, int, bool) {
	ak, as := st.cursors("AKIA", "ASIA")
	for i := from; i < len(b); {
		p := ak.next(b, i)
		if q := as.next(b, i); q >= 0 && (p < 0 || q < p) {
			p = q
		}
		if p < 0 {
			return 0, 0, false
		}
		if (p == 0 || !isAlnum(b[p-1]) || escapeBefore(b, p)) && p+20 <= len(b) && (p+20 == len(b) || !isAlnum(b[p+20])) {
			ok := true
			for _, c := range b[p+4 : p+20] {
				if !is(c, cUpper|cDigit) {
					ok = false
					break
				}
			}
			if ok {
				return p, p + 20, true
			}
		}
		i = p + 1
	}
	return 0, 0, false
}

// ---- bearer_token --------------------------------------------------------

// bearerDetector finds bearer tokens ("Bearer xxx", any case, after a space,
// tab, '+' or "%20") and Authorization values ("Authorization: Basic xxx",
// "authorization=xxx", "\"authorization\":\"xxx\""): the credentials are
// replaced, the scheme name is kept. A field whose name contains
// "authorization" (http_authorization) is one Authorization value.
type bearerDetector struct{}

func (bearerDetector) maybe(b []byte) bool {
	return indexFoldAt(b, 0, "bearer", 0) >= 0 || indexFoldAt(b, 0, "authorization", 7) >= 0
}

func (bearerDetector) keyed(key string) bool {
	return len(key) >= len("authorization") &&
		(strings.IndexByte(key, 'z') >= 0 || strings.IndexByte(key, 'Z') >= 0) &&
		containsFoldString(key, "authorization")
}

func (d bearerDetector) find(b []byte, from int, key string, st *findState) (int, int, bool) {
	st.quote = ""
	if from == 0 && d.keyed(key) {
		// The whole value is one Authorization header's: its scheme, the
		// first word, stays, and all after it is credentials. The
		// credentials were cut at their first space or comma, and the
		// rest shipped (redact24 P3: "Basic a, Basic b", AWS SigV4's
		// "Credential=…, Signature=…" after a scheme read as a token).
		if s := authRest(b); s < len(b) {
			if isToken(b[s:]) {
				return 0, 0, false // masked already
			}
			return s, len(b), true
		}
		if s, e := authValue(b, 0); s < e {
			return s, e, true
		}
	}
	bc, ac := st.cursors("bearer", "authorization")
	for i := from; i < len(b); {
		bp, ap := bc.nextFold(b, i, 0), ac.nextFold(b, i, 7)
		switch {
		case bp < 0 && ap < 0:
			return 0, 0, false
		case ap >= 0 && (bp < 0 || ap < bp):
			p := ap
			i = p + len("authorization")
			if p > 0 && is(b[p-1], cAlpha) && !escapeBefore(b, p) {
				continue
			}
			j := i
			member := j < len(b) && b[j] == '"'
			ws := "" // the white space escaped as the name's quote is (memberSpaceEnd)
			if j < len(b) {
				// The name's closing quote, also escaped (\", \x22,
				// \u0022: JSON in a string or logged by nginx or .NET;
				// redact20 F11: the credential shipped).
				if b[j] == '\\' {
					ws = jsonQuote
					if hasQuoteAt(b, j, nginxQuote) {
						ws = nginxQuote
					}
				}
				j = quoteTokenEnd(b, j)
			}
			j = skipSpace(b, j)
			if j >= len(b) || (b[j] != ':' && b[j] != '=') {
				continue
			}
			vs := j + 1
			if ws != "" {
				// Pretty-printed, a line break after the colon: it was
				// taken for the value, and the value shipped (regress20b
				// G9). And only a string that closes is this member's
				// value here; other shapes are query_secrets' (an nginx
				// quote, then JSON's \" inside: it was cut there).
				vs = memberSpaceEnd(b, vs, ws)
				qe := vs
				if vs < len(b) {
					qe = quoteTokenEnd(b, vs)
				}
				if qe == vs || b[vs] != '\\' {
					continue
				}
				if _, ok := escQuotedEnd(b, vs, qe); !ok {
					continue
				}
			}
			if s, e := authValue(b, vs); s < e {
				if member && b[j] == ':' && s == skipSpace(b, j+1) {
					if isLiteral(b[s:e]) {
						continue // true, false, null: no credentials
					}
					// A JSON member's number ("Authorization": 200559)
					// is masked as a string: JSON after a raw line's
					// prefix stays JSON.
					st.quote = `"`
				}
				return s, e, true
			}
		default:
			p := bp
			i = p + len("bearer")
			if p > 0 && is(b[p-1], cAlpha) && !escapeBefore(b, p) {
				continue
			}
			j := skipAuthSep(b, i)
			if j == i {
				continue
			}
			if e := bearerToken(b, j); e > j {
				if e-j == len("bearer") && indexFoldAt(b[:e], j, "bearer", 0) == j {
					// "Bearer Bearer <token>", a client's doubled
					// scheme: the second is no token, and the real one
					// after it shipped (regress25b R5).
					i = j
					continue
				}
				return j, e, true
			}
			if s, e, ok := quotedCredential(b, j); ok {
				if e > s {
					return s, e, true
				}
				continue // masked already
			}
		}
	}
	return 0, 0, false
}

// authRest returns where the credentials of the Authorization value v
// begin: after its scheme (its first word) and the spaces after that; at
// its first non-space byte when it holds no such word and space (a bare
// token).
func authRest(v []byte) int {
	i := skipSpace(v, 0)
	k := i
	for k < len(v) && (is(v[k], cAlpha|cDigit) || v[k] == '-' || v[k] == '_' || v[k] == '.') {
		k++
	}
	if k == i || k >= len(v) || v[k] != ' ' && v[k] != '\t' {
		return i
	}
	return skipSpace(v, k)
}

func skipSpace(b []byte, j int) int {
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	return j
}

// skipAuthSep skips the separator between an auth scheme and its
// credentials: spaces, tabs, '+' or "%20" (as in a query string).
func skipAuthSep(b []byte, j int) int {
	for j < len(b) {
		switch {
		case b[j] == ' ' || b[j] == '\t' || b[j] == '+':
			j++
		case j+2 < len(b) && b[j] == '%' && b[j+1] == '2' && b[j+2] == '0':
			j += 3
		default:
			return j
		}
	}
	return j
}

// bearerToken returns the end of the b64token starting at j.
func bearerToken(b []byte, j int) int {
	start := j
	for j < len(b) {
		if is(b[j], cBearer) {
			j++
			continue
		}
		if j > start && digitsStart(b, j) <= start {
			// Laravel Sanctum's "ID|secret": the secret is after the
			// '|' (redact12 F15: it shipped), which JSON may write
			// "\u007c" (regress12b).
			n := 0
			if b[j] == '|' {
				n = 1
			} else if b[j] == '\\' {
				if c, e := escapedAt(b, j); c == '|' {
					n = e
				}
			}
			if n > 0 && j+n < len(b) && is(b[j+n], cBearer) {
				j += n
				continue
			}
		}
		if n := tokenEscape(b, j); n > 0 {
			j += n
			continue
		}
		if b[j] >= 0x80 {
			// A character beyond ASCII, which no token holds (the
			// escape's decoded form, "abcéSECRET"): masked with it.
			if r, size := utf8.DecodeRune(b[j:]); localRune(r, size) {
				j += size
				continue
			}
		}
		break
	}
	for j < len(b) && b[j] == '=' {
		j++
	}
	return j
}

// tokenEscape returns the length of an escape at b[j] that stands for a
// token character, or 0: JSON's "\/" and "\u002B" (PHP and .NET write them),
// and both as nginx logs them ("\x5C/", "\x5Cu002B"). The token went on
// after them, and shipped (redact12).
func tokenEscape(b []byte, j int) int {
	if b[j] != '\\' || j+1 >= len(b) {
		return 0
	}
	if b[j+1] == '/' {
		return 2
	}
	c, n := escapedAt(b, j)
	switch {
	case n == 4 && c == '\\' && j+4 < len(b) && b[j+4] == '/':
		return 5
	case n > 0 && c < 0x80 && is(byte(c), cBearer):
		return n
	case n > 4 && c >= 0x80:
		// A character beyond ASCII, which no token holds: what follows
		// is masked with it rather than shipped (regress12b).
		return n
	}
	return 0
}

// authValue returns the credentials of an Authorization value starting at
// j (after "authorization:" or at the start of a field): after optional
// spaces and quote, "Scheme credentials" gives the credentials, anything
// else the value up to a delimiter.
func authValue(b []byte, j int) (int, int) {
	j = skipSpace(b, j)
	bracket := false // Go's map of a header's values: ends at ']'
	if j < len(b) && (b[j] == '[' || b[j] == '{') {
		if b[j] == '[' && j+1 < len(b) && is(b[j+1], cAlpha) && tokenAt(b, j) == 0 {
			// Go's http.Header printed with %v:
			// map[Authorization:[Basic …] …] (regress17 G2: shipped).
			bracket = true
			j++
		} else {
			// A JSON array or object ("authorization":["Basic …"]): no
			// text value (query_secrets masks it whole; its strings are
			// their own).
			return j, j
		}
	}
	var quote byte
	escQuote := "" // the value's opening quote escaped: \", \\\", \x22, \u0022
	qs := j        // where the opening quote starts
	if j < len(b) && (b[j] == '"' || b[j] == '\'') {
		quote = b[j]
	} else if j < len(b) && b[j] == '\\' {
		if qe := quoteTokenEnd(b, j); qe > j {
			// A logfmt or slog string holding the header, a JSON string
			// holding JSON (redact20 F6: only the backslash was masked,
			// and the credential shipped).
			escQuote, quote = string(b[j:qe]), '"'
			j = qe - 1
		}
	}
	// A double-quoted value is a string (JSON, logfmt, Go's %q) that may
	// hold escaped quotes ("Digest username=\"bob\", response=\"…\""):
	// its credentials run to its closing quote. They were cut at the first
	// backslash, and the Digest response shipped (regress16 F4). So with
	// the quotes escaped: a quote escaped once more inside is the
	// string's (regress20b G7: \"Digest username=\\\"bob\\\", … ended at
	// the first).
	closing := -1
	switch {
	case escQuote != "":
		if e, ok := escQuotedEnd(b, qs, j+1); ok {
			closing = e
		}
	case quote == '"':
		if end, _, ok := escapedStringEnd(b, j, 0); ok {
			closing = end
		}
	}
	if quote != 0 {
		j++
		if escQuote != "" && closing < 0 && j < len(b) && (b[j] == ':' || b[j] == ';') {
			// An escaped quote no such quote closes, then ':': read as
			// before escaped quotes were ("\x22:s3cret\"" was masked
			// whole: regress20b).
			j, quote, escQuote = qs, 0, ""
		} else if e, ok := gluedValue(b, emptyStringEnd(b, j, quote, escQuote != "")); ok && e > j {
			// An empty string glued to a word: the word is the value,
			// unquoted (\x22\x22s3cret was taken for no value, and
			// shipped: regress20c R4; so did ""s3cret, as a source's
			// field decodes it: regress21 F1).
			j, quote, escQuote, closing = e, 0, "", -1
		} else if j >= len(b) || is(b[j], cSpace) || escQuote != "" && quoteTokenEnd(b, j) > j ||
			strings.IndexByte(`,;:}])"'`, b[j]) >= 0 && !punctCredential(b, j, closing) && !singlePunct(b, j, quote) {
			// No value: the quote closes a string that ended in the
			// name ("missing header authorization:","status":401): the
			// text to the next quote was masked, and the JSON broke
			// (regress17 R1), or the next name ("authorization="
			// password="x") was, and the password shipped (G3).
			return j, j
		}
	}
	j = skipSpace(b, j)
	k := j
	for k < len(b) && is(b[k], cAlpha) {
		k++
	}
	if k > j {
		c := skipAuthSep(b, k)
		if c > k {
			if s, e, ok := quotedCredential(b, c); ok {
				return s, e // e == s: masked already
			}
		}
		if c > k && c < len(b) && !is(b[c], cQDelim) && b[c] != ',' {
			j = c
			// "Bearer Bearer <token>", a client's doubled scheme: the
			// second is no credential (regress25b R5: the token shipped).
			k2 := j
			for k2 < len(b) && is(b[k2], cAlpha) {
				k2++
			}
			if c2 := skipAuthSep(b, k2); k2-j == len("bearer") && indexFoldAt(b[:k2], j, "bearer", 0) == j &&
				c2 > k2 && c2 < len(b) && !is(b[c2], cQDelim) && b[c2] != ',' {
				j = c2
			}
		}
	}
	if j < len(b) && b[j] == '[' && tokenAt(b, j) > 0 {
		return j, j // masked already
	}
	if closing >= j {
		return j, closing
	}
	if e := authParams(b, j, quote); e > j {
		return j, e
	}
	e := j
	for e < len(b) && !is(b[e], cQDelim) && b[e] != ',' && (quote != 0 || b[e] != '}') && !(bracket && b[e] == ']') {
		// Unquoted, a '}' ends the value: a JSON member's number or
		// literal ({"Authorization": 200559}) was masked with the brace
		// after it, and the JSON broken (regress16 F7). (Not ']': a
		// token's own ends one, "[REDACTED]".)
		e++
	}
	return j, e
}

// quotedCredential returns the credential in quotes at b[c], after an auth
// scheme (Basic "dXNl…", Bearer 'abc…', curl -H "…Bearer \"abc…\""): from
// after the opening quote to the closing one (an escaped quote, \", closes
// it too: other escapes are the credential's, "ab\/c"), or to the first
// white space where it does not close. s == e when b[c] opens no quote.
// The scheme was masked and the credential shipped beside it (docs19 F3).
//
// The quote may be escaped any number of times (curl's \" logged in a JSON
// string is \\\"), or written as nginx (\x22) or .NET (\u0022) write it
// (regress19b F2); a quote so written closes the credential too.
//
// ok is false where no credential is in quotes there; e == s with ok where
// it is masked already (a mask token in the quotes).
func quotedCredential(b []byte, c int) (s, e int, ok bool) {
	if c >= len(b) {
		return 0, 0, false
	}
	single := b[c] == '\''
	if s = quoteTokenEnd(b, c); s == c {
		return 0, 0, false
	}
	if s < len(b) && b[s] == '[' && tokenAt(b, s) > 0 {
		return s, s, true
	}
	// The quote may close the string holding the scheme
	// ("Authorization":"Bearer "},…): the mask ran on over the JSON after
	// it (regress19b F7). Where ", ; : } ]" follows it, a credential is
	// one that a quote closes and that holds a letter or digit
	// (Basic ":s3cret" shipped: redact20 F3).
	punct := s < len(b) && strings.IndexByte(",;:}]", b[s]) >= 0
	closed := func(e int) (int, int, bool) {
		// In single quotes, which JSON does not write, any such
		// credential holding a letter or digit.
		if punct && !(single && hasAlnum(b[s:e])) && !punctCredential(b, s, e) {
			return 0, 0, false
		}
		return s, e, e > s
	}
	for e = s; e < len(b) && !is(b[e], cSpace) && !(single && b[e] == '\''); e++ {
		switch {
		case b[e] == '"':
			return closed(e)
		case b[e] == '\\':
			// A run of backslashes, walked once (from each of its bytes
			// it took time in the square of its length: regress19c R3):
			// a quote written at its last byte (\", \x22, \u0022; \\\"
			// too) closes the credential, else its escapes are the
			// credential's ("ab\/c").
			k := e
			for k < len(b) && b[k] == '\\' {
				k++
			}
			if quoteTokenEnd(b, k-1) > k-1 {
				return closed(e)
			}
			e = k - 1 // the loop looks at the byte after the run next
		}
		// Anything else but white space and the quote is the
		// credential's: a password holds any character (regress19c R5:
		// "Xk9!pQ2@…" and "bob:hunter2" shipped).
	}
	if single && e < len(b) && b[e] == '\'' {
		return closed(e)
	}
	if punct {
		return 0, 0, false // no quote closes it
	}
	return s, e, e > s
}

// punctCredential reports whether b[s:closing], in quotes and starting
// with ", ; : } ]", is a credential (Basic ":s3cret": redact20 F3) rather
// than the JSON after a string the quote closed ("Bearer "},…;
// ["Bearer ",401,"x"]: regress20b G4, the array's elements were masked):
// a quote closes it (closing > s), and it holds a letter or digit and none
// of ", { [" or white space, but for a first ',' not followed by what starts
// a JSON number or literal. (Such a credential is taken for JSON, and
// ships: ",401".)
func punctCredential(b []byte, s, closing int) bool {
	if closing <= s {
		return false
	}
	v := b[s:closing]
	if v[0] == ',' {
		if len(v) < 2 || is(v[1], cDigit) || v[1] == '-' || isLiteral(v[1:]) || isLiteralStart(v[1:]) {
			return false
		}
		v = v[1:]
	}
	return hasAlnum(v) && bytes.IndexAny(v, ",{[ \t\r\n") < 0
}

// emptyStringEnd returns where a string that an opening quote just before
// b[j] opened ends when b[j] closes it at once (the same quote, escaped
// when escaped), or j.
func emptyStringEnd(b []byte, j int, quote byte, escaped bool) int {
	switch {
	case j >= len(b):
		return j
	case escaped:
		return quoteTokenEnd(b, j)
	case quote != 0 && b[j] == quote:
		return j + 1
	}
	return j
}

// gluedValue returns where the value starts after an empty string that
// ends at e, when something goes on from it: anything but a space (plain or
// escaped: "\x20", "\u0020"), the end, what ends a value (",;}])"), or a
// quote, escaped too. A credential may start with punctuation (base64's "+"
// and "/", base64url's "-" and "_"): read as no value, such ones shipped
// (regress21c H2), so an empty header's ordinary text glued to it
// (`"".Retrying in 5s`) is masked too. Another white space or control
// character, or an escape of one ("\t", "\n", "\b", "\x09"), is passed
// over to the word after it: a source's field decodes an escape that the
// message keeps, and one level of escapes less, and the two ended apart, the
// value masked in one and shipped in the other (regress21b G4, regress21d
// J1).
func gluedValue(b []byte, e int) (int, bool) {
	if e >= len(b) || b[e] == ' ' || strings.IndexByte(",;}])\"'", b[e]) >= 0 || quoteTokenEnd(b, e) > e {
		return 0, false
	}
	if b[e] < ' ' {
		return e + 1, true
	}
	if b[e] != '\\' || e+1 >= len(b) {
		return e, true
	}
	switch b[e+1] {
	case 'n', 't', 'r', 'f', 'v', 'b':
		return e + 2, true
	case 'x':
		if e+4 <= len(b) && is(b[e+2], cHex) && is(b[e+3], cHex) {
			if v := unhex(b[e+2])<<4 | unhex(b[e+3]); v == ' ' {
				return 0, false
			} else if v < ' ' {
				return e + 4, true
			}
		}
	case 'u':
		if v, ok := hex4(b, e+2); ok && v == ' ' {
			return 0, false
		} else if ok && v < ' ' {
			return e + 6, true
		}
	}
	return e, true
}

// escQuotedEnd returns where the string that the escaped quote at
// b[qs:qe] (quoteTokenEnd) opens closes: at the same quote, a quote
// escaped once more inside being the string's (\"a\\\"b\": regress20b G7),
// and nginx's \x5C\x22 or JSON's \\\u0022 too. ok is false when it does not
// close.
func escQuotedEnd(b []byte, qs, qe int) (int, bool) {
	tok := string(b[qs:qe])
	if tok == nginxQuote || tok == jsonQuote {
		e := escStringEnd(b, qe, tok)
		return e, hasQuoteAt(b, e, tok)
	}
	end, _, ok := escapedStringEnd(b, qs, len(tok)-1)
	return end, ok
}

// singlePunct reports whether the value at b[j], in single quotes (which
// JSON does not write), starting with ", ; : } ]" is a credential: a quote
// closes it, with a letter or digit and no white space before that
// (Authorization: ':s3cret', redact20 F3).
func singlePunct(b []byte, j int, quote byte) bool {
	if quote != '\'' || b[j] == '\'' {
		return false
	}
	k := bytes.IndexByte(b[j:], '\'')
	return k > 0 && hasAlnum(b[j:j+k]) && bytes.IndexAny(b[j:j+k], " \t\r\n") < 0
}

// hasAlnum reports whether b holds an ASCII letter or digit.
func hasAlnum(b []byte) bool {
	for _, c := range b {
		if is(c, cDigit|cAlpha) {
			return true
		}
	}
	return false
}

// quoteTokenEnd returns the end of the quote written at b[c]: ", ', a run
// of backslashes and ", \x22 or \u0022; c where none is.
func quoteTokenEnd(b []byte, c int) int {
	switch {
	case b[c] == '"' || b[c] == '\'':
		return c + 1
	case b[c] != '\\':
		return c
	case hasQuoteAt(b, c, nginxQuote) || hasQuoteAt(b, c, jsonQuote):
		return c + 4 + 2*btoi(b[c+1] == 'u')
	}
	k := c
	for k < len(b) && b[k] == '\\' {
		k++
	}
	if k < len(b) && b[k] == '"' {
		return k + 1
	}
	if hasQuoteAt(b, k-1, nginxQuote) || hasQuoteAt(b, k-1, jsonQuote) {
		// \\x22 and \\u0022: nginx's or .NET's quote in a JSON string
		// (redact20 F3: the credential after it shipped).
		return k + 3 + 2*btoi(b[k] == 'u')
	}
	return c
}

// authParams returns the end of the list of auth-params starting at j
// (RFC 9110 11.4: name=token or name="quoted string", comma-separated), the
// credentials of Digest and other schemes that are not one token, or j
// when none starts there. A value's quote escaped with a backslash is kept
// inside it; quote, the quote around the whole value (or 0), and '&' (a
// query string's) end a token, and a name is letters, digits, - _ and .
// The mask stopped at the first comma or quote, and a Digest response
// shipped (Authorization: Digest username="bob", response="…").
func authParams(b []byte, j int, quote byte) int {
	end := j
	for i := j; ; {
		n := i
		for n < len(b) && (isAlnum(b[n]) || b[n] == '-' || b[n] == '_' || b[n] == '.') {
			n++
		}
		eq := skipSpace(b, n)
		if n == i || eq >= len(b) || b[eq] != '=' {
			return end
		}
		v := skipSpace(b, eq+1)
		if (eq > n || v > eq+1) && !quotedParam(b, v) {
			// White space around '=' (RFC 9110 allows it) only before a
			// quoted value: "Bearer abc= def" is a token and a word.
			return end
		}
		switch {
		case quotedParam(b, v):
			e, ok := paramStringEnd(b, v)
			end = e
			if !ok {
				return end // the value runs to where its text ends
			}
		default:
			e := v
			for e < len(b) && isTchar(b[e]) && b[e] != quote && b[e] != '&' {
				e++
			}
			if e == v {
				return end
			}
			end = e
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ',' {
			return end
		}
		for i < len(b) && (b[i] == ',' || b[i] == ' ' || b[i] == '\t') {
			i++
		}
	}
}

// quotedParam reports whether an auth-param's value at b[v] is a quoted
// string: its quote '"', escaped at a level of JSON inside a string (\",
// \\\"), or as nginx (\x22) or .NET (\u0022) write it. Digest's response
// in a logfmt string or a JSON body shipped (regress17 G1).
func quotedParam(b []byte, v int) bool {
	if v >= len(b) {
		return false
	}
	return b[v] == '"' || escapedQuoteLevel(b, v) > 0 || paramQuote(b, v) != ""
}

// paramQuote returns the escaped quote (nginxQuote, jsonQuote, or '\"' as
// nginx logs it, \x5C\x22, in a JSON body) at b[v], or "".
func paramQuote(b []byte, v int) string {
	for _, q := range [...]string{nginxQuote, jsonQuote, `\x5C\x22`} {
		if len(b)-v >= len(q) && string(b[v:v+len(q)]) == q {
			return q
		}
	}
	return ""
}

// paramStringEnd returns the end of the quoted string at b[v]
// (quotedParam), after its closing quote, and true; or, when it does not
// close, where its text ends (a quote of a level below, or b's end) and
// false.
func paramStringEnd(b []byte, v int) (int, bool) {
	switch q := paramQuote(b, v); q {
	case `\x5C\x22`:
		if e := indexString(b[v+len(q):], q); e >= 0 {
			return v + len(q) + e + len(q), true
		}
		if e := indexString(b[v+len(q):], nginxQuote); e >= 0 {
			return v + len(q) + e, false // the string holding it ends
		}
		return len(b), false
	case nginxQuote, jsonQuote:
		e := escStringEnd(b, v+len(q), q)
		if e+len(q) <= len(b) && string(b[e:e+len(q)]) == q {
			return e + len(q), true
		}
		return e, false
	}
	k := 0
	if b[v] != '"' {
		k = escapedQuoteLevel(b, v)
	}
	if _, next, ok := escapedStringEnd(b, v, k); ok {
		return next, true
	}
	e := v + k + 1
	if x := bytes.IndexByte(b[e:], '"'); x >= 0 {
		e += x
		e -= backslashesBefore(b, v+k+1, e)
	} else {
		e = len(b)
	}
	return e, false
}

// isTchar reports whether c is an HTTP token character (RFC 9110 5.6.2).
func isTchar(c byte) bool {
	return isAlnum(c) || c != 0 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// ---- query_secrets -------------------------------------------------------

// defaultSecretParams are the parameter names query_secrets redacts. A name
// matches when it equals one of these or ends with one after '_', '-', '.'
// or '[' or at a camelCase word ("db_password", "X-Amz-Security-Token",
// "user[password]", "accessToken"), ignoring case, also numbered
// ("password2") or followed by an empty pair or an index ("password[]");
// brackets may be percent-encoded ("user%5Bpassword%5D", "%255B").
var defaultSecretParams = []string{
	"password", "passwd", "pwd", "pass", "passphrase", "password_confirmation",
	"token", "access_token", "refresh_token", "id_token",
	"api_key", "apikey", "key", "secret", "client_secret",
	"auth", "authorization", "signature", "sig", "credentials",
}

// queryDetector finds the values of secret parameters in query strings and
// form bodies: name=VALUE, the value ending at & ; whitespace " < or >, or
// at a ' that no value byte follows (a ' inside a value, "it's", is kept).
// It also reads a percent-encoded nested query ("%3Ftoken%3Dabc%26x"),
// whose value ends at "%26" too, and JSON members ("password":"VALUE",
// "pin" : 1234; not objects, arrays, true, false or null), also with the
// quotes as nginx escapes them in a logged request body
// (\x22password\x22:\x22VALUE\x22), and percent-encoded in a URL
// (%22password%22%3A%22VALUE%22: pctMember). A field whose name is a
// secret parameter's is a secret as a whole.
type queryDetector struct {
	names  []string   // lower case
	byLast [][]string // names by their last byte
	// ends has bit endHash(x, y) set for the last two bytes x, y of every
	// name (any bit may be set by several pairs: a set bit only means
	// "maybe"); all is set when a name is one byte long.
	ends [4]uint64
	all  bool
	// pairs has bit x<<8|y set where endsWithSecret of bytes ending in
	// x, y may be true (mayEndWithSecret, any case, as a table): y a
	// digit or a closing bracket's last byte, or x, y a name's last two.
	pairs *[1 << 10]uint64
	// exact, set only by tests, turns candidate off: find is then the
	// scan alone, the oracle candidate is checked against.
	exact bool
}

func newQueryDetector(names []string) queryDetector {
	q := queryDetector{names: names, byLast: make([][]string, 256)}
	for _, n := range names {
		c := n[len(n)-1]
		q.byLast[c] = append(q.byLast[c], n)
		if len(n) < 2 {
			q.all = true
			continue
		}
		h := endHash(n[len(n)-2], c)
		q.ends[h>>6] |= 1 << (h & 63)
	}
	q.pairs = pairsFor(q)
	return q
}

// pairTables caches q.pairs by what it is made from (q.ends, q.all): most
// detectors are the default names', and making one costs 65,536 calls
// (0.26 ms: the fuzz targets that build a Redactor per input slowed down
// tenfold).
var pairTables sync.Map // pairsKey → *[1 << 10]uint64

type pairsKey struct {
	ends [4]uint64
	all  bool
}

func pairsFor(q queryDetector) *[1 << 10]uint64 {
	key := pairsKey{q.ends, q.all}
	if t, ok := pairTables.Load(key); ok {
		return t.(*[1 << 10]uint64)
	}
	t := new([1 << 10]uint64)
	var two [2]byte
	for x := range 256 {
		for y := range 256 {
			two[0], two[1] = byte(x), byte(y)
			if q.mayEndWithSecret(two[:], 2) {
				i := x<<8 | y
				t[i>>6] |= 1 << (i & 63)
			}
		}
	}
	got, _ := pairTables.LoadOrStore(key, t)
	return got.(*[1 << 10]uint64)
}

// endHash hashes the last two bytes of a name (lower case) to 0-255.
func endHash(x, y byte) uint { return (uint(x)*7 + uint(y)) & 255 }

func (queryDetector) maybe(b []byte) bool {
	return bytes.IndexByte(b, '=') >= 0 || hasMemberColon(b) || hasPct3D(b) || bytes.Contains(b, []byte(pctQuote))
}

// hasMemberColon reports whether b holds a ':' that follows a '"' (or
// "\x22") and optional white space: the end of a JSON member's name.
func hasMemberColon(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], ':')
		if j < 0 {
			return false
		}
		if _, ok := nameQuoteBefore(b, 0, i+j); ok {
			return true
		}
		i += j + 1
	}
}

// nameQuoteBefore returns the index of the quote that comes, after
// optional white space, right before the ':' at colon: a JSON member name's
// closing quote, '"' or an escape of it (escQuoteEndingAt: a request body
// in an access log, {\x22password\x22:\x22...\x22}; JSON inside a .NET
// string, {\u0022password\u0022:…}). It looks no further back than from;
// ok is false when there is no such quote.
func nameQuoteBefore(b []byte, from, colon int) (quote int, ok bool) {
	k := colon
	for k > from && is(b[k-1], cSpace) {
		k--
	}
	if k > from && b[k-1] == '"' {
		return k - 1, true
	}
	if q := escQuoteEndingAt(b, from, k); q != "" {
		return k - len(q), true
	}
	if k <= from {
		return 0, false
	}
	if m := jsonSpaceBefore(b, from, k); m < k && escQuoteEndingAt(b, from, m) == jsonQuote {
		// .NET's quotes, with a tab or line break before the colon
		// (redact20 F12: "\u0022password\u0022\t:\t\u0022x…" shipped).
		return m - len(jsonQuote), true
	}
	switch b[k-1] {
	case '9', 'A', 'a', 'D', 'd':
		// A tab or line break as nginx logs it ("\x09"), between an
		// nginx-quoted name and its colon: a pretty-printed request
		// body (regress18).
		if m := nginxSpaceBefore(b, from, k); m < k && escQuoteEndingAt(b, from, m) == nginxQuote {
			return m - len(nginxQuote), true
		}
	case 't', 'n', 'r':
		// JSON inside a string, pretty-printed with a tab or a line
		// break before the colon: escaped as the quotes are
		// ("\"password\"\t:", "\\\"password\\\"\\t:"). Its value shipped
		// (regress17c L2).
		if q, esc := escapedSpaceBefore(b, from, k); esc > 0 && q > from && b[q-1] == '"' {
			if lvl := backslashesBefore(b, from, q-1); lvl > 0 && (lvl+1)/2 == esc {
				return q - 1, true
			}
		}
	}
	return 0, false
}

// jsonSpaceBefore goes back from k over white space and over tabs and
// line breaks escaped as JSON writes them (see jsonSpaceAt).
func jsonSpaceBefore(b []byte, from, k int) int {
	for k > from {
		switch {
		case is(b[k-1], cSpace):
			k--
		case k-2 >= from && jsonSpaceAt(b[:k], k-2) == 2:
			k -= 2
		case k-6 >= from && jsonSpaceAt(b[:k], k-6) == 6:
			k -= 6
		default:
			return k
		}
	}
	return k
}

// nginxSpaceBefore goes back from k over white space and over tabs and
// line breaks as nginx logs them ("\x09", "\x0A", "\x0D").
func nginxSpaceBefore(b []byte, from, k int) int {
	for k > from {
		switch {
		case is(b[k-1], cSpace):
			k--
		case k-4 >= from && nginxSpaceAt(b, k-4):
			k -= 4
		default:
			return k
		}
	}
	return k
}

// nginxSpaceAt reports whether b[i:] starts with a tab or line break as
// nginx logs it ("\x09", "\x0A", "\x0D", either case).
func nginxSpaceAt(b []byte, i int) bool {
	return i+4 <= len(b) && b[i] == '\\' && b[i+1] == 'x' && b[i+2] == '0' &&
		(b[i+3] == '9' || lower(b[i+3]) == 'a' || lower(b[i+3]) == 'd')
}

// memberSpaceEnd returns where the white space at b[i:] after a member's
// colon ends: spaces, and tabs and line breaks escaped as the quote kind of
// the member's name escapes them (nginx's \x0A in its \x22 quotes; JSON's
// \n or \u000a in .NET's \u0022 quotes, around text pretty-printed by hand:
// redact20 F12, "\u0022password\u0022:\n  \u0022x…" shipped).
func memberSpaceEnd(b []byte, i int, quote string) int {
	for i < len(b) {
		switch {
		case is(b[i], cSpace):
			i++
		case quote == nginxQuote && nginxSpaceAt(b, i):
			i += 4
		case quote == jsonQuote && jsonSpaceAt(b, i) > 0:
			i += jsonSpaceAt(b, i)
		default:
			return i
		}
	}
	return i
}

// jsonSpaceAt returns the length of a tab or line break escaped as JSON
// writes it at b[i:] ("\t", "\n", "\r", "\u000a", "\u0009", "\u000d",
// "\u0020"), or 0.
func jsonSpaceAt(b []byte, i int) int {
	if i+1 >= len(b) || b[i] != '\\' {
		return 0
	}
	switch b[i+1] {
	case 't', 'n', 'r':
		return 2
	case 'u':
		if r, ok := hex4(b, i+2); ok && (r == '\t' || r == '\n' || r == '\r' || r == ' ') {
			return 6
		}
	}
	return 0
}

// escapedSpaceBefore goes back from k over white space and over tabs and
// line breaks escaped with the same number of backslashes ("\t", "\\n"):
// it returns where that run starts and the number, 0 when there is no
// escaped one.
func escapedSpaceBefore(b []byte, from, k int) (int, int) {
	esc := 0
	for k > from {
		if is(b[k-1], cSpace) {
			k--
			continue
		}
		c := b[k-1]
		if c != 't' && c != 'n' && c != 'r' {
			break
		}
		n := backslashesBefore(b, from, k-1)
		if n == 0 || esc != 0 && n != esc {
			break
		}
		esc = n
		k -= n + 1
	}
	return k, esc
}

// nginxQuote is '"' as nginx escapes it inside a logged value; jsonQuote
// is '"' as .NET's System.Text.Json (by default) and other encoders that
// escape HTML-sensitive characters write it inside a JSON string: JSON
// inside such a string has these for its quotes (regress16 F2: its
// members shipped).
const (
	nginxQuote = `\x22`
	jsonQuote  = `\u0022`
)

// levelQuote returns '"' escaped at lvl (0, 1, 3, 7, …): `"`, `\"`, ….
func levelQuote(lvl int) string {
	switch lvl {
	case 0:
		return `"`
	case 1:
		return `\"`
	case 3:
		return `\\\"`
	}
	return strings.Repeat(`\`, lvl) + `"`
}

// escQuoteEndingAt returns the escaped quote (nginxQuote or jsonQuote)
// that ends at i, after from, or "". A jsonQuote must be an escape, not
// the text "u0022" after an escaped backslash ("\\u0022").
func escQuoteEndingAt(b []byte, from, i int) string {
	switch {
	case i-4 >= from && string(b[i-4:i]) == nginxQuote:
		return nginxQuote
	case i-6 >= from && string(b[i-6:i]) == jsonQuote && backslashesBefore(b, from, i-6)%2 == 0:
		return jsonQuote
	}
	return ""
}

// quoteAt returns the quote ('"', nginxQuote or jsonQuote) at b[i:] as
// it was found before a member's colon.
func quoteAt(b []byte, i int) string {
	switch {
	case b[i] == '"':
		return `"`
	case i+1 < len(b) && b[i+1] == 'x':
		return nginxQuote
	}
	return jsonQuote
}

// nameStart returns where the member name ending at nameEnd (its closing
// quote at b[ke]) starts: after the quote of that kind before it, or 64
// bytes back, or at from. The caller checks which (quoteEndsAt).
func nameStart(b []byte, from, ke, nameEnd int) int {
	ns := nameEnd
	if b[ke] == '"' {
		for ns > from && nameEnd-ns < 64 && b[ns-1] != '"' {
			ns--
		}
		return ns
	}
	for ns > from && ke-ns < 64 && !quoteEndsAt(b, from, ns, ke) {
		ns--
	}
	return ns
}

// quoteEndsAt reports whether a quote like the one at b[quote] ('"',
// nginxQuote or jsonQuote) ends at i, after from.
func quoteEndsAt(b []byte, from, i, quote int) bool {
	if b[quote] == '"' {
		return i > from && b[i-1] == '"'
	}
	return escQuoteEndingAt(b, from, i) == quoteAt(b, quote)
}

// escBracketEnd returns the end of the object or array at b[i] in JSON
// whose quotes are written quote (\x22 as nginx logs them, \u0022 as .NET
// writes them), its strings skipped by those quotes, and whether it closes
// before a raw '"' (the end of the string or nginx field holding it). Read
// as JSON text, a bracket inside one of its strings ended a secret object
// and the rest of it shipped (regress18b G3). The walk stops at the first
// raw '"', where openEnd ends a value that does not close: each byte is
// walked once.
func escBracketEnd(b []byte, i int, quote string) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return 0, false
		case c == '\\' && hasQuoteAt(b, j, quote):
			e := escStringEnd(b, j+len(quote), quote)
			if !hasQuoteAt(b, e, quote) {
				return 0, false
			}
			j = e + len(quote) - 1
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// hasQuoteAt reports whether b holds quote at i.
func hasQuoteAt(b []byte, i int, quote string) bool {
	return i >= 0 && i+len(quote) <= len(b) && string(b[i:i+len(quote)]) == quote
}

// escStringEnd returns the end of the contents of a string that quote
// (nginxQuote or jsonQuote) opened just before i: the next such quote not
// escaped by a backslash, which nginx writes "\x5C" and JSON "\\", or the
// end of b, without a part of the quote that b cuts short (a slice of a
// text then finds no value where the text has an empty one).
func escStringEnd(b []byte, i int, quote string) int {
	for k := i; ; {
		q := indexString(b[k:], quote)
		lim := len(b)
		if q >= 0 {
			lim = k + q
		}
		// A raw '"' (not escaped) ends the string or nginx field holding
		// this JSON, and the value with it: it ran on into the next
		// string, or the next field (regress17c R1: the members after
		// it masked; R0: a match across strings panicked the redactor
		// and the record was withheld; C1).
		if r := rawQuote(b, i, k, lim); r >= 0 {
			return r
		}
		if q < 0 {
			break
		}
		q += k
		esc := 0
		if quote == nginxQuote {
			for e := q; e-4 >= i && b[e-4] == '\\' && b[e-3] == 'x' && b[e-2] == '5' && lower(b[e-1]) == 'c'; e -= 4 {
				esc++
			}
		} else {
			// "\\" pairs, then the quote's own backslash: an even run
			// before it.
			m := backslashesBefore(b, i, q)
			if m%2 != 0 {
				k = q + 1 // "\\u0022": text, not a quote
				continue
			}
			esc = m / 2
		}
		if esc%2 == 0 {
			return q
		}
		k = q + len(quote)
	}
	n := len(b)
	for k := len(quote) - 1; k > 0; k-- {
		if n-k >= i && string(b[n-k:]) == quote[:k] {
			return n - k
		}
	}
	return n
}

// rawQuote returns the first '"' in b[k:lim] that no backslash escapes
// (counting back to from), or -1.
func rawQuote(b []byte, from, k, lim int) int {
	for k < lim {
		j := bytes.IndexByte(b[k:lim], '"')
		if j < 0 {
			return -1
		}
		j += k
		if backslashesBefore(b, from, j)%2 == 0 {
			return j
		}
		k = j + 1
	}
	return -1
}

// hasPct3D reports whether b holds a percent-encoded '=' ("%3D", "%3d"),
// which scan reads as one: a nested query with no '=' of its own.
func hasPct3D(b []byte) bool {
	for i := 0; ; {
		j := indexString(b[i:], "%3")
		if j < 0 {
			return false
		}
		i += j + 2
		if i < len(b) && (b[i] == 'D' || b[i] == 'd') {
			return true
		}
	}
}

// keyed: a field named like a secret parameter ("password", "api_key",
// "X-Auth-Token") holds a secret as a whole.
func (q queryDetector) keyed(key string) bool { return q.secret([]byte(key)) }

func (q queryDetector) find(b []byte, from int, key string, st *findState) (int, int, bool) {
	if from == 0 && key != "" && q.keyed(key) {
		// A field named like a secret parameter: its whole value.
		if len(b) > 0 && !isLiteral(b) {
			return 0, len(b), true
		}
	}
	if from == 0 && !q.exact && !q.candidate(b) {
		// No secret name before any '=', "%3D" or member name's closing
		// quote and colon: nothing to find (see candidate), without the
		// cursor scans of scan.
		return 0, 0, false
	}
	return q.scan(b, from, st)
}

// scan is find after the keyed-field case: name=VALUE pairs and JSON
// members from from on.
func (q queryDetector) scan(b []byte, from int, st *findState) (int, int, bool) {
	st.quote = ""
	n := len(b)
	eq, enc := st.cursors("=", "%3")
	jc := &st.c[2]
	if jc.lit == "" {
		*jc = newCursor(":")
	}
	for i := from; i < n; {
		p, w := eq.next(b, i), 1
		if r := enc.next(b, i); r >= 0 && (p < 0 || r < p) {
			if r+2 < n && (b[r+2] == 'D' || b[r+2] == 'd') {
				p, w = r, 3
			} else if j := jc.next(b, i); j < 0 || j > r {
				// Not an encoded '=', and no JSON member before it to
				// look at first (its value may hold this "%3F"). An
				// encoded ':' may end a percent-encoded member's name.
				if r+2 < n && lower(b[r+2]) == 'a' {
					if s, e, ok := q.pctMember(b, from, r, r+3); ok {
						return s, e, true
					}
				}
				i = r + 2
				continue
			}
		}
		if j := jc.next(b, i); j >= 0 && (p < 0 || j < p) {
			// JSON member "name": value, with white space allowed around
			// the colon.
			i = j + 1
			ke, ok := nameQuoteBefore(b, from, j)
			if !ok {
				if !pctColon(b, from, j) {
					continue
				}
				if s, e, ok := q.pctMember(b, from, j, j+1); ok {
					return s, e, true // %22password%22:%22x%22
				}
				continue
			}
			// A member of JSON inside a string (a logfmt or slog value,
			// a request body): its quotes escaped once, or more at each
			// level (\"password\":\"x\"). The name ends before the
			// backslashes; the value is looked for at that level
			// (redact16 F1: the name read "password\" and shipped).
			lvl := 0
			if b[ke] == '"' {
				lvl = backslashesBefore(b, from, ke)
				if lvl > 0 && (lvl+1)&lvl != 0 {
					continue // an escaped backslash ends the name: no secret's
				}
			}
			nameEnd := ke - lvl
			// The name: back to its opening quote (of the closing one's
			// kind), or its last 64 bytes when it is longer (secret reads
			// only the end of a name, and every secret name is far
			// shorter, so its separator check still sees the byte before
			// it).
			ns := nameStart(b, from, ke, nameEnd)
			if ns == nameEnd || nameEnd-ns < 64 && !quoteEndsAt(b, from, ns, ke) || !q.secret(b[ns:nameEnd]) {
				continue
			}
			vs := memberSpaceEnd(b, j+1, quoteAt(b, ke))
			if lvl > 0 {
				vs = skipEscapedSpace(b, vs, lvl)
				if s, e, ok := escapedMemberValue(b, vs, lvl, st); ok {
					if s == vs {
						// Not a string: the replacement becomes one, in
						// quotes of this level, so that the JSON in the
						// string stays JSON (regress16 F9).
						st.quote = levelQuote(lvl)
					}
					return s, e, true
				}
				continue
			}
			quote := quoteAt(b, ke)
			if k := min(len(quote), n-vs); quote != `"` && k > 0 && string(b[vs:vs+k]) == quote[:k] {
				// An escaped string, or what b cuts short of its opening
				// quote (no value: a slice of a text finds none where the
				// text has an empty one).
				if q := vs + len(quote); q < n {
					if ve := escStringEnd(b, q, quote); ve > q {
						return q, ve, true
					}
				}
				continue
			}
			if vs < n && (b[vs] == '{' || b[vs] == '[') {
				// An object or array ("password":{"v":"x"} in JSON a raw
				// line or a request body holds): a secret whole, masked
				// as a string. One that does not close (the line was cut,
				// by max_line_bytes, by the app, by a runtime's 16 KiB
				// pieces) is masked to the end: it shipped (redact16 F3,
				// regress17b B3), where an open string was masked so.
				var ve int
				var ok bool
				if quote == `"` {
					if ve, ok = st.vm.skipValue(b, vs); !ok {
						ve = n
					}
				} else if ve, ok = escBracketEnd(b, vs, quote); !ok {
					// JSON whose quotes are escaped as nginx or .NET
					// write them: it ends with the string (or the
					// nginx field) holding it, at a raw '"'.
					ve = st.openEnd(b, vs, -1)
				}
				st.quote = quote
				return vs, ve, true
			}
			if vs < n && b[vs] == '"' {
				ve := vs + 1
				for ve < n && b[ve] != '"' {
					if b[ve] == '\\' {
						ve++
					}
					ve++
				}
				if ve = min(ve, n); ve > vs+1 {
					return vs + 1, ve, true
				}
				continue
			}
			// A raw '"' ends it too: the end of the nginx field (or the
			// string) whose JSON an escaped quote kind holds; it was masked
			// with the number, and the line lost its field's end
			// (regress17c L1: "{\x22password\x22:12345" "https://…").
			ve := vs
			for ve < n && b[ve] != ',' && b[ve] != '}' && b[ve] != ']' && b[ve] != '"' && !is(b[ve], cSpace) && (quote == `"` || b[ve] != '\\') {
				ve++
			}
			// A literal, or at the end of b the start of one (a slice of
			// a text must not find a value where the text has a literal),
			// is no value.
			if ve > vs && b[vs] != '{' && b[vs] != '[' && !isLiteral(b[vs:ve]) && !(ve == n && isLiteralStart(b[vs:ve])) {
				// A number: masked as a string, so that JSON after a raw
				// line's prefix stays JSON (it shipped a bare token).
				st.quote = quote
				return vs, ve, true
			}
			continue
		}
		if p < 0 {
			return 0, 0, false
		}
		// The name: back over name bytes and percent-encoded brackets
		// ("user%5Bpassword%5D", an HTML form's user[password] sent with
		// GET; "%255B" inside an encoded parameter), whose bytes after the
		// '%' are name bytes already.
		ns := p
		for {
			for ns > from && p-ns < 64 && is(b[ns-1], cName) {
				ns--
			}
			if ns > from && p-ns < 64 && b[ns-1] == '%' && encBracket(b[:p], ns-1) > 0 {
				ns--
				continue
			}
			break
		}
		name := b[ns:p]
		// A percent-encoded separator before the name ("%3Ftoken", "%26key")
		// leaves two hex digits glued to it.
		if ns > 0 && b[ns-1] == '%' && len(name) > 2 && is(name[0], cHex) && is(name[1], cHex) {
			name = name[2:]
		}
		// So does an escape: a JSON string's value "password=…" as nginx
		// (\x22) or .NET (\u0022) log its quote, or after an escaped
		// line break or tab (redact20 F4: the value shipped).
		closeQuote := ""
		if ns > 0 && b[ns-1] == '\\' && !q.secret(name) {
			// Only when the name as it stands is none: after a path's
			// backslash, "C:\app\token=" is the name "token", not a tab
			// and "oken" (regress20b G1).
			name, closeQuote = afterEscape(b, ns-1, name)
		}
		if len(name) > 0 && q.secret(name) {
			vs := p + w
			if w == 1 && vs < n {
				// A quoted value, as logfmt and Go's log/slog write one
				// holding a space, '=' or '"' (password="correct horse",
				// token="YWJj="): it shipped as an empty value (redact14
				// F14).
				if s, e, ok := quotedValue(b, vs); ok {
					return s, e, true
				}
				if escapedQuoteAt(b, vs) || onlyBackslashes(b[vs:]) {
					// A quote escaped once or more that opens no value
					// ends a string: the value is empty (its backslashes
					// were masked, and the text inside a JSON string
					// holding JSON broken: regress14c). So are
					// backslashes b cuts short of their quote: a slice
					// of a text finds no value where the text has none.
					i = p + w
					continue
				}
			}
			ve := vs
			for ve < n && (!is(b[ve], cQDelim) || b[ve] == '\'' && apostropheInValue(b, ve)) {
				if b[ve] == ',' && (ve+1 == n || b[ve+1] == ' ') {
					// ", " ends it, as nginx's error log writes
					// ", client: " after a URL (a space would end
					// the value anyway, and the comma is none of it);
					// so does a comma at b's end, which a slice of a
					// text may cut before that space.
					break
				}
				if w == 3 && b[ve] == '%' && ve+2 < n && b[ve+1] == '2' && (b[ve+2] == '6' || b[ve+2] == '0') {
					break
				}
				if b[ve] == '\\' {
					// The string's end, as the escape before the name
					// opened it, or an escaped quote: its backslashes
					// are not the value's (redact20 F5: masked with it,
					// the JSON holding the text broke). A run of
					// backslashes is walked once (from each of its bytes
					// it took time in the square of its length:
					// regress20b G5).
					k := ve
					for k < n && b[k] == '\\' {
						k++
					}
					if closeQuote != "" && hasQuoteAt(b, k-1, closeQuote) {
						break // the run is the quote's ("\\x22" in a JSON string)
					}
					if r := k - ve; k < n && b[k] == '"' && r%2 == 1 {
						// A quote escaped once (\"), or more at each level
						// (\\\"), after escaped backslashes (pairs): those
						// are the value's. After an even run the quote is
						// the string's end, and the run the value's: cut
						// before its last backslash, the string's closing
						// quote was escaped (regress20c R1).
						l := 1
						for 2*l+1 <= r {
							l = 2*l + 1
						}
						ve = k - l
						break
					}
					ve = k
					continue
				}
				ve++
			}
			if ve > vs {
				return vs, ve, true
			}
		}
		i = p + w
	}
	return 0, 0, false
}

// afterEscape returns name without the letters of the escape at b[bs:]
// (its backslash) glued to it: \x22, \u0022, any \xHH or \uHHHH, \n, \t,
// \r, \f, \b. quote is the escape when it is a quote's (nginxQuote or
// jsonQuote), which then closes the value too.
func afterEscape(b []byte, bs int, name []byte) (rest []byte, quote string) {
	switch {
	case len(name) > 5 && name[0] == 'u':
		if _, ok := hex4(name, 1); ok {
			if hasQuoteAt(b, bs, jsonQuote) {
				quote = jsonQuote
			}
			return name[5:], quote
		}
	case len(name) > 3 && name[0] == 'x' && is(name[1], cHex) && is(name[2], cHex):
		if hasQuoteAt(b, bs, nginxQuote) {
			quote = nginxQuote
		}
		return name[3:], quote
	case len(name) > 1 && strings.IndexByte("ntrfb", name[0]) >= 0:
		return name[1:], ""
	}
	return name, ""
}

// pctQuote is '"' percent-encoded: JSON in a query parameter or a form
// value, as encodeURIComponent(JSON.stringify(…)) writes it for a GET API
// taking JSON (?data=%7B%22token%22%3A%22…%22%7D, GraphQL's
// ?variables=…): its members shipped (redact16 F4).
const pctQuote = "%22"

// pctIs reports whether b[i:] is the percent-escape "%" + hex, hex's
// digits in either case (hex in lower case).
func pctIs(b []byte, i int, hex string) bool {
	return i+2 < len(b) && b[i] == '%' && lower(b[i+1]) == hex[0] && lower(b[i+2]) == hex[1]
}

// pctSpaceAt returns the length of the white space at b[i:] as a URL
// writes it ("+", "%20", "%09", "%0A", "%0D"), or 0.
func pctSpaceAt(b []byte, i int) int {
	switch {
	case i >= len(b):
		return 0
	case b[i] == '+':
		return 1
	case pctIs(b, i, "20") || pctIs(b, i, "09") || pctIs(b, i, "0a") || pctIs(b, i, "0d"):
		return 3
	}
	return 0
}

// pctSpaceEndingAt returns the length of the URL-written white space
// ending at b[i-1] ("+", "%20", …), or 0.
func pctSpaceEndingAt(b []byte, from, i int) int {
	if i-1 >= from && b[i-1] == '+' {
		return 1
	}
	if i-3 >= from && pctSpaceAt(b, i-3) == 3 {
		return 3
	}
	return 0
}

// pctUnitBefore returns the length of the backslash that ends at b[i-1]
// as a URL or the line holding it writes it: "%5C", "\\x5C" (nginx) or a
// '\\' left as it is (browsers leave it); 0 for none.
func pctUnitBefore(b []byte, from, i int) int {
	switch {
	case i-3 >= from && pctIs(b, i-3, "5c"):
		return 3
	case i-4 >= from && b[i-4] == '\\' && b[i-3] == 'x' && b[i-2] == '5' && lower(b[i-1]) == 'c':
		return 4
	case i-2 >= from && b[i-1] == '\\' && b[i-2] == '\\':
		return 2 // one, escaped by the line (pctUnitAt)
	case i-1 >= from && b[i-1] == '\\':
		return 1
	}
	return 0
}

// pctUnitAt is pctUnitBefore for the backslash starting at b[i], which is
// none when it starts a quote as the line holding the URL escapes it
// (lineQuoteAt). Two '\\' are one, as a JSON or logfmt line holding the URL
// escapes one: the second of them before a quote ("\\\\\"") was taken for
// that quote's escape, and the mask broke the line (regress18b G6).
func pctUnitAt(b []byte, i int) int {
	switch {
	case pctIs(b, i, "5c"):
		return 3
	case i >= len(b) || b[i] != '\\' || lineQuoteAt(b, i) || lineEscapeEndsAt(b, i):
		return 0
	case i+3 < len(b) && b[i+1] == 'x' && b[i+2] == '5' && lower(b[i+3]) == 'c':
		return 4
	case i+1 < len(b) && b[i+1] == '\\':
		return 2
	}
	return 1
}

// maxPctRun bounds the levels of JSON in strings that pctNameEnd reads.
const maxPctRun = 16

// pctEscapesBefore counts the backslashes (pctUnitBefore) right before i,
// back to from, two ways: paired takes "\\\\" for one (a JSON line escaping
// the URL's), single for two (a line that holds the URL as it is).
// pctCount picks the line's.
func pctEscapesBefore(b []byte, from, i int) (paired, single int) {
	for n := pctUnitBefore(b, from, i); n > 0; n = pctUnitBefore(b, from, i) {
		paired++
		single += pctSingles(n)
		i -= n
	}
	return paired, single
}

// pctSingles is how many backslashes a unit of n bytes (pctUnitAt) holds
// when a line's "\\\\" stands for two.
func pctSingles(n int) int {
	if n <= 2 {
		return n // raw
	}
	return 1 // "%5C", "\\x5C"
}

// pctCount picks the count of pctEscapesBefore or pctQuoteAt that fits b:
// paired in a JSON text, whose strings escape every '\\' (regress18b G5: a
// browser's "\\%22" read as two ended no string), single elsewhere, where
// the URL is as the browser wrote it (reading either way read a string
// ending in '\\' inside out, and a secret after it shipped: regress18c H5).
func pctCount(b []byte, paired, single int) int {
	if looksJSON(b) {
		return paired
	}
	return single
}

// pctLevel reports whether m backslashes before a quote make a level of
// JSON in strings (0, 1, 3, 7, …) that pctNameEnd reads.
func pctLevel(m int) bool { return m < maxPctRun && (m+1)&m == 0 }

// pctBackOver returns i moved back over m backslashes (pctUnitBefore).
func pctBackOver(b []byte, from, i, m int) int {
	for ; m > 0; m-- {
		i -= pctUnitBefore(b, from, i)
	}
	return i
}

// pctNameEnd reports whether a percent-encoded quote ends, after white
// space, right before the member colon at colon (':' or "%3A"), and
// returns where the name it closes ends: before the quote, and before the
// "%5C" that escape it in JSON inside a string of that JSON (lvl of them:
// 1, 3, 7, …; 0 at the top).
//
// It is called at a colon only: called at every '%', a line of many "%20"
// had every one walk back over all those before it (regress18b G9).
func pctNameEnd(b []byte, from, colon int) (nameEnd, lvl int, ok bool) {
	if !pctColon(b, from, colon) {
		return 0, 0, false
	}
	k := colon
	for n := pctSpaceEndingAt(b, from, k); n > 0; n = pctSpaceEndingAt(b, from, k) {
		k -= n
	}
	k -= len(pctQuote)
	if k < from || string(b[k:k+len(pctQuote)]) != pctQuote {
		return 0, 0, false
	}
	paired, single := pctEscapesBefore(b, from, k)
	if lvl = pctCount(b, paired, single); !pctLevel(lvl) {
		return 0, 0, false // an escaped backslash ends the name: no secret's
	}
	return pctBackOver(b, from, k, paired), lvl, true
}

// pctColon reports whether the colon at colon may end a percent-encoded
// member's name: an escape ("%22", "%20") or a '+' before it. Every JSON
// key's colon asks, and most are no such thing.
func pctColon(b []byte, from, colon int) bool {
	return colon-3 >= from && b[colon-3] == '%' || colon-1 >= from && b[colon-1] == '+'
}

// pctMember finds the value of a percent-encoded JSON member whose name
// is a secret's: %22password%22%3A%22VALUE%22, the colon also as it is
// (%22password%22:…, as browsers write JSON in a query: only the quotes
// encoded), white space as a URL writes it around the colon, and in JSON
// inside a string of that JSON (%5C%22password%5C%22%3A%5C%22…). colon is
// the colon's index, vs where the value may start. A string's value runs
// to its closing quote, an object's or array's to its closing bracket
// (encoded or not), a number to its last digit (words may follow it);
// each also ends where the parameter does (pctEnd), so that what a cut
// leaves open is masked to there. Literals, replacement tokens and other
// text are no value.
func (q queryDetector) pctMember(b []byte, from, colon, vs int) (int, int, bool) {
	nameEnd, lvl, ok := pctNameEnd(b, from, colon)
	if !ok {
		return 0, 0, false
	}
	// The name's opening quote: a %22 after lvl %5C.
	opened := func(i int) bool {
		if i-len(pctQuote) < from || string(b[i-len(pctQuote):i]) != pctQuote {
			return false
		}
		paired, single := pctEscapesBefore(b, from, i-len(pctQuote))
		return pctCount(b, paired, single) == lvl
	}
	ns := nameEnd
	for ns > from && nameEnd-ns < 64 && !opened(ns) {
		ns--
	}
	if ns == nameEnd || nameEnd-ns < 64 && !opened(ns) || !q.secret(b[ns:nameEnd]) {
		return 0, 0, false
	}
	n := len(b)
	for k := pctSpaceAt(b, vs); k > 0; k = pctSpaceAt(b, vs) {
		vs += k
	}
	if vs >= n || tokenAt(b, vs) > 0 {
		// A replacement token where a value was (the rules run again
		// over their own output): no value.
		return 0, 0, false
	}
	if paired, single, q, ok := pctQuoteAt(b, vs); ok {
		if pctCount(b, paired, single) != lvl {
			return 0, 0, false // the string holding this JSON ends
		}
		s := q + len(pctQuote)
		e := pctStringEnd(b, s, lvl)
		return s, e, e > s
	}
	if pctIs(b, vs, "7b") || pctIs(b, vs, "5b") || b[vs] == '{' || b[vs] == '[' {
		return vs, pctBracketEnd(b, vs, lvl), true
	}
	// A number: digits, a sign, a point, an exponent ("%2B" or "+" as
	// its sign).
	ve, digits := vs, 0
	for ve < n {
		c := b[ve]
		switch {
		case is(c, cDigit):
			digits++
		case c == '-' || c == '.' || c == 'e' || c == 'E':
		case c == '+' && ve > vs && (b[ve-1] == 'e' || b[ve-1] == 'E'):
		case pctIs(b, ve, "2b") && ve > vs && (b[ve-1] == 'e' || b[ve-1] == 'E'):
			ve += 2
		default:
			if digits == 0 {
				return 0, 0, false
			}
			if pctValueEndsAt(b, ve) {
				return vs, ve, true
			}
			if pctSpaceAt(b, ve) > 0 {
				// A number, then words ("2024+release+notes"): the number
				// is masked. Taken for no value, a field cut from the
				// line after the number held one the message's mask did
				// not cover.
				return vs, ve, true
			}
			// Digits glued to a word ("123abc", "2024-01-01T00:00:00Z"):
			// one token, masked whole as JSON's member value is. Taken
			// for no value, a field cut from the line after its digits
			// held a number the message's mask did not cover (FuzzOracle:
			// "%22token%22%3A000" in "…%3A000A"); masked as a number, a
			// word lost its digits (regress18b G7).
			for ve < n && !pctValueEndsAt(b, ve) && pctSpaceAt(b, ve) == 0 {
				ve++
			}
			return vs, ve, true
		}
		ve++
	}
	if digits == 0 {
		return 0, 0, false
	}
	return vs, n, true
}

// pctValueEndsAt reports whether a value of percent-encoded JSON may end
// at b[i]: after white space as a URL writes it, a ',', '}' or ']' (encoded
// or not), or where the parameter ends. A number glued to a word is one
// token ("%22token%22:%20123abc"; regress18b G7).
//
// A backslash ends it too: an escaped line break or tab after the last
// member of pretty-printed JSON in a string ("%5Cn"; regress18c H6).
func pctValueEndsAt(b []byte, i int) bool {
	for k := pctSpaceAt(b, i); k > 0; k = pctSpaceAt(b, i) {
		i += k
	}
	if i >= len(b) {
		return true
	}
	c := b[i]
	return pctEnd(c) || c == ',' || c == '}' || c == ']' || pctIs(b, i, "2c") || pctIs(b, i, "7d") || pctIs(b, i, "5d") || pctIs(b, i, "5c")
}

// pctQuoteAt reports whether a percent-encoded quote, after backslashes
// counted as pctEscapesBefore counts them, is at b[i:]; q is the quote's
// index.
func pctQuoteAt(b []byte, i int) (paired, single, q int, ok bool) {
	q = i
	for n := pctUnitAt(b, q); n > 0; n = pctUnitAt(b, q) {
		paired++
		single += pctSingles(n)
		q += n
	}
	return paired, single, q, pctIs(b, q, "22")
}

// pctEnd reports whether c ends a percent-encoded value: what a URL
// encoder never leaves as it is ('&', white space, '"', '<', '>', '\').
// A '\' starts an nginx or JSON escape of the line holding the URL.
func pctEnd(c byte) bool {
	return c == '&' || c == '"' || c == '<' || c == '>' || c == '\\' || is(c, cSpace)
}

// lineQuoteAt reports whether the '\\' at b[i] starts a quote as the line
// holding a URL escapes it (\", \x22, \u0022): the end of the string or
// the nginx field holding the URL.
func lineQuoteAt(b []byte, i int) bool {
	r := b[i+1:]
	return len(r) > 0 && r[0] == '"' || len(r) >= 3 && r[0] == 'x' && string(r[1:3]) == "22" ||
		len(r) >= 5 && r[0] == 'u' && string(r[1:5]) == "0022"
}

// lineEscapeEndsAt reports whether b[i:] is an escape that ends a value
// in the line holding a URL: an escaped '&' as Go's JSON writes it
// ("\\u0026"), or, escaped again by a JSON line, that or a quote as nginx or
// .NET write it ("\\\\x22", "\\\\u0022"). Taken for backslashes of the URL's,
// they ran a mask into the next parameter (regress18c H7).
func lineEscapeEndsAt(b []byte, i int) bool {
	r := b[i+1:]
	if len(r) > 0 && r[0] == '\\' {
		r = r[1:]
		if len(r) >= 3 && r[0] == 'x' && string(r[1:3]) == "22" {
			return true
		}
		if len(r) >= 5 && r[0] == 'u' && string(r[1:5]) == "0022" {
			return true
		}
	}
	return len(r) >= 5 && r[0] == 'u' && string(r[1:5]) == "0026"
}

// pctStringEnd returns the end of the contents of a percent-encoded JSON
// string at level lvl (see pctNameEnd) that starts at s: its closing
// quote, lvl backslashes (pctUnitBefore) and "%22", not one escaped at its
// level (2·lvl+1 of them before it, modulo 2·(lvl+1)); or a quote of a
// lower level, which ends the string holding it; or where the value ends
// (pctEnd: a quote as the line holding the URL escapes it, \" or \x22),
// or b does.
func pctStringEnd(b []byte, s, lvl int) int {
	for k := s; k < len(b); {
		if pctIs(b, k, "22") {
			paired, single := pctEscapesBefore(b, s, k)
			if m := pctCount(b, paired, single); m%(2*(lvl+1)) == 2*lvl+1 {
				k += 3
				continue
			}
			return pctBackOver(b, s, k, min(paired, lvl))
		}
		if n := pctUnitAt(b, k); n > 0 {
			k += n
			continue
		}
		if pctEnd(b[k]) {
			return k
		}
		k++
	}
	return len(b)
}

// pctBracketEnd returns the end of the percent-encoded object or array
// at level lvl that opens at vs: after its closing bracket (its brackets
// encoded or not, its strings skipped); or a quote of a lower level, which
// ends the string holding it; or where the value ends (pctEnd), or b does.
func pctBracketEnd(b []byte, vs, lvl int) int {
	depth, k := 0, vs
	for k < len(b) {
		if paired, single, q, ok := pctQuoteAt(b, k); ok {
			if pctCount(b, paired, single) < lvl {
				return k
			}
			k = pctStringEnd(b, q+len(pctQuote), lvl)
			if paired, single, q, ok := pctQuoteAt(b, k); ok && pctCount(b, paired, single) == lvl {
				k = q + len(pctQuote)
			}
			continue
		} else if q > k {
			// Backslashes before no quote: past them at once (one at a
			// time, each run was walked again: regress18b G1), and
			// before pctEnd, which a '\\' is (a string of JSON written
			// with '\\' had only its bracket masked: G2).
			k = q
			continue
		}
		if pctEnd(b[k]) {
			return k
		}
		switch c := b[k]; {
		case pctIs(b, k, "7b") || pctIs(b, k, "5b"):
			depth++
			k += 3
		case pctIs(b, k, "7d") || pctIs(b, k, "5d"):
			depth--
			k += 3
		case c == '{' || c == '[':
			depth++
			k++
		case c == '}' || c == ']':
			depth--
			k++
		default:
			k++
			continue
		}
		if depth == 0 {
			return k
		}
	}
	return k
}

// quotedValue returns the contents of a quoted value starting at b[vs]:
// "…" with \" and \\ inside escaped, as logfmt and Go's log/slog write
// it; \"…\" as a JSON string holds the same text, \\\"…\\\" as a JSON
// string holding that JSON does (Docker's json-file around an app's JSON
// lines), and so on; or \x22…\x22 as nginx logs it. Whether it is one
// depends on its contents alone, never on what comes before the name or
// after the value (a slice of a text finds what the text has): it must
// close, hold something, and not start with white space, nor with what
// follows a JSON string's end (',', ':', '}', ']': in a JSON text, a '"'
// after '=' ends a string). One that starts with '>', ';' or '&' and ends
// with '=' is the end of an HTML attribute or a URL and the next name
// ("<a href="/x?token=">…user="bob"": an empty value). A quote written with
// fewer backslashes inside is a string's end: no value.
func quotedValue(b []byte, vs int) (s, e int, ok bool) {
	n := len(b)
	if n-vs >= len(nginxQuote) && string(b[vs:vs+len(nginxQuote)]) == nginxQuote {
		s = vs + len(nginxQuote)
		e = escStringEnd(b, s, nginxQuote)
		if e == s || n-e < len(nginxQuote) || string(b[e:e+len(nginxQuote)]) != nginxQuote || !valueShape(b[s:e]) {
			return 0, 0, false
		}
		return s, e, true
	}
	k := 0 // the backslashes before the opening quote
	for vs+k < n && b[vs+k] == '\\' {
		k++
	}
	if vs+k >= n || b[vs+k] != '"' || (k+1)&k != 0 {
		// Not a quote as some level of JSON escaping writes one (0, 1,
		// 3, 7, … backslashes): an escaped backslash, then a string's end.
		return 0, 0, false
	}
	s = vs + k + 1
	e, _, ok = escapedStringEnd(b, vs, k)
	if !ok || e == s || !valueShape(b[s:e]) {
		return 0, 0, false
	}
	return s, e, true
}

// backslashesBefore returns how many backslashes come right before b[i],
// after from.
func backslashesBefore(b []byte, from, i int) int {
	k := 0
	for i-k > from && b[i-k-1] == '\\' {
		k++
	}
	return k
}

// escapedMemberValue returns the value of a JSON member whose quotes are
// escaped lvl (1, 3, 7, …) times, starting at vs: a string's contents, an
// object or array whole, or a number. A string, object or array that does
// not close before the string holding it ends (a body the app truncated,
// a line cut) runs to that end (openEnd): it shipped (regress17b B3). ok
// is false for a literal (true, false, null), an empty string, and
// anything else.
func escapedMemberValue(b []byte, vs, lvl int, st *findState) (s, e int, ok bool) {
	n := len(b)
	if vs >= n {
		return 0, 0, false
	}
	switch c := b[vs]; {
	case c == '\\':
		k := escapedQuoteLevel(b, vs)
		if k == 0 {
			return 0, 0, false
		}
		end, _, ok := escapedStringEnd(b, vs, k)
		if !ok {
			end = st.openEnd(b, vs+k+1, k)
		}
		if end <= vs+k+1 {
			return 0, 0, false
		}
		return vs + k + 1, end, true
	case c == '{' || c == '[':
		if e, ok := st.vm.skipEscaped(b, vs); ok {
			return vs, e, true
		}
		return vs, st.openEnd(b, vs, lvl), true
	default:
		ve := vs
		for ve < n && b[ve] != ',' && b[ve] != '}' && b[ve] != ']' && b[ve] != '\\' && b[ve] != '"' && !is(b[ve], cSpace) {
			ve++
		}
		if ve == vs || isLiteral(b[vs:ve]) || ve == n && isLiteralStart(b[vs:ve]) {
			return 0, 0, false
		}
		return vs, ve, true
	}
}

// openEnd returns where the string holding JSON whose quotes are escaped
// lvl times ends after from: before the backslashes of the first quote of
// a level below (one that closes no string of this level), or b's end.
// lvl -1: JSON whose quotes are \x22 or \u0022, ended by any '"'.
// Its last answer is kept: the values that do not close come in order, and
// each of a line of many looked to the same end (time in the square of the
// line's length).
func (st *findState) openEnd(b []byte, from, lvl int) int {
	if st.openLvl == lvl && from >= st.openFrom && from <= st.openTo && st.openTo > 0 {
		return st.openTo
	}
	end := len(b)
	for j := from; j < len(b); j++ {
		if b[j] != '"' {
			continue
		}
		if m := backslashesBefore(b, from, j); lvl < 0 || (m+1)%(lvl+1) != 0 {
			end = j - m
			break
		}
	}
	st.openFrom, st.openLvl, st.openTo = from, lvl, end
	return end
}

// skipEscapedSpace returns the index after the white space at i in JSON
// whose quotes are escaped lvl times: real white space, and a line break or
// tab escaped at that level ("\n" at level 1, "\\n" at 3, as a
// pretty-printed text encoded into a string writes the one between a
// member's colon and its value: regress16 F3).
func skipEscapedSpace(b []byte, i, lvl int) int {
	esc := (lvl + 1) / 2 // the backslashes of a character escaped at this level
	for i < len(b) {
		if is(b[i], cSpace) {
			i++
			continue
		}
		k := 0
		for i+k < len(b) && b[i+k] == '\\' {
			k++
		}
		if k != esc || i+k >= len(b) || b[i+k] != 'n' && b[i+k] != 't' && b[i+k] != 'r' {
			return i
		}
		i += k + 1
	}
	return i
}

// escapedQuoteLevel returns k when b holds, at i, a quote escaped k times
// (k = 1, 3, 7, … backslashes, then '"'), else 0.
func escapedQuoteLevel(b []byte, i int) int {
	k := 0
	for i+k < len(b) && b[i+k] == '\\' {
		k++
	}
	if k > 0 && i+k < len(b) && b[i+k] == '"' && (k+1)&k == 0 {
		return k
	}
	return 0
}

// escapedStringEnd returns, for a string that a quote escaped k times (0,
// 1, 3, 7, …) opens at b[i], where its closing quote's backslashes start
// and the index after that quote. At this level a quote with p backslashes
// before it in the text escaped takes (k+1)(p+1)-1: each backslash and
// the quote's own are escaped once per level. p even: the closing quote
// (after escaped backslashes, "C:\\temp\\"); p odd: a quote inside. ok is
// false when it does not close within b, or a quote of a level below comes
// first (any other count: the string holding it ended).
func escapedStringEnd(b []byte, i, k int) (end, next int, ok bool) {
	s := i + k + 1
	for j := s; j < len(b); j++ {
		if b[j] != '"' {
			continue
		}
		m := backslashesBefore(b, s, j)
		if (m+1)%(k+1) != 0 {
			return 0, 0, false
		}
		if p := (m+1)/(k+1) - 1; p%2 == 0 {
			return j - k, j + 1, true
		}
	}
	return 0, 0, false
}

// escapedQuoteAt reports whether b holds, at i, a quote as a level of JSON
// escaping writes it: 1, 3, 7, … backslashes and '"'.
func escapedQuoteAt(b []byte, i int) bool { return escapedQuoteLevel(b, i) > 0 }

// onlyBackslashes reports whether b is one or more backslashes and nothing
// else.
func onlyBackslashes(b []byte) bool {
	return len(b) > 0 && len(bytes.Trim(b, "\\")) == 0
}

// valueShape reports whether v, a quoted value's contents, may be one
// (see quotedValue): not after an HTML tag's end ('>', also as Go's JSON
// writes it, \u003e: "<a href="/x?token=">Reset</a> then "OK""), and for
// ';' and '&' not when it runs to the next name's '=' (a URL's end:
// url="/cb?token=";user="bob").
func valueShape(v []byte) bool {
	c := v[0]
	i := 0 // \u003e, \u0026 as Go's JSON writes them, at any level (\\u003e)
	for i < len(v) && v[i] == '\\' {
		i++
	}
	if i > 0 && len(v)-i >= 5 && v[i] == 'u' && v[i+1] == '0' && v[i+2] == '0' && is(v[i+3], cHex) && is(v[i+4], cHex) {
		c = unhex(v[i+3])<<4 | unhex(v[i+4])
	}
	switch {
	case is(c, cSpace) || c == ',' || c == ':' || c == '}' || c == ']' || c == '>':
		return false
	case c == ';' || c == '&':
		return v[len(v)-1] != '='
	}
	return true
}

// apostropheInValue reports whether the apostrophe at b[i] is part of a
// query value ("it's-secret") rather than the end of a quoted context
// ("href='/x?token=abc'>"): whether the byte after it, unescaped, can
// continue a value (is no terminator). An apostrophe at the end of b, or
// before an escape b cuts short, ends the value, so that a slice of a text
// never finds a value where the text has none.
func apostropheInValue(b []byte, i int) bool {
	if i+1 >= len(b) {
		return false
	}
	c, ok := unescapedAt(b, i+1)
	return ok && !is(c, cQDelim)
}

// unescapedAt returns the byte that b[i] stands for: an escape starting
// there stands for the byte it escapes, as nginx writes them ("\x22") or
// JSON does ("\"", "\n", "\u0027"; a \u escape beyond ASCII gives 0x80);
// any other byte, a lone backslash included, stands for itself. ok is false
// when b ends inside what may be an escape ("\x2").
func unescapedAt(b []byte, i int) (c byte, ok bool) {
	if b[i] != '\\' {
		return b[i], true
	}
	if i+1 >= len(b) {
		return 0, false
	}
	switch b[i+1] {
	case 'x':
		if i+3 >= len(b) {
			return 0, false
		}
		if is(b[i+2], cHex) && is(b[i+3], cHex) {
			return unhex(b[i+2])<<4 | unhex(b[i+3]), true
		}
	case 'u':
		if i+5 >= len(b) {
			return 0, false
		}
		if is(b[i+2], cHex) && is(b[i+3], cHex) && is(b[i+4], cHex) && is(b[i+5], cHex) {
			if b[i+2] != '0' || b[i+3] != '0' || unhex(b[i+4]) > 7 {
				return 0x80, true
			}
			return unhex(b[i+4])<<4 | unhex(b[i+5]), true
		}
	case '"', '\\', '/':
		return b[i+1], true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return '\\', true
}

// unhex returns the value of the hex digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isLiteral reports whether v is a JSON literal (true, false, null), which
// is no secret.
func isLiteral(v []byte) bool {
	switch string(v) {
	case "true", "false", "null":
		return true
	}
	return false
}

// isLiteralStart reports whether v is the start of a JSON literal ("nu").
func isLiteralStart(v []byte) bool {
	for _, l := range [...]string{"true", "false", "null"} {
		if len(v) < len(l) && l[:len(v)] == string(v) {
			return true
		}
	}
	return false
}

// secret reports whether the parameter name is one of q.names, ignoring
// case, or ends with one after a separator. Closing brackets at its end are
// dropped first; a bracket may be percent-encoded, once or twice ("%5D",
// "%255D"), the opening one as separator too ("user%5Bpassword%5D").
func (q queryDetector) secret(name []byte) bool {
	for k := closeBracketEnd(name); k > 0; k = closeBracketEnd(name) {
		name = name[:len(name)-k]
		// An empty pair or an index, as forms write a list
		// ("password[]", "password[0]", "token%5B%5D"): the name is
		// what comes before it (redact12: their values shipped).
		d := digitsStart(name, len(name))
		if o := openBracketEnd(name[:d]); o > 0 {
			name = name[:d-o]
		}
	}
	if q.named(name) {
		return true
	}
	// A numbered copy ("password1", "new_password2", as Django's forms
	// name the two fields of a new password; redact12 F16).
	d := digitsStart(name, len(name))
	if d > 1 && d < len(name) && (name[d-1] == '_' || name[d-1] == '-') {
		d-- // "password_1" (regress12b)
	}
	return d > 0 && d < len(name) && q.named(name[:d])
}

// named reports whether name is one of q.names or ends with one after a
// separator (see separatorEnd) or where a camelCase word starts
// ("accessToken", "clientSecret"; redact12 F5), ignoring case.
func (q queryDetector) named(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, s := range q.byLast[lower(name[len(name)-1])] {
		if len(name) < len(s) {
			continue
		}
		k := len(name) - len(s)
		// A camelCase word counts for names of five letters or more:
		// "accessToken", "clientSecret", but not "primaryKey", "sortKey"
		// or "userAuth", ordinary identifiers (regress12b).
		camel := k > 0 && len(s) >= 5 && is(name[k], cUpper) && is(name[k-1], cAlpha) && !is(name[k-1], cUpper)
		if hasFoldPrefix(name[k:], s) && (k == 0 || separatorEnd(name[:k]) || camel) {
			return true
		}
	}
	return false
}

// separatorEnd reports whether b ends with what separates a secret name
// from the rest of a parameter name: '_', '-', '.', '[', or '['
// percent-encoded ("%5B", "%255B").
func separatorEnd(b []byte) bool {
	switch b[len(b)-1] {
	case '_', '-', '.', '[':
		return true
	case 'b', 'B':
		return encBracketEnd(b, 'b') > 0
	}
	return false
}

// closeBracketEnd returns the length of the closing bracket b ends with:
// 1 for "]", 3 for "%5D", 5 for "%255D" (hex digits in any case); 0 when
// there is none.
func closeBracketEnd(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == ']' {
		return 1
	}
	return encBracketEnd(b, 'd')
}

// digitsStart returns where the run of digits that b[:t] ends with starts
// (t when there is none).
func digitsStart(b []byte, t int) int {
	for t > 0 && is(b[t-1], cDigit) {
		t--
	}
	return t
}

// openBracketEnd returns the length of the opening bracket b ends with: 1
// for "[", 3 for "%5B", 5 for "%255B"; 0 when there is none.
func openBracketEnd(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '[' {
		return 1
	}
	return encBracketEnd(b, 'b')
}

// encBracketEnd returns the length of the percent-encoded bracket b ends
// with, "%5B" (c 'b') or "%5D" (c 'd'), 3, or encoded twice, "%255B" or
// "%255D", 5; 0 when there is none.
func encBracketEnd(b []byte, c byte) int {
	n := len(b)
	if n < 3 || lower(b[n-1]) != c || b[n-2] != '5' {
		return 0
	}
	if b[n-3] == '%' {
		return 3
	}
	if n >= 5 && b[n-5] == '%' && b[n-4] == '2' && b[n-3] == '5' {
		return 5
	}
	return 0
}

// encBracket returns the length of the percent-encoded bracket ('[' or
// ']', once or twice encoded) that starts at b[i], or 0.
func encBracket(b []byte, i int) int {
	if b[i] != '%' {
		return 0
	}
	for _, k := range [...]int{3, 5} {
		if i+k <= len(b) {
			if c := lower(b[i+k-1]); (c == 'b' || c == 'd') && encBracketEnd(b[i:i+k], c) == k {
				return k
			}
		}
	}
	return 0
}

// ---- ipv4 ----------------------------------------------------------------

// ipv4Detector finds dotted-quad IPv4 addresses with every octet 0-255
// (leading zeros allowed), not part of a longer dotted number
// ("1.2.3.4.5") and not glued to a letter or digit.
type ipv4Detector struct{}

func (ipv4Detector) maybe(b []byte) bool { return bytes.IndexByte(b, '.') >= 0 }

func (ipv4Detector) keyed(string) bool { return false }

func (ipv4Detector) find(b []byte, from int, _ string, _ *findState) (int, int, bool) {
	n := len(b)
	for i := from; i < n; {
		d := bytes.IndexByte(b[i:], '.')
		if d < 0 {
			return 0, 0, false
		}
		d += i
		s := d
		for s > i && d-s < 3 && is(b[s-1], cDigit) {
			s--
		}
		// "%208.8.8.8", "\x2210.9.8.7": the escape's hex digits are not
		// the address's (redact20 F1, F2: it shipped, or was hashed as
		// another address).
		s += addrEscapeDigits(b, s)
		if s < d && (s == 0 || !(isAlnum(b[s-1]) && !escapeBefore(b, s) || b[s-1] == '.')) {
			if e, ok := parseIPv4(b, s); ok {
				return s, e, true
			}
		}
		i = d + 1
	}
	return 0, 0, false
}

// parseIPv4 parses a dotted quad at s and returns its end.
func parseIPv4(b []byte, s int) (int, bool) {
	j := s
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(b) || b[j] != '.' {
				return 0, false
			}
			j++
		}
		v, k := 0, j
		for k < len(b) && k-j < 4 && is(b[k], cDigit) {
			v = v*10 + int(b[k]-'0')
			k++
		}
		if k == j || k-j > 3 || v > 255 {
			return 0, false
		}
		j = k
	}
	if j < len(b) && (isAlnum(b[j]) || (b[j] == '.' && j+1 < len(b) && is(b[j+1], cDigit))) {
		return 0, false
	}
	return j, true
}

// truncateIPv4 appends the address in m with its last octet zeroed: the /24
// network, written as the input wrote the first three octets.
func truncateIPv4(dst, m []byte) []byte {
	k := bytes.LastIndexByte(m, '.')
	dst = append(dst, m[:k+1]...)
	return append(dst, '0')
}

// ---- ipv6 ----------------------------------------------------------------

// ipv6Detector finds IPv6 addresses (RFC 4291 text forms, embedded IPv4
// included) not glued to a letter or digit. "::" alone is not reported.
type ipv6Detector struct{}

func (ipv6Detector) maybe(b []byte) bool { return bytes.IndexByte(b, ':') >= 0 }

func (ipv6Detector) keyed(string) bool { return false }

func (ipv6Detector) find(b []byte, from int, _ string, _ *findState) (int, int, bool) {
	n := len(b)
	for i := from; i < n; {
		c := bytes.IndexByte(b[i:], ':')
		if c < 0 {
			return 0, 0, false
		}
		c += i
		s := c
		for s > i && is(b[s-1], cV6) {
			s--
		}
		s += addrEscapeDigits(b, s) // "%2C2001:db8::7", "\u000a2001:…" (redact20 F1)
		e := c + 1
		for e < n && is(b[e], cV6) {
			e++
		}
		i = e
		escLetter := false
		if s > 0 && s < c && b[s-1] == '\\' && (b[s] == 'f' || b[s] == 'b') {
			// "\f2001:…": the escape's letter is a hex digit. Unless the
			// address starts there ("\\fe80::1", a backslash then the
			// address; "\bad::7": regress20b G6).
			if ts, te := trimV6(b, s, e); !validV6(b[ts:te]) {
				s++
				escLetter = true
			}
		}
		if e < n && isAlnum(b[e]) {
			continue
		}
		if s > 0 && isAlnum(b[s-1]) && !escLetter && !escapeBefore(b, s) {
			// A name and its colon glued before the address
			// ("host:2001:db8::1", Go's "{Addr:2001:db8::1 Port:443}",
			// "id:fe80::1"; redact22 P6: they shipped, as "ip:203.0.113.9"
			// did not): the address starts after the name's colon, the
			// name's last hex bytes being no part of it, digits too
			// ("eth0:fe80::1", "node1:", "ipv6:"; redact24 P1: they
			// shipped). So "x2001:db8::1" is the name x2001 and db8::1.
			if ts, te, ok := v6AfterName(b, s, e); ok {
				return ts, te, true
			}
			continue
		}
		ts, te := trimV6(b, s, e)
		if validV6(b[ts:te]) {
			return ts, te, true
		}
		// A name of hex letters at a word's start, before a full address
		// ("cafe:2001:db8:85a3:0:0:8a2e:370:7334": nine groups, no
		// address; redact24 P1).
		if ts, te, ok := v6AfterName(b, s, e); ok {
			return ts, te, true
		}
	}
	return 0, 0, false
}

// v6AfterName returns the address in b[s:e] after its first colon, which
// ends a name before it ("eth0:fe80::1" from "0:"; "node:::1" gives "::1").
func v6AfterName(b []byte, s, e int) (int, int, bool) {
	k := bytes.IndexByte(b[s:e], ':')
	if k < 0 {
		return 0, 0, false
	}
	k += s
	if k+1 < e && (b[k+1] != ':' || k+2 < e && b[k+2] == ':') {
		if ts, te := trimV6(b, k+1, e); ts == k+1 && validV6(b[ts:te]) {
			return ts, te, true
		}
	}
	return 0, 0, false
}

// trimV6 trims what cannot end or start an IPv6 address from b[s:e]: a
// lone ':' or '.'.
func trimV6(b []byte, s, e int) (int, int) {
	for e > s && (b[e-1] == '.' || (b[e-1] == ':' && (e-2 < s || b[e-2] != ':'))) {
		e--
	}
	for s < e && (b[s] == '.' || (b[s] == ':' && (s+1 >= e || b[s+1] != ':'))) {
		s++
	}
	return s, e
}

func validV6(m []byte) bool {
	_, ok := parseIPv6(m)
	return ok
}

// parseIPv6 parses an IPv6 address after cheap shape checks (so times and
// MAC addresses are rejected without allocating).
func parseIPv6(m []byte) (netip.Addr, bool) {
	if len(m) < 3 || len(m) > 45 {
		return netip.Addr{}, false
	}
	colons, double, hex := 0, false, false
	for i, c := range m {
		switch {
		case c == ':':
			colons++
			if i > 0 && m[i-1] == ':' {
				double = true
			}
		case c != '.':
			hex = true
		}
	}
	if colons < 2 || !hex || (!double && colons < 6) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(m))
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// truncateIPv6 appends the /48 network of the address in m.
func truncateIPv6(dst, m []byte) []byte {
	a, ok := parseIPv6(m)
	if !ok {
		return append(dst, m...)
	}
	p, err := a.Prefix(48)
	if err != nil {
		return append(dst, m...)
	}
	return p.Addr().AppendTo(dst)
}
