package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	lines := flag.Int("lines", 2_000_000, "lines per corpus")
	out := flag.String("out", "bench-out", "directory for corpora, data dirs and profiles")
	bin := flag.String("bin", "bin/sidetrail", "the sidetrail binary")
	only := flag.String("only", "nginx,json,raw,idle,elasticsearch", "comma-separated runs")
	vl := flag.String("victorialogs", os.Getenv("SIDETRAIL_VICTORIALOGS"), "victoria-logs binary for the elasticsearch run")
	runs := flag.Int("runs", 3, "repetitions of each run; the table shows the median by lines/s")
	workers := flag.Int("workers", 1, "the sources' workers key")
	fsync := flag.String("fsync", "batch", "the buffer's fsync key (the targets are for batch; the others tell what fsync costs)")
	warmups := flag.Int("warmup", 1, "runs of each kind before the measured ones, printed but not counted: on a fresh VM the first run pays for the guest's first touch of memory")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	abs, _ := filepath.Abs(*out)
	h := &harness{n: *lines, dir: abs, bin: *bin, vl: *vl, workers: *workers, fsync: *fsync}
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	var results []result
	for _, run := range strings.Split(*only, ",") {
		var reps []result
		first := -max(*warmups, 0)
		if strings.TrimSpace(run) == "idle" {
			first = 0 // nothing to warm: it reads nothing
		}
		for rep := first; rep < max(*runs, 1); rep++ {
			var r result
			var err error
			switch strings.TrimSpace(run) {
			case "nginx":
				r, err = h.pipeline("nginx combined", h.corpus("nginx", genNginx), "nginx", "")
			case "json":
				r, err = h.pipeline("json lines", h.corpus("json", genJSON), "json", "")
			case "raw":
				r, err = h.pipeline("raw lines", h.corpus("nginx", genNginx), "raw", "")
			case "idle":
				r, err = h.idle()
			case "elasticsearch", "es":
				r, err = h.elasticsearch()
			default:
				err = fmt.Errorf("unknown run %q", run)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", run, err)
				break
			}
			if rep < 0 {
				r.note += "; warm-up, not counted"
				printTable([]result{r}, false)
				continue
			}
			printTable([]result{r}, false)
			reps = append(reps, r)
		}
		if len(reps) > 0 {
			results = append(results, median(reps))
		}
	}
	fmt.Println()
	printTable(results, true)
}

type harness struct {
	workers  int
	fsync    string
	n        int
	dir, bin string
	vl       string
}

type result struct {
	name        string
	lines       int
	wall        time.Duration
	cpu         time.Duration
	rssMiB      float64
	note        string
	otherCPU    time.Duration // the backend's CPU, for the elasticsearch run
	profilePath string
}

// median returns the run with the median throughput (CPU and RSS are that
// run's), noting the spread of the others: this machine is noisy.
func median(rs []result) result {
	if len(rs) == 1 {
		return rs[0]
	}
	rate := func(r result) float64 {
		if r.wall <= 0 {
			return -r.cpu.Seconds() // idle: order by CPU
		}
		return float64(r.lines) / r.wall.Seconds()
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b result) int { return cmp.Compare(rate(a), rate(b)) })
	m := sorted[len(sorted)/2]
	if m.wall > 0 {
		m.note += fmt.Sprintf("; median of %d (%.0f-%.0f lines/s)", len(rs), rate(sorted[0]), rate(sorted[len(sorted)-1]))
	} else {
		m.note += fmt.Sprintf("; median of %d", len(rs))
	}
	return m
}

func printTable(rs []result, header bool) {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	if header {
		fmt.Fprintln(w, "run\tlines\tseconds\tlines/s\tCPU s\tCPU s/M lines\tpeak RSS MiB\tnote\t")
	}
	for _, r := range rs {
		lps := "-"
		if r.wall > 0 && r.lines > 0 {
			lps = fmt.Sprintf("%.0f", float64(r.lines)/r.wall.Seconds())
		}
		perM := "-"
		if r.lines > 0 {
			perM = fmt.Sprintf("%.2f", r.cpu.Seconds()/float64(r.lines)*1e6)
		}
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%s\t%.2f\t%s\t%.1f\t%s\t\n", r.name, r.lines, r.wall.Seconds(), lps, r.cpu.Seconds(), perM, r.rssMiB, r.note)
	}
	w.Flush()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "unknown CPU"
}

