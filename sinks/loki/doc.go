// Package loki is the sink that pushes records to Grafana Loki's push API
// (POST /loki/api/v1/push), which VictoriaLogs also accepts.
//
// It owns the push encoding, written here: logproto protobuf with
// google.golang.org/protobuf/encoding/protowire, snappy block-compressed
// (the default), or Loki's JSON push body, optionally gzip-compressed; the
// mapping of records to streams (static labels, label_fields, the
// max_streams guard); entry timestamps and lines; and the meaning of Loki's
// HTTP answers. It must never import Loki's own modules (AGPL), never retry,
// sleep, buffer across calls or drop a record: the shipper decides about
// retries and dead letters from what Send returns.
//
// # Streams and order
//
// A batch is grouped into streams by label set, in the order the streams
// first appear. Label sets are written in Prometheus form with names sorted
// and values quoted with Go escapes: {app="nginx", source="web"}. Within a
// stream, entries are stable-sorted by timestamp, so records with equal
// timestamps keep batch (file) order. Once max_streams label sets have been
// opened (since New), a record that would open another is sent with the
// static labels only, counted (Stats.StreamLimited) and warned about once a
// minute. A record with no label at all is sent as {job="sidetrail"}: Loki
// refuses streams without labels. Label values taken from record fields
// are cut to 1024 bytes (Loki refuses values over 2048 by default, which
// would fail the whole batch).
//
// # Idempotent replays
//
// The shipper delivers at least once: after a crash, records are sent again.
// Loki treats an entry whose stream, timestamp and line equal another's as
// the same entry: the ingester ignores it while the original is still in
// its head chunk, and queriers merge identical entries (that is how
// replication factor 3 returns each line once), so a replay stored after a
// flush is still shown once. Entries differing in timestamp or line are all
// kept. So an entry must be a pure function of its record and the
// configuration, and two records must never produce the same (stream,
// timestamp, line).
//
// The line is a pure function of the record: the record JSON
// (sidetrail.JSONEncoder, keys in a fixed order) or the message, then cut by
// max_line_bytes in a fixed way. The labels are a function of the record
// and the configuration, except for the max_streams fallback, which depends
// on what this process has seen since it started.
//
// The timestamp is made deterministic and unique per record:
//
//	seconds = event time (Record.Time) truncated to the second
//	nanos   = (FileKey mod 1e9 + Offset mod 1e9) mod 1e9
//
// With line: json the line contains log.file.path and log.offset, so two
// equal log lines at different offsets already differ. With line: message
// they do not, and nginx has one-second timestamps: the nanos tell them
// apart. Two records of one file in the same second get the same nanos only
// if their offsets are a multiple of 1 GB apart. Records of different files
// in one stream (same labels) collide only if, in the same second, with the
// same message, their offsets differ by exactly the difference of their
// file keys mod 1e9: about one chance in 1e9 per such pair.
//
// The price: Loki's timestamp loses the sub-second part of the event time
// (line: json keeps the full @timestamp inside the line; line: message keeps
// the original text), and within a second entries are ordered by
// (FileKey + Offset) mod 1e9 instead of by time, which for one file is file
// order except where the sum wraps past 1e9. Entries of a split line take
// consecutive nanos (ts, ts+1, ...), which cannot reach the next line of the
// file (it starts at least one byte per piece later).
//
// A replay keeps the entry's timestamp even for formats without one of
// their own (raw), whose records take the time they were read: a record
// resent from the buffer keeps its stored time, and after a crash the
// tailer does not read again lines the buffer already holds (the source's
// resume points skip them), so no line gets a second read time. What makes
// a replay a new entry is a change between the first send and the replay:
// of labels, line, max_line_bytes or on_long_line, or a restart that
// changes which label sets fall over max_streams.
//
// # Answers
//
// 2xx: every record Accepted. 400: Loki refused the push (line too long,
// entry too far behind, too many labels, out of order, rate or size of a
// stream): every record Rejected with Loki's reason and a sidetrail.Permanent
// error, so the shipper dead-letters them. Loki may have stored the valid
// entries of a push it answered 400 for; the dead letters then hold records
// that did arrive (never the reverse). 401 and 403: retryable, counted,
// logged loudly once a minute, never dropped. 429, 5xx, any other status and
// network errors: retryable errors (*sidetrail.RetryAfterError when
// Retry-After was sent). 3xx: not followed (a POST redirected to a login
// page would come back 200 without its entries having gone anywhere), so
// another status, retried. 413: the batch is pushed again in halves, down
// to single records; a record refused alone is Rejected (dead-lettered).
package loki
