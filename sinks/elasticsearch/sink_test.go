package elasticsearch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/esfake"
	"github.com/sidetrail/sidetrail/internal/syncbuf"
	"github.com/sidetrail/sidetrail/sinks/sinktest"
)

func TestConformanceFake(t *testing.T) {
	for _, comp := range []string{"none", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			var f *esfake.Server
			sinktest.Run(t, sinktest.Harness{
				New: func(t *testing.T) sidetrail.Sink {
					f = esfake.Start(t)
					return newSink(t, Config{URLs: []string{f.URL()}, Compression: comp})
				},
				Stored:  func(t *testing.T) []sinktest.Stored { return fakeStored(t, f) },
				Dedupes: true,
				Stall: func(t *testing.T) (<-chan struct{}, func()) {
					arrived, release := f.Stall()
					t.Cleanup(release)
					return arrived, release
				},
			})
		})
	}
}

func TestBulkRequestFormat(t *testing.T) {
	f := esfake.StartWith(t, esfake.Options{KeepBodies: true})
	s := newSink(t, Config{
		URLs: []string{f.URL()}, Pipeline: "nginx", Username: "elastic", Password: "pw",
		Params:  map[string]string{"_msg_field": "message"},
		Headers: map[string]string{"X-Team": "sre"},
	})
	recs := testRecords(2)
	res, err := send(t, s, recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Accepted] != 2 {
		t.Fatalf("results %v", c)
	}
	reqs := f.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/_bulk" || r.RawQuery != "_msg_field=message&pipeline=nginx" {
		t.Errorf("path %q query %q", r.Path, r.RawQuery)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	if r.Header.Get("X-Team") != "sre" {
		t.Errorf("custom header missing: %v", r.Header)
	}
	if u, p, ok := (&http.Request{Header: r.Header}).BasicAuth(); !ok || u != "elastic" || p != "pw" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	lines := strings.Split(string(r.Body), "\n")
	if len(lines) != 5 || lines[4] != "" {
		t.Fatalf("body is not 4 NDJSON lines ending in a newline: %q", r.Body)
	}
	wantAction := `{"create":{"_index":"sidetrail-2025.03.14","_id":"` + idOf(&recs[0]) + `"}}`
	if lines[0] != wantAction {
		t.Errorf("action line\n got %s\nwant %s", lines[0], wantAction)
	}
	var enc sidetrail.JSONEncoder
	if want := string(enc.Append(nil, &recs[0])); lines[1] != want {
		t.Errorf("document\n got %s\nwant %s", lines[1], want)
	}
}

// An index name without date codes (and a data stream's) is rendered once,
// when the config is read. Each request's copy of the pattern used to drop
// it, and every action line went out as {"create":{"_index":,…}}: a whole
// request 400 from Elasticsearch, every record dead-lettered. (VictoriaLogs
// accepts the broken line, which is why the real-backend tests missed it.)
func TestFixedIndexName(t *testing.T) {
	for _, cfg := range []Config{{Index: "audit"}, {DataStream: true}, {Index: "audit-%Y"}} {
		f := esfake.Start(t)
		cfg.URLs = []string{f.URL()}
		s := newSink(t, cfg)
		want := map[string]string{"audit": "audit", "": "logs-sidetrail-default", "audit-%Y": "audit-2025"}[cfg.Index]
		for batch := range 3 { // a fresh request, then pooled ones
			recs := testRecords(4)
			for i := range recs {
				recs[i].Offset += int64(batch) * 1000
			}
			res, err := send(t, s, recs)
			if err != nil {
				t.Fatalf("%+v: batch %d: %v", cfg, batch, err)
			}
			if c := countStatus(res); c[sidetrail.Accepted] != 4 {
				t.Fatalf("%+v: batch %d: results %v", cfg, batch, c)
			}
		}
		docs := f.Docs()
		if len(docs) != 12 {
			t.Fatalf("%+v: %d documents stored", cfg, len(docs))
		}
		for _, d := range docs {
			if d.Index != want {
				t.Fatalf("%+v: document in index %q, want %q", cfg, d.Index, want)
			}
		}
	}
}

// A JSON line's own _id, _index or other metadata name (a MongoDB-style
// event) would make Elasticsearch refuse the document ("Field [_id] is a
// metadata field and cannot be added inside a document"): every such line
// dead-lettered. The field is renamed json.<name>, as the parser renames a
// key that meets the record's own, and keeps its value.
func TestMetadataFieldNamesRenamed(t *testing.T) {
	for _, ecs := range []bool{false, true} {
		f := esfake.Start(t)
		s := newSink(t, Config{URLs: []string{f.URL()}, ECS: ecs})
		recs := testRecords(2)
		recs[0].Add("_id", sidetrail.KindString, []byte("507f1f77bcf86cd799439011"))
		recs[0].Add("_index.name", sidetrail.KindString, []byte("other"))
		recs[0].Add("_private", sidetrail.KindInt, []byte("1"))
		recs[1].Add("_source", sidetrail.KindJSON, []byte(`{"a":1}`))
		recs[1].Add("json._source", sidetrail.KindString, []byte("taken"))
		res, err := send(t, s, recs)
		if err != nil {
			t.Fatal(err)
		}
		if c := countStatus(res); c[sidetrail.Accepted] != 2 {
			t.Fatalf("ecs=%v: results %v", ecs, res)
		}
		docs := f.Docs()
		var d0, d1 map[string]any
		json.Unmarshal(docs[0].Source, &d0)
		json.Unmarshal(docs[1].Source, &d1)
		j0, _ := d0["json"].(map[string]any)
		j1, _ := d1["json"].(map[string]any)
		if j0["_id"] != "507f1f77bcf86cd799439011" || j0["_index"].(map[string]any)["name"] != "other" || d0["_private"] != 1.0 {
			t.Errorf("ecs=%v: %s", ecs, docs[0].Source)
		}
		if j1["_source"] != "taken" || j1["_source_"].(map[string]any)["a"] != 1.0 {
			t.Errorf("ecs=%v: %s", ecs, docs[1].Source)
		}
	}
}

