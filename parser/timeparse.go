package parser

import (
	"encoding/binary"
	"time"
)

// Hand-written timestamp parsers for the hot path: no time.Parse, no
// allocation. Each returns ok=false for anything malformed or out of range.

// daysFromCivil returns the days since 1970-01-01 of the proleptic
// Gregorian date y-m-d (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

var daysIn = [13]int64{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func validDate(y, m, d int64) bool {
	if m < 1 || m > 12 || d < 1 || d > daysIn[m] {
		return false
	}
	if m == 2 && d == 29 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		return false
	}
	return true
}

// digits parses exactly len(b) decimal digits.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// clock parses "HH:MM:SS" at b[0:8].
func clock(b []byte) (int64, bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return 0, false
	}
	h, ok1 := digits(b[0:2])
	m, ok2 := digits(b[3:5])
	s, ok3 := digits(b[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return 0, false
	}
	return h*3600 + m*60 + s, true
}

// zoneOffset parses "+0100", "+01:00", "-05", "Z" or "z" and returns the
// offset in seconds east of UTC.
func zoneOffset(b []byte) (int64, bool) {
	if len(b) == 1 && (b[0] == 'Z' || b[0] == 'z') {
		return 0, true
	}
	if len(b) < 3 || (b[0] != '+' && b[0] != '-') {
		return 0, false
	}
	h, ok := digits(b[1:3])
	if !ok || h > 23 {
		return 0, false
	}
	var m int64
	switch rest := b[3:]; len(rest) {
	case 0:
	case 2:
		m, ok = digits(rest)
	case 3:
		if rest[0] != ':' {
			return 0, false
		}
		m, ok = digits(rest[1:])
	default:
		return 0, false
	}
	if !ok || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if b[0] == '-' {
		off = -off
	}
	return off, true
}

// month parses an English three-letter month abbreviation.
func month(b []byte) (int64, bool) {
	if len(b) != 3 {
		return 0, false
	}
	switch string(b) { // no allocation: the compiler turns this into comparisons
	case "Jan":
		return 1, true
	case "Feb":
		return 2, true
	case "Mar":
		return 3, true
	case "Apr":
		return 4, true
	case "May":
		return 5, true
	case "Jun":
		return 6, true
	case "Jul":
		return 7, true
	case "Aug":
		return 8, true
	case "Sep":
		return 9, true
	case "Oct":
		return 10, true
	case "Nov":
		return 11, true
	case "Dec":
		return 12, true
	}
	return 0, false
}

// parseTimeLocal parses nginx's $time_local: "02/Jan/2024:15:04:05 +0100".
func parseTimeLocal(b []byte) (time.Time, bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[20] != ' ' {
		return time.Time{}, false
	}
	d, ok1 := digits(b[0:2])
	m, ok2 := month(b[3:6])
	y, ok3 := digits(b[7:11])
	secs, ok4 := clock(b[12:20])
	off, ok5 := zoneOffset(b[21:26])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !validDate(y, m, d) {
		return time.Time{}, false
	}
	return unixTime(daysFromCivil(y, m, d)*86400+secs-off, 0), true
}

