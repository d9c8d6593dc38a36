// Package syncbuf is a bytes.Buffer safe for concurrent writers, for tests
// that capture what a component logs (a slog handler's output) while its
// goroutines run.
//
// It owns no production code path and must never be imported by one.
package syncbuf
