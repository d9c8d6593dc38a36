package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/faultproxy"
	"github.com/sidetrail/sidetrail/internal/nginxtest"
	"github.com/sidetrail/sidetrail/internal/vltest"
)

// outage is one period with both backends unreachable.
type outage struct {
	at  float64       // starts when this fraction of the requests was answered
	min time.Duration // lasts at least this long
	max time.Duration // and until the buffer is full, at most this long
}

// scenario is one mission run.
type scenario struct {
	requests     int
	rate         float64 // requests per second
	rotateEvery  time.Duration
	copytruncate bool
	killAt       []float64 // SIGKILL + restart when this fraction was answered
	outages      []outage
	killInOutage bool // one more SIGKILL + restart once the buffer is full during each outage
	maxBytes     sidetrail.ByteSize
	segmentBytes sidetrail.ByteSize
	drainWait    time.Duration // how long the backends may take to catch up at the end
}

func soak() bool { return os.Getenv("SIDETRAIL_SOAK") != "" }

// TestMission is the product's promise: nginx writes, logrotate renames and
// reopens every 2s, sidetrail is killed with SIGKILL and restarted, both
// backends are down until the disk buffer is full: every request id nginx
// logged reaches Elasticsearch (VictoriaLogs' ES API), Loki (VictoriaLogs'
// Loki API) and stdout, and no planted secret is stored anywhere.
func TestMission(t *testing.T) {
	sc := scenario{
		requests:     20000,
		rate:         700,
		rotateEvery:  2 * time.Second,
		killAt:       []float64{0.12, 0.30, 0.48, 0.85},
		outages:      []outage{{at: 0.60, min: 3 * time.Second, max: 12 * time.Second}},
		killInOutage: true,
		maxBytes:     2 << 20,
		segmentBytes: 256 << 10,
		drainWait:    2 * time.Minute,
	}
	if soak() {
		sc.requests = 200000
		sc.rate = 1500
		sc.killAt = nil
		for f := 0.05; f < 0.97; f += 0.07 {
			sc.killAt = append(sc.killAt, f)
		}
		sc.outages = []outage{
			{at: 0.30, min: 3 * time.Second, max: 20 * time.Second},
			{at: 0.72, min: 10 * time.Second, max: 30 * time.Second},
		}
		sc.drainWait = 10 * time.Minute
	}
	runMission(t, sc)
}

// TestMissionCopyTruncate rotates with logrotate's copytruncate every 2s.
// Lines nginx wrote between a copy and its truncation are in no file: they
// are counted apart as copytruncate's loss, not sidetrail's.
func TestMissionCopyTruncate(t *testing.T) {
	sc := scenario{
		requests:     6000,
		rate:         700,
		rotateEvery:  2 * time.Second,
		copytruncate: true,
		killAt:       []float64{0.5},
		maxBytes:     64 << 20,
		segmentBytes: 4 << 20,
		drainWait:    2 * time.Minute,
	}
	if soak() {
		sc.requests = 60000
		sc.killAt = []float64{0.2, 0.4, 0.6, 0.8}
		sc.outages = []outage{{at: 0.5, min: 3 * time.Second, max: 3 * time.Second}}
		sc.drainWait = 10 * time.Minute
	}
	runMission(t, sc)
}

// summary is what a mission run measured.
type summary struct {
	requests, answered, clientErrors int
	byStatus                         map[int]int
	linesWritten, files              int
	rotations                        int
	copyTruncateLost                 int // answered by nginx, in no file (copytruncate's window)
	copyTruncateLostDelivered        int // of those, lines sidetrail read before the truncation
	kills, runs                      int
	outages                          int
	outageTime                       time.Duration
	bufferFull                       bool
	peakBufferBytes                  int64
	drainAfterOutage                 map[string]time.Duration
	caughtUp                         map[string]time.Duration // per sink: when it first held every line, after the load ended
	loadTime, finalDrain             time.Duration
	exitCode                         int
	sinks                            []*delivery
	lost                             map[string]int
	deadLetters                      map[string]int
	dataDirHits                      []secretHit
	midRunHits                       []secretHit
	midRunScanned                    int64
	stdout                           *stdoutReader
	stderrHits                       []secretHit
	esIDs                            esIDStats
}

