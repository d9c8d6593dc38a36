// Package parser turns one log line into the ordered fields and the event
// time of a sidetrail.Record. It owns four formats: nginx access logs (any
// log_format), the nginx error log, JSON lines and raw lines.
//
// # What it must never do
//
// No I/O, no goroutines, no logging, no global state, no panics, no
// unbounded memory, no super-linear blow-ups on adversarial lines, and no
// way to fail but returning a *Error for the one line it was given (the
// caller then ships the line raw, marked sidetrail.FlagParseFailure).
//
// # Memory and concurrency
//
// Field values point into the line or into rec.Scratch; a parser retains
// nothing of a line after Parse returns. Parsing allocates nothing in the
// steady state: field names are precomputed (nginx) or interned in bounded
// tables (json, nginx_error keys). A Parser keeps per-line scratch state and
// belongs to one goroutine; New is cheap, build one per goroutine. Raw is
// stateless and safe everywhere. On failure, Parse leaves rec.Fields,
// rec.Time and len(rec.Scratch) as they were.
//
// # Field names
//
// Parsed names never clash with the keys the record JSON already has
// (@timestamp, message, log.file.path, log.offset, log.flags, source, or a
// name above or below one of them): a clashing nginx variable or error-log
// key becomes "nginx.NAME", a clashing JSON key "json.KEY". Where one name
// would have to be a value and an object at once ("a" and "a.b"), the
// deeper name gives way and has its dots turned into '_' ("a_b").
//
// # nginx
//
// Config.LogFormat is "combined" (default), "main" (the nginx.org/Debian
// one: combined plus "$http_x_forwarded_for"), or a log_format as written
// in nginx.conf: quoted pieces joined with nothing between them, nginx's
// escapes inside quotes (\" \' \\ \t \r \n), an optional leading
// escape=default|json|none, optionally the leading "log_format NAME" and the
// trailing ';'. A string that is not made of quoted pieces is the format
// itself, verbatim. Variables are "$name" and "${name}", lowercased as nginx
// does. A bad format is a *SyntaxError with line and column.
//
// The format compiles to literals and variables. A line is matched by
// searching each variable's following literal (bytes.IndexByte/Index, no
// regular expressions), backtracking over later occurrences (bounded: 256
// retries per line) when a value contains its literal. A first pass holds
// typed variables to their types (times must parse, numbers look like
// numbers or lists of them), which settles ambiguous splits such as a space
// or "[" in $remote_user; a second pass without types keeps odd values
// rather than losing the line. In escape=json a '"' preceded by an odd
// number of backslashes is inside the value. Two variables with no literal
// between them are split by character class where the values allow it
// (numbers; $host-like names stop at '/'; $scheme is letters); otherwise the
// first is empty. A line that does not match is a *Error.
//
// Fields are named after the variables. Values are unescaped per escape=
// (default: \xHH; json: JSON escapes); the unescaped copy goes to
// rec.Scratch, and only for values holding a backslash. A value that is
// "-" (nginx's missing value) or empty is omitted, so a header sent as "-"
// reads as missing. $status, $body_bytes_sent, $bytes_sent,
// $request_length, $connection, $connection_requests, $upstream_status,
// $upstream_response_length, $upstream_bytes_received/_sent,
// $remote_port, $server_port, $pid are KindInt, and
// $request_time, $upstream_connect_time, $upstream_header_time,
// $upstream_response_time, $upstream_queue_time KindFloat, when the value
// is one valid JSON number; otherwise (a list such as "0.001, 0.002 :
// 0.003", anything unexpected) they are strings. $time_local,
// $time_iso8601 and $msec set rec.Time ($msec wins, for its milliseconds)
// and are not fields, unless the value does not parse, when it is kept as
// a string. $request is kept and split into request_method, request_uri,
// request_path, request_query (omitted when empty) and request_protocol
// (absent for HTTP/0.9); a request line that does not start with an
// upper-case method and a space (TLS bytes on a plain port) is not split.
// $request_uri gives request_path and request_query. Paths and queries stay
// percent-encoded. A derived name that is itself a variable of the format
// is left to that variable. A variable repeated in the format gives one
// field, from its first place.
//
// # nginx_error
//
// "2024/01/02 15:04:05 [error] 123#123: *45 MESSAGE, client: ..., server:
// ..., request: "...", upstream: "...", host: "...", referrer: "..."" gives
// level, pid, tid, connection_id (when "*N" is present), error_message and
// the trailer pairs (request also split as above; stream's "bytes from/to
// client" becomes bytes_from_to_client). The trailer starts at the first
// ", client: " from which the rest parses; nginx writes its values
// unescaped, so a quoted value ends at a quote followed by a key that may
// come later in nginx's fixed order (a referrer cannot fake a host; a
// request line containing `", host: "`, possible only in a 400's log line,
// can). The zoneless time is read in Config.Timezone. nginx writes one line
// per entry; a line that does not start with the date, level and PID#TID
// (a Lua traceback's continuation) is a *Error.
//
// # json
//
// The line must be one JSON object. Top-level keys become fields in order;
// strings are unescaped (invalid UTF-8 kept; the encoder writes U+FFFD);
// numbers keep their exact text (KindInt without fraction or exponent,
// else KindFloat); nested objects and arrays are validated and kept
// verbatim as KindJSON (invalid UTF-8 inside them replaced by \ufffd);
// nesting deeper than 1000 is a *Error. A duplicate key keeps its first
// position and its LAST value. The empty key becomes "_empty"; keys with
// empty dotted segments have their dots turned into '_'. The time key
// (Config.TimeKey, a top-level key; by default the first of @timestamp,
// time, timestamp, ts whose value parses) sets rec.Time and is not kept as
// a field. Anything but an object (array, string, number, invalid JSON, an
// empty line) is a *Error.
package parser
