package parser

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

// fieldsString renders fields as "key=kind:value" lines for comparison.
func fieldsString(fs []sidetrail.Field) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Key)
		b.WriteByte('=')
		if f.Kind != sidetrail.KindString {
			b.WriteString(f.Kind.String())
			b.WriteByte(':')
		}
		b.Write(f.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

func mustNew(t testing.TB, cfg Config) Parser {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return p
}

// parseOK parses line and returns the fields as fieldsString renders them.
func parseOK(t *testing.T, p Parser, line string) (string, *sidetrail.Record) {
	t.Helper()
	rec := &sidetrail.Record{Message: []byte(line)}
	if err := p.Parse([]byte(line), rec); err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	checkValidJSON(t, rec)
	return fieldsString(rec.Fields), rec
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

func TestNginxFormats(t *testing.T) {
	tests := []struct {
		name, format, line, want string
		time                     string // RFC 3339, "" for none
	}{
		{
			name:   "combined",
			format: "combined",
			line:   `10.0.0.1 - - [02/Jan/2024:15:04:05 +0100] "GET /a\x22b?x=1&y=%20 HTTP/1.1" 200 612 "-" "curl/8.0 \x5C\x01"` + "\n",
			want: lines(
				"remote_addr=10.0.0.1",
				`request=GET /a"b?x=1&y=%20 HTTP/1.1`,
				"request_method=GET",
				`request_uri=/a"b?x=1&y=%20`,
				`request_path=/a"b`,
				"request_query=x=1&y=%20",
				"request_protocol=HTTP/1.1",
				"status=int:200",
				"body_bytes_sent=int:612",
				"http_user_agent=curl/8.0 \\\x01",
			),
			time: "2024-01-02T14:04:05Z",
		},
		{
			name:   "default is combined; remote_user with a space and a bracket",
			format: "",
			line:   `::1 - a [b] c [02/Jan/2024:15:04:05 -0000] "HEAD / HTTP/1.0" 304 0 "http://r/" "-"`,
			want: lines(
				"remote_addr=::1",
				"remote_user=a [b] c",
				"request=HEAD / HTTP/1.0",
				"request_method=HEAD",
				"request_uri=/",
				"request_path=/",
				"request_protocol=HTTP/1.0",
				"status=int:304",
				"body_bytes_sent=int:0",
				"http_referer=http://r/",
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name:   "main",
			format: "main",
			line:   `1.2.3.4 - bob [31/Dec/2023:23:59:60 +0000] "POST /x HTTP/2.0" 201 5 "-" "ua" "5.6.7.8, 9.9.9.9"`,
			want: lines(
				"remote_addr=1.2.3.4",
				"remote_user=bob",
				"request=POST /x HTTP/2.0",
				"request_method=POST",
				"request_uri=/x",
				"request_path=/x",
				"request_protocol=HTTP/2.0",
				"status=int:201",
				"body_bytes_sent=int:5",
				"http_user_agent=ua",
				"http_x_forwarded_for=5.6.7.8, 9.9.9.9",
			),
			time: "2024-01-01T00:00:00Z",
		},
		{
			name:   "garbage request line is kept, not split",
			format: "combined",
			line:   `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-"`,
			want: lines(
				"remote_addr=1.2.3.4",
				"request=\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
				"status=int:400",
				"body_bytes_sent=int:157",
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name:   "HTTP/0.9 request has no protocol",
			format: "combined",
			line:   `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /old" 200 1 "-" "-"`,
			want: lines(
				"remote_addr=1.2.3.4",
				"request=GET /old",
				"request_method=GET",
				"request_uri=/old",
				"request_path=/old",
				"status=int:200",
				"body_bytes_sent=int:1",
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name:   "numbers: lists stay strings, dashes are omitted",
			format: `'$status|$request_time|$upstream_response_time|$upstream_status|$upstream_connect_time|$body_bytes_sent|$connection'`,
			line:   `200|0.005|0.001, 0.002 : 0.003|502, 200|-|7|12`,
			want: lines(
				"status=int:200",
				"request_time=float:0.005",
				"upstream_response_time=0.001, 0.002 : 0.003",
				"upstream_status=502, 200",
				"body_bytes_sent=int:7",
				"connection=int:12",
			),
		},
		{
			// nginx writes "-" for a variable it has no value for: a
			// refused request's $request_uri and $uri. The variable
			// before took it (parser22 P1).
			name:   "adjacent variables: the second's \"-\"",
			format: `'$host$request_uri|$server_port$uri|$status$document_uri'`,
			line:   `localhost-|8080-|400-`,
			want:   lines("host=localhost", "server_port=int:8080", "status=int:400"),
		},
		{
			// A server without server_name answering a request without
			// Host: $host is empty, $request_uri nginx's "-" (regress22 R5).
			name:   "adjacent variables: the first empty, the second's \"-\"",
			format: `'$host$request_uri|$status|$body_bytes_sent'`,
			line:   `-|400|157`,
			want:   lines("status=int:400", "body_bytes_sent=int:157"),
		},
		{
			name:   "adjacent variables: the first \"-\" too",
			format: `'$http_host$request_uri|$status'`,
			line:   `--|400`,
			want:   lines("status=int:400"),
		},
		{
			name:   "adjacent variables: a '-' in the first before the second's value",
			format: `'$host$request_uri|$host$uri "$request_uri"'`,
			line:   `a-b-/x|a-b-/x "-"`,
			want:   lines("host=a-b-", "request_uri=/x", "request_path=/x", "uri=/x"),
		},
		{
			// ingress-nginx's default format, a request retried on a second
			// upstream: every list has two items. Lists held '.' and ':'
			// anywhere and could end in ',', so "127.0.0.1:43662" passed as
			// upstream_response_length and every field after shifted
			// (parser11 F4: upstream_status 8).
			name: "ingress-nginx, two upstreams",
			format: `'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ` +
				`$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr ` +
				`$upstream_response_length $upstream_response_time $upstream_status $req_id'`,
			line: `127.0.0.1 - - [27/Nov/2026:04:38:49 +0000] "GET /two/r06 HTTP/1.1" 200 8 "-" "-" 86 0.000 [default-probe-80] [] ` +
				`127.0.0.1:43669, 127.0.0.1:43662 0, 8 0.000, 0.000 502, 200 2c269181f9aee2cd724114738c5f0535`,
			want: lines("remote_addr=127.0.0.1", "request=GET /two/r06 HTTP/1.1", "request_method=GET", "request_uri=/two/r06",
				"request_path=/two/r06", "request_protocol=HTTP/1.1", "status=int:200", "body_bytes_sent=int:8",
				"request_length=int:86", "request_time=float:0.000", "proxy_upstream_name=default-probe-80",
				"upstream_addr=127.0.0.1:43669, 127.0.0.1:43662", "upstream_response_length=0, 8",
				"upstream_response_time=0.000, 0.000", "upstream_status=502, 200", "req_id=2c269181f9aee2cd724114738c5f0535"),
			time: "2026-11-27T04:38:49Z",
		},
		{
			name:   "a host nginx accepts with '?' in it",
			format: `'$scheme://$host$request_uri $status'`,
			line:   `http://a?b.example/r50?h=1 404`,
			want:   lines("scheme=http", `host=a?b.example`, "request_uri=/r50?h=1", "request_path=/r50", "request_query=h=1", "status=int:404"),
		},
		{
			name:   "a host nginx accepts with '\"' and '\\' in it",
			format: `'$scheme://$host$request_uri $status'`,
			line:   `http://a\x22b\x5Cc.example/r51 404`,
			want:   lines("scheme=http", `host=a"b\c.example`, "request_uri=/r51", "request_path=/r51", "status=int:404"),
		},
		{
			// An internal redirect's group (" : ") before a text variable
			// (regress11: upstream_status "502, 502", req_id ": 200 …").
			name: "ingress-nginx, two upstreams and a redirect",
			format: `'$remote_addr [$time_local] "$request" $status $upstream_addr $upstream_response_length ` +
				`$upstream_response_time $upstream_status $req_id'`,
			line: `127.0.0.1 [27/Nov/2026:04:38:49 +0000] "GET / HTTP/1.1" 200 127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3 ` +
				`0, 0 : 8 0.001, 0.002 : 0.003 502, 502 : 200 2c269181f9aee2cd`,
			want: lines("remote_addr=127.0.0.1", "request=GET / HTTP/1.1", "request_method=GET", "request_uri=/",
				"request_path=/", "request_protocol=HTTP/1.1", "status=int:200",
				"upstream_addr=127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3", "upstream_response_length=0, 0 : 8",
				"upstream_response_time=0.001, 0.002 : 0.003", "upstream_status=502, 502 : 200", "req_id=2c269181f9aee2cd"),
			time: "2026-11-27T04:38:49Z",
		},
		{
			name:   "lists end in their last item",
			format: `'$upstream_addr $upstream_status'`,
			line:   `10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80 502, 504 : 200`,
			want:   lines("upstream_addr=10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80", "upstream_status=502, 504 : 200"),
		},
		{
			name:   "msec wins over time_local; time variables are not fields",
			format: `'[$time_local] $msec $time_iso8601 $request_time'`,
			line:   `[02/Jan/2024:15:04:05 +0000] 1704207845.123 2024-01-02T15:04:05+00:00 0.010`,
			want:   lines("request_time=float:0.010"),
			time:   "2024-01-02T15:04:05.123Z",
		},
		{
			name:   "a time that does not parse is kept as a string",
			format: `'[$time_local] $status'`,
			line:   `[02/Foo/2024:15:04:05 +0000] 200`,
			want:   lines("time_local=02/Foo/2024:15:04:05 +0000", "status=int:200"),
		},
		{
			name:   "escape=json: quotes, backslashes, \\u escapes, raw UTF-8",
			format: `escape=json '{"ip":"$remote_addr","req":"$request","ua":"$http_user_agent","ref":"$http_referer","s":$status}'`,
			line:   `{"ip":"::1","req":"GET /a\"b\\c\\\"d?q=\u00e9\ud83d\ude80 HTTP/1.1","ua":"x\u0001\t\"y\"\\","ref":"","s":200}`,
			want: lines(
				"remote_addr=::1",
				`request=GET /a"b\c\"d?q=é🚀 HTTP/1.1`,
				"request_method=GET",
				`request_uri=/a"b\c\"d?q=é🚀`,
				`request_path=/a"b\c\"d`,
				"request_query=q=é🚀",
				"request_protocol=HTTP/1.1",
				"http_user_agent=x\x01\t\"y\"\\",
				"status=int:200",
			),
		},
		{
			name:   "escape=none: a value may hold the next literal; backtracking finds the split",
			format: `escape=none '"$http_user_agent" "$http_referer" $status'`,
			line:   `"a" "b" "c" "d" 200`,
			want:   lines(`http_user_agent=a`, `http_referer=b" "c" "d`, "status=int:200"),
		},
		{
			name:   "default escaping: backslashes other than \\xHH are kept",
			format: `'$remote_addr "$http_user_agent"'`,
			line:   `1.1.1.1 "a\zb\x4"`,
			want:   lines("remote_addr=1.1.1.1", `http_user_agent=a\zb\x4`),
		},
		{
			// The target as nginx's $request_uri has it (the parser probe's
			// F8): no spaces around it, the path of an absolute-form target.
			name:   "request targets",
			format: `'"$request" $status'`,
			line:   `"GET  /sp?a=1  HTTP/1.1" 200`,
			want: lines(`request=GET  /sp?a=1  HTTP/1.1`, "request_method=GET", "request_uri=/sp?a=1",
				"request_path=/sp", "request_query=a=1", "request_protocol=HTTP/1.1", "status=int:200"),
		},
		{
			name:   "absolute-form target",
			format: `'"$request" $status'`,
			line:   `"GET http://Example.com:8080/p/q?x=1 HTTP/1.1" 200`,
			want: lines(`request=GET http://Example.com:8080/p/q?x=1 HTTP/1.1`, "request_method=GET", "request_uri=/p/q?x=1",
				"request_path=/p/q", "request_query=x=1", "request_protocol=HTTP/1.1", "status=int:200"),
		},
		{
			// nginx answers 400 and logs the request as sent: its query
			// is split for the request_query rules (parser25 P3).
			name:   "a method not in upper case",
			format: `'"$request" $status'`,
			line:   `"get /p?acct=R7X9Q2 HTTP/1.1" 400`,
			want: lines(`request=get /p?acct=R7X9Q2 HTTP/1.1`, "request_method=get", "request_uri=/p?acct=R7X9Q2",
				"request_path=/p", "request_query=acct=R7X9Q2", "request_protocol=HTTP/1.1", "status=int:400"),
		},
		{
			name:   "not a request: no request fields",
			format: `'"$request" $status'`,
			line:   `"HELLO WORLD" 400`,
			want:   lines(`request=HELLO WORLD`, "status=int:400"),
		},
		{
			// An IPv6 client before ':': the port is one number, so the
			// ':'s go to the address (the parser probe's F4: no
			// remote_addr, remote_port ":1:44330").
			name:   "IPv6 address and port",
			format: `'$remote_addr:$remote_port $status $upstream_response_time'`,
			line:   `::1:44330 404 0.001, 0.002 : 0.003`,
			want:   lines("remote_addr=::1", "remote_port=int:44330", "status=int:404", "upstream_response_time=0.001, 0.002 : 0.003"),
		},
		{
			// nginx.conf allows comments between the pieces; they were read
			// as text (the parser probe's F7: every line a parse_failure).
			name:   "comments between pasted pieces",
			format: "log_format x '$remote_addr '   # the client\n    # a whole comment line\n    '\"$request\" $status';  # done",
			line:   `1.2.3.4 "GET / HTTP/1.1" 200`,
			want: lines("remote_addr=1.2.3.4", "request=GET / HTTP/1.1", "request_method=GET", "request_uri=/",
				"request_path=/", "request_protocol=HTTP/1.1", "status=int:200"),
		},
		{
			// nginx compiles each piece on its own: a name ends with its
			// piece. Joined first, "$status' 'ms" was $statusms, and
			// $http_x_api_key' 'end a field no rule knew (parser25 P1).
			name:   "a variable at a piece's end",
			format: "log_format x '$remote_addr $status'\n  'ms rt=$request_time'\n  's k=$http_x_api_key' 'end|' $host;",
			line:   `1.2.3.4 200ms rt=0.001s k=Zk9x2LmQend|a.example`,
			want:   lines("remote_addr=1.2.3.4", "status=int:200", "request_time=float:0.001", "http_x_api_key=Zk9x2LmQ", "host=a.example"),
		},
		{
			name:   "braced variables, adjacent variables split by class",
			format: `'${scheme}://$host$request_uri ${status}x$remote_port'`,
			line:   `https://example.com:8443/p/q?r=s 404x51234`,
			want: lines(
				"scheme=https",
				"host=example.com:8443",
				"request_uri=/p/q?r=s",
				"request_path=/p/q",
				"request_query=r=s",
				"status=int:404",
				"remote_port=int:51234",
			),
		},
		{
			name:   "request and request_uri both present: each name once",
			format: `'"$request" $request_uri $request_method'`,
			line:   `"GET /a?b HTTP/1.1" /a?b GET`,
			want: lines(
				"request=GET /a?b HTTP/1.1",
				"request_path=/a",
				"request_query=b",
				"request_protocol=HTTP/1.1",
				"request_uri=/a?b",
				"request_method=GET",
			),
		},
		{
			name:   "repeated variable yields one field; names are lowercased",
			format: `'$Status $status $HTTP_X_Custom'`,
			line:   `200 201 v`,
			want:   lines("status=int:200", "http_x_custom=v"),
		},
		{
			name:   "variables named like the record's own keys are renamed",
			format: `'$message|$source|$log|$other|$nginx'`,
			line:   `m|s|l|o|n`,
			want:   lines("nginx_message=m", "nginx_source=s", "nginx_log=l", "other=o", "nginx=n"),
		},
		{
			name:   "empty query after ? is omitted; CRLF is trimmed",
			format: "combined",
			line:   "1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] \"GET /e? HTTP/1.1\" 200 3 \"\" \"\"\r\n",
			want: lines(
				"remote_addr=1.2.3.4",
				"request=GET /e? HTTP/1.1",
				"request_method=GET",
				"request_uri=/e?",
				"request_path=/e",
				"request_protocol=HTTP/1.1",
				"status=int:200",
				"body_bytes_sent=int:3",
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name:   "directive with unquoted words: joined with nothing between, quotes inside words are plain",
			format: `log_format x $status '|' $request_time '|' a"b;`,
			line:   `200|0.001|a"b`,
			want:   lines("status=int:200", "request_time=float:0.001"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, Config{Format: FormatNginx, LogFormat: tt.format})
			got, rec := parseOK(t, p, tt.line)
			if got != tt.want {
				t.Errorf("fields:\n%s\nwant:\n%s", got, tt.want)
			}
			var gotTime string
			if !rec.Time.IsZero() {
				gotTime = rec.Time.Format(time.RFC3339Nano)
			}
			if gotTime != tt.time {
				t.Errorf("time %q, want %q", gotTime, tt.time)
			}
		})
	}
}

// A number variable holding text is a line written with another
// log_format: a parse failure, its split kept for the redaction of the
// message only (parser22 P4: request_time "10.0.0.1:8080" and status
// "abc" shipped as strings, unflagged, in fields that are numbers in the
// other records).
func TestNginxNumberHoldingTextIsNotThisFormat(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx, LogFormat: `'$remote_addr [$time_local] "$request" $status $request_time'`})
	parseOK(t, p, `10.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /new HTTP/1.1" 200 0.004`)
	for _, line := range []string{
		`10.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /old HTTP/1.1" 200 10.0.0.1:8080`,
		`10.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /old HTTP/1.1" 200 unix:/run/app.sock`,
		`10.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /old HTTP/1.1" abc 0.004`,
		`10.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /old HTTP/1.1" 200 OK 0.001`,
		`10.0.0.1 [02/Jan/2024:15:04:05 +0000] "GET /old HTTP/1.1" 2-0 0.004`,
	} {
		var rec sidetrail.Record
		err := p.Parse([]byte(line), &rec)
		var pe *Error
		if !errors.As(err, &pe) || !pe.Guessed() {
			t.Errorf("%s: err = %v, want a parse failure with its split", line, err)
			continue
		}
		if !rec.Time.IsZero() {
			t.Errorf("%s: time %v, want the read time", line, rec.Time)
		}
	}
	// A time nginx could not have written stays a string field,
	// unflagged, as the README says.
	got, rec := parseOK(t, p, `10.0.0.1 [02/nov/2024:15:04:05 +0000] "GET /x HTTP/1.1" 200 0.004`)
	if !strings.Contains(got, "time_local=02/nov/2024") || !rec.Time.IsZero() {
		t.Errorf("lower-case month: %s, time %v", got, rec.Time)
	}
}

func TestNginxNoMatch(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx})
	bad := map[string]string{
		"empty":          "",
		"newline only":   "\n",
		"other format":   `{"a":1}`,
		"missing fields": `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200`,
		"binary garbage": "\x00\xff\xfe\x01\x02 - [\"\"\" \x80",
		"no closing":     `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "ua`,
		"huge garbage":   strings.Repeat(`- [" `, 200000),
		// The packaged `main` format's line (an X-Forwarded-For list after
		// the user agent) read as combined: a quote nginx would have
		// escaped, not a user agent holding `" "` (parser13 F8).
		"main as combined": `127.0.0.1 - - [27/Nov/2026:09:30:32 +0000] "GET /xff HTTP/1.1" 404 153 "-" "curl/7.88.1" "1.2.3.4, 5.6.7.8"`,
		"quote in a value": `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET /"x" HTTP/1.1" 200 1 "-" "ua"`,
	}
	for name, line := range bad {
		t.Run(name, func(t *testing.T) {
			pre := []sidetrail.Field{{Key: "keep", Value: []byte("me")}}
			rec := &sidetrail.Record{Fields: pre, Scratch: []byte("s")}
			err := p.Parse([]byte(line), rec)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if pe.Error() == "" {
				t.Error("empty message")
			}
			if len(rec.Fields) != 1 || rec.Fields[0].Key != "keep" || !rec.Time.IsZero() || string(rec.Scratch) != "s" {
				t.Errorf("record changed on failure: %+v", rec)
			}
		})
	}
}

// TestNginxAppendsAfterExistingFields: Parse appends; fields already there
// stay first.
func TestNginxAppendsAfterExistingFields(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx, LogFormat: `'$status'`})
	rec := &sidetrail.Record{Fields: []sidetrail.Field{{Key: "a", Value: []byte("b")}}}
	if err := p.Parse([]byte("200"), rec); err != nil {
		t.Fatal(err)
	}
	if got := fieldsString(rec.Fields); got != "a=b\nstatus=int:200\n" {
		t.Errorf("fields %q", got)
	}
}

