package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
)

func lines(s, sub string) int { return strings.Count(s, sub) }

// A burst of one message beyond the limit is summed up when its window
// ends, even if the message never comes again: ops12 saw 5 of 11
// "skipping corrupt data" lines and no count of the 6 others.
func TestRateLimitSumsUpABurstThatEnds(t *testing.T) {
	var out syncbuf.Buffer
	log := slog.New(newRateLimit(slog.NewTextHandler(&out, nil), 5, 200*time.Millisecond))
	for i := range 12 {
		log.Warn("sink down", "i", i)
	}
	if n := lines(out.String(), "sink down"); n != 5 {
		t.Fatalf("%d lines in the window, want 5:\n%s", n, out.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "suppressed_similar=7") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary of the 7 suppressed lines:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Once summed up, the next window starts afresh: no count twice.
	time.Sleep(300 * time.Millisecond)
	log.Warn("sink down", "i", 99)
	if n := lines(out.String(), "suppressed_similar"); n != 1 {
		t.Fatalf("%d summaries, want 1:\n%s", n, out.String())
	}
}

// Two sources failing alike each have their budget and their own summary:
// they shared one, and the summary named one source for the records of both
// (ops15 F8: "source=app suppressed_similar=11" for app's and zeta's).
func TestRateLimitBudgetPerLogger(t *testing.T) {
	var out syncbuf.Buffer
	log := slog.New(newRateLimit(slog.NewTextHandler(&out, nil), 2, 200*time.Millisecond))
	app, zeta := log.With("source", "app"), log.With("source", "zeta")
	for range 5 {
		app.Error("buffer append failed")
		zeta.Error("buffer append failed")
	}
	if a, z := lines(out.String(), "source=app"), lines(out.String(), "source=zeta"); a != 2 || z != 2 {
		t.Fatalf("%d lines of app, %d of zeta in the window; want 2 each:\n%s", a, z, out.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "source=app suppressed_similar=3") || !strings.Contains(out.String(), "source=zeta suppressed_similar=3") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary per source:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A sink named in the record itself (the shippers log so) the same
	// (regress16 F5: one budget for every sink, a summary naming none).
	for range 5 {
		log.Warn("sink send failed; retrying", "sink", "es1", "retry_in", "1s")
		log.Warn("sink send failed; retrying", "sink", "es2", "retry_in", "1s")
	}
	if a, b := lines(out.String(), "sink=es1 retry_in"), lines(out.String(), "sink=es2 retry_in"); a != 2 || b != 2 {
		t.Fatalf("%d lines of es1, %d of es2 in the window; want 2 each:\n%s", a, b, out.String())
	}
	for !strings.Contains(out.String(), "sink=es1 suppressed_similar=3") || !strings.Contains(out.String(), "sink=es2 suppressed_similar=3") {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("no summary per sink:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Lines that name what was lost or damaged (a corrupt region, a truncated
// file's lost bytes, dead-lettered records) are each needed to find the
// data: their limit is far higher.
func TestRateLimitKeepsEveryLossLine(t *testing.T) {
	var out syncbuf.Buffer
	log := slog.New(newRateLimit(slog.NewTextHandler(&out, nil), 5, 10*time.Second))
	for i := range 50 {
		log.Error("buffer: skipping corrupt data", "segment", i)
		log.Warn("tailer: truncated file's unread bytes not found in any copy: lost", "path", i)
	}
	if n := lines(out.String(), "skipping corrupt data"); n != 50 {
		t.Fatalf("%d corrupt-data lines of 50", n)
	}
	if n := lines(out.String(), "not found in any copy"); n != 50 {
		t.Fatalf("%d lost-bytes lines of 50", n)
	}
}

// Every message given the higher limit is still logged somewhere with
// exactly that text: a reworded message would silently lose it.
func TestLossMessagesExist(t *testing.T) {
	var src strings.Builder
	for _, dir := range []string{"../../buffer", "../../tailer", "../../pipeline"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for msg := range lossMessages {
		if !strings.Contains(src.String(), `"`+msg+`"`) {
			t.Errorf("no code logs %q", msg)
		}
	}
}

// JSON logs write durations as the configuration does (ops12 M5).
func TestJSONLogDurations(t *testing.T) {
	var out syncbuf.Buffer
	newLogger(config.Log{Level: "info", Format: "json"}, &out).Info("x", "drain_timeout", 2*time.Second)
	if !strings.Contains(out.String(), `"drain_timeout":"2s"`) {
		t.Fatalf("got %s", out.String())
	}
}
