package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the sidetrail binary: with
// SIDETRAIL_TEST_MAIN set it runs Main with those arguments and exits, so the
// crash tests can SIGKILL a real agent process without a separate build.
func TestMain(m *testing.M) {
	if args := os.Getenv("SIDETRAIL_TEST_MAIN"); args != "" {
		os.Exit(Main(context.Background(), strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
