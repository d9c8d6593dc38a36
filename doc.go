// Package sidetrail holds the vocabulary every stage of the agent shares: the
// Record that flows from parser to sink, its binary form inside the disk
// buffer, its JSON form on stdout and in Elasticsearch, and the Sink contract
// with the outcomes a backend may give each record.
//
// It owns no I/O and starts no goroutines. It must never import another
// sidetrail package: the tailer, parser, redactor, buffer and sinks import it,
// never the other way round.
package sidetrail
