package redact_test

import (
	"bytes"
	"fmt"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/redact"
)

func Example() {
	rules := append(redact.Defaults(),
		redact.Rule{Field: "http_cookie", Action: "drop"},
		redact.Rule{Builtin: "ipv4", Action: "truncate"},
	)
	r, err := redact.New(rules, redact.Options{})
	if err != nil {
		panic(err)
	}
	line := []byte(`203.0.113.9 - - "GET /login?user=jane@example.com&password=hunter2 HTTP/1.1" 200 "sid=8f2c1e"`)
	// As a parser would: the message is the line, field values slices of it.
	slice := func(s string) []byte { i := bytes.Index(line, []byte(s)); return line[i : i+len(s)] }
	rec := &sidetrail.Record{Message: line}
	rec.Add("remote_addr", sidetrail.KindString, slice("203.0.113.9"))
	rec.Add("request", sidetrail.KindString, slice("GET /login?user=jane@example.com&password=hunter2 HTTP/1.1"))
	rec.Add("http_cookie", sidetrail.KindString, slice("sid=8f2c1e"))

	r.Apply(rec)

	fmt.Printf("%s\n", rec.Message)
	for _, f := range rec.Fields {
		fmt.Printf("%s=%s\n", f.Key, f.Value)
	}
	fmt.Println(r.Stats().Redactions("email"), r.Stats().Redactions("query_secrets"))
	// Output:
	// 203.0.113.0 - - "GET /login?user=[REDACTED:email]&password=[REDACTED] HTTP/1.1" 200 ""
	// remote_addr=203.0.113.0
	// request=GET /login?user=[REDACTED:email]&password=[REDACTED] HTTP/1.1
	// 2 2
}

func ExampleNew_error() {
	_, err := redact.New([]redact.Rule{{Builtin: "email"}, {Pattern: `(?i)(token`}}, redact.Options{})
	fmt.Println(err)
	// Output:
	// rule 2 (pattern "(?i)(token"): error parsing regexp: missing closing ): `(?i)(token`
}
