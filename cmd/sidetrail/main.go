package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	_ "time/tzdata" // distroless images have no zoneinfo; nginx_error's timezone needs it
)

var version = "dev"

func main() {
	tuneRuntime()
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// tuneRuntime sets the garbage collector's target and GOMAXPROCS, unless
// the GOGC and GOMAXPROCS variables set them.
func tuneRuntime() {
	// The agent's live heap is small and its garbage is big batch buffers:
	// a lower GOGC keeps the heap (and RSS) near the live set for a GC cost
	// measured under 1% of the CPU. GOGC and GOMEMLIMIT still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	// The pipeline's stages hand batches to each other and block in disk
	// system calls (pwrite, fsync, unlink). With one P per CPU a stage
	// woken by a handoff waits for a P until the running goroutine blocks
	// or is preempted, and the appender, the pace-setter, ran in bursts;
	// with twice as many Ps the kernel runs it at once. Measured on 2 CPUs:
	// 10% more lines/s (raw and nginx), 4% (JSON lines), for 0-4% more
	// CPU. Under a CPU limit the extra Ps' spinning eats the quota instead
	// (nginx 7% slower with 1 CPU of 2), so only with no CPU quota at all.
	// Go's default follows a quota but is never below 2, so on a 2-CPU
	// node it cannot tell a 1-CPU quota from none: the cgroup files do.
	// GOMAXPROCS still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(gomaxprocs(runtime.GOMAXPROCS(0), runtime.NumCPU(), cpuQuota("/")))
	}
}

// gomaxprocs returns the GOMAXPROCS to use given Go's default (procs), the
// CPUs the process may run on and whether a cgroup CPU quota applies.
func gomaxprocs(procs, cpus int, quota bool) int {
	if quota || procs < cpus {
		return procs
	}
	return gomaxprocsFactor * procs
}

// cpuQuota reports whether a cgroup CPU quota applies to this process, as
// far as the cgroup files under root tell: cgroup v2's cpu.max, or v1's
// cpu.cfs_quota_us, in the process's cgroup or any cgroup above it that is
// visible (in a container, the root of /sys/fs/cgroup is its own cgroup).
// Unreadable files mean no quota.
func cpuQuota(root string) bool {
	data, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" { // v2
			if quotaUp(filepath.Join(root, "sys/fs/cgroup"), parts[2], "cpu.max") {
				return true
			}
			continue
		}
		if !slices.Contains(strings.Split(parts[1], ","), "cpu") { // v1
			continue
		}
		for _, mount := range []string{parts[1], "cpu", "cpu,cpuacct", "cpuacct,cpu"} {
			if quotaUp(filepath.Join(root, "sys/fs/cgroup", mount), parts[2], "cpu.cfs_quota_us") {
				return true
			}
		}
	}
	return false
}

// quotaUp reads file in mount/dir and in each directory above it, up to
// mount itself, and reports whether one sets a quota.
func quotaUp(mount, dir, file string) bool {
	for d := filepath.Join(mount, dir); ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, file)); err == nil {
			f := strings.Fields(string(b))
			if len(f) > 0 && f[0] != "max" && f[0] != "-1" {
				return true
			}
		}
		if len(d) <= len(mount) {
			return false
		}
	}
}

// defaultGOGC is the GC target percentage unless GOGC is set.
const defaultGOGC = 50

// gomaxprocsFactor multiplies Go's default GOMAXPROCS unless GOMAXPROCS is
// set or a CPU limit lowered the default.
const gomaxprocsFactor = 2

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		cmd, args = "help", nil
	case len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = cmdRun(ctx, args, stdout, stderr)
	case "validate":
		err = cmdValidate(args, stdout, stderr)
	case "parse":
		err = cmdParse(args, stdin, stdout, stderr)
	case "buffer":
		err = cmdBuffer(args, stdout, stderr)
	case "version", "help":
		if len(args) > 0 {
			fmt.Fprintf(stderr, "sidetrail %s: unexpected argument %q\n", cmd, args[0])
			return 2
		}
		if cmd == "version" {
			fmt.Fprintln(stdout, "sidetrail", version)
		} else {
			fmt.Fprint(stdout, usage)
		}
	default:
		fmt.Fprintf(stderr, "sidetrail: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	default:
		fmt.Fprintln(stderr, "sidetrail:", err)
		return 1
	}
}

// exitError is an exit code whose message was already printed.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

const usage = `Usage:
  sidetrail [run] [-config FILE]                  run the agent (no -config: the embedded example config)
  sidetrail validate [-config FILE]               check a configuration; prints every error as file:line: message
  sidetrail parse [-config FILE] [-source NAME]   parse and redact lines from stdin, print records as JSON
  sidetrail buffer inspect {-data-dir DIR | -config FILE}   show the disk buffer's segments and each cursor's lag
  sidetrail version                               print the version
  sidetrail help                                  print the usage
`

// signalContext returns a context ended by SIGTERM or SIGINT, and a channel
// of SIGHUPs.
func signalContext(ctx context.Context) (context.Context, <-chan os.Signal, func()) {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return ctx, hup, func() { stop(); signal.Stop(hup) }
}