// VictoriaLogs' own names in a JSON line: its _msg replaced the message
// VictoriaLogs showed, even with _msg_field: message, and its _time and
// _stream were dropped (parser19 V). They are renamed as the metadata
// names are.
func TestVictoriaLogsFieldNamesRenamed(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	recs := testRecords(1)
	recs[0].Add("_msg", sidetrail.KindString, []byte("fake message"))
	recs[0].Add("_time", sidetrail.KindString, []byte("2001-01-01T00:00:00Z"))
	recs[0].Add("_stream", sidetrail.KindString, []byte("fake"))
	recs[0].Add("_stream_id", sidetrail.KindString, []byte("x"))
	if _, err := send(t, s, recs); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.Unmarshal(f.Docs()[0].Source, &d)
	j, _ := d["json"].(map[string]any)
	for _, k := range []string{"_msg", "_time", "_stream", "_stream_id"} {
		if _, ok := d[k]; ok || j[k] == nil {
			t.Errorf("%s: %s", k, f.Docs()[0].Source)
		}
	}
}

// A metadata name beside a field named "json" (which meets every
// "json.…") looped for good in the renaming: one such line stopped the sink
// and every line behind it, at every restart (regress13 R0).
func TestMetadataFieldBesideAJSONField(t *testing.T) {
	for _, extra := range [][]sidetrail.Field{
		{{Key: "json", Kind: sidetrail.KindInt, Value: []byte("2")}},
		{{Key: "json", Kind: sidetrail.KindJSON, Value: []byte(`{"a":1}`)}},
		{{Key: "json", Kind: sidetrail.KindInt, Value: []byte("2")}, {Key: "json_", Kind: sidetrail.KindInt, Value: []byte("3")}},
	} {
		fields := append([]sidetrail.Field{{Key: "_id", Kind: sidetrail.KindInt, Value: []byte("1")}}, extra...)
		done := make(chan []sidetrail.Field, 1)
		go func() { done <- appendMetadataRenamed(nil, fields) }()
		select {
		case out := <-done:
			for i, f := range out {
				for j, g := range out {
					if i != j && namesMeet(f.Key, g.Key) {
						t.Errorf("%v: %q and %q meet", fields, f.Key, g.Key)
					}
				}
			}
			if isMetadata(out[0].Key) || string(out[0].Value) != "1" {
				t.Errorf("%v: renamed to %v", fields, out[0])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: the renaming does not end", fields)
		}
	}
}

func TestItem429Subset(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	recs := testRecords(100)
	// Every third record is refused on its first attempt only.
	f.SetItemFault(esfake.Reject429(func(it esfake.Item) bool {
		return it.Attempt == 1 && bytes.Contains(it.Source, []byte(`"offset":`)) && offsetOf(it.Source)%360 == 0
	}))
	res, err := send(t, s, recs)
	if err != nil {
		t.Fatal(err)
	}
	var again []sidetrail.Record
	for i, r := range res {
		want := sidetrail.Accepted
		if i%3 == 0 {
			want = sidetrail.Retry
		}
		if r.Status != want {
			t.Fatalf("record %d: %v, want %v", i, r.Status, want)
		}
		if want == sidetrail.Retry {
			if !strings.HasPrefix(r.Reason, "es_rejected_execution_exception: ") {
				t.Errorf("record %d reason %q", i, r.Reason)
			}
			again = append(again, recs[i])
		}
	}
	if f.Count() != 66 {
		t.Fatalf("stored %d, want 66", f.Count())
	}
	// The shipper resends only those: all accepted now.
	res, err = send(t, s, again)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Accepted] != len(again) {
		t.Fatalf("resend: %v", c)
	}
	if f.Count() != 100 {
		t.Fatalf("stored %d, want 100", f.Count())
	}
	st := s.Stats()
	if st.Retries != 34 || st.Accepted != 100 {
		t.Errorf("stats %+v", st)
	}
}

func offsetOf(src []byte) int64 {
	var d struct {
		Log struct{ Offset int64 } `json:"log"`
	}
	_ = json.Unmarshal(src, &d)
	return d.Log.Offset
}