// corpus returns the path of a generated corpus, generating it once.
func (h *harness) corpus(kind string, gen func(w *bufio.Writer, i int, r *rand.Rand)) string {
	path := filepath.Join(h.dir, fmt.Sprintf("corpus-%s-%d.log", kind, h.n))
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path
	}
	fmt.Printf("generating %s (%d lines)...\n", path, h.n)
	f, err := os.Create(path + ".tmp")
	if err != nil {
		fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(42, uint64(len(kind))))
	for i := 0; i < h.n; i++ {
		gen(w, i, r)
	}
	if err := w.Flush(); err != nil {
		fatal(err)
	}
	f.Close()
	if err := os.Rename(path+".tmp", path); err != nil {
		fatal(err)
	}
	return path
}

var (
	paths  = []string{"/", "/index.html", "/api/v1/users/%d", "/api/v1/orders/%d/items", "/static/js/app.%d.js", "/images/product-%d.jpg", "/search", "/checkout/confirm", "/healthz", "/api/v2/catalog/%d"}
	agents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		"curl/8.5.0", "kube-probe/1.30", "Go-http-client/1.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	}
	statuses = []int{200, 200, 200, 200, 200, 200, 304, 301, 404, 500, 201, 204}
)

func genQuery(r *rand.Rand) string {
	switch n := r.IntN(100); {
	case n < 3:
		return fmt.Sprintf("?user=user%d@example.com&page=%d", r.IntN(10000), r.IntN(50))
	case n < 6:
		return fmt.Sprintf("?token=tk_%016x&id=%d", r.Uint64(), r.IntN(1e6))
	case n < 8:
		return fmt.Sprintf("?api_key=AKIA%016X", r.Uint64())
	case n < 40:
		return fmt.Sprintf("?q=term%d&page=%d&sort=desc", r.IntN(1000), r.IntN(20))
	}
	return ""
}

func genNginx(w *bufio.Writer, i int, r *rand.Rand) {
	p := paths[r.IntN(len(paths))]
	if strings.Contains(p, "%d") {
		p = fmt.Sprintf(p, r.IntN(100000))
	}
	ref := "-"
	if r.IntN(3) == 0 {
		ref = "https://shop.example.com/category/" + strconv.Itoa(r.IntN(100))
	}
	t := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 40 * time.Millisecond)
	fmt.Fprintf(w, "10.%d.%d.%d - - [%s] \"%s %s%s HTTP/1.1\" %d %d \"%s\" \"%s\"\n",
		r.IntN(256), r.IntN(256), r.IntN(256), t.Format("02/Jan/2006:15:04:05 -0700"),
		[]string{"GET", "GET", "GET", "POST", "PUT"}[r.IntN(5)], p, genQuery(r),
		statuses[r.IntN(len(statuses))], r.IntN(50000), ref, agents[r.IntN(len(agents))])
}

func genJSON(w *bufio.Writer, i int, r *rand.Rand) {
	t := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 40 * time.Millisecond)
	p := paths[r.IntN(len(paths))]
	if strings.Contains(p, "%d") {
		p = fmt.Sprintf(p, r.IntN(100000))
	}
	fmt.Fprintf(w, `{"time":"%s","level":"%s","msg":"request served","method":"GET","path":"%s%s","status":%d,"duration_ms":%d.%03d,"bytes":%d,"user_agent":"%s","trace_id":"%016x","retries":%d,"cache":{"hit":%t,"tier":"edge"}}`+"\n",
		t.Format(time.RFC3339Nano), []string{"info", "info", "info", "warn", "error"}[r.IntN(5)], p, genQuery(r),
		statuses[r.IntN(len(statuses))], r.IntN(900), r.IntN(1000), r.IntN(50000), agents[r.IntN(len(agents))],
		r.Uint64(), r.IntN(3), r.IntN(2) == 0)
}

