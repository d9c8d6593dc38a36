// Package examples holds the example configurations, sample logs and
// Kubernetes manifests. Every config here is validated by a test; Local is
// the configuration `sidetrail run` uses when no -config is given.
//
// It must never hold anything untested.
package examples
