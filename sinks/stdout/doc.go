// Package stdout is the sink that writes each record as one line of JSON to
// standard output, so `kubectl logs pod -c sidetrail` shows them.
//
// It owns the encoding and the flush: a record counts as delivered only after
// its line was written and flushed. It must never write anything but records
// to its writer (the agent's own logs go to stderr), and never retry or drop.
package stdout