func TestNginxHugeLine(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx})
	ua := strings.Repeat("A\\x22", 1<<18) // 1.25 MiB, every 5 bytes an escape
	line := `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "` + ua + `"`
	_, rec := parseOK(t, p, line)
	f, ok := rec.Get("http_user_agent")
	if !ok || len(f.Value) != 2<<18 || !bytes.Equal(f.Value[:4], []byte(`A"A"`)) {
		t.Errorf("ua: %d bytes", len(f.Value))
	}
}

// TestNginxBacktrackBudget: a line built to make the matcher try many
// splits fails in bounded time instead of blowing up.
func TestNginxBacktrackBudget(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx, LogFormat: `escape=none '$a $b $c $d $e $f $g $h;'`})
	line := strings.Repeat("x ", 100000) + "y"
	rec := &sidetrail.Record{}
	if err := p.Parse([]byte(line), rec); err == nil {
		t.Fatal("want an error")
	}
}

func TestLogFormatSyntax(t *testing.T) {
	tests := []struct {
		name, format string
		line, col    int
	}{
		{"unterminated braced variable", `'$remote_addr ${name'`, 1, 15},
		{"unterminated braced variable at end", `${name`, 1, 1},
		{"dollar at the end", `'$remote_addr $'`, 1, 15},
		{"dollar followed by no name", `$remote_addr $-x`, 1, 14},
		{"empty braces", `'${}'`, 1, 2},
		{"unbalanced single quote", `'$remote_addr - $remote_user`, 1, 1},
		{"unbalanced double quote, second piece", `'$remote_addr ' "$status`, 1, 17},
		{"unbalanced on the second line", "'$remote_addr '\n   '$status", 2, 4},
		{"unknown escape", `escape=yaml '$status'`, 1, 8},
		{"empty quoted piece", "  ''", 1, 5},
		{"only escape", `escape=json`, 1, 12},
		{"text after semicolon", `'$status'; '$x'`, 1, 12},
		{"log_format without name", `log_format '$status'`, 1, 12},
		{"column after a conf escape", `'\"\"${x'`, 1, 6},
		// A name in the next piece is none, as nginx reads it (parser25 P1).
		{"dollar at a piece's end", `'$remote_addr $' 'status'`, 1, 15},
		{"brace at a piece's end", `'$remote_addr ${' 'status}'`, 1, 15},
		{"closing brace in the next piece", `'$remote_addr ${status' '}'`, 1, 15},
		{"no variables (misspelt predefined name)", `combine`, 1, 1},
		// Adjacent variables nothing can split (the parser probe: status
		// 2006 and no body size).
		{"two numbers adjacent", `'$status$body_bytes_sent'`, 1, 9},
		{"an address and a number adjacent", `'$remote_addr$status'`, 1, 14},
		{"a classless variable before another", `'$remote_user$status x'`, 1, 14},
		// A class before a variable whose values may start inside it
		// (parser13 F6).
		{"a scheme before a host", `'$scheme$host$request_uri $status'`, 1, 9},
		{"a number before a hex id", `'$msec$request_id $status'`, 1, 7},
		{"a number before a time", `'$status$time_local $request_method'`, 1, 9},
		{"an address before a list", `'$remote_addr$http_x_forwarded_for $status'`, 1, 14},
		{"a port before a list", `'$remote_addr:$remote_port$http_x_forwarded_for $status'`, 1, 27},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Format: FormatNginx, LogFormat: tt.format})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Line != tt.line || se.Column != tt.col {
				t.Errorf("at %d:%d (%v), want %d:%d", se.Line, se.Column, se, tt.line, tt.col)
			}
		})
	}
}

