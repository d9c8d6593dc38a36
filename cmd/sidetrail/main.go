package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
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
	// (nginx 7% slower with 1 CPU of 2), so only when Go's default, which
	// follows the container's limit, is every CPU. GOMAXPROCS still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(gomaxprocs(runtime.GOMAXPROCS(0), runtime.NumCPU()))
	}
}

// gomaxprocs returns the GOMAXPROCS to use given Go's default (procs) and
// the CPUs the process may run on.
func gomaxprocs(procs, cpus int) int {
	if procs < cpus {
		return procs // a CPU limit below the machine
	}
	return gomaxprocsFactor * procs
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
		cmd = "help"
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
	case "version":
		fmt.Fprintln(stdout, "sidetrail", version)
	case "help":
		fmt.Fprint(stdout, usage)
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
  sidetrail buffer inspect -data-dir DIR          show the disk buffer's segments and each cursor's lag
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
