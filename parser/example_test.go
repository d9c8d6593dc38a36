package parser_test

import (
	"fmt"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
)

func Example() {
	p, err := parser.New(parser.Config{
		Format: parser.FormatNginx,
		// Pasted from nginx.conf, quotes and all.
		LogFormat: `'$remote_addr [$time_local] "$request" $status '
		            '$request_time $upstream_response_time "$http_user_agent"'`,
	})
	if err != nil {
		panic(err)
	}
	line := []byte(`10.0.0.1 [02/Jan/2024:15:04:05 +0100] "GET /a?b=1 HTTP/1.1" 200 0.004 - "curl/8.5 \x22x\x22"`)
	var rec sidetrail.Record
	if err := p.Parse(line, &rec); err != nil {
		panic(err)
	}
	fmt.Println(rec.Time)
	for _, f := range rec.Fields {
		fmt.Printf("%s (%s): %s\n", f.Key, f.Kind, f.Value)
	}
	// Output:
	// 2024-01-02 14:04:05 +0000 UTC
	// remote_addr (string): 10.0.0.1
	// request (string): GET /a?b=1 HTTP/1.1
	// request_method (string): GET
	// request_uri (string): /a?b=1
	// request_path (string): /a
	// request_query (string): b=1
	// request_protocol (string): HTTP/1.1
	// status (int): 200
	// request_time (float): 0.004
	// http_user_agent (string): curl/8.5 "x"
}

func ExampleNew_syntaxError() {
	_, err := parser.New(parser.Config{Format: parser.FormatNginx, LogFormat: `'$remote_addr ${host'`})
	fmt.Println(err)
	// Output:
	// log_format column 15: unterminated variable ${host: missing '}'
}

func ExampleNew_json() {
	p, _ := parser.New(parser.Config{Format: parser.FormatJSON})
	var rec sidetrail.Record
	err := p.Parse([]byte(`{"ts":1704207845.25,"level":"info","message":"hi","n":18446744073709551617,"ctx":{"a":[1]}}`), &rec)
	fmt.Println(err, rec.Time)
	for _, f := range rec.Fields {
		fmt.Printf("%s (%s): %s\n", f.Key, f.Kind, f.Value)
	}
	// Output:
	// <nil> 2024-01-02 15:04:05.25 +0000 UTC
	// level (string): info
	// json.message (string): hi
	// n (int): 18446744073709551617
	// ctx (json): {"a":[1]}
}
