package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/internal/esfake"
)

// TestKillNineNoDuplicatesInElasticsearch kills the agent with SIGKILL
// mid-stream, again and again, while it ships to a server that honours
// create and _id as Elasticsearch does. Replays must answer 409 and leave
// exactly one document per line: zero lost, zero duplicates stored.
func TestKillNineNoDuplicatesInElasticsearch(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	const n, kills = 60_000, 6
	bin := sidetrailBinary(t)
	es := esfake.Start(t)
	es.SetLatency(5 * time.Millisecond) // keep batches in flight when the kills land

	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	f, _ := os.Create(filepath.Join(logs, "app.log"))
	for i := 0; i < n; i++ {
		fmt.Fprintf(f, "line %06d %s\n", i, strings.Repeat("y", 60))
	}
	f.Close()
	cfg := fmt.Sprintf(`data_dir: %s/data
log: {level: warn}
sources: [{name: app, paths: ["%s/*.log"], format: raw}]
sinks:
  - name: es
    type: elasticsearch
    urls: ["%s"]
    batch: {max_records: 500, max_wait: 10ms}
    retry: {initial_backoff: 20ms, max_backoff: 200ms}
server: {listen: ""}
`, dir, logs, es.URL())
	path := filepath.Join(dir, "sidetrail.yaml")
	os.WriteFile(path, []byte(cfg), 0o644)
	a := newAgent(t, bin, path, dir)
	a.validate()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := 0; i < kills; i++ {
		a.start()
		before := es.Count()
		// Kill once this run has shipped something, at a random point.
		for es.Count() == before {
			a.checkAlive()
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		a.kill9()
	}
	a.start()
	deadline := time.Now().Add(2 * time.Minute)
	for es.Count() < n && time.Now().Before(deadline) {
		a.checkAlive()
		time.Sleep(20 * time.Millisecond)
	}
	if code := a.term(20 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}

	seen := make(map[string]int, n)
	for _, d := range es.Docs() {
		var doc struct{ Message string }
		if err := json.Unmarshal(d.Source, &doc); err != nil {
			t.Fatalf("document %s: %v", d.ID, err)
		}
		seen[doc.Message[:11]]++
	}
	dups, lost := 0, 0
	for i := 0; i < n; i++ {
		switch c := seen[fmt.Sprintf("line %06d", i)]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
	}
	st := es.Stats()
	t.Logf("kill -9 x%d into an _id-honouring server: %d lines, %d documents, lost %d, duplicates stored %d, replays answered 409: %d",
		kills, n, es.Count(), lost, dups, st.Conflicts)
	if lost != 0 || dups != 0 || es.Count() != n {
		t.Fatalf("want every line exactly once: lost %d, duplicates %d, documents %d", lost, dups, es.Count())
	}
}
