package sidetrail

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes written in configuration as a plain number
// or with a unit: "512", "64KiB", "10MB", "1GiB". KB, MB and GB are powers
// of 1000; KiB, MiB and GiB powers of 1024.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// ParseByteSize parses s as a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	if !decimal(t) {
		// strconv takes "NaN", "Inf", "0x1p4", "1_000" and "+1": no sizes
		// (regress24 R11).
		t = "?"
	}
	n, err := strconv.ParseFloat(t, 64)
	if err == nil && n >= 0 && n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q: too large (at most 2^62 bytes, 4194304TiB)", s)
	}
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit, written exactly so: B, K or KiB, M or MiB, G or GiB, TiB (powers of 1024), KB, MB, GB, TB (powers of 1000)", s)
	}
	return ByteSize(n * float64(mult)), nil
}

// decimal reports whether s is digits, with a fraction after a '.' or not.
func decimal(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i+1 < len(s):
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// UnmarshalText implements encoding.TextUnmarshaler, so YAML and flags take
// "1GiB".
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String formats b with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.m && int64(b)%u.m == 0 {
			return strconv.FormatInt(int64(b)/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}
