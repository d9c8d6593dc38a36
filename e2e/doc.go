// Package e2e holds the mission test: real nginx writes access logs, they are
// rotated the way logrotate does it, the real sidetrail binary ships them to a
// real VictoriaLogs through the Elasticsearch sink, the Loki sink and stdout,
// with redaction on, while the agent is killed with SIGKILL and restarted, the
// backend is unreachable for a while and the disk buffer is driven to
// max_bytes. At the end every $request_id nginx logged must be in every sink:
// lost = 0.
//
// It owns only tests (this file is the package's one non-test file). It must
// never leave a process behind (nginx, VictoriaLogs and sidetrail are stopped
// by PID in t.Cleanup), never touch anything outside its temp directories,
// and never use the network beyond 127.0.0.1.
//
// Run it with `go test -v ./e2e/` (the short variant, part of `make test`) or
// `make soak` (SIDETRAIL_SOAK=1: ten times the load, more kills and outages).
package e2e
