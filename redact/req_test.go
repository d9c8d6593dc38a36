package redact

import (
	"fmt"
	"testing"
)

// TestPatternPrefilter: the literals a pattern's pre-filter requires, and
// that the pre-filter never rejects a value the regexp matches.
func TestPatternPrefilter(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{`(?i)(token|password|api_key)=[^&\\s"]*`, `[{to true 1} {word true 0} {api_ true 3}]`},
		{`sk_live_[0-9a-zA-Z]{8,}`, `[{sk_live_ false 2}]`},
		{`(?i)secret-\d+`, `[{ecret- true 1}]`},
		{`\d{16}`, `[]`},
		{`(?i)kk`, `[]`},
		{`(a|b*)c`, `[{c false 0}]`},
		{`ab+c`, `[{ab false 1}]`},
	}
	for _, c := range cases {
		ru, err := compile(1, Rule{Pattern: c.pattern}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ru.req); got != c.want {
			t.Errorf("%s: required %s, want %s", c.pattern, got, c.want)
		}
	}
}
