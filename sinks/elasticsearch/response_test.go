package elasticsearch

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
)

const esItemOK = `{"create":{"_index":"i","_id":"00000000feedface0000000000000078","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":5,"_primary_term":1,"status":201}}`

var scanCases = []struct {
	name, body string
	want       []int // nil: an error is expected
}{
	{"es", `{"took":3,"errors":false,"items":[` + esItemOK + `,` + esItemOK + `]}`, []int{201, 201}},
	{"victorialogs", `{"took":0,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}`, []int{201, 201}},
	{"spaces", " {\n \"items\" : [ { \"index\" : { \"status\" : 200 } } ] , \"errors\" : false } \n", []int{200}},
	{"items first", `{"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[x]: version conflict"}}}],"took":1}`, []int{409}},
	{"tricky strings", `{"items":[{"create":{"_id":"a\"}]{[","error":{"type":"t","reason":"r \"}\" ]","caused_by":{"type":"c","reason":"deep \\"}},"status":400}}],"x":"]}"}`, []int{400}},
	{"empty items", `{"items":[]}`, []int{}},
	{"no items", `{"took":1,"errors":false}`, nil},
	{"item without status", `{"items":[{"create":{"_id":"x"}}]}`, nil},
	{"item without op", `{"items":[{}]}`, nil},
	{"item with two ops", `{"items":[{"create":{"status":201},"index":{"status":201}}]}`, nil},
	{"truncated", `{"items":[{"create":{"status":201}}`, nil},
	{"truncated string", `{"items":[{"create":{"_id":"abc`, nil},
	{"trailing data", `{"items":[]} x`, nil},
	{"html", `<html>502 Bad Gateway</html>`, nil},
	{"empty", ``, nil},
	{"negative status", `{"items":[{"create":{"status":-1}}]}`, nil},
	{"float status", `{"items":[{"create":{"status":201.5}}]}`, nil},
}

func TestScanBulk(t *testing.T) {
	for _, tc := range scanCases {
		t.Run(tc.name, func(t *testing.T) {
			items, err := scanBulk(nil, []byte(tc.body))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("no error; items %v", items)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(tc.want) {
				t.Fatalf("%d items, want %d", len(items), len(tc.want))
			}
			for i, it := range items {
				if it.status != tc.want[i] {
					t.Errorf("item %d status %d, want %d", i, it.status, tc.want[i])
				}
			}
		})
	}
}

func TestItemReason(t *testing.T) {
	items, err := scanBulk(nil, []byte(scanCases[4].body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := itemReason(400, items[0].err), `t: r "}" ] (caused by c: deep \)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := itemReason(429, nil); got != "429 Too Many Requests" {
		t.Errorf("got %q", got)
	}
	if got := itemReason(400, []byte(`"plain text"`)); got != "plain text" {
		t.Errorf("got %q", got)
	}
}

// referenceStatuses decodes a bulk answer with encoding/json, exact-case.
func referenceStatuses(body []byte) ([]int, bool) {
	var r struct {
		Items []map[string]map[string]json.RawMessage `json:"items"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nil, false
	}
	var out []int
	for _, it := range r.Items {
		if len(it) != 1 {
			return nil, false
		}
		for _, fields := range it {
			n, err := strconv.Atoi(string(fields["status"]))
			if err != nil {
				return nil, false
			}
			out = append(out, n)
		}
	}
	return out, true
}

// FuzzScanBulk: never panics; whatever it accepts from valid JSON, it reads
// as encoding/json does.
func FuzzScanBulk(f *testing.F) {
	for _, tc := range scanCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := scanBulk(nil, body)
		if err != nil || !json.Valid(body) {
			return
		}
		if !strings.Contains(string(body), `"items"`) {
			t.Fatalf("accepted a body without items: %q", body)
		}
		want, ok := referenceStatuses(body)
		if !ok {
			return // e.g. an "Items" key encoding/json matches case-insensitively
		}
		if len(want) != len(items) {
			t.Fatalf("%q: %d items, encoding/json reads %d", body, len(items), len(want))
		}
		for i := range want {
			if items[i].status != want[i] {
				t.Fatalf("%q: item %d status %d, encoding/json reads %d", body, i, items[i].status, want[i])
			}
		}
	})
}

func BenchmarkParseResponse(b *testing.B) {
	s := newSink(b, Config{URLs: []string{"http://127.0.0.1:9"}})
	recs := testRecords(1000)
	rq := s.getRequest()
	s.encode(rq, recs)
	items := make([]string, len(recs))
	for i := range recs {
		items[i] = strings.Replace(esItemOK, "00000000feedface0000000000000078", string(rq.actionID(i)), 1)
	}
	body := `{"took":3,"errors":false,"items":[` + strings.Join(items, ",") + `]}`
	res := make([]sidetrail.Result, 1000)
	b.ReportAllocs()
	for b.Loop() {
		rq.resp.Reset()
		rq.resp.WriteString(body)
		if err := s.parseItems(rq, res, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}
