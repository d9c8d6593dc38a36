// Package vltest starts a real VictoriaLogs server for tests. VictoriaLogs
// accepts the Elasticsearch bulk API and the Loki push API, so it stands in
// for both backends (see ../shared/TESTING.md).
//
// It owns the server's process and temp directory for one test and must never
// leave either behind: both are removed in t.Cleanup, even when the test fails.
package vltest
