// Package server serves the agent's HTTP endpoints: /metrics for
// Prometheus, /healthz for a liveness probe and /readyz for a readiness
// probe.
//
// It owns one listener and the goroutines net/http starts for it, all of
// which end before Run returns. It must never decide readiness itself (the
// Ready callback does), never register metrics (the Gatherer is given) and
// never touch the pipeline.
package server