// A pipeline that does not exist (misspelt, or an index's default_pipeline
// gone): Elasticsearch refuses each document in its item. The cause is the
// configuration, as for a whole request's 400: the records are kept and
// retried, none rejected. Each was dead-lettered, then discarded once the
// file was full, the sink healthy (sinks25 P3).
func TestItemsRefusedForAMissingPipelineAreKept(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}, Pipeline: "sidetrail-pipline"})
	f.SetItemFault(func(it esfake.Item) esfake.ItemError {
		return esfake.ItemError{Status: http.StatusBadRequest, Type: "illegal_argument_exception",
			Reason: "pipeline with id [sidetrail-pipline] does not exist"}
	})
	res, err := send(t, s, testRecords(10))
	if err == nil || sidetrail.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err %v: want a retryable one naming the pipeline", err)
	}
	for i, r := range res {
		if r.Status != sidetrail.Unsent {
			t.Errorf("record %d: %v %q, want unsent", i, r.Status, r.Reason)
		}
	}
	if st := s.Stats(); st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
	f.SetItemFault(nil) // the pipeline made
	if res, err := send(t, s, testRecords(10)); err != nil || countStatus(res)[sidetrail.Accepted] != 10 {
		t.Fatalf("after the pipeline was made: %v %v", err, countStatus(res))
	}
}

