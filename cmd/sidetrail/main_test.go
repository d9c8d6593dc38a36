package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the sidetrail binary: with
// SIDETRAIL_TEST_MAIN set it runs Main with those arguments and exits, so the
// crash tests can SIGKILL a real agent process without a separate build.
func TestMain(m *testing.M) {
	if args := os.Getenv("SIDETRAIL_TEST_MAIN"); args != "" {
		tuneRuntime()
		os.Exit(Main(context.Background(), strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// tuneRuntime sets GOMAXPROCS and GOGC=50, unless the variables say
// otherwise; gomaxprocs doubles Go's default unless a CPU limit lowered it.
func TestTuneRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gc) })

	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	tuneRuntime()
	if got, want := runtime.GOMAXPROCS(0), gomaxprocs(procs, runtime.NumCPU()); got != want {
		t.Errorf("GOMAXPROCS %d, want %d", got, want)
	}
	if got := debug.SetGCPercent(100); got != defaultGOGC {
		t.Errorf("GOGC %d, want %d", got, defaultGOGC)
	}

	runtime.GOMAXPROCS(procs)
	t.Setenv("GOMAXPROCS", "3")
	t.Setenv("GOGC", "200")
	tuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS set in the environment, yet changed to %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set in the environment, yet changed to %d", got)
	}
}

func TestGomaxprocs(t *testing.T) {
	for _, c := range []struct{ procs, cpus, want int }{
		{2, 2, 4},  // no limit (or one Go rounded up to every CPU)
		{8, 8, 16}, // no limit
		{2, 8, 2},  // a limit of 1 or 2 CPUs on an 8-CPU node
		{3, 8, 3},  // a limit of 2.5 CPUs
	} {
		if got := gomaxprocs(c.procs, c.cpus); got != c.want {
			t.Errorf("gomaxprocs(%d, %d) = %d, want %d", c.procs, c.cpus, got, c.want)
		}
	}
}
