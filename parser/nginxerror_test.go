package parser

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
)

func TestNginxError(t *testing.T) {
	tests := []struct {
		name, line, want string
		tz, time         string
	}{
		{
			name: "upstream timeout with the full trailer",
			line: `2024/01/02 15:04:05 [error] 123#123: *45 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: example.com, request: "GET /x?a=1 HTTP/1.1", upstream: "http://10.0.0.2:8080/x?a=1", host: "example.com", referrer: "http://example.com/"`,
			want: lines(
				"level=error", "pid=int:123", "tid=int:123", "connection_id=int:45",
				"error_message=upstream timed out (110: Connection timed out) while reading response header from upstream",
				"client=10.0.0.1", "server=example.com", "request=GET /x?a=1 HTTP/1.1",
				"request_method=GET", "request_uri=/x?a=1", "request_path=/x", "request_query=a=1",
				"request_protocol=HTTP/1.1", "upstream=http://10.0.0.2:8080/x?a=1", "host=example.com",
				"referrer=http://example.com/",
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "no connection, no trailer",
			line: `2024/01/02 15:04:05 [notice] 1#1: signal process started`,
			want: lines("level=notice", "pid=int:1", "tid=int:1", "error_message=signal process started"),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "emerg with file:line",
			line: `2024/01/02 15:04:05 [emerg] 7#7: unknown directive "foo" in /etc/nginx/nginx.conf:12`,
			want: lines("level=emerg", "pid=int:7", "tid=int:7", `error_message=unknown directive "foo" in /etc/nginx/nginx.conf:12`),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "message mentions client: the real trailer is found",
			line: `2024/01/02 15:04:05 [error] 9#9: *3 open() "/srv/a, client: 6.6.6.6" failed (2: No such file or directory), client: 127.0.0.1, server: s, request: "GET /a, client: 6.6.6.6 HTTP/1.1", host: "h"`,
			want: lines(
				"level=error", "pid=int:9", "tid=int:9", "connection_id=int:3",
				`error_message=open() "/srv/a, client: 6.6.6.6" failed (2: No such file or directory)`,
				"client=127.0.0.1", "server=s", "request=GET /a, client: 6.6.6.6 HTTP/1.1",
				"request_method=GET", "request_uri=/a, client: 6.6.6.6", "request_path=/a, client: 6.6.6.6",
				"request_protocol=HTTP/1.1", "host=h",
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "a referrer cannot fake an earlier key",
			line: `2024/01/02 15:04:05 [error] 9#9: *3 x, client: 1.1.1.1, server: s, request: "GET / HTTP/1.1", host: "h", referrer: "r", host: "evil"`,
			want: lines(
				"level=error", "pid=int:9", "tid=int:9", "connection_id=int:3", "error_message=x",
				"client=1.1.1.1", "server=s", "request=GET / HTTP/1.1", "request_method=GET",
				"request_uri=/", "request_path=/", "request_protocol=HTTP/1.1", "host=h",
				`referrer=r", host: "evil`,
			),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "stream module trailer",
			line: `2024/01/02 15:04:05 [info] 5#5: *8 client 127.0.0.1:5000 disconnected, bytes from/to client:10/20, bytes from/to upstream:20/10`,
			want: lines("level=info", "pid=int:5", "tid=int:5", "connection_id=int:8",
				"error_message=client 127.0.0.1:5000 disconnected, bytes from/to client:10/20, bytes from/to upstream:20/10"),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "stream module with client first",
			line: `2024/01/02 15:04:05 [error] 5#5: *8 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: 0.0.0.0:9000, upstream: "127.0.0.1:9001", bytes from/to client:0/0, bytes from/to upstream:0/0`,
			want: lines("level=error", "pid=int:5", "tid=int:5", "connection_id=int:8",
				"error_message=connect() failed (111: Connection refused) while connecting to upstream",
				"client=127.0.0.1", "server=0.0.0.0:9000", "upstream=127.0.0.1:9001",
				"bytes_from_to_client=0/0", "bytes_from_to_upstream=0/0"),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "timezone",
			tz:   "America/New_York",
			line: `2024/07/01 12:00:00 [warn] 2#3: *1 w, client: ::1, server: localhost`,
			want: lines("level=warn", "pid=int:2", "tid=int:3", "connection_id=int:1", "error_message=w",
				"client=::1", "server=localhost"),
			time: "2024-07-01T16:00:00Z",
		},
		{
			// The probe's forgery: a URL decoded into the message spells a
			// whole trailer, read first; the real one follows. Two readings:
			// neither is split into fields, no forged client is shipped.
			name: "a trailer spelt in the message and the real one: no fields",
			line: `2024/01/02 15:04:05 [error] 9#9: *3 open() "/srv/a, client: 6.6.6.6, server: evil, referrer: "x" failed (2: No such file or directory), client: 127.0.0.1, server: s, request: "GET /a,%20client:%206.6.6.6,%20server:%20evil,%20referrer:%20%22x HTTP/1.1", host: "h"`,
			want: lines("level=error", "pid=int:9", "tid=int:9", "connection_id=int:3",
				`error_message=open() "/srv/a, client: 6.6.6.6, server: evil, referrer: "x" failed (2: No such file or directory), client: 127.0.0.1, server: s, request: "GET /a,%20client:%206.6.6.6,%20server:%20evil,%20referrer:%20%22x HTTP/1.1", host: "h"`),
			time: "2024-01-02T15:04:05Z",
		},
		{
			// The same spelt inside a Referer, after the real trailer.
			name: "a trailer spelt in the referrer: no fields",
			line: `2024/01/02 15:04:05 [error] 9#9: *3 x, client: 1.1.1.1, server: s, request: "GET / HTTP/1.1", host: "h", referrer: "r, client: 6.6.6.6, server: evil, referrer: "z"`,
			want: lines("level=error", "pid=int:9", "tid=int:9", "connection_id=int:3",
				`error_message=x, client: 1.1.1.1, server: s, request: "GET / HTTP/1.1", host: "h", referrer: "r, client: 6.6.6.6, server: evil, referrer: "z"`),
			time: "2024-01-02T15:04:05Z",
		},
		{
			// nginx writes the referrer last: a Referer holding ", zzz: "
			// adds no key (it did: a zzz field).
			name: "the referrer runs to the end",
			line: `2024/01/02 15:04:05 [error] 9#9: *3 x, client: 1.1.1.1, server: s, request: "GET / HTTP/1.1", host: "h", referrer: "a", zzz: "b"`,
			want: lines("level=error", "pid=int:9", "tid=int:9", "connection_id=int:3", "error_message=x",
				"client=1.1.1.1", "server=s", "request=GET / HTTP/1.1", "request_method=GET", "request_uri=/",
				"request_path=/", "request_protocol=HTTP/1.1", "host=h", `referrer=a", zzz: "b`),
			time: "2024-01-02T15:04:05Z",
		},
		{
			name: "empty message",
			line: "2024/01/02 15:04:05 [alert] 2#2: \n",
			want: lines("level=alert", "pid=int:2", "tid=int:2"),
			time: "2024-01-02T15:04:05Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, Config{Format: FormatNginxError, Timezone: tt.tz})
			got, rec := parseOK(t, p, tt.line)
			if got != tt.want {
				t.Errorf("fields:\n%s\nwant:\n%s", got, tt.want)
			}
			if g := rec.Time.Format(time.RFC3339Nano); g != tt.time {
				t.Errorf("time %s, want %s", g, tt.time)
			}
		})
	}
}

func TestNginxErrorInvalid(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginxError})
	for _, line := range []string{
		"", "\n", "stack traceback:", "\t[C]: in function 'error'",
		"2024/01/02 15:04:05", "2024/01/02 15:04:05 [error]", "2024/01/02 15:04:05 [error] 1#1",
		"2024/13/02 15:04:05 [error] 1#1: x", "2024/02/30 15:04:05 [error] 1#1: x",
		"2024/01/02 25:04:05 [error] 1#1: x", "2024/01/02 15:04:05 [ERROR] 1#1: x",
		"2024/01/02 15:04:05 [error] x#1: y", "2024-01-02 15:04:05 [error] 1#1: x",
		"\xff\xfe\x00garbage", strings.Repeat("2024/01/02 ", 100000),
	} {
		rec := &sidetrail.Record{Fields: []sidetrail.Field{{Key: "keep"}}}
		err := p.Parse([]byte(line), rec)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%.40q: err = %v, want *Error", line, err)
			continue
		}
		if len(rec.Fields) != 1 || !rec.Time.IsZero() {
			t.Errorf("%.40q: record changed on failure", line)
		}
	}
}