func TestItemMappingError(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	recs := testRecords(10)
	f.SetItemFault(esfake.MappingError(func(it esfake.Item) bool {
		return bytes.Contains(it.Source, []byte(`/item/3 `))
	}))
	res, err := send(t, s, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if i == 3 {
			if r.Status != sidetrail.Rejected || !strings.HasPrefix(r.Reason, "mapper_parsing_exception: failed to parse field [http.response.status_code]") {
				t.Errorf("record 3: %v %q", r.Status, r.Reason)
			}
			continue
		}
		if r.Status != sidetrail.Accepted {
			t.Errorf("record %d: %v %q", i, r.Status, r.Reason)
		}
	}
	if s.Stats().Rejected != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

// An item's 408 (its shard timed out) is retried like its 429 or 5xx; an
// item's 403 (a role that may not write that index) concerns that record
// and dead-letters it.
func TestItemStatusClasses(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	f.SetItemFault(func(it esfake.Item) esfake.ItemError {
		switch {
		case bytes.Contains(it.Source, []byte(`/item/1 `)):
			return esfake.ItemError{Status: http.StatusRequestTimeout, Type: "timeout_exception", Reason: "timed out"}
		case bytes.Contains(it.Source, []byte(`/item/2 `)):
			return esfake.ItemError{Status: http.StatusForbidden, Type: "security_exception", Reason: "action [indices:data/write/bulk[s]] is unauthorized"}
		}
		return esfake.ItemError{}
	})
	res, err := send(t, s, testRecords(3))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != sidetrail.Accepted || res[1].Status != sidetrail.Retry || res[2].Status != sidetrail.Rejected {
		t.Fatalf("results %+v", res)
	}
}

func TestReplayAnswers409Duplicate(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	recs := testRecords(20)
	if _, err := send(t, s, recs); err != nil {
		t.Fatal(err)
	}
	// A replay from a restarted agent (new sink), as after kill -9.
	s2 := newSink(t, Config{URLs: []string{f.URL()}})
	res, err := send(t, s2, recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Duplicate] != 20 {
		t.Fatalf("replay results %v", c)
	}
	for i := range recs {
		if n := f.CountID(idOf(&recs[i])); n != 1 {
			t.Fatalf("record %d stored %d times", i, n)
		}
	}
	if s2.Stats().Duplicates != 20 {
		t.Errorf("stats %+v", s2.Stats())
	}
}

func TestSplitOn413(t *testing.T) {
	f := esfake.Start(t)
	var logs syncbuf.Buffer
	s, err := New(Config{URLs: []string{f.URL()}}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := testRecords(100)
	rq := s.getRequest()
	s.encode(rq, recs)
	f.SetMaxBodyBytes(len(rq.body) / 5)
	res, err := send(t, s, recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Accepted] != 100 {
		t.Fatalf("results %v", c)
	}
	if f.Count() != 100 {
		t.Fatalf("stored %d", f.Count())
	}
	if st := s.Stats(); st.Splits < 4 || st.Status413 < 4 {
		t.Errorf("stats %+v", st)
	}
	// The splits are said, once a minute at most.
	if n := strings.Count(logs.String(), "413 request entity too large"); n != 1 {
		t.Errorf("%d warnings about 413, want 1:\n%s", n, logs.String())
	}

	// One record too large even alone is rejected; its neighbours go.
	more := testRecords(8)
	for i := range more {
		more[i].FileKey = 2
	}
	more[5].Message = bytes.Repeat([]byte("x"), len(rq.body)/4)
	res, err = send(t, s, more)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		want := sidetrail.Accepted
		if i == 5 {
			want = sidetrail.Rejected
		}
		if r.Status != want {
			t.Errorf("record %d: %v %q", i, r.Status, r.Reason)
		}
	}
	if !strings.Contains(res[5].Reason, "413") {
		t.Errorf("reason %q", res[5].Reason)
	}
}

func TestWholeRequest503Storm(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	recs := testRecords(10)
	f.FailNext(3, esfake.Fault{Status: 503})
	for i := 0; i < 3; i++ {
		res, err := send(t, s, recs)
		if err == nil || sidetrail.IsPermanent(err) {
			t.Fatalf("attempt %d: err %v", i, err)
		}
		if _, ok := sidetrail.RetryAfter(err); ok {
			t.Errorf("RetryAfter without a header: %v", err)
		}
		if c := countStatus(res); c[sidetrail.Unsent] != 10 {
			t.Fatalf("attempt %d marked records: %v", i, c)
		}
	}
	if f.Count() != 0 {
		t.Fatal("stored during the storm")
	}
	res, err := send(t, s, recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Accepted] != 10 {
		t.Fatalf("after the storm: %v", c)
	}
	if s.Stats().Status5xx != 3 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestWholeRequest429RetryAfter(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	f.FailNext(1, esfake.Fault{Status: 429, RetryAfter: "7"})
	res, err := send(t, s, testRecords(3))
	if d, ok := sidetrail.RetryAfter(err); !ok || d != 7*time.Second {
		t.Fatalf("err %v: retry after %v %v", err, d, ok)
	}
	if sidetrail.IsPermanent(err) || countStatus(res)[sidetrail.Unsent] != 3 {
		t.Fatalf("err %v results %v", err, countStatus(res))
	}
	f.FailNext(1, esfake.Fault{Status: 503, RetryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)})
	_, err = send(t, s, testRecords(3))
	if d, ok := sidetrail.RetryAfter(err); !ok || d < 58*time.Minute || d > time.Hour {
		t.Fatalf("http-date Retry-After: %v %v (%v)", d, ok, err)
	}
}

func TestConnectionResetMidResponse(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	recs := testRecords(10)
	f.FailNext(1, esfake.Fault{ResetMidResponse: true})
	res, err := send(t, s, recs)
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if c := countStatus(res); c[sidetrail.Unsent] != 10 {
		t.Fatalf("marked %v", c)
	}
	// The request took effect: the resend answers 409 for every record and
	// nothing is stored twice.
	res, err = send(t, s, recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Duplicate] != 10 {
		t.Fatalf("resend %v", c)
	}
	for i := range recs {
		if f.CountID(idOf(&recs[i])) != 1 {
			t.Fatalf("record %d stored %d times", i, f.CountID(idOf(&recs[i])))
		}
	}
	// A connection dropped without any answer.
	f.FailNext(1, esfake.Fault{Drop: true})
	if _, err := send(t, s, testRecords(2)); err == nil {
		t.Fatal("dropped connection: nil error")
	}
}

func TestResponseSlowerThanTimeout(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}, Timeout: 100 * time.Millisecond})
	f.SetLatency(time.Minute) // the fake answers when the client goes away
	res, err := send(t, s, testRecords(5))
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err %v: want a timeout wrapping context.DeadlineExceeded", err)
	}
	if c := countStatus(res); c[sidetrail.Unsent] != 5 {
		t.Fatalf("marked %v", c)
	}
	if s.Stats().RequestErrors != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestAuthFailureRetryableLoggedOnce(t *testing.T) {
	f := esfake.Start(t)
	var logs syncbuf.Buffer
	s, err := New(Config{URLs: []string{f.URL()}, APIKey: "a2V5"}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.FailNext(2, esfake.Fault{Status: 401, Body: `{"error":{"type":"security_exception","reason":"unable to authenticate with provided credentials"},"status":401}`})
	f.FailNext(1, esfake.Fault{Status: 403})
	for i := 0; i < 3; i++ {
		res, err := send(t, s, testRecords(2))
		if err == nil || sidetrail.IsPermanent(err) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if i == 0 && !strings.Contains(err.Error(), "security_exception: unable to authenticate") {
			t.Errorf("err %v", err)
		}
		if countStatus(res)[sidetrail.Unsent] != 2 {
			t.Fatal("records marked on 401")
		}
	}
	if n := strings.Count(logs.String(), "authentication failed"); n != 1 {
		t.Errorf("logged %d times (want 1, rate-limited):\n%s", n, logs.String())
	}
	if s.Stats().AuthFailures != 3 {
		t.Errorf("stats %+v", s.Stats())
	}
	if got := f.Requests()[0].Header.Get("Authorization"); got != "ApiKey a2V5" {
		t.Errorf("Authorization %q", got)
	}
}

// A whole request refused with 400 is a configuration problem (an ingest
// pipeline or parameter Elasticsearch does not know, a proxy's page), not
// bad data: retried with an error logged, never dead-lettered. Before, the
// batch was dead-lettered, and so was every later one, with the sink
// reported healthy.
func TestWholeRequest400Retried(t *testing.T) {
	f := esfake.Start(t)
	var logs syncbuf.Buffer
	s, err := New(Config{URLs: []string{f.URL()}}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, body := range []string{
		`{"error":{"type":"illegal_argument_exception","reason":"pipeline with id [x] does not exist"},"status":400}`,
		"<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head></html>",
	} {
		// Every request: the two records, then each alone (the search
		// for a record the endpoint refuses, below).
		f.FailNext(3, esfake.Fault{Status: 400, Body: body})
		res, err := send(t, s, testRecords(2))
		if err == nil || sidetrail.IsPermanent(err) {
			t.Fatalf("err %v: want a retryable error", err)
		}
		if countStatus(res)[sidetrail.Unsent] != 2 {
			t.Fatalf("records marked %v", res)
		}
		if res, err = send(t, s, testRecords(2)); err != nil || countStatus(res)[sidetrail.Accepted]+countStatus(res)[sidetrail.Duplicate] != 2 {
			t.Fatalf("after the fault: %v %v", err, res)
		}
	}
	if !strings.Contains(logs.String(), "does not exist") || strings.Count(logs.String(), "refused the whole request") != 1 {
		t.Errorf("want one error naming the reason (rate-limited), got:\n%s", logs.String())
	}
}

// VictoriaLogs refuses a whole bulk request for one record (a line over its
// -insert.maxLineSizeBytes, 256 KiB by default) with a 400. Retried as a
// configuration error, that record stopped the sink for good, and
// VictoriaLogs stored the records before it again on every retry (edge9
// probe). The sink looks for it by halves: refused alone while the others
// are taken, it is rejected (dead-lettered); the rest is delivered.
func TestWholeRequest400ForOneRecord(t *testing.T) {
	var mu sync.Mutex
	var requests []int // records per request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte("\n")) / 2
		mu.Lock()
		requests = append(requests, n)
		mu.Unlock()
		if bytes.Contains(body, []byte("POISON")) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"type":"bad_request","reason":"cannot decode log message #1: line too long"},"status":400}`)
			return
		}
		writeAllCreated(w, n)
	}))
	defer srv.Close()
	s, err := New(Config{URLs: []string{srv.URL}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, poison := range []int{0, 5, 15} {
		requests = requests[:0]
		recs := testRecords(16)
		recs[poison].Message = []byte("POISON " + strings.Repeat("x", 100))
		before := s.Stats()
		res, err := send(t, s, recs)
		if err != nil {
			t.Fatalf("poison at %d: %v", poison, err)
		}
		// The refusals answered by halves are counted, and the records
		// sent again (16, 8, 4 and 2 of them): the shipper sees one
		// successful Send (ops12 F5).
		// A record refused alone before any was taken (at the head) is
		// sent once more after one was: it might have been the endpoint
		// (sinks13 F1).
		wantResent := uint64(30)
		if poison == 0 {
			wantResent++
		}
		if st := s.Stats(); st.Halved-before.Halved != 4 || st.Resent-before.Resent != wantResent {
			t.Errorf("poison at %d: halved %d, resent %d; want 4 and %d", poison, st.Halved-before.Halved, st.Resent-before.Resent, wantResent)
		}
		for i, r := range res {
			want := sidetrail.Accepted
			if i == poison {
				want = sidetrail.Rejected
			}
			if r.Status != want {
				t.Errorf("poison at %d: record %d %v, want %v", poison, i, r, want)
			}
		}
		if !strings.Contains(res[poison].Reason, "line too long") {
			t.Errorf("reason %q", res[poison].Reason)
		}
		if len(requests) > 2*5+2 {
			t.Errorf("poison at %d: %d requests %v", poison, len(requests), requests)
		}
	}
	// Records refused alone and none taken: the configuration's (a
	// pipeline Elasticsearch does not know refuses every record), kept.
	recs := testRecords(2)
	recs[0].Message, recs[1].Message = []byte("POISON a"), []byte("POISON b")
	res, err := send(t, s, recs)
	if err == nil || countStatus(res)[sidetrail.Unsent] != 2 {
		t.Fatalf("all refused: %v %v", err, res)
	}
	// Three oversize records at a batch's head: found, the rest taken.
	recs = testRecords(8)
	for i := range 3 {
		recs[i].Message = []byte("POISON " + strings.Repeat("x", 100))
	}
	if res, err = send(t, s, recs); err != nil || countStatus(res)[sidetrail.Rejected] != 3 || countStatus(res)[sidetrail.Accepted] != 5 {
		t.Fatalf("three at the head: %v %v", err, res)
	}
	// One oversize record alone in its batch (a quiet file): nothing else
	// to take, but it is large and the endpoint takes requests: rejected.
	// A small one so refused is kept (the configuration may be the cause).
	recs = testRecords(1)
	recs[0].Message = []byte("POISON " + strings.Repeat("x", 300<<10))
	if res, err = send(t, s, recs); err != nil || res[0].Status != sidetrail.Rejected {
		t.Fatalf("oversize alone: %v %v", err, res)
	}
	recs[0].Message = []byte("POISON small")
	if res, err = send(t, s, recs); err == nil || res[0].Status != sidetrail.Unsent {
		t.Fatalf("small alone: %v %v", err, res)
	}

	// Right after a start, before the endpoint took any request: an
	// oversize record alone in its batch is rejected too. Kept, such
	// records filled every request in flight, so no request could be
	// taken, and the sink stalled for good (sinks11: 0 of 200 lines in
	// 60 s behind two 300 KB lines).
	fresh, err := New(Config{URLs: []string{srv.URL}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	recs = testRecords(1)
	recs[0].Message = []byte("POISON " + strings.Repeat("x", 300<<10))
	if res, err = send(t, fresh, recs); err != nil || res[0].Status != sidetrail.Rejected {
		t.Fatalf("oversize alone at start: %v %v", err, res)
	}
}

func TestBadResponses(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"garbage", `<html>proxy error</html>`},
		{"too_few_items", `{"errors":false,"items":[{"create":{"status":201}}]}`},
		{"too_many_items", `{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}},{"create":{"status":201}}]}`},
		{"no_status", `{"errors":false,"items":[{"create":{"status":201}},{"create":{}}]}`},
		{"no_op", `{"errors":false,"items":[{"create":{"status":201}},{}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			s := newSink(t, Config{URLs: []string{srv.URL}})
			res, err := send(t, s, testRecords(2))
			if err == nil || sidetrail.IsPermanent(err) {
				t.Fatalf("err %v", err)
			}
			if countStatus(res)[sidetrail.Unsent] != 2 {
				t.Fatalf("records marked: %v", res)
			}
			if s.Stats().BadResponses != 1 {
				t.Errorf("stats %+v", s.Stats())
			}
			s.Close()
		})
	}
}

