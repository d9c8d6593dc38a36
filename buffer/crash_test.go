package buffer_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/buffer"
)

// The crash test re-executes the test binary as a child that appends in a
// loop and reports every Append that returned (and every Ack) on stdout;
// the parent SIGKILLs it at a random moment, many times, then checks that
// every reported record is present and intact.
const (
	crashChildEnv  = "SIDETRAIL_BUFFER_CRASH_CHILD"
	crashIterEnv   = "SIDETRAIL_BUFFER_CRASH_ITER"
	crashPolicyEnv = "SIDETRAIL_BUFFER_CRASH_FSYNC"
)

func crashOptions(policy string) buffer.Options {
	o := buffer.Options{Cursors: []string{"a"}, SegmentBytes: 32 << 10}
	switch policy {
	case "interval":
		o.Fsync, o.FsyncInterval = buffer.FsyncInterval, 2*time.Millisecond
	case "always":
		o.Fsync = buffer.FsyncAlways
	}
	return o
}

// crashPayload is record j of batch n of child iter: self-describing, with
// a filler whose length and letter depend on the coordinates.
func crashPayload(iter, n, j int) []byte {
	p := fmt.Appendf(nil, "i%d-b%d-r%d|", iter, n, j)
	h := (iter*7919 + n*104729 + j*31) % 400
	return append(p, bytes.Repeat([]byte{byte('a' + h%26)}, h)...)
}

// crashChild runs in the child process and never returns.
func crashChild(dir string) {
	iter, _ := strconv.Atoi(os.Getenv(crashIterEnv))
	b, err := buffer.Open(dir, crashOptions(os.Getenv(crashPolicyEnv)))
	if err != nil {
		fmt.Printf("E open: %v\n", err)
		os.Exit(2)
	}
	st := b.Stats()
	fmt.Printf("S %d %d\n", st.Corrupt, st.TornBytes)
	r, err := b.Reader("a")
	if err != nil {
		fmt.Printf("E reader: %v\n", err)
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(uint64(iter), 1))
	for n := 0; ; n++ {
		recs := make([][]byte, 1+rng.IntN(64))
		for j := range recs {
			recs[j] = crashPayload(iter, n, j)
		}
		seq, err := b.Append(context.Background(), recs)
		if err != nil {
			fmt.Printf("E append: %v\n", err)
			os.Exit(2)
		}
		fmt.Printf("A %d %d %d %d\n", iter, n, len(recs), seq)
		if iter%4 == 3 && n%7 == 6 {
			ack := seq / 2 // leave half the log to verify
			if err := r.Ack(ack); err != nil {
				fmt.Printf("E ack: %v\n", err)
				os.Exit(2)
			}
			fmt.Printf("K %d\n", ack)
		}
	}
}

func TestCrashKill9(t *testing.T) {
	iterations := 12
	if os.Getenv("SIDETRAIL_SOAK") != "" {
		iterations = 200
	}
	dir := t.TempDir()
	want := map[uint64][]byte{} // every seq whose Append returned
	var maxAck uint64
	var torn int64
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for iter := range iterations {
		policy := []string{"batch", "interval", "always"}[iter%3]
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashIterEnv+"="+strconv.Itoa(iter), crashPolicyEnv+"="+policy)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := false
		t.Cleanup(func() {
			if !killed {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		target := 1 + rng.IntN(60)
		sc := bufio.NewScanner(out)
		appends := 0
		for sc.Scan() {
			line := sc.Text()
			f := strings.Fields(line)
			switch f[0] {
			case "E":
				t.Fatalf("child %d: %s", iter, line)
			case "S":
				if f[1] != "0" {
					t.Fatalf("child %d opened the buffer with %s corrupt regions (torn bytes %s)", iter, f[1], f[2])
				}
				v, _ := strconv.ParseInt(f[2], 10, 64)
				torn += v
			case "A":
				it, _ := strconv.Atoi(f[1])
				n, _ := strconv.Atoi(f[2])
				cnt, _ := strconv.Atoi(f[3])
				last, _ := strconv.ParseUint(f[4], 10, 64)
				for j := range cnt {
					seq := last - uint64(cnt-1-j)
					p := crashPayload(it, n, j)
					if old, ok := want[seq]; ok && !bytes.Equal(old, p) {
						t.Fatalf("seq %d returned twice: %q and %q", seq, old[:20], p[:20])
					}
					want[seq] = p
				}
				appends++
			case "K":
				v, _ := strconv.ParseUint(f[1], 10, 64)
				maxAck = max(maxAck, v)
			}
			if appends == target && !killed {
				// SIGKILL while the child keeps appending; keep reading the
				// lines it wrote before it died.
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		if !killed {
			t.Fatalf("child %d exited before it was killed: %v", iter, sc.Err())
		}
		cmd.Wait()
	}

	b := open(t, dir, crashOptions("batch"))
	st := b.Stats()
	if st.Corrupt != 0 {
		t.Fatalf("corrupt regions after crashes: %+v", st)
	}
	if st.Cursors[0].Acked < maxAck {
		t.Fatalf("cursor at %d, but Ack(%d) returned before a crash", st.Cursors[0].Acked, maxAck)
	}
	acked := st.Cursors[0].Acked
	r, _ := b.Reader("a")
	got := readAvailable(t, r)
	seen := map[uint64]bool{}
	var prev uint64
	for _, e := range got {
		if e.Seq <= prev {
			t.Fatalf("seq %d after %d", e.Seq, prev)
		}
		prev = e.Seq
		seen[e.Seq] = true
		if w, ok := want[e.Seq]; ok && !bytes.Equal(e.Data, w) {
			t.Fatalf("seq %d: got %q, want %q", e.Seq, e.Data, w)
		}
		if !bytes.HasPrefix(e.Data, []byte("i")) {
			t.Fatalf("seq %d: not a record the child wrote: %q", e.Seq, e.Data)
		}
	}
	missing := 0
	for seq := range want {
		if seq > acked && !seen[seq] {
			missing++
			if missing < 5 {
				t.Errorf("seq %d: Append returned but the record is gone", seq)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d records lost", missing)
	}
	t.Logf("%d kills, %d records reported, %d read past the cursor (%d), all present and intact; torn tails cut: %d bytes over all reopens", iterations, len(want), len(got), acked, torn+st.TornBytes)
}
