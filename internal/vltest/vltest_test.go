package vltest

import (
	"net/http"
	"strings"
	"testing"
)

func TestStartIngestQuery(t *testing.T) {
	s := Start(t)
	body := `{"create":{"_index":"x"}}
{"@timestamp":"2024-01-02T15:04:05Z","message":"hello vltest","source":"t","n":1}
`
	req, _ := http.NewRequest("POST", s.ElasticsearchURL()+"/_bulk?_msg_field=message&_time_field=@timestamp&_stream_fields=source", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bulk: %s", resp.Status)
	}
	if n := s.Count(t, `"hello vltest"`); n != 1 {
		t.Fatalf("count = %d, want 1", n)
	}
	rows := s.Query(t, `"hello vltest"`)
	if rows[0]["_msg"] != "hello vltest" || rows[0]["n"] != "1" {
		t.Fatalf("row = %v", rows[0])
	}
}