// TestTimeParsers compares the hand-written parsers with the time package
// on random instants.
func TestTimeParsers(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -(5*3600 + 30*60)), time.FixedZone("", 14*3600)}
	for i := 0; i < 20000; i++ {
		sec := r.Int64N(int64(8000 * 365 * 86400))
		sec -= 2000 * 365 * 86400
		want := time.Unix(sec, 0).In(zones[i%len(zones)])
		if want.Year() < 0 || want.Year() > 9999 {
			continue
		}
		if got, ok := parseTimeLocal([]byte(want.Format("02/Jan/2006:15:04:05 -0700"))); !ok || !got.Equal(want) {
			t.Fatalf("time_local %s: %v %v", want.Format("02/Jan/2006:15:04:05 -0700"), got, ok)
		}
		ns := r.Int64N(1e9)
		wantNs := want.Add(time.Duration(ns))
		s := wantNs.Format(time.RFC3339Nano)
		if got, ok := parseRFC3339([]byte(s)); !ok || !got.Equal(wantNs) {
			t.Fatalf("rfc3339 %s: %v %v", s, got, ok)
		}
		s = want.Format("2006/01/02 15:04:05")
		loc := zones[i%len(zones)]
		if loc == time.UTC {
			loc = nil
		}
		if got, ok := parseErrorLogTime([]byte(s), loc); !ok || !got.Equal(want) {
			t.Fatalf("error log time %s: %v %v", s, got, ok)
		}
	}
	for _, tc := range []struct {
		in   string
		exp  int
		want string
	}{
		{"1704207845.123", 0, "2024-01-02T15:04:05.123Z"},
		{"1704207845", -1, "2024-01-02T15:04:05Z"},
		{"1704207845123", -1, "2024-01-02T15:04:05.123Z"},
		{"1704207845123456", -1, "2024-01-02T15:04:05.123456Z"},
		{"1704207845123456789", -1, "2024-01-02T15:04:05.123456789Z"},
		{"-1.5", 0, "1969-12-31T23:59:58.5Z"},
		{"0", 0, "1970-01-01T00:00:00Z"},
	} {
		got, ok := parseEpoch([]byte(tc.in), tc.exp)
		if !ok || got.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("parseEpoch(%s, %d) = %v %v, want %s", tc.in, tc.exp, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "-", "1.", ".5", "1e3", "1x", "99999999999999999999999"} {
		if _, ok := parseEpoch([]byte(bad), -1); ok {
			t.Errorf("parseEpoch(%q) ok", bad)
		}
	}
	for _, bad := range []string{"2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-02T15:04:05", "2024-01-02T15:04:05.Z", "2024-01-02T15:04:05+0", "2024-01-02T24:00:00Z"} {
		if _, ok := parseRFC3339([]byte(bad)); ok {
			t.Errorf("parseRFC3339(%q) ok", bad)
		}
	}
}

