package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// vlClient queries one VictoriaLogs. Unlike vltest.Server's helpers it
// returns errors instead of failing the test, so it can run in goroutines.
type vlClient struct {
	base string
	http *http.Client
}

func newVLClient(base string) *vlClient {
	// No gzip: on loopback it only costs CPU, on both sides, for every row.
	return &vlClient{base: base, http: &http.Client{Timeout: 15 * time.Minute, Transport: &http.Transport{DisableCompression: true}}}
}

func (c *vlClient) close() { c.http.CloseIdleConnections() }

// each flushes, runs a LogsQL query and hands fn every NDJSON row's raw
// bytes (valid until fn returns).
func (c *vlClient) each(logsql string, fn func(row []byte) error) error {
	resp, err := c.http.Get(c.base + "/internal/force_flush")
	if err != nil {
		return fmt.Errorf("force_flush: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp, err = c.http.PostForm(c.base+"/select/logsql/query", url.Values{"query": {logsql}})
	if err != nil {
		return fmt.Errorf("query %q: %w", logsql, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("query %q: %s: %s", logsql, resp.Status, bytes.TrimSpace(b))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// stats runs a query ending in a stats pipe and returns its one row's
// numeric fields.
func (c *vlClient) stats(logsql string) (map[string]int, error) {
	out := map[string]int{}
	rows := 0
	err := c.each(logsql, func(row []byte) error {
		rows++
		var m map[string]any
		if err := json.Unmarshal(row, &m); err != nil {
			return err
		}
		for k, v := range m {
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err == nil {
				out[k] = n
			}
		}
		return nil
	})
	if err == nil && rows != 1 {
		err = fmt.Errorf("stats %q: %d rows", logsql, rows)
	}
	return out, err
}

// path is one way records reach a backend, and how to find the request ids
// in what it stored.
type path struct {
	name string
	vl   *vlClient
	// uniqQuery counts distinct request ids: its stats row has "u".
	uniqQuery string
	// idsQuery returns one row per distinct request id: {"request_id": …}.
	idsQuery string
	// allQuery returns every stored row, all fields.
	allQuery string
	// id extracts the request id from a stored row.
	id func(row map[string]any) (string, bool)
}

// Queries per path. Through the Elasticsearch API every parsed field is a
// VictoriaLogs field. Through Loki with line: json the record JSON is _msg.
const (
	esUniq   = `* | stats count_uniq(request_id) u, count() n`
	lokiUniq = `* | unpack_json from _msg fields (request_id) | stats count_uniq(request_id) u, count() n`
	allRows  = `*`
	esIDs    = `* | uniq by (request_id)`
	lokiIDs  = `* | unpack_json from _msg fields (request_id) | uniq by (request_id)`
)

// distinctIDs returns the set of request ids the path stored. Rows shipped
// without parsed fields are not in it (collect finds those).
func (p *path) distinctIDs() (map[string]bool, error) {
	ids := map[string]bool{}
	err := p.vl.each(p.idsQuery, func(raw []byte) error {
		var row struct {
			ID string `json:"request_id"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			return err
		}
		ids[row.ID] = true
		return nil
	})
	return ids, err
}

// idFromMessage falls back to the last field of the raw line (LogFormat ends
// with $request_id), for a record shipped without parsed fields.
func idFromMessage(msg string) (string, bool) {
	i := strings.LastIndexByte(msg, ' ')
	id := strings.TrimSpace(msg[i+1:])
	return id, len(id) == 32
}

func esID(row map[string]any) (string, bool) {
	if s, ok := row["request_id"].(string); ok && s != "" {
		return s, true
	}
	msg, _ := row["_msg"].(string)
	return idFromMessage(msg)
}

func recordID(rec map[string]any) (string, bool) {
	if s, ok := rec["request_id"].(string); ok && s != "" {
		return s, true
	}
	msg, _ := rec["message"].(string)
	return idFromMessage(msg)
}

func lokiID(row map[string]any) (string, bool) {
	msg, _ := row["_msg"].(string)
	var rec map[string]any
	if err := json.Unmarshal([]byte(msg), &rec); err != nil {
		return idFromMessage(msg)
	}
	return recordID(rec)
}

// delivery is what one sink delivered.
type delivery struct {
	sink      string
	rows      int            // stored rows / stdout lines
	ids       map[string]int // request id → copies
	noID      int            // rows without a recognisable request id
	parseFail int            // rows shipped without parsed fields (log.flags parse_failure)
	torn      int            // stdout lines that are not JSON (a line cut by SIGKILL)
	secrets   map[string]int // planted secret → rows containing it
	example   map[string]string
	// Backend paths: duplicates whose stream, _time or _msg differ from the
	// first copy (a real Loki keeps those as separate lines).
	firstCopy           map[string]string
	nonIdentical        int
	nonIdenticalExample string
}

func newDelivery(sink string) *delivery {
	return &delivery{sink: sink, ids: map[string]int{}, secrets: map[string]int{}, example: map[string]string{}, firstCopy: map[string]string{}}
}

func (d *delivery) scanSecrets(raw []byte, secrets []string) {
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			d.secrets[s]++
			if _, ok := d.example[s]; !ok {
				d.example[s] = truncate(string(raw), 600)
			}
		}
	}
}

// diffContext shows where a and b first differ.
func diffContext(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-60)
	return fmt.Sprintf("first copy …%q… later copy …%q…", a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// duplicates is the number of extra copies.
func (d *delivery) duplicates() int {
	n := 0
	for _, c := range d.ids {
		if c > 1 {
			n += c - 1
		}
	}
	return n
}

// missing returns the ids of truth that d lacks.
func (d *delivery) missing(truth map[string]int) []string {
	var out []string
	for id := range truth {
		if d.ids[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// collect reads every row of a backend path.
func (p *path) collect(secrets []string) (*delivery, error) {
	d := newDelivery(p.name)
	err := p.vl.each(p.allQuery, func(raw []byte) error {
		d.rows++
		d.scanSecrets(raw, secrets)
		var row map[string]any
		if err := json.Unmarshal(raw, &row); err != nil {
			return fmt.Errorf("%s row %q: %w", p.name, truncate(string(raw), 200), err)
		}
		if bytes.Contains(raw, []byte("parse_failure")) {
			d.parseFail++
		}
		id, ok := p.id(row)
		if !ok {
			d.noID++
			return nil
		}
		d.ids[id]++
		// A replay a real backend drops is identical in what identifies a
		// row: stream, timestamp and line.
		key := fmt.Sprint(row["_stream"], "\x00", row["_time"], "\x00", row["_msg"])
		if d.ids[id] == 1 {
			d.firstCopy[id] = key
		} else if d.firstCopy[id] != key {
			d.nonIdentical++
			if d.nonIdenticalExample == "" {
				d.nonIdenticalExample = diffContext(d.firstCopy[id], key)
			}
		}
		return nil
	})
	return d, err
}

// stdoutReader reads the stdout sink's output of every run incrementally.
type stdoutReader struct {
	d       *delivery
	offsets map[string]int64
	secrets []string
	// where records came from, to explain duplicates: the first copy of
	// each id (run number and the path the tailer read it at), and the
	// duplicates per "first → later" pair.
	first    map[string]origin
	dupPairs map[string]*dupPair
	// sameRun counts duplicates whose two copies one run wrote: after a
	// kill, the next run both replays the buffer's unacknowledged records
	// and re-reads the lines after the (lagging) checkpoint. In run 1,
	// before any kill, nothing explains them: firstRun counts those.
	sameRun        int
	firstRun       int
	sameRunExample string
	lineNo         map[string]int // stdout file → complete lines read
}

// byFirstRun groups d's duplicates by the run whose stdout first held the
// line: a backend's replays next to a kill fall in the run before it (the
// kill cut a push after the backend took it), those of an outage in the
// run the outage fell in.
func (r *stdoutReader) byFirstRun(d *delivery) string {
	runs := map[int]int{}
	for id, n := range d.ids {
		if n > 1 {
			runs[r.first[id].run] += n - 1
		}
	}
	keys := slices.Sorted(maps.Keys(runs))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("run %d: %d", k, runs[k])
	}
	return strings.Join(parts, ", ")
}

// dupPair counts the duplicates of one "first → later" pair and the range of
// log.offset they cover (a range from 0 means a file was read again from its
// start).
type dupPair struct {
	n              int
	minOff, maxOff int64
}

type origin struct {
	run    int
	path   string
	line   int    // line number in the run's stdout file
	offset string // log.offset
}

func (o origin) String() string { return fmt.Sprintf("run %d %s", o.run, filepath.Base(o.path)) }

func newStdoutReader(secrets []string) *stdoutReader {
	return &stdoutReader{d: newDelivery("stdout"), offsets: map[string]int64{}, secrets: secrets,
		first: map[string]origin{}, dupPairs: map[string]*dupPair{}, lineNo: map[string]int{}}
}

// scan reads the complete lines appended to files since the last scan. With
// final, a last line without a newline (torn by SIGKILL) is counted as torn.
func (r *stdoutReader) scan(files []string, final bool) error {
	for run, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		if _, err := f.Seek(r.offsets[p], io.SeekStart); err != nil {
			f.Close()
			return err
		}
		br := bufio.NewReaderSize(f, 1<<20)
		for {
			line, err := br.ReadBytes('\n')
			if errors.Is(err, io.EOF) {
				if final && len(line) > 0 {
					r.d.torn++
					r.d.scanSecrets(line, r.secrets)
					r.offsets[p] += int64(len(line))
				}
				break
			}
			if err != nil {
				f.Close()
				return err
			}
			r.offsets[p] += int64(len(line))
			r.lineNo[p]++
			r.line(line, run+1, r.lineNo[p])
		}
		f.Close()
	}
	return nil
}

func (r *stdoutReader) line(line []byte, run, lineNo int) {
	d := r.d
	d.scanSecrets(line, r.secrets)
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		// A line cut by SIGKILL followed by the next run's first line.
		d.torn++
		return
	}
	d.rows++
	if bytes.Contains(line, []byte("parse_failure")) {
		d.parseFail++
	}
	id, ok := recordID(rec)
	if !ok {
		d.noID++
		return
	}
	d.ids[id]++
	o := origin{run: run, line: lineNo}
	if l, ok := rec["log"].(map[string]any); ok {
		if f, ok := l["file"].(map[string]any); ok {
			o.path, _ = f["path"].(string)
		}
		o.offset = fmt.Sprint(l["offset"])
	}
	if f, ok := r.first[id]; !ok {
		r.first[id] = o
	} else {
		k := f.String() + " → " + o.String()
		dp := r.dupPairs[k]
		if dp == nil {
			dp = &dupPair{minOff: math.MaxInt64, maxOff: -1}
			r.dupPairs[k] = dp
		}
		dp.n++
		if off, err := strconv.ParseInt(o.offset, 10, 64); err == nil {
			dp.minOff, dp.maxOff = min(dp.minOff, off), max(dp.maxOff, off)
		}
		if f.run == run {
			r.sameRun++
			if run == 1 {
				r.firstRun++
			}
			if r.sameRunExample == "" {
				r.sameRunExample = fmt.Sprintf("request %s in run %d's stdout at lines %d (%s offset %s) and %d (%s offset %s)",
					id, run, f.line, f.path, f.offset, o.line, o.path, o.offset)
			}
		}
	}
}

// topDupPairs returns the n most common origins of duplicates.
func (r *stdoutReader) topDupPairs(n int) []string {
	keys := make([]string, 0, len(r.dupPairs))
	for k := range r.dupPairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.dupPairs[keys[i]].n > r.dupPairs[keys[j]].n })
	if len(keys) > n {
		keys = keys[:n]
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		dp := r.dupPairs[k]
		out[i] = fmt.Sprintf("%s: %d (later copies' log.offset %d–%d)", k, dp.n, dp.minOff, dp.maxOff)
	}
	return out
}

// dirBytes is the total size of the regular files under dir (0 if absent).
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil // files come and go while the agent runs
		}
		if e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// secretHit is a planted secret found in a file.
type secretHit struct {
	file, secret string
}

// scanDirSecrets searches every regular file under dir whose name starts
// with prefix for the secrets. Files removed during the walk are skipped.
func scanDirSecrets(dir string, secrets []string, prefix string) (hits []secretHit, files int, bytesRead int64) {
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		files++
		bytesRead += int64(len(b))
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				hits = append(hits, secretHit{p, s})
			}
		}
		return nil
	})
	return hits, files, bytesRead
}
