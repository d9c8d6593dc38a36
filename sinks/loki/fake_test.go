package loki

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

// fakeLoki is an httptest Loki push endpoint that decodes every push with
// the test decoders, keeps entries the way Loki does (an entry equal to a
// stored one in stream, timestamp and line is dropped) and lets a test
// inject faults per request.
type fakeLoki struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	seen     map[string]bool
	streams  map[string][]pushEntry // by labels
	order    []storedEntry
	requests []*http.Request // headers and URL of every push
	// fault, if set, may answer the request itself (returning true) before
	// it is decoded and stored.
	fault func(w http.ResponseWriter, r *http.Request, body []byte) bool
	// after, if set, answers instead of 204 after the push was stored.
	after func(w http.ResponseWriter, r *http.Request) bool
	// An empty push is answered 204 before any fault, and counted in
	// empties; with refuseEmpty it goes to the fault as any push.
	refuseEmpty bool
	empties     int
	// behind, if set, is the oldest timestamp (unix ns) taken: as Loki
	// does, a push's older entries are refused, its others stored, and
	// the push answered 400 "entry too far behind" if any was refused.
	behind int64

	stallMu sync.Mutex
	stall   chan struct{} // closed on release; nil: no stall
	arrived chan struct{}
}

type storedEntry struct {
	labels string
	pushEntry
}

func newFakeLoki(t testing.TB) *fakeLoki {
	f := &fakeLoki{t: t, seen: map[string]bool{}, streams: map[string][]pushEntry{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.release()
		f.srv.Close()
	})
	return f
}

func (f *fakeLoki) URL() string { return f.srv.URL }

// isEmptyPush reports whether body is a push of no streams, as the sink
// sends one (JSON, or a snappy-compressed empty PushRequest).
func isEmptyPush(body []byte) bool {
	return string(body) == `{"streams":[]}` || len(body) == 1 && body[0] == 0
}

func (f *fakeLoki) setFault(fn func(w http.ResponseWriter, r *http.Request, body []byte) bool) {
	f.mu.Lock()
	f.fault = fn
	f.mu.Unlock()
}

func (f *fakeLoki) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != PushPath || r.Method != http.MethodPost {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.stallMu.Lock()
	stall, arrived := f.stall, f.arrived
	f.stallMu.Unlock()
	if stall != nil {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-stall:
		case <-r.Context().Done():
			return // the client gave up: nothing stored
		}
	}
	f.mu.Lock()
	if isEmptyPush(body) && !f.refuseEmpty {
		// As Loki and VictoriaLogs do, whatever they refuse of records
		// (the sink asks so after a 400: refusesEverything).
		f.empties++
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fault, after := f.fault, f.after
	f.requests = append(f.requests, r.Clone(r.Context()))
	f.mu.Unlock()
	if fault != nil && fault(w, r, body) {
		return
	}
	ss := decodeRequest(f.t, r.Header, body)
	f.mu.Lock()
	refused := 0
	for _, s := range ss {
		labels := s.Labels
		if s.LabelKV != nil {
			labels = e2labels(s.LabelKV)
		}
		for _, e := range s.Entries {
			if e.TS < f.behind {
				refused++
				continue
			}
			key := labels + "\x00" + e.String()
			if f.seen[key] {
				continue // Loki drops an identical entry
			}
			f.seen[key] = true
			f.streams[labels] = append(f.streams[labels], e)
			f.order = append(f.order, storedEntry{labels, e})
		}
	}
	f.mu.Unlock()
	if refused > 0 {
		http.Error(w, fmt.Sprintf("entry with timestamp ignored, reason: 'entry too far behind, oldest acceptable timestamp is: %s', total ignored: %d",
			time.Unix(0, f.behind).UTC().Format(time.RFC3339), refused), http.StatusBadRequest)
		return
	}
	if after != nil && after(w, r) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeLoki) entries() []storedEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]storedEntry(nil), f.order...)
}

func (f *fakeLoki) lastRequest() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return nil
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeLoki) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// Stall holds every push until release (sinktest.Harness.Stall).
func (f *fakeLoki) Stall(t *testing.T) (<-chan struct{}, func()) {
	f.stallMu.Lock()
	defer f.stallMu.Unlock()
	f.stall = make(chan struct{})
	f.arrived = make(chan struct{}, 1)
	t.Cleanup(f.release)
	return f.arrived, f.release
}

func (f *fakeLoki) release() {
	f.stallMu.Lock()
	defer f.stallMu.Unlock()
	if f.stall != nil {
		close(f.stall)
		f.stall = nil
	}
}

// storedFromLine turns an entry back into what sinktest compares: with
// line: json the record JSON carries message, offset, path and source;
// otherwise the line is the message. The time is the entry's, which keeps
// the event time's second.
func storedFromLine(line string, ts int64) sinktest.Stored {
	// Loki answers queries in JSON, written by encoding/json, which turns
	// each invalid UTF-8 byte into U+FFFD.
	if b, err := json.Marshal(line); err == nil {
		_ = json.Unmarshal(b, &line)
	}
	st := sinktest.Stored{Message: line, Offset: -1}
	var doc struct {
		Message *string `json:"message"`
		Source  string  `json:"source"`
		Log     struct {
			Offset *int64 `json:"offset"`
			File   struct {
				Path string `json:"path"`
			} `json:"file"`
		} `json:"log"`
	}
	if json.Unmarshal([]byte(line), &doc) == nil && doc.Message != nil && doc.Log.Offset != nil {
		st = sinktest.Stored{Message: *doc.Message, Offset: *doc.Log.Offset, Path: doc.Log.File.Path, Source: doc.Source}
	}
	if ts != 0 {
		st.Time = time.Unix(0, ts).UTC()
	}
	return st
}

func (f *fakeLoki) Stored() []sinktest.Stored {
	var out []sinktest.Stored
	for _, e := range f.entries() {
		out = append(out, storedFromLine(e.Line, e.TS))
	}
	return out
}