// nginx cuts an error log entry at 2047 bytes (NGX_MAX_ERROR_STR), often
// inside the request or the referrer's quotes. The trailer is still split,
// the cut value running to the end, and the record is flagged truncated:
// field rules on client, request or referrer act on it (parser11 F1: all
// three stayed in error_message, unflagged, and shipped in clear).
func TestNginxErrorCutByNginx(t *testing.T) {
	p := mustNew(t, Config{Format: FormatNginxError})
	head := `2026/11/27 04:40:20 [error] 27707#27707: *48 open() "/srv/www/r60" failed (2: No such file or directory), client: 127.0.0.1, server: probe.local, `
	for _, tt := range []struct {
		name, tail, want string
	}{
		{"in the request", `request: "GET /r60?sid=SECRET&pad=`, "request_uri"},
		{"in the referrer", `request: "GET /r60 HTTP/1.1", host: "probe.local", referrer: "https://idp.example/cb?code=SECRET&state=`, "referrer"},
		{"in a key", `request: "GET /r60?sid=SECRET HTTP/1.1", host: "probe.local", refer`, "request_uri"},
		{"after a key", `request: "GET /r60?sid=SECRET HTTP/1.1", host: "probe.local", referrer: `, "request_uri"},
		{"after a quoted value's comma", `request: "GET /r60?sid=SECRET HTTP/1.1",`, "request_uri"},
		{"after its comma and space", `request: "GET /r60?sid=SECRET HTTP/1.1", `, "request_uri"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			line := head + tt.tail
			line += strings.Repeat("P", 2047-len(line))
			if strings.HasSuffix(tt.tail, ": ") || strings.HasSuffix(tt.tail, "refer") || strings.HasSuffix(tt.tail, ",") || strings.HasSuffix(tt.tail, ", ") {
				// Cut exactly there: pad the request instead.
				line = head + strings.Replace(tt.tail, "SECRET", "SECRET"+strings.Repeat("P", 2047-len(head)-len(tt.tail)), 1)
			}
			if len(line) != 2047 {
				t.Fatalf("line is %d bytes", len(line))
			}
			rec := &sidetrail.Record{}
			if err := p.Parse([]byte(line+"\n"), rec); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range rec.Fields {
				got[f.Key] = string(f.Value)
			}
			if got["client"] != "127.0.0.1" || got["server"] != "probe.local" || !strings.Contains(got[tt.want], "SECRET") ||
				strings.Contains(got["error_message"], "client:") || (strings.Contains(tt.tail, "host") && got["host"] != "probe.local") {
				t.Errorf("fields %q", got)
			}
			if rec.Flags&sidetrail.FlagTruncated == 0 {
				t.Errorf("flags %v, want truncated", rec.Flags)
			}
		})
	}
	// Cut in the key after the client, or right after its comma: the
	// client is the address alone (regress11: no fields, or "127.0.0.1,").
	for _, tail := range []string{", serv", ",", ", "} {
		pre := `2026/11/27 04:40:20 [error] 27707#27707: *48 open() "/srv/www/` + strings.Repeat("P", 2000)
		line := pre + `" failed (2: No such file or directory), client: 127.0.0.1` + tail
		line = strings.Replace(line, "P", "", len(line)-2047)
		rec := &sidetrail.Record{}
		if err := p.Parse([]byte(line), rec); err != nil {
			t.Fatal(err)
		}
		var client string
		for _, f := range rec.Fields {
			if f.Key == "client" {
				client = string(f.Value)
			}
		}
		if len(line) != 2047 || client != "127.0.0.1" {
			t.Errorf("%q (%d bytes): client %q", tail, len(line), client)
		}
	}
	// A line under nginx's cut length with an unterminated quote is not
	// taken for a cut one.
	rec := &sidetrail.Record{}
	if err := p.Parse([]byte(head+`request: "GET /r60?sid=SECRET`), rec); err != nil {
		t.Fatal(err)
	}
	for _, f := range rec.Fields {
		if f.Key == "client" {
			t.Errorf("short unterminated line split: %v", rec.Fields)
		}
	}
	if rec.Flags != 0 {
		t.Errorf("flags %v", rec.Flags)
	}
}