// An endless 200 body is read only up to a bound that follows the batch's
// size, then retried as a bad response: at 256 MiB per request in flight a
// probe's agent reached 4 GB.
func TestEndlessResponseBounded(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Write([]byte(`{"errors":false,"items":[`))
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for n := 0; n < 64<<20; n += len(chunk) { // 64 MiB, or until the client stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
			served.Add(int64(len(chunk)))
		}
	}))
	defer srv.Close()
	s := newSink(t, Config{URLs: []string{srv.URL}, Timeout: 30 * time.Second})
	res, err := send(t, s, testRecords(10))
	if err == nil || sidetrail.IsPermanent(err) || countStatus(res)[sidetrail.Unsent] != 10 {
		t.Fatalf("err %v, results %v", err, countStatus(res))
	}
	if limit := responseLimit(10); served.Load() > 16<<20 { // the bound, and what the sockets hold
		t.Errorf("the server wrote %d bytes before the sink gave up; the bound is %d", served.Load(), limit)
	}
}

func TestFailoverToNextURL(t *testing.T) {
	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()

	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{dead, f.URL()}})
	for i := 0; i < 3; i++ {
		recs := testRecords(5)
		for j := range recs {
			recs[j].FileKey = uint64(i)
		}
		res, err := send(t, s, recs)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if c := countStatus(res); c[sidetrail.Accepted] != 5 {
			t.Fatalf("send %d: %v", i, c)
		}
	}

	// A node answering 503 fails over too.
	f2 := esfake.Start(t)
	f2.FailNext(1, esfake.Fault{Status: 503})
	s2 := newSink(t, Config{URLs: []string{f2.URL(), f.URL()}})
	res, err := send(t, s2, testRecords(3))
	if err != nil {
		t.Fatal(err)
	}
	if c := countStatus(res); c[sidetrail.Accepted]+c[sidetrail.Duplicate] != 3 {
		t.Fatalf("%v", c)
	}
}

