package buffer

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestTailCacheModel drives the tail cache as Append does (reserve, fill,
// then commit, or a failed write that is not committed and is retried at
// the same offset; batches larger than the ring; new segments) and after
// every step checks it against the file it stands for:
//   - whatever readAt copies or viewAt lends is exactly the file's bytes;
//   - the newest batch is always held, and so is everything written in the
//     last ring size minus the largest batch since the cache last started
//     over (it wraps only when a batch does not fit after the newest bytes,
//     and then keeps what the new batches have not reached);
//   - the bytes held are one range of offsets, at most two pieces.
func TestTailCacheModel(t *testing.T) {
	for _, size := range []int{64, 97, 1000, 4096} {
		rnd := rand.New(rand.NewPCG(uint64(size), 3))
		c := tailCache{ring: make([]byte, size)}
		seg := &segment{}
		var file []byte   // the segment's bytes, offset 0 up
		since := int64(0) // held continuously from here, if the cache works
		maxBatch := 0
		hits := 0
		retry := 0 // a failed batch is retried at the same offset and size, as Append does
		for step := range 20000 {
			off := int64(len(file))
			switch rnd.IntN(50) {
			case 0: // a new segment
				seg, file, off, since, maxBatch = &segment{}, nil, 0, 0, 0
			case 1: // the segment is deleted
				c.forget(seg)
				seg, file, off, since, maxBatch = &segment{}, nil, 0, 0, 0
			}
			n := 1 + rnd.IntN(size/3)
			if rnd.IntN(40) == 0 {
				n = size + 1 + rnd.IntN(10) // larger than the ring
			}
			if retry > 0 && off == int64(len(file)) && c.seg == seg {
				n = retry
			}
			batch := make([]byte, n)
			for i := range batch {
				batch[i] = byte(rnd.Uint32())
			}
			out := c.reserve(seg, off, n)
			failed := rnd.IntN(10) == 0
			retry = 0
			if failed {
				retry = n
			}
			switch {
			case out == nil:
				if n <= size {
					t.Fatalf("ring %d step %d: no memory for a batch of %d", size, step, n)
				}
				if !failed {
					file = append(file, batch...)
				}
				since, maxBatch = int64(len(file)), 0
			default:
				out = append(out, batch...)
				if len(out) != n || cap(out) != n {
					t.Fatalf("ring %d step %d: reserved %d/%d bytes for %d", size, step, len(out), cap(out), n)
				}
				if !failed {
					file = append(file, batch...)
					c.commit(seg, off, n)
					maxBatch = max(maxBatch, n)
				}
			}
			if failed {
				// Fill the memory with garbage: the failed batch's bytes
				// must never be served, and a retry reserves it again.
				for i := range out {
					out[i] = 0xEE
				}
			}

			// What is held is the file's bytes, as one range of offsets.
			lo, hi := c.lo, c.hi
			if c.oldLo < c.oldHi {
				if c.oldHi != c.lo {
					t.Fatalf("ring %d step %d: pieces [%d,%d) and [%d,%d) are not one range", size, step, c.oldLo, c.oldHi, c.lo, c.hi)
				}
				lo = c.oldLo
			}
			if c.seg == seg && hi != int64(len(file)) && !failed && out != nil {
				t.Fatalf("ring %d step %d: holds up to %d, the file ends at %d", size, step, hi, len(file))
			}
			if c.seg == seg && hi > lo {
				p := make([]byte, hi-lo)
				if !c.readAt(seg, p, lo) || !bytes.Equal(p, file[lo:hi]) {
					t.Fatalf("ring %d step %d: readAt of the held range [%d,%d) is not the file's bytes", size, step, lo, hi)
				}
			}
			// The newest batch, and the last ring-maxBatch bytes, are held.
			if !failed && out != nil {
				if v, ok := c.viewAt(seg, off, n, n); !ok || !bytes.Equal(v, batch) {
					t.Fatalf("ring %d step %d: the batch just committed is not held", size, step)
				}
				want := max(since, int64(len(file))-int64(size-maxBatch))
				if lo > want {
					t.Fatalf("ring %d step %d: holds from %d, want from %d at most (file %d, largest batch %d)", size, step, lo, want, len(file), maxBatch)
				}
			}
			// Random ranges: a hit is always the file's bytes.
			for range 8 {
				if len(file) == 0 {
					break
				}
				a := rnd.Int64N(int64(len(file)))
				m := 1 + rnd.IntN(min(len(file)-int(a), size))
				p := make([]byte, m)
				if c.readAt(seg, p, a) {
					hits++
					if !bytes.Equal(p, file[a:a+int64(m)]) {
						t.Fatalf("ring %d step %d: readAt(%d, %d) is not the file's bytes", size, step, a, m)
					}
				}
				if v, ok := c.viewAt(seg, a, m, m+rnd.IntN(size)); ok {
					if len(v) < m || !bytes.Equal(v, file[a:a+int64(len(v))]) {
						t.Fatalf("ring %d step %d: viewAt(%d, %d) lent %d bytes that are not the file's", size, step, a, m, len(v))
					}
				}
			}
		}
		if hits == 0 {
			t.Fatalf("ring %d: no random read hit the cache", size)
		}
	}
}