// parseRFC3339 parses "2024-01-02T15:04:05[.frac](Z|±hh:mm|±hhmm)" (nginx's
// $time_iso8601 is one). A space or lowercase 't' may separate date and time.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') {
		return time.Time{}, false
	}
	y, ok1 := digits(b[0:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	secs, ok4 := clock(b[11:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !validDate(y, m, d) {
		return time.Time{}, false
	}
	nsec, off, ok := fractionAndZone(b[19:])
	if !ok {
		return time.Time{}, false
	}
	return unixTime(daysFromCivil(y, m, d)*86400+secs-off, nsec), true
}

// fractionAndZone reads what follows the seconds of an RFC 3339 time: an
// optional fraction ('.' or ',' and digits) and the zone.
func fractionAndZone(rest []byte) (nsec, off int64, ok bool) {
	if rest[0] == '.' || rest[0] == ',' {
		i := 1
		scale := int64(100000000)
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			nsec += int64(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return 0, 0, false
		}
		rest = rest[i:]
	}
	off, ok = zoneOffset(rest)
	return nsec, off, ok
}

// parseEpoch parses a decimal number "1704204245.123" (optionally signed,
// no exponent) as a count of 10^-unitExp seconds: unitExp 0 for seconds, 3
// for milliseconds, 6 for microseconds, 9 for nanoseconds. unitExp < 0 means
// guess the unit from the magnitude of the integer part.
func parseEpoch(b []byte, unitExp int) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, false
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	i := 0
	var ip int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if ip > (1<<62)/10 {
			return time.Time{}, false
		}
		ip = ip*10 + int64(b[i]-'0')
	}
	if i == 0 {
		return time.Time{}, false
	}
	// Fraction as nanoseconds-of-a-unit with up to 9 digits.
	var frac int64
	if i < len(b) {
		if b[i] != '.' {
			return time.Time{}, false
		}
		i++
		start := i
		scale := int64(100000000)
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			frac += int64(b[i]-'0') * scale
			scale /= 10
		}
		if i == start || i != len(b) {
			return time.Time{}, false
		}
	}
	guessed := unitExp < 0
	if guessed {
		switch {
		case ip < 1e11:
			unitExp = 0
		case ip < 1e14:
			unitExp = 3
		case ip < 1e17:
			unitExp = 6
		default:
			unitExp = 9
		}
	}
	var sec, nsec int64
	switch unitExp {
	case 0:
		if ip > 1e11 {
			return time.Time{}, false
		}
		sec, nsec = ip, frac
	case 3:
		sec, nsec = ip/1e3, (ip%1e3)*1e6+frac/1e3
	case 6:
		sec, nsec = ip/1e6, (ip%1e6)*1e3+frac/1e6
	case 9:
		sec, nsec = ip/1e9, ip%1e9
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	if guessed && sec < minGuessedEpoch {
		// A number under a default time key that is no time: a
		// duration ({"time":35}) shipped as 1970-01-01T00:00:35, which
		// Loki refuses as too old and Elasticsearch files in a 1970
		// index (parser25). With time_format: unix the number is taken.
		return time.Time{}, false
	}
	return unixTime(sec, nsec), true
}

// minGuessedEpoch is the earliest time (1990-01-01) a Unix number read with
// its unit guessed may give.
const minGuessedEpoch = 631152000

// parseErrorLogTime parses nginx's error-log time "2024/01/02 15:04:05",
// which carries no zone; loc nil means UTC.
func parseErrorLogTime(b []byte, loc *time.Location) (time.Time, bool) {
	if len(b) < 19 || b[4] != '/' || b[7] != '/' || b[10] != ' ' {
		return time.Time{}, false
	}
	y, ok1 := digits(b[0:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	secs, ok4 := clock(b[11:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !validDate(y, m, d) {
		return time.Time{}, false
	}
	if loc == nil {
		return unixTime(daysFromCivil(y, m, d)*86400+secs, 0), true
	}
	return time.Date(int(y), time.Month(m), int(d), int(secs/3600), int(secs/60%60), int(secs%60), 0, loc).UTC(), true
}

// rfc3339Cache parses RFC 3339 times as parseRFC3339 does, remembering the
// date, hour and minute of the last one that parsed: the times of one log
// mostly share them, and then only the seconds, fraction and zone are left
// to read. The zero value is ready to use.
type rfc3339Cache struct {
	prefix [2]uint64 // "2024-01-02T15:04" as little-endian words, validated
	base   int64     // its Unix seconds, before the zone offset
	ok     bool
}

func (c *rfc3339Cache) parse(b []byte) (time.Time, bool) {
	if !c.ok || len(b) < 20 || binary.LittleEndian.Uint64(b) != c.prefix[0] || binary.LittleEndian.Uint64(b[8:]) != c.prefix[1] {
		t, ok := parseRFC3339(b)
		if ok {
			// parseRFC3339 validated b[:16]: the date, the separator, the
			// hour, ':' and the minute.
			y, _ := digits(b[0:4])
			m, _ := digits(b[5:7])
			d, _ := digits(b[8:10])
			hh, _ := digits(b[11:13])
			mm, _ := digits(b[14:16])
			c.prefix[0], c.prefix[1] = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
			c.base = daysFromCivil(y, m, d)*86400 + hh*3600 + mm*60
			c.ok = true
		}
		return t, ok
	}
	if b[16] != ':' {
		return time.Time{}, false
	}
	s, ok := digits(b[17:19])
	if !ok || s > 60 {
		return time.Time{}, false
	}
	nsec, off, ok := fractionAndZone(b[19:])
	if !ok {
		return time.Time{}, false
	}
	return unixTime(c.base+s-off, nsec), true
}

// timeLocalCache parses nginx's $time_local as parseTimeLocal does,
// remembering the date, hour, minute and zone of the last one that parsed.
// The zero value is ready to use.
type timeLocalCache struct {
	// The validated bytes of the last time that parsed, as little-endian
	// words: w0, w1 and b16 hold "02/Jan/2024:15:04", zone holds b[18:26]
	// ("05 +0100") with the seconds masked out.
	w0, w1, zone uint64
	b16          byte
	base         int64 // Unix seconds of the minute in the zone
	ok           bool
}

// zoneMask drops the seconds (the first two bytes) from the word at b[18:].
const zoneMask = ^uint64(0xffff)

func (c *timeLocalCache) parse(b []byte) (time.Time, bool) {
	if len(b) != 26 {
		return time.Time{}, false // as parseTimeLocal
	}
	w0, w1, zone := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[18:])&zoneMask
	if !c.ok || w0 != c.w0 || w1 != c.w1 || b[16] != c.b16 || zone != c.zone {
		t, ok := parseTimeLocal(b)
		if ok {
			// parseTimeLocal validated all but the seconds.
			c.w0, c.w1, c.b16, c.zone = w0, w1, b[16], zone
			d, _ := digits(b[0:2])
			m, _ := month(b[3:6])
			y, _ := digits(b[7:11])
			hh, _ := digits(b[12:14])
			mm, _ := digits(b[15:17])
			off, _ := zoneOffset(b[21:26])
			c.base = daysFromCivil(y, m, d)*86400 + hh*3600 + mm*60 - off
			c.ok = true
		}
		return t, ok
	}
	if b[17] != ':' {
		return time.Time{}, false
	}
	s, ok := digits(b[18:20])
	if !ok || s > 60 {
		return time.Time{}, false
	}
	return unixTime(c.base+s, 0), true
}
