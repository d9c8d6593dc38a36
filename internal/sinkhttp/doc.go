// Package sinkhttp holds what the configurations of the HTTP sinks
// (Elasticsearch, Loki) share besides TLS: reading a credential file and
// checking the extra headers a user configures.
//
// It owns those checks and nothing else; it never sends a request and never
// logs, and it must never put a credential's value into an error.
package sinkhttp
