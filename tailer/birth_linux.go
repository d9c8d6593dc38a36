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
	if noBirths {
		return 0
	}
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

// noBirths makes birth and pathBirth say nothing, as on a file system
// without creation times (ext2): for tests, set before a Tailer starts.
var noBirths bool

// pathBirth returns the identity and birth (as birth does) of the file at
// p, following symbolic links as opening it would, without opening it.
func pathBirth(p string) (id devIno, born uint64, ok bool) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_INO|unix.STATX_BTIME, &stx); err != nil {
		return devIno{}, 0, false
	}
	id = devIno{dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), ino: stx.Ino}
	if stx.Mask&unix.STATX_BTIME != 0 && !noBirths {
		born = uint64(stx.Btime.Sec)*1e9 + uint64(stx.Btime.Nsec)
	}
	return id, born, true
}