func (s *summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mission summary\n")
	fmt.Fprintf(&b, "  requests sent            %d (answered %d, client errors %d, statuses %v) in %v\n", s.requests, s.answered, s.clientErrors, s.byStatus, s.loadTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "  lines nginx wrote        %d in %d files after %d rotations\n", s.linesWritten, s.files, s.rotations)
	if s.copyTruncateLost > 0 || s.copyTruncateLostDelivered > 0 {
		fmt.Fprintf(&b, "  copytruncate window      %d lines answered but in no file (of them %d shipped anyway: read before the truncate)\n", s.copyTruncateLost, s.copyTruncateLostDelivered)
	}
	fmt.Fprintf(&b, "  sidetrail                %d runs, %d SIGKILLs, final SIGTERM exit %d\n", s.runs, s.kills, s.exitCode)
	fmt.Fprintf(&b, "  outages                  %d, %v in total; buffer reached max_bytes: %v; peak buffer dir %d bytes\n", s.outages, s.outageTime.Round(time.Millisecond), s.bufferFull, s.peakBufferBytes)
	for _, k := range sortedKeys(s.caughtUp) {
		fmt.Fprintf(&b, "  held every line          %s %v after the load ended\n", k, s.caughtUp[k].Round(time.Millisecond))
	}
	for _, k := range sortedKeys(s.drainAfterOutage) {
		fmt.Fprintf(&b, "  caught up after outage   %s %v (summed over outages: from Up until the backend held as many distinct ids as nginx had answered at Up)\n", k, s.drainAfterOutage[k].Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "  final drain              %v after the load ended\n", s.finalDrain.Round(time.Millisecond))
	for _, d := range s.sinks {
		fmt.Fprintf(&b, "  sink %-8s delivered %d distinct of %d (rows %d, duplicates %d, no id %d, parse failures %d, torn lines %d) LOST %d, secrets %v\n",
			d.sink, len(d.ids), s.linesWritten, d.rows, d.duplicates(), d.noID, d.parseFail, d.torn, s.lost[d.sink], d.secrets)
	}
	if s.stdout != nil && len(s.stdout.dupPairs) > 0 {
		fmt.Fprintf(&b, "  stdout duplicates        %d with both copies from one run, %d of them in run 1 (before any kill: unexplained); by origin (first copy → later copy):\n", s.stdout.sameRun, s.stdout.firstRun)
		for _, l := range s.stdout.topDupPairs(8) {
			fmt.Fprintf(&b, "      %s\n", l)
		}
		if s.stdout.sameRunExample != "" {
			fmt.Fprintf(&b, "      e.g. %s\n", s.stdout.sameRunExample)
		}
	}
	fmt.Fprintf(&b, "  es   replays by _id      %d copies re-sent with an _id already accepted (a real Elasticsearch answers 409 and keeps one), %d with a new _id (a real Elasticsearch keeps them: true duplicates); %d bulk requests\n",
		s.esIDs.sameID, s.esIDs.newID, s.esIDs.bulks)
	for _, d := range s.sinks {
		if d.sink != "stdout" && d.duplicates() > 0 {
			fmt.Fprintf(&b, "  %-4s duplicates differing from the first copy in _stream/_time/_msg: %d %s\n", d.sink, d.nonIdentical, d.nonIdenticalExample)
			if s.stdout != nil {
				fmt.Fprintf(&b, "  %-4s duplicates by the run whose stdout first held the line: %s\n", d.sink, s.stdout.byFirstRun(d))
			}
		}
	}
	fmt.Fprintf(&b, "  dead letters             %v\n", s.deadLetters)
	fmt.Fprintf(&b, "  secrets in data_dir      %d hits at the end, %d mid-run (scanned %d bytes while the buffer was full)\n", len(s.dataDirHits), len(s.midRunHits), s.midRunScanned)
	fmt.Fprintf(&b, "  secrets in agent stderr  %d hits\n", len(s.stderrHits))
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runMission(t *testing.T, sc scenario) {
	if testing.Short() {
		t.Skip("the mission test runs real nginx, VictoriaLogs and sidetrail for about a minute; not in -short")
	}
	bin := sidetrailBinary(t)
	if _, err := nginxtest.Binary(); err != nil {
		t.Fatal(err)
	}
	if _, err := vltest.Binary(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// Runs after the agent, nginx and the backends are stopped, before the
	// temp dir is removed.
	t.Cleanup(func() { keep(t, root) })
	logDir := filepath.Join(root, "logs")
	dataDir := filepath.Join(root, "data")
	runDir := filepath.Join(root, "runs")
	for _, d := range []string{logDir, dataDir, runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secrets := nginxtest.Secrets()

	// Two VictoriaLogs, one per API, so each path's rows are counted alone;
	// each behind its own fault proxy.
	// Reading every row back (a soak stores 400,000+) takes longer than
	// VictoriaLogs' default 30s query limit on a busy machine.
	vlES, vlLoki := vltest.Start(t, "-search.maxQueryDuration=15m"), vltest.Start(t, "-search.maxQueryDuration=15m")
	tap := startESTap(t, vlES.URL())
	pxES := faultproxy.Start(t, tap.addr(), faultproxy.Options{})
	pxLoki := faultproxy.Start(t, strings.TrimPrefix(vlLoki.URL(), "http://"), faultproxy.Options{})
	esc, lokic := newVLClient(vlES.URL()), newVLClient(vlLoki.URL())
	defer esc.close()
	defer lokic.close()
	paths := []*path{
		{name: "es", vl: esc, uniqQuery: esUniq, idsQuery: esIDs, allQuery: allRows, id: esID},
		{name: "loki", vl: lokic, uniqQuery: lokiUniq, idsQuery: lokiIDs, allQuery: allRows, id: lokiID},
	}

	ngx := nginxtest.Start(t, nginxtest.Options{LogDir: logDir})
	cfg := writeConfig(t, root, agentConfig{
		DataDir:      dataDir,
		LogGlob:      filepath.Join(logDir, "access.log*"),
		LogFormat:    nginxtest.LogFormat,
		ESURL:        pxES.URL() + "/insert/elasticsearch",
		LokiURL:      pxLoki.URL() + "/insert/loki",
		MaxBytes:     sc.maxBytes.String(),
		SegmentBytes: sc.segmentBytes.String(),
		DrainTimeout: 5 * time.Second,
	})
	ag := newAgent(t, bin, cfg, runDir)
	ag.validate()
	ag.start()

	sum := &summary{requests: sc.requests, drainAfterOutage: map[string]time.Duration{}, caughtUp: map[string]time.Duration{}, lost: map[string]int{}, deadLetters: map[string]int{}}
	bufDir := filepath.Join(dataDir, "buffer")

	// Sample the buffer's size on disk all along.
	var peak atomic.Int64
	stopSampler := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if n := dirBytes(bufDir); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
		}
	}()

	// The load, in the background; the test goroutine schedules the faults.
	var progress atomic.Int64
	loadDone := make(chan *nginxtest.LoadResult, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loadRunning := true
	go func() {
		loadDone <- ngx.Drive(ctx, nginxtest.LoadOptions{Requests: sc.requests, Rate: sc.rate, Seed: 42, Progress: &progress})
	}()
	// On an early t.Fatal: stop the load and the background goroutines and
	// wait for them (goleak checks after the tests).
	defer func() {
		if loadRunning {
			cancel()
			<-loadDone
		}
	}()

	// Catch-up watchers started at the end of each outage.
	drainMu := sync.Mutex{}
	stopWatch := make(chan struct{})
	stopBackground := sync.OnceFunc(func() {
		close(stopWatch)
		close(stopSampler)
		bg.Wait()
	})
	defer stopBackground()
	watchDrain := func(upAt time.Time, want int) {
		for _, p := range paths {
			bg.Add(1)
			go func(p *path) {
				defer bg.Done()
				for {
					st, err := p.vl.stats(p.uniqQuery)
					if err == nil && st["u"] >= want {
						drainMu.Lock()
						sum.drainAfterOutage[p.name] += time.Since(upAt)
						drainMu.Unlock()
						return
					}
					select {
					case <-stopWatch:
						return
					case <-time.After(250 * time.Millisecond):
					}
				}
			}(p)
		}
	}

	rotate := func() {
		var err error
		if sc.copytruncate {
			_, _, err = ngx.RotateCopyTruncate()
		} else {
			err = ngx.RotateRename()
		}
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		sum.rotations++
	}

	var (
		res         *nginxtest.LoadResult
		loadStart   = time.Now()
		nextRotate  = loadStart.Add(sc.rotateEvery)
		killIdx     int
		outIdx      int
		down        bool
		downAt      time.Time
		fullInThis  bool
		killedThis  bool
		lastSizeLog time.Time
		fullAt      time.Time
		lastStart   = time.Now()
		// the buffer's size and since when it has not changed
		plateauSize  int64
		plateauSince time.Time
	)
	up := func() {
		pxES.Up()
		pxLoki.Up()
		down = false
		sum.outageTime += time.Since(downAt)
		watchDrain(time.Now(), int(progress.Load()))
		t.Logf("%v: backends up after %v (buffer full: %v)", time.Since(loadStart).Round(time.Millisecond), time.Since(downAt).Round(time.Millisecond), fullInThis)
	}
	for res == nil {
		select {
		case res = <-loadDone:
			loadRunning = false
			continue
		case <-time.After(20 * time.Millisecond): // the scheduler's tick
		}
		ag.checkAlive()
		now := time.Now()
		frac := float64(progress.Load()) / float64(sc.requests)
		if now.After(nextRotate) {
			rotate()
			nextRotate = nextRotate.Add(sc.rotateEvery)
		}
		// Kill points passed during an outage wait for it to end, then
		// come at least 2s apart: each run gets to do some work.
		if killIdx < len(sc.killAt) && frac >= sc.killAt[killIdx] && !down && now.Sub(lastStart) >= 2*time.Second {
			ag.kill9()
			ag.start()
			lastStart = time.Now()
			killIdx++
			t.Logf("%v: SIGKILL %d at %.0f%% of the load", time.Since(loadStart).Round(time.Millisecond), ag.kills, frac*100)
		}
		switch {
		case !down && outIdx < len(sc.outages) && frac >= sc.outages[outIdx].at:
			pxES.Down()
			pxLoki.Down()
			down, downAt, fullInThis, killedThis = true, now, false, false
			plateauSize, plateauSince = -1, now
			sum.outages++
			t.Logf("%v: backends down at %.0f%% of the load", time.Since(loadStart).Round(time.Millisecond), frac*100)
		case down:
			o := sc.outages[outIdx]
			size := dirBytes(bufDir)
			if now.Sub(lastSizeLog) >= time.Second {
				lastSizeLog = now
				t.Logf("%v: buffer %d bytes on disk, %v down", time.Since(loadStart).Round(time.Millisecond), size, now.Sub(downAt).Round(time.Millisecond))
			}
			// Full: within a segment of max_bytes (Append blocks when the
			// segment files would exceed max_bytes; it grows until then),
			// or past half of it and not growing for a second while nginx
			// writes on (Append is blocked: records do not pack exactly).
			if size != plateauSize {
				plateauSize, plateauSince = size, now
			}
			plateau := size >= int64(sc.maxBytes/2) && now.Sub(plateauSince) >= time.Second
			if !fullInThis && (size >= int64(sc.maxBytes-sc.segmentBytes) || plateau) {
				fullInThis, fullAt, sum.bufferFull = true, now, true
				// The buffer holds the most it will: no secret may be in it.
				hits, _, n := scanDirSecrets(dataDir, secrets, "")
				sum.midRunHits = append(sum.midRunHits, hits...)
				sum.midRunScanned += n
				t.Logf("%v: buffer full (%d bytes on disk) after %v down", time.Since(loadStart).Round(time.Millisecond), dirBytes(bufDir), now.Sub(downAt).Round(time.Millisecond))
			}
			// Kill once Append has been blocked a while and the tailer paused.
			if sc.killInOutage && fullInThis && !killedThis && now.Sub(fullAt) >= 500*time.Millisecond {
				ag.kill9()
				ag.start()
				lastStart = time.Now()
				killedThis = true
				t.Logf("%v: SIGKILL %d with the buffer full and the backends down", time.Since(loadStart).Round(time.Millisecond), ag.kills)
			}
			if d := now.Sub(downAt); d >= o.min && (fullInThis && now.Sub(fullAt) >= time.Second || d >= o.max) {
				up()
				outIdx++
			}
		}
	}
	sum.loadTime = time.Since(loadStart)
	if down {
		up()
	}
	loadEnd := time.Now()
	sum.answered, sum.clientErrors, sum.byStatus = res.Answered, res.Errors, res.ByStatus
	if res.Errors > 0 {
		t.Errorf("load: %d client errors, first: %v", res.Errors, res.FirstErr)
	}
	t.Logf("load done: %d answered in %v", res.Answered, sum.loadTime.Round(time.Millisecond))

	// What nginx wrote: every line of every generation, once nginx is idle.
	files := waitFiles(t, filepath.Join(logDir, "access.log*"), res.Answered, sc.copytruncate)
	truth := files.IDs
	sum.linesWritten, sum.files = files.Lines, files.Files
	var window []string // answered but in no file
	for _, id := range res.IDs {
		if truth[id] == 0 {
			window = append(window, id)
		}
	}
	for id, n := range truth {
		if n != 1 {
			t.Errorf("nginx logged request %s %d times", id, n)
		}
	}
	if len(truth) != files.Lines {
		t.Errorf("%d lines but %d distinct request ids in the files", files.Lines, len(truth))
	}
	sum.copyTruncateLost = len(window)
	if !sc.copytruncate && len(window) > 0 {
		t.Errorf("nginx answered %d requests that are in no log file (rename rotation must not lose any): %v", len(window), first(window, 5))
	}

	// Wait for every sink to hold every id, or for progress to stop.
	stdout := newStdoutReader(secrets)
	drainStart := time.Now()
	deadline := drainStart.Add(sc.drainWait)
	lastProgress, lastMissing, lastLog := time.Now(), -1, time.Now()
	for {
		ag.checkAlive()
		missing := map[string]int{}
		for _, p := range paths {
			// The distinct count is cheap; the exact check only once it
			// could pass (copytruncate windows can add ids not in truth).
			st, err := p.vl.stats(p.uniqQuery)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			if st["u"] < len(truth) {
				missing[p.name] = len(truth) - st["u"]
				continue
			}
			have, err := p.distinctIDs()
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			for id := range truth {
				if !have[id] {
					missing[p.name]++
				}
			}
		}
		if err := stdout.scan(ag.stdouts, false); err != nil {
			t.Fatal(err)
		}
		for id := range truth {
			if stdout.d.ids[id] == 0 {
				missing["stdout"]++
			}
		}
		total := 0
		for _, name := range []string{"es", "loki", "stdout"} {
			total += missing[name]
			if _, ok := sum.caughtUp[name]; !ok && missing[name] == 0 {
				sum.caughtUp[name] = time.Since(loadEnd)
			}
		}
		if total == 0 {
			break
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			t.Logf("draining for %v: missing %v (counted by distinct ids until they could all be there)", time.Since(drainStart).Round(time.Second), missing)
		}
		if lastMissing < 0 || total < lastMissing {
			lastMissing, lastProgress = total, time.Now()
		}
		if time.Now().After(deadline) || time.Since(lastProgress) > 45*time.Second {
			t.Errorf("sinks did not catch up: stopped waiting after %v (last progress %v ago), missing %v", time.Since(drainStart).Round(time.Second), time.Since(lastProgress).Round(time.Second), missing)
			break
		}
		time.Sleep(500 * time.Millisecond) // polling interval while the agent drains
	}
	sum.finalDrain = time.Since(loadEnd)

	// A clean stop drains and exits 0.
	sum.exitCode = ag.term(30 * time.Second)
	if sum.exitCode != 0 {
		t.Errorf("sidetrail exited %d after SIGTERM, want 0", sum.exitCode)
	}
	sum.runs, sum.kills = ag.runs, ag.kills
	stopBackground()
	sum.peakBufferBytes = peak.Load()

	// Every sink, every id.
	if err := stdout.scan(ag.stdouts, true); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		d, err := p.collect(secrets)
		if err != nil {
			t.Fatal(err)
		}
		sum.sinks = append(sum.sinks, d)
	}
	sum.sinks = append(sum.sinks, stdout.d)
	sum.stdout = stdout
	sum.esIDs = tap.stats()
	if sum.esIDs.parseErr > 0 || sum.esIDs.noID > 0 {
		t.Errorf("elasticsearch bulk bodies: %d unparseable items, %d documents without _id", sum.esIDs.parseErr, sum.esIDs.noID)
	}
	for _, d := range sum.sinks {
		miss := d.missing(truth)
		sum.lost[d.sink] = len(miss)
		if len(miss) > 0 {
			t.Errorf("sink %s LOST %d of %d lines nginx wrote, e.g. %v", d.sink, len(miss), len(truth), first(miss, 5))
		}
		for s, n := range d.secrets {
			t.Errorf("sink %s: secret %q stored in %d rows, e.g. %s", d.sink, s, n, d.example[s])
		}
		if d.noID > 0 {
			t.Errorf("sink %s: %d rows without a request id", d.sink, d.noID)
		}
		for id := range d.ids {
			if truth[id] == 0 && !contains(window, id) {
				t.Errorf("sink %s: request id %s that nginx never answered", d.sink, id)
				break
			}
		}
	}
	for _, id := range window {
		if sum.sinks[0].ids[id] > 0 {
			sum.copyTruncateLostDelivered++
		}
	}

	// Nothing secret at rest, nothing dead-lettered.
	sum.dataDirHits, _, _ = scanDirSecrets(dataDir, secrets, "")
	for _, h := range append(sum.dataDirHits, sum.midRunHits...) {
		t.Errorf("secret %q at rest in %s", h.secret, h.file)
	}
	sum.stderrHits, _, _ = scanDirSecrets(runDir, secrets, "stderr-")
	for _, h := range sum.stderrHits {
		t.Errorf("secret %q in the agent's own log %s", h.secret, h.file)
	}
	dl, _ := filepath.Glob(filepath.Join(dataDir, "deadletter", "*"))
	for _, f := range dl {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := bytes.Count(b, []byte("\n"))
		sum.deadLetters[filepath.Base(f)] = n
		if n > 0 {
			t.Errorf("dead letters: %d in %s, e.g. %s", n, f, truncate(string(b), 400))
		}
	}
	if fills(sc.outages) && !sum.bufferFull {
		t.Logf("note: the buffer never came within 2 segments of max_bytes (%v) during an outage; peak %d bytes", sc.maxBytes, sum.peakBufferBytes)
	}
	t.Log(sum.String())
}

// keep copies the run's files (logs, data_dir, config, each run's stdout and
// stderr) to a directory that outlives the test when $SIDETRAIL_E2E_KEEP is
// set, to look at checkpoints and buffers after the fact (also after a
// failure).
func keep(t *testing.T, root string) {
	if os.Getenv("SIDETRAIL_E2E_KEEP") == "" {
		return
	}
	dst, err := os.MkdirTemp("", "sidetrail-e2e-"+t.Name()+"-")
	if err == nil {
		err = os.CopyFS(dst, os.DirFS(root))
	}
	if err != nil {
		t.Logf("keep: %v", err)
		return
	}
	t.Logf("kept the run's files in %s", dst)
}

// waitFiles reads the access logs until they hold all answered lines (rename
// rotation) or stop changing (copytruncate can lose some).
func waitFiles(t *testing.T, glob string, answered int, copytruncate bool) *nginxtest.AccessLogs {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last, stableSince := -1, time.Now()
	for {
		a, err := nginxtest.ReadAccessLogs(glob)
		if err != nil {
			t.Fatal(err)
		}
		if a.Partial == 0 && a.Lines >= answered {
			return a
		}
		if a.Lines != last {
			last, stableSince = a.Lines, time.Now()
		}
		if copytruncate && a.Partial == 0 && time.Since(stableSince) > time.Second {
			return a
		}
		if time.Now().After(deadline) {
			return a
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// fills reports whether an outage is meant to last until the buffer is full.
func fills(os []outage) bool {
	for _, o := range os {
		if o.max > o.min {
			return true
		}
	}
	return false
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
