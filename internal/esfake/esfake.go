package esfake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Doc is one stored document.
type Doc struct {
	Index, ID string
	// Source is the document JSON exactly as received (after gzip decoding).
	// It is the fake's own copy; callers must not modify it.
	Source []byte
	// Seq numbers the stores, from 1, in the order they happened.
	Seq int64
	// Version counts the writes of this (Index, ID): 1 after a create; an
	// "index" op over an existing document increments it.
	Version int
}

// Item is one bulk item as an ItemFault sees it.
type Item struct {
	Op, Index, ID string
	// Source is the document JSON; valid only during the ItemFault call.
	Source []byte
	// Attempt is how many bulk items, this one included, have named this
	// (Index, ID): 1 the first time, 2 on the first resend, and so on.
	Attempt int
}

// ItemError is the error a bulk item answers with. A zero Status means no
// fault: the item is processed normally.
type ItemError struct {
	Status       int
	Type, Reason string
}

// ItemFault chooses a fault for one bulk item. It is called with the fake's
// lock held, so it must not call the Server's methods; it may keep state of
// its own without locking.
type ItemFault func(Item) ItemError

// Reject429 answers 429 es_rejected_execution_exception for the items pred
// selects.
func Reject429(pred func(Item) bool) ItemFault {
	return func(it Item) ItemError {
		if !pred(it) {
			return ItemError{}
		}
		return ItemError{Status: http.StatusTooManyRequests, Type: "es_rejected_execution_exception",
			Reason: "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]"}
	}
}

// MappingError answers 400 mapper_parsing_exception for the items pred
// selects, the way Elasticsearch rejects a document whose field does not
// fit the index mapping.
func MappingError(pred func(Item) bool) ItemFault {
	return func(it Item) ItemError {
		if !pred(it) {
			return ItemError{}
		}
		return ItemError{Status: http.StatusBadRequest, Type: "mapper_parsing_exception",
			Reason: "failed to parse field [http.response.status_code] of type [long] in document with id '" + it.ID + "'. Preview of field's value: 'abc'"}
	}
}

// Fault is a whole-request fault for one bulk request; see FailNext.
type Fault struct {
	// Status, when non-zero, answers the request with this status without
	// processing it (nothing stored). Body is the response body; empty means
	// an Elasticsearch-style error object.
	Status int
	Body   string
	// RetryAfter, when set, is sent as the Retry-After header (with Status).
	RetryAfter string
	// ResetMidResponse processes the request (its documents ARE stored),
	// writes the start of a 200 response and closes the connection: the
	// client sees an error for a request that took effect.
	ResetMidResponse bool
	// Drop closes the connection without answering or storing anything.
	Drop bool
	// Delay processes the request (documents stored), then waits this long,
	// or until the client goes away, before answering.
	Delay time.Duration
}

// Request is one request as the fake received it.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	// WireBytes is the body's length as received; Body the decoded body,
	// kept only when Options.KeepBodies is set.
	WireBytes int
	Body      []byte
	// Items is the number of bulk items parsed (0 when not processed).
	Items int
	// Status is the status answered; 0 when the connection was closed
	// without a complete answer.
	Status int
	// Fault names the fault applied, "" when none.
	Fault string
}

// Options configure a Server. The zero value is ready.
type Options struct {
	// KeepBodies keeps each request's decoded body in the request log.
	KeepBodies bool
}

// Stats counts what the fake has done since New (or Clear).
type Stats struct {
	// Requests counts bulk requests; Items the bulk items parsed.
	Requests, Items int
	// Created and Updated count successful writes ("index" over an existing
	// document updates it); Conflicts the creates answered 409; ItemFaults
	// the items answered by an ItemFault.
	Created, Updated, Conflicts, ItemFaults int
}

type docKey struct{ index, id string }

// Server is the fake. All methods are safe for concurrent use, including
// with requests in flight.
type Server struct {
	opts Options

	mu        sync.Mutex
	docs      map[docKey]*Doc
	order     []docKey
	attempts  map[docKey]int
	seq       int64
	autoID    int64
	reqs      []Request
	faults    []Fault
	itemFault ItemFault
	maxBody   int
	latency   time.Duration
	stats     Stats
	auth      []string      // accepted Authorization values; empty: no check
	stall     chan struct{} // non-nil: bulk requests wait for it to close
	arrived   chan struct{}

	ts *httptest.Server
}

// New returns a Server that is not listening; it is an http.Handler.
func New(opts Options) *Server {
	return &Server{
		opts:     opts,
		docs:     make(map[docKey]*Doc),
		attempts: make(map[docKey]int),
	}
}

