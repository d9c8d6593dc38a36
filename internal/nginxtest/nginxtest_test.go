package nginxtest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startOrSkip(t *testing.T, dir string) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		t.Skip(err)
	}
	return Start(t, Options{LogDir: dir})
}

// waitLines polls the access logs until they hold want lines.
func waitLines(t *testing.T, glob string, want int) *AccessLogs {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := ReadAccessLogs(glob)
		if err != nil {
			t.Fatal(err)
		}
		if a.Lines >= want || time.Now().After(deadline) {
			return a
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func TestDriveRotateRenameEveryLineInFiles(t *testing.T) {
	dir := t.TempDir()
	s := startOrSkip(t, dir)
	var progress atomic.Int64
	done := make(chan *LoadResult)
	go func() {
		done <- s.Drive(context.Background(), LoadOptions{Requests: 3000, Seed: 1, Progress: &progress})
	}()

	var res *LoadResult
	rotations := 0
	for res == nil {
		select {
		case res = <-done:
		default:
			if progress.Load() > int64(rotations+1)*600 && rotations < 4 {
				if err := s.RotateRename(); err != nil {
					t.Fatal(err)
				}
				rotations++
			}
			time.Sleep(time.Millisecond) // polling interval
		}
	}
	if res.Errors != 0 || res.Answered != 3000 {
		t.Fatalf("load: %+v (first error %v)", res, res.FirstErr)
	}
	for _, code := range []int{200, 302, 404, 500} {
		if res.ByStatus[code] == 0 {
			t.Errorf("no %d answers: %v", code, res.ByStatus)
		}
	}
	a := waitLines(t, filepath.Join(dir, "access.log*"), 3000)
	if a.Lines != 3000 || len(a.IDs) != 3000 || a.Files != rotations+1 {
		t.Fatalf("files %d (rotations %d), lines %d, ids %d", a.Files, rotations, a.Lines, len(a.IDs))
	}
	for _, id := range res.IDs {
		if a.IDs[id] != 1 {
			t.Fatalf("request %s: %d lines", id, a.IDs[id])
		}
	}
	// The planted secrets are in nginx's own log (it does not redact).
	b, err := os.ReadFile(filepath.Join(dir, "access.log.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range Secrets() {
		if !strings.Contains(string(b), sec) {
			t.Errorf("secret %q not planted", sec)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "access.log."+strconv.Itoa(rotations))); err != nil {
		t.Errorf("oldest generation: %v", err)
	}
}

func TestRotateCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	s := startOrSkip(t, dir)
	res := s.Drive(context.Background(), LoadOptions{Requests: 500, Seed: 2})
	waitLines(t, filepath.Join(dir, "access.log*"), 500)
	copied, size, err := s.RotateCopyTruncate()
	if err != nil {
		t.Fatal(err)
	}
	if copied == 0 || size < copied {
		t.Fatalf("copied %d, size at truncate %d", copied, size)
	}
	res2 := s.Drive(context.Background(), LoadOptions{Requests: 200, Seed: 3})
	a := waitLines(t, filepath.Join(dir, "access.log*"), 700)
	if a.Lines != 700 || res.Answered+res2.Answered != 700 {
		t.Fatalf("lines %d, answered %d+%d", a.Lines, res.Answered, res2.Answered)
	}
	fi, err := os.Stat(filepath.Join(dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	// O_APPEND: nginx writes at the new end, no hole of NULs.
	b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	if fi.Size() == 0 || b[0] == 0 {
		t.Fatalf("after truncate: size %d, first byte %q", fi.Size(), b[:1])
	}
}

func TestStopIsIdempotent(t *testing.T) {
	s := startOrSkip(t, t.TempDir())
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(); err == nil {
		t.Fatal("Reopen after Stop succeeded")
	}
}
