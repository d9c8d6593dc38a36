package loki

import (
	"strconv"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/vltest"
	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

func mustNew(t testing.TB, c Config) *Sink {
	t.Helper()
	s, err := New(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The conformance suite against the fake Loki, which drops replays the way
// Loki does, in every encoding and line mode.
func TestConformanceFake(t *testing.T) {
	for _, enc := range []string{EncodingProtobuf, EncodingJSON} {
		for _, line := range []string{LineJSON, LineMessage} {
			t.Run(enc+"/"+line, func(t *testing.T) {
				var f *fakeLoki
				c := Config{Encoding: enc, Line: line, Labels: map[string]string{"app": "sinktest"}, LabelFields: []string{"source"}}
				if enc == EncodingJSON {
					c.Compression = CompressionGzip
				}
				sinktest.Run(t, sinktest.Harness{
					New: func(t *testing.T) sidetrail.Sink {
						f = newFakeLoki(t)
						c.URL = f.URL()
						return mustNew(t, c)
					},
					Stored:  func(t *testing.T) []sinktest.Stored { return f.Stored() },
					Dedupes: true,
					Stall: func(t *testing.T) (<-chan struct{}, func()) {
						return f.Stall(t)
					},
				})
			})
		}
	}
}

// The conformance suite against a real VictoriaLogs (which keeps replays).
func TestConformanceVictoriaLogs(t *testing.T) {
	vl := startVL(t)
	sinks := 0 // each New labels its streams with its own number; Stored reads the latest
	for _, enc := range []string{EncodingProtobuf, EncodingJSON} {
		t.Run(enc, func(t *testing.T) {
			sinktest.Run(t, sinktest.Harness{
				New: func(t *testing.T) sidetrail.Sink {
					sinks++
					return mustNew(t, Config{
						URL: vl.LokiURL() + "?disable_message_parsing=1", Encoding: enc,
						Labels:      map[string]string{"app": "sinktest", "sink": strconv.Itoa(sinks)},
						LabelFields: []string{"source"},
					})
				},
				Stored: func(t *testing.T) []sinktest.Stored {
					return vlStored(t, vl, `app:=sinktest sink:=`+strconv.Itoa(sinks))
				},
			})
		})
	}
}

func startVL(t *testing.T) *vltest.Server {
	t.Helper()
	if _, err := vltest.Binary(); err != nil {
		t.Skipf("no VictoriaLogs: %v", err)
	}
	return vltest.Start(t)
}

func vlStored(t *testing.T, vl *vltest.Server, query string) []sinktest.Stored {
	t.Helper()
	var out []sinktest.Stored
	for _, row := range vl.Query(t, query) {
		msg, _ := row["_msg"].(string)
		var ts int64
		if s, ok := row["_time"].(string); ok {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatalf("_time %q: %v", s, err)
			}
			ts = tm.UnixNano()
		}
		out = append(out, storedFromLine(msg, ts))
	}
	return out
}
