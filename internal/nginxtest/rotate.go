package nginxtest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// shift renames path.N to path.N+1 for every existing generation, highest
// first, the way logrotate does (without deleting or compressing any:
// tests read every generation back). It returns the number of generations.
func shift(path string) (int, error) {
	matches, err := filepath.Glob(path + ".*")
	if err != nil {
		return 0, err
	}
	var gens []int
	for _, m := range matches {
		if n, err := strconv.Atoi(strings.TrimPrefix(m, path+".")); err == nil && n > 0 {
			gens = append(gens, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(gens)))
	for _, n := range gens {
		if err := os.Rename(fmt.Sprintf("%s.%d", path, n), fmt.Sprintf("%s.%d", path, n+1)); err != nil {
			return 0, err
		}
	}
	return len(gens), nil
}

// RotateRename rotates the access log as logrotate does by default:
// access.log.N → access.log.N+1 for every generation, access.log →
// access.log.1, then Reopen (SIGUSR1). nginx keeps writing the renamed file
// until its workers reopen. No generation is deleted.
func (s *Server) RotateRename() error {
	if _, err := shift(s.logPath); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	if err := os.Rename(s.logPath, s.logPath+".1"); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return s.Reopen()
}

// RotateCopyTruncate rotates the access log as logrotate's copytruncate does:
// shift the generations, copy access.log to a new access.log.1, then truncate
// access.log to 0 while nginx keeps its descriptor (O_APPEND) and writes on.
// Lines nginx writes between the copy and the truncation are in neither file:
// that loss is copytruncate's, in any tailer. It returns the bytes copied and
// the file's size just before the truncation (the difference is what was
// written during the copy and is now gone).
func (s *Server) RotateCopyTruncate() (copied, sizeAtTruncate int64, err error) {
	if _, err := shift(s.logPath); err != nil {
		return 0, 0, fmt.Errorf("copytruncate: %w", err)
	}
	src, err := os.Open(s.logPath)
	if err != nil {
		return 0, 0, fmt.Errorf("copytruncate: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(s.logPath+".1", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("copytruncate: %w", err)
	}
	copied, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return copied, 0, fmt.Errorf("copytruncate: %w", err)
	}
	if fi, err := os.Stat(s.logPath); err == nil {
		sizeAtTruncate = fi.Size()
	}
	if err := os.Truncate(s.logPath, 0); err != nil {
		return copied, sizeAtTruncate, fmt.Errorf("copytruncate: %w", err)
	}
	return copied, sizeAtTruncate, nil
}
