// Command bench is the `make bench` harness: it generates an nginx corpus and
// a JSON-lines corpus, runs the real sidetrail binary over each (tail →
// parse → redact → disk buffer → sink), and prints time to the last line,
// CPU seconds and peak RSS as a table. CPU and heap profiles are saved next
// to the corpora. Figures, never pass/fail: compare ratios within one run.
//
// It owns nothing the agent uses and must never be imported.
package main
