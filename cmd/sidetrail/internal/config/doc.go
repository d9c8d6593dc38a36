// Package config turns sidetrail's YAML configuration file into a typed,
// validated Config.
//
// It owns the file format: the schema (the yaml tags of Config and of the
// types it embeds, the sink packages' Config types included), ${VAR}
// expansion, the defaults (all of them in applyDefaults, defaults.go) and
// validation. Every problem in a file is reported, not only the first, each
// as "file:line: message" sorted by line, so `sidetrail validate` can print
// them all at once.
//
// It must never start anything: no goroutines, no sockets, no files other
// than the one Load reads. Validation calls the sink packages' Validate
// methods and redact.New only to check what `run` would reject; it never
// keeps what they build. It holds no package-level mutable state.
package config
