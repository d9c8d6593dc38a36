package buffer_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sidetrail/sidetrail/buffer"
)

// With a source's cursor beside the sink's (as the agent has them), the
// records the sink has read and holds in flight are still not counted as
// dropped: ops12 saw 2,688 dropped for 2,488 lost, the 200 in flight (and
// delivered) counted too. A source acknowledges its cursor once a second,
// at its checkpoint; records after it are not lost to any sink.
func TestDropOldestInFlightWithSourceCursor(t *testing.T) {
	for _, ackEvery := range []int{1, 1000} {
		b := open(t, t.TempDir(), buffer.Options{Cursors: []string{"sink", "_source.s"}, Positions: []string{"_source.s"},
			MaxBytes: 8 << 10, SegmentBytes: 2 << 10, WhenFull: buffer.DropOldest})
		sink, _ := b.Reader("sink")
		src, _ := b.Reader("_source.s")
		rec := bytes.Repeat([]byte("d"), 100)
		var last uint64
		appendN := func(n int) {
			for range n {
				var err error
				if last, err = b.Append(context.Background(), [][]byte{rec}); err != nil {
					t.Fatal(err)
				}
				if last%uint64(ackEvery) == 0 { // the source's checkpoint
					if err := src.Ack(last); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		appendN(10)
		inFlight := readAvailable(t, sink) // read, sent, not acknowledged
		appendN(500)
		st := b.Stats()
		rest := readAvailable(t, sink)
		if got := uint64(len(inFlight)+len(rest)) + st.Dropped; got != last {
			t.Fatalf("source acked every %d: in flight %d + read after %d + dropped %d = %d, appended %d", ackEvery, len(inFlight), len(rest), st.Dropped, got, last)
		}
	}
}
