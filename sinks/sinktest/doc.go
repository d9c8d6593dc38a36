// Package sinktest is the conformance suite every sidetrail sink runs, in the
// spirit of testing/slogtest: a sink's own tests build a Harness that says how
// to make a sink against a backend and how to read back what the backend
// holds, and Run checks the sidetrail.Sink contract against it in named
// subtests.
//
// It owns only test code: the records it generates, the checks and their
// messages. It must never import a concrete sink or backend (the harness
// brings those), never sleep to synchronise, and never assert on speed: the
// only clock it reads is a hang detector that fails a test whose Send does
// not return at all.
package sinktest