// Start starts a Server on a loopback port and closes it in tb.Cleanup.
func Start(tb testing.TB) *Server { return StartWith(tb, Options{}) }

// StartWith is Start with Options.
func StartWith(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := New(opts)
	s.ts = httptest.NewServer(s)
	tb.Cleanup(s.Close)
	return s
}

// URL is the base URL of a started Server, "http://127.0.0.1:PORT".
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Close releases any held requests and stops a started Server, waiting for
// its handlers to return. It is idempotent.
func (s *Server) Close() {
	s.release()
	if s.ts != nil {
		s.ts.Close()
		s.ts.Client().CloseIdleConnections()
	}
}

// FailNext applies f to each of the next n bulk requests.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// SetItemFault sets the per-item fault hook; nil clears it.
func (s *Server) SetItemFault(f ItemFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.itemFault = f
}

// RequireAuth makes bulk requests whose Authorization header is not one of
// accepted answer 401 security_exception, as a secured cluster does. No
// arguments turn the check off.
func (s *Server) RequireAuth(accepted ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = append([]string(nil), accepted...)
}

// SetMaxBodyBytes makes bulk requests whose decoded body exceeds n bytes
// answer 413, as Elasticsearch does past http.max_content_length. n <= 0
// removes the limit.
func (s *Server) SetMaxBodyBytes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxBody = n
}

// SetLatency delays every bulk answer by d after processing it (documents
// are stored before the wait), or until the client goes away.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Stall makes bulk requests wait, before they are processed, until release
// is called. A receive on arrived succeeds once a request is waiting.
// release is idempotent; Close releases too.
func (s *Server) Stall() (arrived <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall == nil {
		s.stall = make(chan struct{})
		s.arrived = make(chan struct{}, 1)
	}
	ch := s.stall
	return s.arrived, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stall == ch {
			close(ch)
			s.stall, s.arrived = nil, nil
		}
	}
}

func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall, s.arrived = nil, nil
	}
}

// Docs returns copies of the stored documents in the order they were first
// stored.
func (s *Server) Docs() []Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Doc, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.docs[k])
	}
	return out
}

// Doc returns the document stored under (index, id).
func (s *Server) Doc(index, id string) (Doc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[docKey{index, id}]
	if !ok {
		return Doc{}, false
	}
	return *d, true
}

// Count returns the number of stored documents.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.docs)
}

// CountID returns how many stored documents have this _id, across indices.
func (s *Server) CountID(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.docs {
		if k.id == id {
			n++
		}
	}
	return n
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Clear forgets stored documents, attempts, counters and the request log;
// faults and settings stay.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.docs)
	clear(s.attempts)
	s.order, s.reqs, s.stats = nil, nil, Stats{}
}

func (s *Server) logRequest(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	if strings.HasSuffix(strings.TrimSuffix(r.Path, "/"), "/_bulk") {
		s.stats.Requests++
		s.stats.Items += r.Items
	}
}

// ServeHTTP answers GET / (cluster info) and bulk requests on /_bulk and
// /{index}/_bulk.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.logRequest(Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Status: 200})
		writeJSON(w, http.StatusOK, infoBody)
	case strings.HasSuffix(path, "/_bulk") && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		s.bulk(w, r, strings.TrimPrefix(strings.TrimSuffix(path, "/_bulk"), "/"))
	default:
		s.logRequest(Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Status: 404})
		writeJSON(w, http.StatusNotFound, errorBody(404, "illegal_argument_exception", "esfake: no handler for "+r.Method+" "+r.URL.Path))
	}
}

const infoBody = `{"name":"esfake","cluster_name":"esfake","cluster_uuid":"esfake","version":{"number":"8.19.0","build_flavor":"default","lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0","minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}`