func TestECSFieldNames(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}, ECS: true, Index: "nginx-%Y.%m.%d-%H"})
	recs := testRecords(1)
	if _, err := send(t, s, recs); err != nil {
		t.Fatal(err)
	}
	d, ok := f.Doc("nginx-2025.03.14-15", idOf(&recs[0]))
	if !ok {
		t.Fatalf("no doc; have %v", f.Docs())
	}
	var doc map[string]any
	if err := json.Unmarshal(d.Source, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = doc
		for _, p := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		return v
	}
	for path, want := range map[string]any{
		"client.ip": "10.0.0.0", "http.request.method": "GET", "url.original": "/item/0",
		"http.version": "1.1", "http.response.status_code": 200.0, "http.response.body.bytes": 612.0,
		"user_agent.original": "curl/8.5", "source": "nginx", "log.offset": 0.0,
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %v, want %v (doc %s)", path, got, want, d.Source)
		}
	}
	if _, ok := doc["remote_addr"]; ok {
		t.Errorf("remote_addr kept: %s", d.Source)
	}
	// The caller's record is unchanged.
	if recs[0].Fields[0].Key != "remote_addr" || string(recs[0].Fields[3].Value) != "HTTP/1.1" {
		t.Errorf("record modified: %+v", recs[0].Fields)
	}
}

func TestSendArguments(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	if err := s.Send(t.Context(), testRecords(2), make([]sidetrail.Result, 1)); err == nil {
		t.Error("mismatched results: nil error")
	}
	if len(f.Requests()) != 0 {
		t.Error("requests sent for an empty or invalid call")
	}
}

