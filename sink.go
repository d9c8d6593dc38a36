package sidetrail

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sink delivers batches of records to one backend.
//
// Send delivers batch and fills results[i] with the outcome for batch[i];
// len(results) == len(batch), and results arrive zeroed (Unsent). The
// records and their bytes are valid only until Send returns: a sink that
// keeps anything copies it; it never modifies them. A non-nil error means the request as a whole
// failed and every record not marked otherwise is retried, unless the error
// is marked with Permanent. Send must return when ctx ends.
//
// Send is never called concurrently with itself or Close, unless the sink
// says it is safe for concurrent use (the shipper's Concurrency). Close
// releases the sink's resources; it is idempotent.
//
// A sink decides what its backend's answers mean; the shipper decides what to
// do about them (backoff, dead letters, acknowledgement). A sink never
// retries, never sleeps and never drops.
type Sink interface {
	Send(ctx context.Context, batch []Record, results []Result) error
	Close() error
}

// Status is the outcome of sending one record.
type Status uint8

const (
	// Unsent is the zero value: not known to be delivered, so retried.
	Unsent Status = iota
	// Accepted: the backend stored the record.
	Accepted
	// Duplicate: the backend already had it (Elasticsearch 409 on create).
	// Counts as delivered.
	Duplicate
	// Retry: a transient failure for this record (429, 5xx); send it again.
	Retry
	// Rejected: the backend will never take this record as it is (400, a
	// mapping error). It goes to the dead-letter file with Reason.
	Rejected
)

// String returns the status's name.
func (s Status) String() string {
	switch s {
	case Unsent:
		return "unsent"
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	case Retry:
		return "retry"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Delivered reports whether the record needs no further sending.
func (s Status) Delivered() bool { return s == Accepted || s == Duplicate }

// Result is the outcome for one record.
type Result struct {
	Status Status
	// Reason is the backend's explanation for Retry and Rejected
	// ("mapper_parsing_exception: failed to parse field [status]").
	Reason string
}

// ErrClosed is returned by operations on a closed component.
var ErrClosed = errors.New("closed")

// PermanentError marks a whole-request failure that resending cannot fix:
// every record not otherwise marked is rejected and dead-lettered.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked
// Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError is a transient failure with the backend's own advice on
// when to try again (an HTTP Retry-After header).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns the delay err asks for, if it carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}