func errorBody(status int, typ, reason string) string {
	b, _ := json.Marshal(map[string]any{
		"error":  map[string]any{"root_cause": []any{map[string]string{"type": typ, "reason": reason}}, "type": typ, "reason": reason},
		"status": status,
	})
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, pathIndex string) {
	rec := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
	defer func() { s.logRequest(rec) }()

	wire, err := io.ReadAll(r.Body)
	rec.WireBytes = len(wire)
	if err != nil {
		rec.Fault = "read error: " + err.Error()
		return
	}

	// Held requests wait before anything else happens.
	s.mu.Lock()
	stall, arrived := s.stall, s.arrived
	s.mu.Unlock()
	if stall != nil {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-stall:
		case <-r.Context().Done():
			rec.Fault = "stalled; client went away"
			return
		}
	}

	s.mu.Lock()
	var fault Fault
	if len(s.faults) > 0 {
		fault = s.faults[0]
		s.faults = s.faults[1:]
	}
	maxBody, latency, auth := s.maxBody, s.latency, s.auth
	s.mu.Unlock()

	if len(auth) > 0 && !slices.Contains(auth, r.Header.Get("Authorization")) {
		rec.Fault, rec.Status = "unauthorized", http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
		writeJSON(w, http.StatusUnauthorized, errorBody(401, "security_exception", "unable to authenticate user for REST request [/_bulk]"))
		return
	}

	if fault.Drop {
		rec.Fault = "drop"
		hijackClose(w, "")
		return
	}
	if fault.Status != 0 {
		rec.Fault, rec.Status = fmt.Sprintf("status %d", fault.Status), fault.Status
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		body := fault.Body
		if body == "" {
			body = errorBody(fault.Status, "esfake_fault", fmt.Sprintf("injected status %d", fault.Status))
		}
		writeJSON(w, fault.Status, body)
		return
	}

	body := wire
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			rec.Status = 400
			writeJSON(w, 400, errorBody(400, "parse_exception", "esfake: bad gzip body: "+err.Error()))
			return
		}
	}
	if s.opts.KeepBodies {
		rec.Body = body
	}
	if maxBody > 0 && len(body) > maxBody {
		rec.Status, rec.Fault = http.StatusRequestEntityTooLarge, "413"
		writeJSON(w, http.StatusRequestEntityTooLarge, "")
		return
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/json") &&
		!strings.HasPrefix(ct, "application/vnd.elasticsearch+x-ndjson") {
		rec.Status = http.StatusNotAcceptable
		writeJSON(w, http.StatusNotAcceptable, fmt.Sprintf(`{"error":"Content-Type header [%s] is not supported","status":406}`, ct))
		return
	}

	resp, items, status, err := s.process(body, pathIndex)
	rec.Items = items
	if err != nil {
		rec.Status = status
		writeJSON(w, status, errorBody(status, "illegal_argument_exception", err.Error()))
		return
	}

	if fault.ResetMidResponse {
		rec.Fault = "reset mid-response"
		hijackClose(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Elastic-Product: Elasticsearch\r\nContent-Length: "+
			strconv.Itoa(len(resp))+"\r\n\r\n"+string(resp[:len(resp)/2]))
		return
	}
	if d := max(fault.Delay, latency); d > 0 {
		rec.Fault = "delay " + d.String()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			rec.Fault += "; client went away"
			return
		}
	}
	rec.Status = http.StatusOK
	writeJSON(w, http.StatusOK, string(resp))
}

// hijackClose writes prefix on the raw connection and closes it.
func hijackClose(w http.ResponseWriter, prefix string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("esfake: ResponseWriter cannot hijack")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if prefix != "" {
		buf.WriteString(prefix)
		buf.Flush()
	}
	conn.Close()
}

type action struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

type itemResult struct {
	Index       string         `json:"_index"`
	ID          string         `json:"_id"`
	Version     int            `json:"_version,omitempty"`
	Result      string         `json:"result,omitempty"`
	Shards      map[string]int `json:"_shards,omitempty"`
	SeqNo       *int64         `json:"_seq_no,omitempty"`
	PrimaryTerm int            `json:"_primary_term,omitempty"`
	Status      int            `json:"status"`
	Error       map[string]any `json:"error,omitempty"`
}

