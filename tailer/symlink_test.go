package tailer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A glob over symlinks (Kubernetes' /var/log/containers/*.log style): the
// directory a symlink points into is watched, so a new generation of the
// target file created there is found at once, not at the next periodic
// scan. Only the pattern's directory was watched, and the probe lost 4 of
// 10 generations rotated 150 ms apart (scan_interval 250 ms). Here the
// periodic scan is 30 s away, so only the watch can find them.
func TestSymlinkTargetDirectoryWatched(t *testing.T) {
	dir := t.TempDir()
	links := filepath.Join(dir, "containers")
	pod := filepath.Join(dir, "pods", "ns_pod_uid", "app")
	for _, d := range []string{links, pod} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(pod, "0.log")
	appendFile(t, target, "g0 l0\n")
	if err := os.Symlink(target, filepath.Join(links, "app.log")); err != nil {
		t.Fatal(err)
	}
	o := testOptions(links)
	o.Paths = []string{filepath.Join(links, "*.log")}
	o.ScanInterval = 30 * time.Second
	o.RotateWait = time.Second
	tl := mustNew(t, o)
	collect(t, tl, 1, 5*time.Second)

	const gens, perGen = 6, 3
	// The agent's source is always in Next; the scan runs there.
	lines := make(chan string, gens*perGen)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range gens * perGen {
			l, err := tl.Next(ctx)
			if err != nil {
				return
			}
			lines <- string(l.Bytes)
			tl.Commit(l.Pos)
		}
	}()
	for g := 1; g <= gens; g++ {
		// kubelet's rotation: rename the file in its directory, start a
		// new one under the name the symlink points to.
		if err := os.Rename(target, fmt.Sprintf("%s.%d", target, g)); err != nil {
			t.Fatal(err)
		}
		for i := range perGen {
			appendFile(t, target, fmt.Sprintf("g%d l%d\n", g, i))
		}
		time.Sleep(150 * time.Millisecond)
	}
	<-done
	close(lines)
	seen := map[string]bool{}
	for l := range lines {
		seen[l] = true
	}
	for g := 1; g <= gens; g++ {
		for i := range perGen {
			if l := fmt.Sprintf("g%d l%d", g, i); !seen[l] {
				t.Errorf("missing %q", l)
			}
		}
	}
}
