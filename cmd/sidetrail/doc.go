// Command sidetrail is a log-shipping sidecar: it tails log files, parses
// and redacts each line, buffers records on disk and ships them to
// Elasticsearch, Loki or stdout with at-least-once delivery.
//
// Usage:
//
//	sidetrail [run] [-config FILE]        run the agent (no -config: the embedded example)
//	sidetrail validate -config FILE       check a configuration; exit 1 with file:line errors
//	sidetrail parse -config FILE -source NAME   lines on stdin → records on stdout
//	sidetrail buffer inspect -data-dir DIR      segments, records and each sink's lag
//	sidetrail version
//
// It owns the command line, the configuration (YAML → each package's
// options, in internal/config), the wiring of one pipeline per
// configuration, signals, reload, the data_dir lock and the metrics
// collector. It must never hold the business of a stage: tailing, parsing,
// redaction, buffering and shipping live in their packages.
package main
