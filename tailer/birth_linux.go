package tailer

import (
	"os"

	"golang.org/x/sys/unix"
)

// birth returns when the file open as fd was created, in nanoseconds since
// the epoch, or 0 where the file system does not say (statx STATX_BTIME:
// ext4, xfs, btrfs and tmpfs do). A freed inode handed out again is born
// anew, so this tells two files on one inode apart after nothing remembers
// the first.
func birth(fd *os.File) uint64 {
	rc, err := fd.SyscallConn()
	if err != nil {
		return 0
	}
	var stx unix.Statx_t
	var serr error
	if err := rc.Control(func(d uintptr) {
		serr = unix.Statx(int(d), "", unix.AT_EMPTY_PATH, unix.STATX_BTIME, &stx)
	}); err != nil || serr != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return 0
	}
	return uint64(stx.Btime.Sec)*1e9 + uint64(stx.Btime.Nsec)
}
