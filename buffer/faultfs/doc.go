// Package faultfs is a fault-injecting buffer.FS for tests: it wraps a real
// file system and makes the next write, fsync, truncate or rename fail, a
// write come up short, or every write fail with ENOSPC, on the files whose
// names match a filter.
//
// It owns nothing but the faults it was told to inject; it must never be
// used outside tests and tools.
package faultfs
