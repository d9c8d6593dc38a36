// Package esfake is a fault-injecting fake Elasticsearch for tests: enough of
// the bulk API to store documents by (_index, _id) and answer like a real
// cluster (201 created, 409 version conflict for a create of an existing
// _id), plus scriptable faults: per-item errors chosen by a predicate, 413 for
// large bodies, whole-request statuses for the next N requests (503 storms,
// 429 with Retry-After, 401), connections reset mid-response, slow answers,
// and requests held until released.
//
// It owns the fake's in-memory state and its httptest server. It must never
// sleep except where a test asked for a delay, never touch the disk, and never
// be imported by non-test code of the agent.
//
// Use Start(t) from a test, or New() as an http.Handler behind a listener of
// your own (a crash test's helper process, for instance).
package esfake
