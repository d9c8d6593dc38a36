package elasticsearch

import (
	"bytes"
	"strings"

	"github.com/sidetrail/sidetrail"
)

// ECSFieldNames maps the nginx parser's field names to the Elastic Common
// Schema names the sink uses when Config.ECS is set. Fields not listed keep
// their names.
//
// The client address goes to client.ip, not ECS's source.ip: the record's
// own top-level "source" key (the source name) would collide with a
// "source" object.
//
// It is a function returning a fresh map, so no caller can change the
// sink's table.
func ECSFieldNames() map[string]string {
	m := make(map[string]string, len(ecsNames))
	for _, e := range ecsNames {
		m[e.from] = e.to
	}
	return m
}

var ecsNames = [...]struct{ from, to string }{
	{"remote_addr", "client.ip"},
	{"remote_port", "client.port"},
	{"remote_user", "user.name"},
	{"request_method", "http.request.method"},
	{"request_uri", "url.original"},
	{"request_path", "url.path"},
	{"request_query", "url.query"},
	{"request_protocol", "http.version"},
	{"request_length", "http.request.bytes"},
	{"request_id", "http.request.id"},
	{"http_referer", "http.request.referrer"},
	{"status", "http.response.status_code"},
	{"body_bytes_sent", "http.response.body.bytes"},
	{"bytes_sent", "http.response.bytes"},
	{"http_user_agent", "user_agent.original"},
	{"server_name", "server.domain"},
	{"http_host", "url.domain"},
	// nginx_error's, so that its records agree with the access log's in
	// one index (a "client" string beside a "client" object is a mapping
	// conflict, and one of the two is rejected).
	{"client", "client.ip"},
	{"server", "server.domain"},
	{"host", "url.domain"},
	{"referrer", "http.request.referrer"},
	{"level", "log.level"},
	{"error_message", "error.message"},
	{"pid", "process.pid"},
	{"tid", "process.thread.id"},
	{"connection_id", "nginx.connection_id"},
}

// ecsName returns the ECS name for key, or key.
func ecsName(key string) string {
	for _, e := range ecsNames {
		if e.from == key {
			return e.to
		}
	}
	return key
}

var httpPrefix = []byte("HTTP/")

// appendECSFields appends r's fields, renamed to ECS, to dst (not a field
// holding a JSON object or array: it keeps its name). Values are not
// copied; "HTTP/1.1" becomes "1.1" for http.version by reslicing. A field
// keeps its name when its ECS name would meet another field's name: equal
// to it, or above or below it (a JSON line's own "client" string beside
// remote_addr's "client.ip", a static "user" beside remote_user's
// "user.name"). Renamed, one key would be written twice, a document
// Elasticsearch rejects.
func appendECSFields(dst []sidetrail.Field, fields []sidetrail.Field) []sidetrail.Field {
	start := len(dst)
	for _, f := range fields {
		name := ecsName(f.Key)
		if f.Kind == sidetrail.KindJSON {
			// A JSON line's own object or array (an ECS logger's
			// "client":{"ip":…}) is not the nginx value the name
			// stands for: moved under the leaf, it made client.ip.ip,
			// a mapping conflict with client.ip (user23 P1).
			name = f.Key
		}
		if name != f.Key && name == "http.version" && f.Kind == sidetrail.KindString && bytes.HasPrefix(f.Value, httpPrefix) {
			f.Value = f.Value[len(httpPrefix):]
		}
		f.Key = name
		dst = append(dst, f)
	}
	out := dst[start:]
	for i := range out {
		orig := fields[i].Key
		if out[i].Key == orig {
			continue
		}
		for j := range out {
			if j != i && namesMeet(out[i].Key, out[j].Key) {
				out[i] = fields[i] // keep the name, and the value as it was
				break
			}
		}
	}
	return dst
}

// namesMeet reports whether a and b are one key in the record JSON, or
// one is the other's dotted prefix.
func namesMeet(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || (len(b) > len(a) && b[len(a)] == '.' && b[:len(a)] == a)
}

// metadataNames are the fields Elasticsearch keeps for itself: a document
// holding one at its top level is refused ("Field [_id] is a metadata field
// and cannot be added inside a document"). And those VictoriaLogs reads
// itself: a line's _msg replaced the message it showed, even with
// _msg_field set, and its _time and _stream were dropped (parser19 V).
var metadataNames = [...]string{"_id", "_index", "_source", "_routing", "_ignored", "_seq_no",
	"_primary_term", "_version", "_type", "_tier", "_doc_count", "_field_names",
	"_data_stream_timestamp", "_nested_path", "_feature", "_ignored_source",
	"_msg", "_time", "_stream", "_stream_id"}

// isMetadata reports whether the field key lands on a metadata name: the
// name, or a dotted name below it ("_id.x" makes an object of _id).
func isMetadata(key string) bool {
	if len(key) == 0 || key[0] != '_' {
		return false // the common case: one comparison
	}
	first, _, _ := strings.Cut(key, ".")
	for _, m := range metadataNames {
		if first == m {
			return true
		}
	}
	return false
}

// hasMetadata reports whether a field would be refused for its name.
func hasMetadata(fields []sidetrail.Field) bool {
	for i := range fields {
		if isMetadata(fields[i].Key) {
			return true
		}
	}
	return false
}

// appendMetadataRenamed appends fields to dst with each metadata name
// renamed json.<name> (as the parser renames a JSON key that meets the
// record's own), plus '_' while the new name meets another field's.
func appendMetadataRenamed(dst []sidetrail.Field, fields []sidetrail.Field) []sidetrail.Field {
	start := len(dst)
	dst = append(dst, fields...)
	out := dst[start:]
	for i := range out {
		if !isMetadata(out[i].Key) {
			continue
		}
		first, rest, dotted := strings.Cut(out[i].Key, ".")
		taken := func(full string) bool {
			for j := range out {
				if j != i && namesMeet(full, out[j].Key) {
					return true
				}
			}
			return false
		}
		// '_' after the name, a few times; then after "json" too: a
		// field named "json" meets every "json.…", and appending to the
		// end alone looped for good (regress13 R0: a line with "_id" and
		// "json" stopped the sink). Each field blocks one "json_…" at
		// most, so the search ends.
	search:
		for k := 0; ; k++ {
			name := "json" + strings.Repeat("_", k) + "." + first
			for range 4 {
				full := name
				if dotted {
					full += "." + rest
				}
				if !taken(full) {
					out[i].Key = full
					break search
				}
				name += "_"
			}
		}
	}
	return dst
}
