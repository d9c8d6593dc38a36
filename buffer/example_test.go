package buffer_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sidetrail/sidetrail/buffer"
)

// A producer appends; each sink reads through its own cursor and acks what
// its backend accepted. Acked segments are deleted once every cursor has
// passed them.
func Example() {
	dir, _ := os.MkdirTemp("", "buffer-example")
	defer os.RemoveAll(dir)

	buf, err := buffer.Open(dir, buffer.Options{Cursors: []string{"es"}})
	if err != nil {
		panic(err)
	}
	defer buf.Close()

	ctx := context.Background()
	last, err := buf.Append(ctx, [][]byte{[]byte("line one"), []byte("line two")})
	if err != nil {
		panic(err) // the caller retries; nothing of a failed Append counts
	}
	fmt.Println("durable up to seq", last)

	r, _ := buf.Reader("es")
	batch, err := r.Read(ctx, nil, 100, 1<<20)
	if err != nil {
		panic(err)
	}
	for _, e := range batch {
		fmt.Printf("%d %s\n", e.Seq, e.Data)
	}
	// ... send the batch; only when the backend accepted it:
	if err := r.Ack(batch[len(batch)-1].Seq); err != nil {
		panic(err)
	}
	lag, _ := r.Lag()
	fmt.Println("lag", lag)
	// Output:
	// durable up to seq 2
	// 1 line one
	// 2 line two
	// lag 0
}

func ExampleInspect() {
	dir, _ := os.MkdirTemp("", "buffer-example")
	defer os.RemoveAll(dir)
	buf, _ := buffer.Open(dir, buffer.Options{Cursors: []string{"es", "loki"}})
	buf.Append(context.Background(), [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	r, _ := buf.Reader("loki")
	r.Ack(1)
	buf.Close()

	rep, err := buffer.Inspect(dir)
	if err != nil {
		panic(err)
	}
	rep.Dir = "DIR"
	rep.WriteText(os.Stdout)
	// Output:
	// buffer DIR: 1 segments, 71 bytes, 3 records, last seq 3
	//
	// SEGMENT                   FIRST  LAST  RECORDS  BYTES  CORRUPT  BAD TAIL
	// 00000000000000000001.seg  1      3     3        71     0        0
	//
	// CURSOR  ACKED  LAG RECORDS  STATE
	// es      0      3            ok
	// loki    1      2            ok
}