// process parses and applies a bulk body, returning the response body. A
// non-nil error fails the whole request with the given status (nothing
// stored: the body is checked before any item is applied).
func (s *Server) process(body []byte, pathIndex string) ([]byte, int, int, error) {
	if len(body) == 0 {
		return nil, 0, 400, fmt.Errorf("request body is required")
	}
	if body[len(body)-1] != '\n' {
		return nil, 0, 400, fmt.Errorf("The bulk request must be terminated by a newline [\\n]")
	}
	type parsed struct {
		op     string
		act    action
		source []byte
	}
	var items []parsed
	rest := body
	for len(rest) > 0 {
		line := nextLine(&rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]action
		if err := json.Unmarshal(line, &m); err != nil || len(m) != 1 {
			return nil, len(items), 400, fmt.Errorf("Malformed action/metadata line [%d], expected a simple object with one action: %q", len(items)*2+1, truncate(line))
		}
		var p parsed
		for op, a := range m {
			p.op, p.act = op, a
		}
		switch p.op {
		case "create", "index":
			if len(rest) == 0 {
				return nil, len(items), 400, fmt.Errorf("source missing for %s action %d", p.op, len(items))
			}
			p.source = nextLine(&rest)
		case "delete":
		default:
			return nil, len(items), 400, fmt.Errorf("Malformed action/metadata line, unknown action [%s]", p.op)
		}
		if p.act.Index == "" {
			p.act.Index = pathIndex
		}
		items = append(items, p)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]itemResult, len(items))
	anyErr := false
	for i, p := range items {
		res := itemResult{Index: p.act.Index, ID: p.act.ID}
		fail := func(status int, typ, reason string) {
			anyErr = true
			res.Status = status
			res.Error = map[string]any{"type": typ, "reason": reason, "index": p.act.Index, "shard": "0", "index_uuid": "esfake"}
		}
		switch {
		case p.act.Index == "":
			fail(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
		case p.op == "delete":
			k := docKey{p.act.Index, p.act.ID}
			if _, ok := s.docs[k]; ok {
				delete(s.docs, k)
				for j, o := range s.order {
					if o == k {
						s.order = append(s.order[:j], s.order[j+1:]...)
						break
					}
				}
				res.Status, res.Result = 200, "deleted"
			} else {
				res.Status, res.Result = 404, "not_found"
			}
		default:
			if res.ID == "" {
				s.autoID++
				res.ID = fmt.Sprintf("esfake-auto-%d", s.autoID)
			}
			k := docKey{p.act.Index, res.ID}
			s.attempts[k]++
			if s.itemFault != nil {
				if e := s.itemFault(Item{Op: p.op, Index: k.index, ID: k.id, Source: p.source, Attempt: s.attempts[k]}); e.Status != 0 {
					s.stats.ItemFaults++
					fail(e.Status, e.Type, e.Reason)
					break
				}
			}
			if !json.Valid(p.source) || len(bytes.TrimSpace(p.source)) == 0 || bytes.TrimSpace(p.source)[0] != '{' {
				fail(400, "document_parsing_exception", "[1:1] failed to parse: not a JSON object: "+truncate(p.source))
				break
			}
			if name := metadataField(p.source); name != "" {
				fail(400, "document_parsing_exception", "[1:2] failed to parse field ["+name+"] of type [_"+strings.TrimPrefix(name, "_")+"] in document with id '"+k.id+"'. Preview of field's value: '…'; Field ["+name+"] is a metadata field and cannot be added inside a document. Use the index API request parameters.")
				break
			}
			d, exists := s.docs[k]
			if exists && p.op == "create" {
				s.stats.Conflicts++
				fail(409, "version_conflict_engine_exception",
					fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", k.id, d.Version))
				break
			}
			s.seq++
			seq := s.seq
			if exists {
				d.Source, d.Version, d.Seq = bytes.Clone(p.source), d.Version+1, seq
				res.Status, res.Result = 200, "updated"
				s.stats.Updated++
			} else {
				d = &Doc{Index: k.index, ID: k.id, Source: bytes.Clone(p.source), Seq: seq, Version: 1}
				s.docs[k] = d
				s.order = append(s.order, k)
				res.Status, res.Result = 201, "created"
				s.stats.Created++
			}
			res.Version, res.PrimaryTerm = d.Version, 1
			res.SeqNo = &seq
			res.Shards = map[string]int{"total": 1, "successful": 1, "failed": 0}
		}
		out[i] = map[string]itemResult{p.op: res}
	}
	resp, err := json.Marshal(map[string]any{"took": 1, "errors": anyErr, "items": out})
	if err != nil {
		return nil, len(items), 500, err
	}
	return resp, len(items), 200, nil
}

func nextLine(rest *[]byte) []byte {
	b := *rest
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		*rest = b[i+1:]
		return b[:i]
	}
	*rest = nil
	return b
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// metadataNames are the fields Elasticsearch keeps for itself.
var metadataNames = map[string]bool{"_id": true, "_index": true, "_source": true, "_routing": true,
	"_ignored": true, "_seq_no": true, "_primary_term": true, "_version": true, "_type": true,
	"_tier": true, "_doc_count": true, "_field_names": true, "_data_stream_timestamp": true,
	"_nested_path": true, "_feature": true, "_ignored_source": true}

// metadataField returns a top-level key of the JSON object src that
// Elasticsearch refuses in a document, or "": the name itself, or one
// whose first dotted part is one ("_id.x" maps an object under _id).
func metadataField(src []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(src, &m) != nil {
		return ""
	}
	for k := range m {
		first, _, _ := strings.Cut(k, ".")
		if metadataNames[first] {
			return first
		}
	}
	return ""
}
