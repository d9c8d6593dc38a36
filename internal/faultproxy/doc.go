// Package faultproxy is a TCP proxy for tests that puts a switchable outage
// between a client and a real backend: Down refuses new connections and cuts
// the open ones, Up lets traffic through again.
//
// It owns its listener, its connections and the goroutines that copy bytes,
// and stops all of them in Close (and so in t.Cleanup with Start). It must
// never listen on anything but loopback, never hold more than
// Options.MaxConns connections, and never outlive its test.
package faultproxy