const redactRules = `redact:
  - builtin: credit_card
  - builtin: email
  - builtin: jwt
  - builtin: bearer_token
  - builtin: aws_access_key
  - builtin: query_secrets
`

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pipeline runs the agent over corpus with a stdout sink into a file.
func (h *harness) pipeline(name, corpus, format, sinkYAML string) (result, error) {
	run := strings.ReplaceAll(name, " ", "-")
	dir := filepath.Join(h.dir, "run-"+run)
	os.RemoveAll(dir)
	// Write back the previous run's output now, not during this one, and
	// have the corpus in the page cache, as a log nginx just wrote would
	// be (this machine's memory manager evicts idle files between runs).
	syscall.Sync()
	warm(corpus)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return result{}, err
	}
	// A hard link (or copy) so the agent's data dir and the corpus sit
	// together and every run starts with no checkpoint.
	logPath := filepath.Join(dir, "logs", "app.log")
	if err := os.Link(corpus, logPath); err != nil {
		if err := copyFile(corpus, logPath); err != nil {
			return result{}, err
		}
	}
	if sinkYAML == "" {
		sinkYAML = "  - {name: out, type: stdout}\n"
	}
	port := freePort()
	cfg := fmt.Sprintf(`data_dir: %s/data
log: {level: warn}
sources:
  - name: bench
    paths: ["%s"]
    format: %s
    workers: %d
%sbuffer: {max_bytes: 2GiB, segment_bytes: 64MiB, fsync: %s}
sinks:
%sserver: {listen: "127.0.0.1:%d"}
`, dir, logPath, format, h.workers, redactRules, h.fsync, sinkYAML, port)
	cfgPath := filepath.Join(dir, "sidetrail.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return result{}, err
	}
	outFile, err := os.Create(filepath.Join(dir, "stdout.ndjson"))
	if err != nil {
		return result{}, err
	}
	defer outFile.Close()
	prof := filepath.Join(h.dir, "cpu-"+run+".pprof")
	cmd := exec.Command(h.bin, "run", "-config", cfgPath, "-cpuprofile", prof, "-memprofile", filepath.Join(h.dir, "heap-"+run+".pprof"))
	cmd.Stdout = outFile
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	sinkName := "out"
	if strings.Contains(sinkYAML, "name: es") {
		sinkName = "es"
	}
	wall, err := waitSent(port, sinkName, h.n, start, 10*time.Minute)
	mallocs := scrape(port, "go_memstats_mallocs_total")
	cmd.Process.Signal(syscall.SIGTERM)
	werr := cmd.Wait()
	if err != nil {
		return result{}, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	if werr != nil {
		return result{}, fmt.Errorf("agent: %v\n%s", werr, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return result{name: name, lines: h.n, wall: wall, cpu: cpu, rssMiB: float64(ru.Maxrss) / 1024, profilePath: prof,
		note: fmt.Sprintf("%.2f allocs/line", mallocs/float64(h.n))}, nil
}

// warm reads path once, so it is in the page cache.
func warm(path string) {
	if f, err := os.Open(path); err == nil {
		io.Copy(io.Discard, f)
		f.Close()
	}
}

// scrape reads one unlabelled metric from the agent's /metrics.
func scrape(port int, name string) float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(string(b))
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

var sentRE = regexp.MustCompile(`(?m)^sidetrail_sink_sent_records_total\{sink="([^"]+)"\} (\S+)$`)

// waitSent polls /metrics until the sink has sent n records, and returns the
// time since start at which it first saw them all.
//
// A scrape costs the agent about a millisecond of CPU and some garbage, on
// the cores it is being measured on, so the poll is sparse while the end is
// far off and dense near it: the next poll comes after half the time the
// rate so far says is left, between 10 and 250 ms. The end is then seen
// within about 10 ms, with a few dozen scrapes instead of one every 50 ms.
func waitSent(port int, sink string, n int, start time.Time, limit time.Duration) (time.Duration, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	client := &http.Client{Timeout: 2 * time.Second}
	last := 0.0
	wait := 50 * time.Millisecond
	for time.Since(start) < limit {
		time.Sleep(wait)
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, m := range sentRE.FindAllStringSubmatch(string(b), -1) {
			if m[1] == sink {
				last, _ = strconv.ParseFloat(m[2], 64)
			}
		}
		if int(last) >= n {
			return time.Since(start), nil
		}
		wait = 250 * time.Millisecond
		if last > 0 {
			elapsed := time.Since(start)
			left := time.Duration(float64(elapsed) * (float64(n) - last) / last)
			wait = min(max(left/2, 10*time.Millisecond), 250*time.Millisecond)
		}
	}
	return 0, fmt.Errorf("only %.0f of %d lines sent after %v", last, n, limit)
}

// idle runs the agent on a quiet file for 10 seconds: RSS and CPU at rest.
func (h *harness) idle() (result, error) {
	dir := filepath.Join(h.dir, "run-idle")
	os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "logs", "app.log"), []byte("one line\n"), 0o644)
	cfg := fmt.Sprintf(`data_dir: %s/data
log: {level: warn}
sources:
  - {name: idle, paths: ["%s/logs/*.log"], format: nginx}
%ssinks:
  - {name: out, type: stdout}
server: {listen: "127.0.0.1:%d"}
`, dir, dir, redactRules, freePort())
	cfgPath := filepath.Join(dir, "sidetrail.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	cmd := exec.Command(h.bin, "run", "-config", cfgPath)
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	time.Sleep(2 * time.Second) // settle after start
	cpu0 := procCPU(cmd.Process.Pid)
	const window = 10 * time.Second
	time.Sleep(window)
	cpu1 := procCPU(cmd.Process.Pid)
	rss := procRSS(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	return result{name: "idle 10s", wall: window, cpu: cpu1 - cpu0, rssMiB: rss,
		note: fmt.Sprintf("%.3f%% of a core; RSS now", 100*(cpu1-cpu0).Seconds()/window.Seconds())}, nil
}

// procCPU reads a process's user+system CPU time from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// procRSS reads a process's current resident set in MiB.
func procRSS(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// elasticsearch ships the nginx corpus into a local VictoriaLogs through the
// Elasticsearch sink; VictoriaLogs shares the machine's cores.
func (h *harness) elasticsearch() (result, error) {
	if h.vl == "" {
		return result{}, fmt.Errorf("no victoria-logs binary (set SIDETRAIL_VICTORIALOGS or -victorialogs; `make tools` installs it)")
	}
	port := freePort()
	vdir := filepath.Join(h.dir, "run-victorialogs")
	os.RemoveAll(vdir)
	vl := exec.Command(h.vl, "-httpListenAddr=127.0.0.1:"+strconv.Itoa(port), "-storageDataPath="+vdir,
		"-retentionPeriod=100y", "-futureRetention=1y", "-loggerLevel=WARN")
	if err := vl.Start(); err != nil {
		return result{}, err
	}
	defer func() { vl.Process.Signal(syscall.SIGTERM); vl.Wait() }()
	for i := 0; i < 500; i++ {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port)); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	vlCPU0 := procCPU(vl.Process.Pid)
	sink := fmt.Sprintf(`  - name: es
    type: elasticsearch
    urls: ["http://127.0.0.1:%d/insert/elasticsearch"]
    index: "bench-%%Y.%%m.%%d"
    params: {_msg_field: message, _time_field: "@timestamp", _stream_fields: "source,log.file.path"}
    concurrency: 3
    batch: {max_records: 1500}
`, port)
	r, err := h.pipeline("nginx → VictoriaLogs (ES bulk)", h.corpus("nginx", genNginx), "nginx", sink)
	if err != nil {
		return r, err
	}
	r.otherCPU = procCPU(vl.Process.Pid) - vlCPU0
	r.note += fmt.Sprintf("; VictoriaLogs used %.1f CPU s", r.otherCPU.Seconds())
	return r, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
