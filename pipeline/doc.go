// Package pipeline carries records between the stages and holds the
// delivery protocol of DESIGN.md:
//
//   - A Source reads lines from its tailer, parses, redacts and encodes them
//     (on one goroutine, or on a pool of workers that keeps their order),
//     appends them to the disk buffer in batches (grown while the previous
//     batch is still being written: group commit), and only after Append
//     returned tells the tailer it may checkpoint past them.
//   - A Shipper reads batches for one sink from the buffer, sends them,
//     resends only the records that failed transiently (backoff with jitter,
//     no retry limit), writes rejected records to the dead-letter file, and
//     only then acknowledges the batch to the buffer. With Concurrency > 1
//     several batches are in flight; they are acknowledged in read order.
//
// It owns ordering, batching, backoff and dead letters. It must never
// acknowledge anything before the next stage made it durable, never drop a
// record without writing it to the dead-letter file, and never know how a
// particular backend or file format works.
package pipeline
