// Package elasticsearch is the sink that ships records to Elasticsearch (or
// anything speaking its _bulk API, such as VictoriaLogs) with
// github.com/elastic/go-elasticsearch/v8.
//
// It owns: encoding a batch as _bulk NDJSON (one reused body buffer, the
// record JSON from sidetrail.JSONEncoder, optional ECS field names, optional
// gzip), choosing the index per record from its event time, and deciding what
// each answer means. Every document is sent with action "create" and
// _id = the record's ID (file identity + offset, 32 hex digits), so a replay
// after a crash answers 409 and counts as delivered: duplicates are made
// harmless by the backend, not avoided by the agent.
//
// What answers mean:
//
//	per item  2xx → Accepted; 409 → Duplicate; 429, 5xx → Retry (reason kept);
//	          any other 4xx → Rejected with Elasticsearch's "type: reason"
//	request   413 → split the batch in halves and send each, recursively; a
//	          single record answering 413 → Rejected
//	          429, 5xx, 408, network error, timeout → error (a
//	          *sidetrail.RetryAfterError when Retry-After is present)
//	          401, 403 → error (retryable: credentials get fixed), logged at
//	          most once a minute and counted
//	          400 → sent again in halves: a record refused alone is
//	          Rejected when others were taken, or when it is 64 KiB or more
//	          and small records are not refused too (an endpoint's line
//	          limit); else error (retryable: the configuration)
//	          other 4xx → error (retryable: the configuration), logged at
//	          most once a minute
//	          2xx that cannot be parsed, or whose item count differs → error
//
// It must never retry (beyond trying the next node once when several URLs are
// configured), sleep, buffer records across calls, or drop a record without
// marking it Rejected: backoff, dead letters and acknowledgement are the
// shipper's.
package elasticsearch