func TestNoConnectionsAfterClose(t *testing.T) {
	// goleak in TestMain checks no transport goroutine outlives Close; this
	// checks Close is idempotent and Send fails after it.
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL(), f.URL()}})
	if _, err := send(t, s, testRecords(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, s, testRecords(1)); !errors.Is(err, sidetrail.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// TestRotatedPasswordFile: after a 401 the sink re-reads its credential
// file, so a rotated Secret works without a restart.
func TestRotatedPasswordFile(t *testing.T) {
	f := esfake.Start(t)
	pwFile := writeFile(t, "pw", "old\n")
	f.RequireAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("elastic:rotated")))
	s := newSink(t, Config{URLs: []string{f.URL()}, Username: "elastic", PasswordFile: pwFile})
	recs := testRecords(3)
	res, err := send(t, s, recs)
	if err == nil || sidetrail.IsPermanent(err) || countStatus(res)[sidetrail.Unsent] != 3 {
		t.Fatalf("wrong password: %v %v", err, countStatus(res))
	}
	if err := os.WriteFile(pwFile, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = send(t, s, recs)
	if err != nil || countStatus(res)[sidetrail.Accepted] != 3 {
		t.Fatalf("after rotation: %v %v", err, countStatus(res))
	}
	if s.Stats().AuthFailures != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

// A credential file emptied while the sink runs (a Secret caught half-way
// through its rotation) keeps the credential the sink has: it sent an
// empty one and got 401s until the file was filled (sinks15 N2).
func TestEmptiedCredentialFileKeepsTheCredential(t *testing.T) {
	f := esfake.Start(t)
	keyFile := writeFile(t, "key", "k1\n")
	f.RequireAuth("ApiKey k1")
	s := newSink(t, Config{URLs: []string{f.URL()}, APIKeyFile: keyFile})
	recs := testRecords(3)
	if res, err := send(t, s, recs); err != nil || countStatus(res)[sidetrail.Accepted] != 3 {
		t.Fatalf("first send: %v %v", err, countStatus(res))
	}
	for _, content := range []string{"", "\n", "k2\nk3\n"} {
		if err := os.WriteFile(keyFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		// The same records again: the backend answers 409, delivered.
		if res, err := send(t, s, recs); err != nil || countStatus(res)[sidetrail.Unsent] != 0 {
			t.Fatalf("file holding %q: %v %v", content, err, countStatus(res))
		}
	}
	if s.Stats().AuthFailures != 0 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestAuthHeaders(t *testing.T) {
	tok := writeFile(t, "tok", "t0k\n")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{Username: "u", Password: "p"}, "Basic dTpw"},
		{Config{APIKey: "k"}, "ApiKey k"},
		{Config{BearerTokenFile: tok}, "Bearer t0k"},
	} {
		f := esfake.Start(t)
		tc.cfg.URLs = []string{f.URL()}
		s := newSink(t, tc.cfg)
		if _, err := send(t, s, testRecords(1)); err != nil {
			t.Fatal(err)
		}
		if got := f.Requests()[0].Header.Get("Authorization"); got != tc.want {
			t.Errorf("%+v: Authorization %q, want %q", tc.cfg, got, tc.want)
		}
		s.Close()
	}
}

// A whole-request 404 is a wrong URL, not bad data: retried, never
// dead-lettered.
func TestWholeRequest404Retried(t *testing.T) {
	f := esfake.Start(t)
	s := newSink(t, Config{URLs: []string{f.URL()}})
	f.FailNext(1, esfake.Fault{Status: 404, Body: `404 page not found`})
	res, err := send(t, s, testRecords(2))
	if err == nil || sidetrail.IsPermanent(err) {
		t.Fatalf("err %v: want a retryable error", err)
	}
	if countStatus(res)[sidetrail.Unsent] != 2 {
		t.Fatal("records marked")
	}
	if res, err = send(t, s, testRecords(2)); err != nil || countStatus(res)[sidetrail.Accepted] != 2 {
		t.Fatalf("after the fault: %v %v", err, res)
	}
}

// A backend (or proxy) that answers the items out of order: matched by
// _id, a failed record is never taken for a delivered one. An item that
// names no action of the request is read at its place while no other is
// out of order (an ingest pipeline set its _id: regress23 P4); beside one
// out of order it makes the response bad (all retried).
func TestItemsOutOfOrderMatchedByID(t *testing.T) {
	recs := testRecords(5)
	item := func(i, status int) string {
		s := fmt.Sprintf(`{"create":{"_index":"i","_id":%q,"status":%d`, idOf(&recs[i]), status)
		if status != 201 {
			s += `,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}`
		}
		return s + "}}"
	}
	for _, tc := range []struct {
		name  string
		items []string
		bad   bool
	}{
		{"reversed, record 1 refused", []string{item(4, 201), item(3, 201), item(2, 201), item(1, 429), item(0, 201)}, false},
		{"in order", []string{item(0, 201), item(1, 429), item(2, 201), item(3, 201), item(4, 201)}, false},
		{"an unknown _id in order", []string{item(0, 201), item(1, 429), item(2, 201), item(3, 201), `{"create":{"_id":"nope","status":201}}`}, false},
		{"an unknown _id beside one out of order", []string{item(0, 201), item(2, 201), item(1, 429), item(3, 201), `{"create":{"_id":"nope","status":201}}`}, true},
		{"one _id twice", []string{item(0, 201), item(0, 201), item(2, 201), item(3, 201), item(1, 429)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				fmt.Fprintf(w, `{"took":1,"errors":true,"items":[%s]}`, strings.Join(tc.items, ","))
			}))
			defer srv.Close()
			s := newSink(t, Config{URLs: []string{srv.URL}})
			defer s.Close()
			res, err := send(t, s, recs)
			if tc.bad {
				if err == nil || countStatus(res)[sidetrail.Unsent] != len(recs) {
					t.Fatalf("err %v, results %v", err, res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				want := sidetrail.Accepted
				if i == 1 {
					want = sidetrail.Retry
				}
				if r.Status != want {
					t.Errorf("record %d: %v, want %v (all %v)", i, r.Status, want, res)
				}
			}
		})
	}
}

// A backend that does not call itself Elasticsearch (OpenSearch, a proxy
// that drops the X-Elastic-Product header) gets its answers read: the
// client's product check used to fail every accepted request, so each
// batch was sent again forever.
func TestBackendWithoutProductHeader(t *testing.T) {
	var requests int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		requests++
		mu.Unlock()
		n := bytes.Count(body, []byte("\n")) / 2
		items := make([]string, n)
		for i := range items {
			items[i] = `{"create":{"status":201}}`
		}
		fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
	}))
	defer srv.Close()
	s := newSink(t, Config{URLs: []string{srv.URL}})
	defer s.Close()
	for range 2 {
		res, err := send(t, s, testRecords(3))
		if err != nil || countStatus(res)[sidetrail.Accepted] != 3 {
			t.Fatalf("err %v, results %v", err, res)
		}
	}
	if requests != 2 {
		t.Fatalf("%d requests for two batches", requests)
	}
}

