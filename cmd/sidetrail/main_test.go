package main

import (
	"context"
	"os"
	"path/filepath"
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
	if got, want := runtime.GOMAXPROCS(0), gomaxprocs(procs, runtime.NumCPU(), cpuQuota("/")); got != want {
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
	for _, c := range []struct {
		procs, cpus int
		quota       bool
		want        int
	}{
		{2, 2, false, 4},  // no limit
		{8, 8, false, 16}, // no limit
		{2, 2, true, 2},   // a quota of 1 CPU (or 2) on a 2-CPU node: Go's default is 2 either way
		{2, 8, true, 2},   // a limit of 1 or 2 CPUs on an 8-CPU node
		{3, 8, true, 3},   // a limit of 2.5 CPUs
		{3, 8, false, 3},  // a CPU set of 3 (taskset, cpuset)
	} {
		if got := gomaxprocs(c.procs, c.cpus, c.quota); got != c.want {
			t.Errorf("gomaxprocs(%d, %d, %v) = %d, want %d", c.procs, c.cpus, c.quota, got, c.want)
		}
	}
}

func TestCPUQuota(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"v2 container, quota", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "50000 100000\n"}, true},
		{"v2 container, none", map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "max 100000\n"}, false},
		{"v2 host path, quota above", map[string]string{
			"proc/self/cgroup":                                 "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/pod1/c1/cpu.max":           "max 100000\n",
			"sys/fs/cgroup/kubepods/pod1/cpu.max":              "200000 100000\n",
			"sys/fs/cgroup/kubepods/pod1/c1/cpu.max.unrelated": "x",
		}, true},
		{"v2 path not mounted: the mount root is the container's", map[string]string{
			"proc/self/cgroup": "0::/kubepods/pod1/c1\n", "sys/fs/cgroup/cpu.max": "100000 100000\n"}, true},
		{"v1 quota", map[string]string{"proc/self/cgroup": "4:memory:/x\n2:cpu,cpuacct:/\n", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "50000\n"}, true},
		{"v1 none", map[string]string{"proc/self/cgroup": "2:cpuacct:/\n1:cpu:/\n", "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n"}, false},
		{"v1 cpuacct alone is not cpu", map[string]string{"proc/self/cgroup": "2:cpuacct:/\n", "sys/fs/cgroup/cpuacct/cpu.cfs_quota_us": "5000\n"}, false},
		{"nothing readable", map[string]string{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range c.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := cpuQuota(root); got != c.want {
				t.Errorf("cpuQuota = %v, want %v", got, c.want)
			}
		})
	}
}
