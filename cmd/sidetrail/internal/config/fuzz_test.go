package config

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics or hangs, and returns either a Config or a
// non-empty *Errors whose every entry has a line within the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{minimal, full, "", "a: &a [*a]\n", "sources: [&x {name: a, paths: [*x]}]\n",
		"sinks: [{type: loki, <<: {url: x}}]\n", "sources:\n  - name: ${A:-b}\n    paths: [\"$${x}\"]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "{? [a] : b}\n", "!!binary aGk=\n"} {
		f.Add([]byte(s))
	}
	vars := env(map[string]string{"A": "a", "LOKI_PASSWORD": "x"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, vars)
		if err == nil {
			if cfg == nil || len(cfg.Sources) == 0 || len(cfg.Sinks) == 0 {
				t.Fatalf("no error but config %+v", cfg)
			}
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(*errs) == 0 {
			t.Fatalf("error %v (%T) is not a non-empty *Errors", err, err)
		}
		for _, e := range *errs {
			if e.Line < 1 || e.File != "f.yaml" || e.Msg == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}