// ECS renaming never writes one key twice: a field whose ECS name meets
// another field's keeps its own (the parser probe: a JSON line's "client"
// string beside remote_addr's client.ip, a static "user" beside
// remote_user's user.name; Elasticsearch rejects both documents). And an
// nginx_error record's client is client.ip, as in the access log's
// records of the same index.
func TestECSNeverWritesAKeyTwice(t *testing.T) {
	rec := func(kv ...string) []sidetrail.Field {
		var r sidetrail.Record
		for i := 0; i+1 < len(kv); i += 2 {
			r.Add(kv[i], sidetrail.KindString, []byte(kv[i+1]))
		}
		return r.Fields
	}
	keys := func(fs []sidetrail.Field) string {
		var k []string
		for _, f := range fs {
			k = append(k, f.Key)
		}
		return strings.Join(k, ",")
	}
	for _, tc := range []struct {
		in   []sidetrail.Field
		want string
	}{
		{rec("client", "abc", "remote_addr", "1.2.3.4", "user", "u1", "remote_user", "bob"), "client,remote_addr,user,remote_user"},
		{rec("remote_user", "alice", "user", "static-user", "status", "200"), "remote_user,user,http.response.status_code"},
		{rec("level", "error", "error_message", "x", "client", "1.2.3.4", "server", "s", "host", "h", "referrer", "r"),
			"log.level,error.message,client.ip,server.domain,url.domain,http.request.referrer"},
		{rec("remote_addr", "1.2.3.4", "request_protocol", "HTTP/1.1"), "client.ip,http.version"},
		// user23 P1: an ECS logger's own objects keep their names (they
		// were moved under the leaf: client.ip.ip, server.domain.address).
		{[]sidetrail.Field{{Key: "client", Kind: sidetrail.KindJSON, Value: []byte(`{"ip":"10.1.2.3"}`)},
			{Key: "server", Kind: sidetrail.KindJSON, Value: []byte(`{"address":"api.internal"}`)},
			{Key: "host", Kind: sidetrail.KindJSON, Value: []byte(`{"name":"web-1"}`)},
			{Key: "level", Kind: sidetrail.KindString, Value: []byte("info")}}, "client,server,host,log.level"},
	} {
		got := appendECSFields(nil, tc.in)
		if k := keys(got); k != tc.want {
			t.Errorf("%s: got %s, want %s", keys(tc.in), k, tc.want)
		}
		var enc sidetrail.JSONEncoder
		doc := enc.Append(nil, &sidetrail.Record{Fields: got})
		if !json.Valid(doc) {
			t.Fatalf("invalid JSON %s", doc)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(doc))
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"client":`, `"user":`} {
			if strings.Count(string(doc), k) > 1 {
				t.Errorf("%s twice in %s", k, doc)
			}
		}
	}
}

// Credentials written into a URL stay out of the log lines that name the
// URLs (the redact2 probe saw esuser:ESPASS_URL on stderr).
func TestLoggedURLsHidePasswords(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	var logs syncbuf.Buffer
	u := strings.Replace(srv.URL, "http://", "http://esuser:ESPASS_URL@", 1)
	s, err := New(Config{URLs: []string{u}, TLS: TLSConfig{InsecureSkipVerify: true}}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	send(t, s, testRecords(1))
	if !strings.Contains(logs.String(), "authentication failed") || strings.Contains(logs.String(), "ESPASS_URL") {
		t.Fatalf("log:\n%s", logs.String())
	}
	if err := checkURL("http://u:SECRETPW@h:9200/?api_key=SECRETKEY"); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error %v", err)
	}
}

// An endpoint that refuses whole requests (400) for a while, and is fixed
// while a batch is searched by halves, refused records alone before it took
// any: those were dead-lettered as bad records once a later half was taken
// (sinks13 F1: 1 to 4 good records, every time the fix came then). Each is
// sent once more, and taken.
func TestEndpointFixedWhileHalving(t *testing.T) {
	for _, k := range []int{7, 9, 11} {
		var mu sync.Mutex
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			n := bytes.Count(body, []byte("\n")) / 2
			mu.Lock()
			calls++
			refuse := calls <= k
			mu.Unlock()
			if refuse {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":{"type":"illegal_argument_exception","reason":"pipeline with id [x] does not exist"},"status":400}`)
				return
			}
			writeAllCreated(w, n)
		}))
		s, err := New(Config{URLs: []string{srv.URL}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := send(t, s, testRecords(16))
		if err != nil {
			t.Errorf("k=%d: %v", k, err)
		}
		if c := countStatus(res); c[sidetrail.Rejected] != 0 || c[sidetrail.Accepted] != 16 {
			t.Errorf("fixed after %d requests: %v", k, c)
		}
		s.Close()
		srv.Close()
	}
}

// writeAllCreated answers a bulk request of n records: every one created.
func writeAllCreated(w io.Writer, n int) {
	var b strings.Builder
	b.WriteString(`{"errors":false,"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"create":{"status":201}}`)
	}
	b.WriteString("]}")
	io.WriteString(w, b.String())
}
