package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// cutStrings keeps a JSON text JSON, each string whole up to its limit and
// a prefix of itself after it (then "..."), however the text comes in
// pieces, whatever the strings hold: escapes, quotes, backslashes and
// characters of every UTF-8 length at the cut.
func TestCutStringsKeepsJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", `"`, `\`, "\n", "\x01", "é", "€", "𝄞", "/", " ", "'"}
	for round := 0; round < 300; round++ {
		var vals []string
		for i := rng.IntN(6); i >= 0; i-- {
			var b strings.Builder
			n := rng.IntN(3 * maxAnswerString)
			if rng.IntN(3) == 0 {
				n = rng.IntN(40)
			}
			for b.Len() < n {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			vals = append(vals, b.String())
		}
		in, _ := json.Marshal(map[string]any{"errors": true, "items": vals, "took": 3})
		var out bytes.Buffer
		c := &cutStrings{dst: &out}
		for rest := in; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(700))
			c.Write(rest[:k])
			rest = rest[k:]
		}
		var got struct {
			Errors bool
			Items  []string
			Took   int
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("round %d: not JSON: %v\n%.300q", round, err, out.Bytes())
		}
		if !got.Errors || got.Took != 3 || len(got.Items) != len(vals) {
			t.Fatalf("round %d: %+v", round, got)
		}
		for i, v := range vals {
			g := got.Items[i]
			enc, _ := json.Marshal(v)
			if len(enc)-2 <= maxAnswerString {
				if g != v {
					t.Fatalf("round %d item %d: %q, want it whole", round, i, g)
				}
				continue
			}
			if !strings.HasSuffix(g, "...") {
				t.Fatalf("round %d item %d: %d bytes kept of %d, no \"...\"", round, i, len(g), len(v))
			}
			if g != v && (!strings.HasSuffix(g, "...") || !strings.HasPrefix(v, strings.TrimSuffix(g, "..."))) {
				t.Fatalf("round %d item %d: %q is not a prefix of the value", round, i, g)
			}
		}
		if out.Len() > 16*maxAnswerString+len(`{"errors":true,"items":[],"took":3}`)+64 {
			t.Fatalf("round %d: %d bytes kept", round, out.Len())
		}
	}
}

// BenchmarkCutStrings reads a bulk answer of 1,500 created items as the
// sink does, against a plain copy.
func BenchmarkCutStrings(b *testing.B) {
	var ans bytes.Buffer
	ans.WriteString(`{"errors":false,"took":12,"items":[`)
	for i := range 1500 {
		if i > 0 {
			ans.WriteByte(',')
		}
		fmt.Fprintf(&ans, `{"create":{"_index":"logs-sidetrail-2026.11.28","_id":"a1b2c3d4e5f6a7b8-%d","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":%d,"_primary_term":1,"status":201}}`, i, i)
	}
	ans.WriteString(`]}`)
	body := ans.Bytes()
	var dst bytes.Buffer
	b.Run("cut", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			dst.Reset()
			c := cutStrings{dst: &dst}
			for p := body; len(p) > 0; p = p[min(len(p), 32<<10):] {
				c.Write(p[:min(len(p), 32<<10)])
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			dst.Reset()
			dst.Write(body)
		}
	})
}

// A refused item's reason that quotes the refused value whole (as
// Elasticsearch 8.2 and later write "Preview of field's value") made the
// answer to records of 600 KB, or to many of 40 KB, longer than the sink
// reads: it was cut, read as a bad answer and retried whole without end
// (sinks23 P3). The long strings are now cut as the answer comes, and each
// record is dead-lettered with the start of its reason.
func TestAnswerQuotingRefusedValuesWhole(t *testing.T) {
	for _, c := range []struct{ size, n int }{{600_000, 2}, {40_000, 100}, {1000, 100}} {
		t.Run(fmt.Sprintf("%dx%d", c.n, c.size), func(t *testing.T) {
			srv := bulkAnswers(t, func(_ int, _, doc []byte) string {
				var d struct{ Message string }
				json.Unmarshal(doc, &d)
				reason, _ := json.Marshal("failed to parse field [message] of type [long] in document. Preview of field's value: '" + d.Message + "'")
				return fmt.Sprintf(`{"create":{"_index":"x","status":400,"error":{"type":"document_parsing_exception","reason":%s}}}`, reason)
			})
			s := newSink(t, Config{URLs: []string{srv.URL}})
			recs := testRecords(c.n)
			for i := range recs {
				recs[i].Message = append(bytes.Repeat([]byte{'\x01'}, 3), bytes.Repeat([]byte("é"), c.size/2)...)
			}
			res, err := send(t, s, recs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Status != sidetrail.Rejected || !strings.HasPrefix(r.Reason, "document_parsing_exception: failed to parse field [message]") || len(r.Reason) > 3*maxAnswerString {
					t.Fatalf("record %d: %v, %d bytes of reason %.120q", i, r.Status, len(r.Reason), r.Reason)
				}
			}
		})
	}
}

// An ingest pipeline that sets _ids (a fingerprint for deduplication)
// answers with _ids the request does not have, for every document or
// some (a document that failed in the pipeline keeps its own): the items
// are taken in order, as Elasticsearch answers them. Matched by _id, every
// batch failed and was sent again without end (sinks23 P6, regress23 P4).
// An answer that also names another action's _id (out of order) is still
// refused: nothing tells which item is whose.
func TestPipelineSetIDsTakenInOrder(t *testing.T) {
	for _, shape := range []string{"all foreign", "mixed", "reordered"} {
		mixed := shape != "all foreign"
		t.Run(shape, func(t *testing.T) {
			var prevID string
			srv := bulkAnswers(t, func(i int, action, _ []byte) string {
				var a struct {
					Create struct {
						ID string `json:"_id"`
					}
				}
				json.Unmarshal(action, &a)
				id := fmt.Sprintf("fp-%x", i*7919)
				if mixed && i == 0 {
					id = a.Create.ID
				}
				if shape == "reordered" && i == 1 {
					id = prevID // the first action's
				}
				prevID = a.Create.ID
				if i == 3 {
					return fmt.Sprintf(`{"create":{"_index":"x","_id":%q,"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}`, id)
				}
				return fmt.Sprintf(`{"create":{"_index":"x","_id":%q,"result":"created","status":201}}`, id)
			})
			s := newSink(t, Config{URLs: []string{srv.URL}})
			res, err := send(t, s, testRecords(10))
			if shape == "reordered" {
				if err == nil || sidetrail.IsPermanent(err) || countStatus(res)[sidetrail.Unsent] != 10 {
					t.Fatalf("err %v, results %v: want every record kept", err, countStatus(res))
				}
				return
			}
			if err != nil && !sidetrail.IsPermanent(err) {
				t.Fatal(err)
			}
			for i, r := range res {
				if want := map[bool]sidetrail.Status{true: sidetrail.Rejected, false: sidetrail.Accepted}[i == 3]; r.Status != want {
					t.Errorf("record %d: %v %q, want %v", i, r.Status, r.Reason, want)
				}
			}
		})
	}
}

// bulkAnswers starts a server answering each _bulk request's action i (its
// action and document lines) with item(i, action, doc).
func bulkAnswers(t *testing.T, item func(i int, action, doc []byte) string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		var ans bytes.Buffer
		ans.WriteString(`{"errors":true,"took":3,"items":[`)
		for i := 0; i+1 < len(lines); i += 2 {
			if i > 0 {
				ans.WriteByte(',')
			}
			ans.WriteString(item(i/2, lines[i], lines[i+1]))
		}
		ans.WriteString(`]}`)
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Write(ans.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}
