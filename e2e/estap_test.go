package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// esTap sits between the fault proxy and VictoriaLogs' Elasticsearch API and
// records, for every bulk request the backend accepted, which _id each
// request id was sent with. VictoriaLogs ignores _id, so it stores every
// replay; a real Elasticsearch answers 409 to a "create" whose _id it has and
// stores one copy. The tap tells those duplicates (same _id: harmless in
// Elasticsearch) from the ones a real Elasticsearch would keep too.
type esTap struct {
	srv     *httptest.Server
	backend string
	client  *http.Client

	mu       sync.Mutex
	ids      map[string]map[string]int // request id → _id → times accepted
	bulks    int
	parseErr int
}

func startESTap(t *testing.T, backend string) *esTap {
	tap := &esTap{backend: backend, client: &http.Client{}, ids: map[string]map[string]int{}}
	tap.srv = httptest.NewServer(http.HandlerFunc(tap.serve))
	t.Cleanup(func() {
		tap.srv.Close()
		tap.client.CloseIdleConnections()
	})
	return tap
}

// addr is the tap's "127.0.0.1:PORT".
func (tap *esTap) addr() string { return strings.TrimPrefix(tap.srv.URL, "http://") }

func (tap *esTap) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, tap.backend+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := tap.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if resp.StatusCode == http.StatusOK && strings.HasSuffix(r.URL.Path, "/_bulk") && r.Header.Get("Content-Encoding") == "" {
		tap.record(body)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(respBody)
}

// record notes the (request id, _id) of each action/document pair.
func (tap *esTap) record(body []byte) {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	tap.bulks++
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var action map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || len(action) != 1 || !sc.Scan() {
			tap.parseErr++
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			tap.parseErr++
			continue
		}
		id, ok := recordID(doc)
		if !ok {
			tap.parseErr++
			continue
		}
		for _, a := range action {
			m := tap.ids[id]
			if m == nil {
				m = map[string]int{}
				tap.ids[id] = m
			}
			m[a.ID]++
		}
	}
}

// esIDStats is what the tap saw.
type esIDStats struct {
	bulks, parseErr int
	sameID          int // extra copies sent with an _id already accepted (real ES: 409, one stored)
	newID           int // extra copies with another _id (real ES stores them too)
	noID            int // documents sent without an _id
}

func (tap *esTap) stats() esIDStats {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	s := esIDStats{bulks: tap.bulks, parseErr: tap.parseErr}
	for _, m := range tap.ids {
		s.newID += len(m) - 1
		for id, n := range m {
			s.sameID += n - 1
			if id == "" {
				s.noID += n
			}
		}
	}
	return s
}