// TestLogFormatShapes: the same format written the ways people paste it
// compiles to the same parser.
func TestLogFormatShapes(t *testing.T) {
	line := `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "5.6.7.8"`
	want, _ := parseOK(t, mustNew(t, Config{Format: FormatNginx, LogFormat: "main"}), line)
	shapes := map[string]string{
		"verbatim":  formatMain,
		"one piece": `'` + formatMain + `'`,
		"double quoted with escapes": `"$remote_addr - $remote_user [$time_local] \"$request\" ` +
			`$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\""`,
		"nginx.conf": `log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';`,
		"pieces with escape=default": "escape=default\n  '$remote_addr - $remote_user [$time_local] \"$request\" '\n" +
			"  '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\"'\n",
		"verbatim with trailing newline": formatMain + "\n",
	}
	for name, f := range shapes {
		t.Run(name, func(t *testing.T) {
			got, _ := parseOK(t, mustNew(t, Config{Format: FormatNginx, LogFormat: f}), line)
			if got != want {
				t.Errorf("fields:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Format: "xml"},
		{Format: FormatJSON, TimeFormat: "not a layout"},
		{Format: FormatNginxError, Timezone: "Mars/Olympus"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	for _, cfg := range []Config{
		{},
		{Format: "RAW"},
		{Format: FormatJSON, TimeFormat: "unix_ms"},
		{Format: FormatJSON, TimeFormat: "2006-01-02 15:04:05"},
		{Format: FormatNginxError, Timezone: "Europe/Berlin"},
		{Format: FormatNginxError, Timezone: "Local"},
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestRaw(t *testing.T) {
	p := mustNew(t, Config{})
	for _, line := range []string{"", "x", "\x00\xff", strings.Repeat("z", 1<<20)} {
		rec := &sidetrail.Record{}
		if err := p.Parse([]byte(line), rec); err != nil || len(rec.Fields) != 0 || !rec.Time.IsZero() {
			t.Errorf("raw %q: %v %+v", line[:min(len(line), 10)], err, rec)
		}
	}
}

// A value may hold a quote only as nginx escapes it: \x22 by default, \"
// with escape=json; with escape=none, as it came.
func TestNginxQuotesInValues(t *testing.T) {
	for _, tc := range []struct{ format, line, ua string }{
		{"combined", `1.2.3.4 - - [02/Jan/2024:15:04:05 +0000] "GET / HTTP/1.1" 200 1 "-" "a\x22b"`, `a"b`},
		{`escape=json '$remote_addr "$http_user_agent"'`, `1.2.3.4 "a\"b\\"`, `a"b\`},
		{`escape=none '$remote_addr "$http_user_agent"'`, `1.2.3.4 "a" "b"`, `a" "b`},
	} {
		p := mustNew(t, Config{Format: FormatNginx, LogFormat: tc.format})
		_, rec := parseOK(t, p, tc.line)
		if f, ok := rec.Get("http_user_agent"); !ok || string(f.Value) != tc.ua {
			t.Errorf("%s: user agent %q, want %q", tc.line, f.Value, tc.ua)
		}
	}
	p := mustNew(t, Config{Format: FormatNginx, LogFormat: `escape=json '$remote_addr "$http_user_agent"'`})
	if err := p.Parse([]byte(`1.2.3.4 "a" "b"`), &sidetrail.Record{}); err == nil {
		t.Error("escape=json: an unescaped quote in a value parsed")
	}

	// A literal \" in an escape=json format (a JSON value in quotes) is
	// no quote of the format's: a line whose values hold a '"' was a
	// parse_failure, and its field rules were skipped (parser17 A).
	p = mustNew(t, Config{Format: FormatNginx, LogFormat: `escape=json '{"req":"\\"$request\\"","ua":"$http_user_agent","sess":"$http_x_session"}'`})
	for _, line := range []string{
		`{"req":"\"GET / HTTP/1.1\"","ua":"plain","sess":"s1"}`,
		`{"req":"\"GET / HTTP/1.1\"","ua":"Mozilla \"x\"","sess":"s1"}`,
	} {
		_, rec := parseOK(t, p, line)
		if f, ok := rec.Get("http_x_session"); !ok || string(f.Value) != "s1" {
			t.Errorf("%s: http_x_session %q", line, f.Value)
		}
	}
	if err := p.Parse([]byte(`{"req":"\"GET / HTTP/1.1\"","ua":"a" "b","sess":"s1"}`), &sidetrail.Record{}); err == nil {
		t.Error("escape=json with a literal \\\": an unescaped quote in a value parsed")
	}
}

// A client chooses its Basic-auth user name, which nginx logs unescaped
// before " [$time_local]". Within the matcher's budget the name is found
// whole; past it, the line is a parse failure, not the first split the
// loose pass takes: that one put the time in a string field and gave the
// record the read time, unflagged (parser13 F1).
func TestNginxUserNameFullOfBrackets(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx})
	line := func(n int) string {
		return `127.0.0.1 - a` + strings.Repeat(" [", n) + ` [27/Nov/2026:09:30:32 +0000] "GET / HTTP/1.1" 404 153 "-" "curl/7.88.1"`
	}
	_, rec := parseOK(t, p, line(100))
	if f, _ := rec.Get("remote_user"); len(f.Value) != 201 || rec.Time.IsZero() {
		t.Errorf("100: remote_user %d bytes, time %v", len(f.Value), rec.Time)
	}
	var rec300 sidetrail.Record
	err := p.Parse([]byte(line(300)), &rec300)
	var pe *Error
	if !errors.As(err, &pe) || !pe.Guessed() {
		t.Fatalf("300: %v, want a parse failure with a guess", err)
	}
	// The guess, for the redaction of the message only: its split, and no
	// time (parser17 A2).
	if f, _ := rec300.Get("http_user_agent"); string(f.Value) != "curl/7.88.1" || !rec300.Time.IsZero() {
		t.Errorf("300: guessed user agent %q, time %v", f.Value, rec300.Time)
	}
	if err := p.Parse([]byte(`127.0.0.1 - a [x] "GET"`), &sidetrail.Record{}); err == nil || errors.As(err, &pe) && pe.Guessed() {
		t.Errorf("a line that does not match: %v, want a parse failure with no guess", err)
	}
}

// The $upstream_* lists are strings whether one upstream was tried or
// several: a number in one record and "502, 200" in the next is a mapping
// conflict in Elasticsearch (parser13 F2). A $status of 000 is the number 0.
func TestNginxUpstreamTypesDoNotChange(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx, LogFormat: `'$status $upstream_status $upstream_response_time $upstream_response_length'`})
	for _, line := range []string{"200 200 0.001 15", "200 502, 200 0.000, 0.001 0, 15", "200 404 : 200 0.001 : 0.002 1 : 2"} {
		_, rec := parseOK(t, p, line)
		for _, k := range []string{"upstream_status", "upstream_response_time", "upstream_response_length"} {
			if f, ok := rec.Get(k); !ok || f.Kind != sidetrail.KindString {
				t.Errorf("%q: %s = %v", line, k, f)
			}
		}
	}
	_, rec := parseOK(t, p, "000 - - -")
	if f, ok := rec.Get("status"); !ok || f.Kind != sidetrail.KindInt || string(f.Value) != "0" {
		t.Errorf("status 000: %v", f)
	}
}

// $content_length is the client's Content-Length header as nginx logs it:
// a string, whatever the client sent, so that its type does not follow the
// client (a mapping conflict in Elasticsearch), and a value with a space
// does not push into the next field (parser17 C: "5, 5" shipped
// remote_port "5 54102").
func TestNginxContentLengthIsTheClients(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginx, LogFormat: `'$status $content_length $remote_port'`})
	for _, tc := range []struct{ line, cl string }{
		{"200 5 54102", "5"}, {"400 abc 54102", "abc"}, {"400 5, 5 54102", "5, 5"}, {"400 99999999999999999999999 54102", "99999999999999999999999"},
	} {
		_, rec := parseOK(t, p, tc.line)
		f, _ := rec.Get("content_length")
		port, _ := rec.Get("remote_port")
		if string(f.Value) != tc.cl || f.Kind != sidetrail.KindString || string(port.Value) != "54102" || port.Kind != sidetrail.KindInt {
			t.Errorf("%q: content_length %q (%v), remote_port %q (%v)", tc.line, f.Value, f.Kind, port.Value, port.Kind)
		}
	}
}
