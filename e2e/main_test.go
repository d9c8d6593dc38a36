package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// binary is the sidetrail binary TestMain built, or "" with buildErr set.
var (
	binary   string
	buildErr error
)

// TestMain builds cmd/sidetrail once (without -race: it is the product under
// test, not the test) into a temp dir shared by every test, unless
// $SIDETRAIL_E2E_BINARY names a binary to test instead.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sidetrail-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if p := os.Getenv("SIDETRAIL_E2E_BINARY"); p != "" {
		binary = p // a prebuilt binary, e.g. to bisect or to test a release build
	} else {
		binary, buildErr = build(dir)
	}
	if code := m.Run(); code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
		return 1
	}
	return 0
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

func build(dir string) (string, error) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	out := filepath.Join(dir, "sidetrail")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/sidetrail")
	cmd.Dir = moduleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sidetrail: %v\n%s", err, b)
	}
	return out, nil
}

// sidetrailBinary returns the built binary or fails the test.
func sidetrailBinary(t testing.TB) string {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}
