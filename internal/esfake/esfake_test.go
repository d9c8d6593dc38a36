package esfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sidetrail/sidetrail/internal/esfake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type bulkResp struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		ID     string `json:"_id"`
		Status int    `json:"status"`
		Error  struct {
			Type, Reason string
		} `json:"error"`
	} `json:"items"`
}

func post(t *testing.T, c *http.Client, url, body string) (int, bulkResp, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/_bulk", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var br bulkResp
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &br); err != nil {
			t.Fatalf("response %s: %v", b, err)
		}
	}
	return resp.StatusCode, br, resp.Header
}

func statuses(br bulkResp) []int {
	var out []int
	for _, it := range br.Items {
		for _, r := range it {
			out = append(out, r.Status)
		}
	}
	return out
}

func client(t *testing.T) *http.Client {
	c := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

const twoDocs = `{"create":{"_index":"i","_id":"a"}}
{"m":1}
{"create":{"_index":"i","_id":"b"}}
{"m":2}
`

func TestCreateAndConflict(t *testing.T) {
	s := esfake.Start(t)
	c := client(t)
	code, br, h := post(t, c, s.URL(), twoDocs)
	if code != 200 || br.Errors || !slicesEqual(statuses(br), []int{201, 201}) {
		t.Fatalf("first: %d %+v", code, br)
	}
	if h.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Error("missing X-Elastic-Product")
	}
	code, br, _ = post(t, c, s.URL(), twoDocs)
	if code != 200 || !br.Errors || !slicesEqual(statuses(br), []int{409, 409}) {
		t.Fatalf("replay: %d %+v", code, br)
	}
	if s.Count() != 2 || s.CountID("a") != 1 {
		t.Fatalf("count %d, a %d", s.Count(), s.CountID("a"))
	}
	d, ok := s.Doc("i", "b")
	if !ok || string(d.Source) != `{"m":2}` || d.Version != 1 {
		t.Fatalf("doc b: %+v %v", d, ok)
	}
	if n := len(s.Requests()); n != 2 {
		t.Fatalf("%d requests logged", n)
	}
	if st := s.Stats(); st != (esfake.Stats{Requests: 2, Items: 4, Created: 2, Conflicts: 2}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestItemFaults(t *testing.T) {
	s := esfake.Start(t)
	c := client(t)
	s.SetItemFault(func(it esfake.Item) esfake.ItemError {
		if it.ID == "a" && it.Attempt == 1 {
			return esfake.Reject429(func(esfake.Item) bool { return true })(it)
		}
		return esfake.MappingError(func(it esfake.Item) bool { return bytes.Contains(it.Source, []byte(`"m":2`)) })(it)
	})
	_, br, _ := post(t, c, s.URL(), twoDocs)
	if got := statuses(br); !slicesEqual(got, []int{429, 400}) {
		t.Fatalf("statuses %v", got)
	}
	if r := br.Items[1]["create"].Error; r.Type != "mapper_parsing_exception" || r.Reason == "" {
		t.Fatalf("mapping error %+v", r)
	}
	_, br, _ = post(t, c, s.URL(), twoDocs)
	if got := statuses(br); !slicesEqual(got, []int{201, 400}) {
		t.Fatalf("second attempt statuses %v", got)
	}
}

func TestRequestFaults(t *testing.T) {
	s := esfake.Start(t)
	c := client(t)
	s.FailNext(2, esfake.Fault{Status: 503, RetryAfter: "7"})
	for i := 0; i < 2; i++ {
		code, _, h := post(t, c, s.URL(), twoDocs)
		if code != 503 || h.Get("Retry-After") != "7" {
			t.Fatalf("storm %d: %d %q", i, code, h.Get("Retry-After"))
		}
	}
	if s.Count() != 0 {
		t.Fatal("stored during storm")
	}
	s.SetMaxBodyBytes(10)
	if code, _, _ := post(t, c, s.URL(), twoDocs); code != 413 {
		t.Fatalf("want 413, got %d", code)
	}
	s.SetMaxBodyBytes(0)

	s.FailNext(1, esfake.Fault{ResetMidResponse: true})
	req, _ := http.NewRequest("POST", s.URL()+"/_bulk", strings.NewReader(twoDocs))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("reset mid-response: no error")
	}
	if s.Count() != 2 {
		t.Fatalf("reset mid-response stored %d, want 2 (it took effect)", s.Count())
	}

	if code, _, _ := post(t, c, s.URL(), "{\"create\":{\"_index\":\"i\"}}\n{}"); code != 400 {
		t.Fatalf("missing final newline: %d", code)
	}
	if code, _, _ := post(t, c, s.URL(), "{\"create\":{\"_index\":\"i\",\"_id\":\"x\"}}\nnot json\n"); code != 200 {
		t.Fatalf("bad doc: %d", code)
	}
}

func TestStall(t *testing.T) {
	s := esfake.Start(t)
	c := client(t)
	arrived, release := s.Stall()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL()+"/_bulk", strings.NewReader(twoDocs))
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-arrived
	if s.Count() != 0 {
		t.Fatal("stored while stalled")
	}
	release()
	release()
	if code := <-done; code != 200 {
		t.Fatalf("after release: %d", code)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcurrentCreatesOnce: creates of the same _id racing from several
// clients store it once and answer 201 exactly once.
func TestConcurrentCreatesOnce(t *testing.T) {
	s := esfake.Start(t)
	c := client(t)
	const workers, ids = 4, 50
	var body strings.Builder
	for i := 0; i < ids; i++ {
		fmt.Fprintf(&body, "{\"create\":{\"_index\":\"i\",\"_id\":\"id%d\"}}\n{\"n\":%d}\n", i, i)
	}
	created := make(chan int, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.URL()+"/_bulk", strings.NewReader(body.String()))
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				created <- 0
				return
			}
			defer resp.Body.Close()
			var br bulkResp
			if err := json.NewDecoder(resp.Body).Decode(&br); err != nil {
				t.Error(err)
			}
			n := 0
			for _, st := range statuses(br) {
				if st == 201 {
					n++
				}
			}
			created <- n
		}()
	}
	wg.Wait()
	close(created)
	total := 0
	for n := range created {
		total += n
	}
	if total != ids || s.Count() != ids {
		t.Fatalf("201s %d, stored %d, want %d", total, s.Count(), ids)
	}
	if got := len(s.Requests()); got != workers {
		t.Fatalf("%d requests logged", got)
	}
}
