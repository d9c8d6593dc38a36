package elasticsearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/klauspost/compress/gzip"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/safeurl"
	"github.com/sidetrail/sidetrail/internal/sinkhttp"
	"github.com/sidetrail/sidetrail/internal/tlsconfig"
)

// Options are the sink's collaborators.
type Options struct {
	// Logger receives warnings (insecure TLS) and authentication failures.
	// nil discards.
	Logger *slog.Logger
}

// Stats is a snapshot of the sink's counters since New.
type Stats struct {
	// Requests is the number of _bulk requests attempted (each half of a
	// split batch counts), RequestErrors those that ended without an HTTP
	// answer (network error, timeout, cancellation), BytesSent the request
	// bodies' bytes as sent (after compression).
	Requests, RequestErrors, BytesSent uint64
	// Whole-request answers by status class.
	Status2xx, Status413, Status429, Status5xx, StatusOther4xx uint64
	// AuthFailures counts 401 and 403 answers.
	AuthFailures uint64
	// Splits counts 413 answers that split a batch in halves; TooLarge the
	// single records rejected because even alone they were too large.
	Splits, TooLarge uint64
	// Halved counts whole-request refusals (413, and a 400 such as
	// VictoriaLogs gives for one bad line) that Send answered by sending
	// the request again in halves; Resent the records those halves sent
	// again. Send can succeed after them: the shipper does not see them.
	Halved, Resent uint64
	// Per-record outcomes.
	Accepted, Duplicates, Retries, Rejected uint64
	// BadResponses counts 2xx answers that could not be parsed or whose
	// items did not match the request.
	BadResponses uint64
}

type counters struct {
	requests, requestErrors, bytesSent                         atomic.Uint64
	status2xx, status413, status429, status5xx, statusOther4xx atomic.Uint64
	authFailures, splits, tooLarge, halved, resent             atomic.Uint64
	accepted, duplicates, retries, rejected, badResponses      atomic.Uint64
}

// Sink sends batches of records to Elasticsearch's _bulk API as "create"
// operations with an _id derived from each record's ID, so a replay answers
// 409 and counts as delivered.
//
// Concurrency: Send is not safe for concurrent use (the Sink contract says
// it is never called concurrently with itself or Close); Stats may be called
// at any time from any goroutine. Memory: Send reuses one encoder, one body
// buffer and one response buffer per Sink and keeps no reference to the
// batch after it returns. Blocking: Send blocks for at most the configured
// Timeout per HTTP request (a 413 split makes several) or until ctx ends.
// Durability: a record is durable once Send marks it Accepted or Duplicate.
type Sink struct {
	cfg       Config
	log       *slog.Logger
	client    *es.BaseClient
	transport *tlsconfig.Transport
	bulkPath  string // "/_bulk?..." relative to each node URL
	headers   http.Header
	auth      string       // the Authorization header; "" when none is configured (authMu)
	authStamp [3]credStamp // (authMu)
	closed    atomic.Bool
	// refusing: the endpoint refused small records alone with none taken
	// (a configuration error, see refusedAlone), and took no request since.
	refusing atomic.Bool

	index *indexPattern
	// authMu guards auth and authStamp: Sends may run concurrently.
	authMu sync.Mutex
	// free holds the scratch state of Sends not running now.
	freeMu sync.Mutex
	free   []*request

	authLog     onceAMinute // the loud auth log
	tooLargeLog onceAMinute // the 413 split warning
	halvingLog  onceAMinute // the whole-request 400 search warning
	refusedLog  onceAMinute // the whole-request 4xx error
	idsLog      onceAMinute // answers whose _ids are none of the request's
	c           counters
}

// request is one Send's scratch state, reused by later Sends.
type request struct {
	index  indexPattern // a copy: it caches the last name rendered
	enc    sidetrail.JSONEncoder
	body   []byte            // the batch's NDJSON
	offs   []int             // offs[i] is where record i starts in body; offs[n] = len(body)
	ids    []int             // body[ids[2i]:ids[2i+1]] is record i's _id
	fields []sidetrail.Field // renamed to ECS
	meta   []sidetrail.Field // metadata names renamed
	zbuf   bytes.Buffer
	zw     *gzip.Writer
	resp   bytes.Buffer
	spare  bytes.Buffer // for a long answer's strings cut (readAnswer)
	items  []itemStatus

	// A whole-request 400 is searched by halves for the record it is
	// about (sendRange): taken, some request of this Send got a 2xx;
	// alone, the records refused on their own (Unsent so far).
	taken bool
	alone []int
	// takenAt is how many of alone were refused before the first request
	// of this Send was taken (len(alone) while none was).
	takenAt int
	again   []int // scratch: alone refused before takenAt
}

// getRequest returns scratch state for one Send; putRequest gives it back.
func (s *Sink) getRequest() *request {
	s.freeMu.Lock()
	defer s.freeMu.Unlock()
	if n := len(s.free); n > 0 {
		r := s.free[n-1]
		s.free = s.free[:n-1]
		return r
	}
	r := &request{index: *s.index}
	if r.index.dated {
		// Its own rendering per hour; a fixed name is rendered once, by
		// New, and shared.
		r.index.quoted, r.index.valid = nil, false
	}
	if s.cfg.Compression == "gzip" {
		r.zw = gzip.NewWriter(&r.zbuf)
	}
	return r
}

func (s *Sink) putRequest(r *request) {
	if r.resp.Cap() > keptResponseBytes {
		r.resp = bytes.Buffer{}
	}
	s.freeMu.Lock()
	s.free = append(s.free, r)
	s.freeMu.Unlock()
}

// onceAMinute rate-limits a log line: allow says yes at most once a
// minute, across the goroutines sending requests.
type onceAMinute struct{ last atomic.Int64 } // unix nanoseconds

func (o *onceAMinute) allow(now time.Time) bool {
	n := now.UnixNano()
	last := o.last.Load()
	return n-last >= int64(time.Minute) && o.last.CompareAndSwap(last, n)
}

// responseLimit bounds how much of a response to a request of n records
// the sink reads: an item's answer is a few hundred bytes, a refused one's
// reason a few KiB. A garbled or endless body (a proxy, a bug) is cut there
// and read as a bad response, retried, instead of held in memory whole: at
// 256 MiB per request in flight it took a probe's agent to 4 GB.
func responseLimit(n int) int64 { return 1<<20 + int64(n)*(16<<10) }

// keptResponseBytes is the largest response buffer a finished request
// keeps for the next one.
const keptResponseBytes = 4 << 20

// New validates cfg and returns a Sink. It reads the credential files and
// the TLS material (again later when they change); nothing is sent until
// Send (no product check or cluster ping at start, so a down cluster does
// not stop the agent from starting).
func New(cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	index, err := compileIndex(cfg.Index)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}

	tr, err := cfg.TLS.NewTransport(func(tlsCfg *tls.Config) *http.Transport {
		return &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsCfg,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	})
	if err != nil {
		return nil, err
	}
	if cfg.TLS.InsecureSkipVerify {
		log.Warn("elasticsearch: tls.insecure_skip_verify is set: server certificates are not checked", "urls", safeurl.Strings(cfg.URLs))
	}

	auth, err := authHeader(&cfg)
	if err != nil {
		return nil, err
	}
	esCfg := es.Config{Addresses: cfg.URLs, Transport: tr}
	if len(cfg.URLs) > 1 {
		// Failover: try each other node once, at once; backoff between
		// rounds is the shipper's.
		esCfg.MaxRetries = len(cfg.URLs) - 1
		esCfg.RetryOnStatus = []int{502, 503, 504}
		esCfg.RetryOnError = func(req *http.Request, err error) bool { return req.Context().Err() == nil }
	} else {
		esCfg.DisableRetry = true
	}
	client, err := es.NewBaseClient(esCfg)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}

	q := url.Values{}
	for k, v := range cfg.Params {
		q.Set(k, v)
	}
	if cfg.Pipeline != "" {
		q.Set("pipeline", cfg.Pipeline)
	}
	bulkPath := "/_bulk"
	if len(q) > 0 {
		bulkPath += "?" + q.Encode()
	}
	h := http.Header{}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Accept", "application/json")
	if cfg.Compression == "gzip" {
		h.Set("Content-Encoding", "gzip")
	}

	s := &Sink{
		cfg:       cfg,
		log:       log,
		client:    client,
		transport: tr,
		bulkPath:  bulkPath,
		headers:   h,
		auth:      auth,
		index:     index,
	}
	s.reloadAuth(false) // record the files' stamps
	return s, nil
}

// Send delivers batch with one _bulk request (more when the cluster answers
// 413) and fills results; see the package documentation for what each answer
// means. It returns a non-nil error when the request as a whole failed: such
// records stay Unsent and are retried by the caller (a whole-request 4xx
// too: the configuration is the cause). batch's bytes are not used after
// Send returns.
// Send is safe for concurrent use: each call has its own request.
func (s *Sink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	if s.closed.Load() {
		return fmt.Errorf("elasticsearch sink: %w", sidetrail.ErrClosed)
	}
	if len(results) != len(batch) {
		return fmt.Errorf("elasticsearch sink: %d results for %d records", len(results), len(batch))
	}
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("elasticsearch bulk: %w", err)
	}
	s.reloadAuth(false)
	rq := s.getRequest()
	defer s.putRequest(rq)
	s.encode(rq, batch)
	rq.taken, rq.alone, rq.takenAt = false, rq.alone[:0], 0
	err := s.sendRange(ctx, rq, results, 0, len(batch))
	if err == nil && rq.taken && rq.takenAt > 0 {
		// Records refused alone before the endpoint took anything: it
		// may have been the endpoint, fixed while the halves were sent
		// (sinks13 F1 saw good records dead-lettered so). Each is sent
		// once more; refused again now, it is the record.
		rq.again = append(rq.again[:0], rq.alone[:rq.takenAt]...)
		rq.alone = append(rq.alone[:0], rq.alone[rq.takenAt:]...)
		rq.takenAt = 0
		s.c.resent.Add(uint64(len(rq.again)))
		for _, i := range rq.again {
			results[i] = sidetrail.Result{}
			if err = s.sendRange(ctx, rq, results, i, i+1); err != nil {
				break
			}
		}
	}
	if err == nil && len(rq.alone) > 0 {
		// A record the endpoint refused alone: rejected if it took
		// others, kept and retried as a configuration error if not.
		err = s.refusedAlone(rq, results)
	}
	return err
}

// encode writes batch as bulk NDJSON into rq.body, recording where each
// record's action line starts.
func (s *Sink) encode(rq *request, batch []sidetrail.Record) {
	body := rq.body[:0]
	rq.offs = rq.offs[:0]
	rq.ids = rq.ids[:0]
	for i := range batch {
		r := &batch[i]
		rq.offs = append(rq.offs, len(body))
		body = append(body, `{"create":{"_index":`...)
		body = rq.index.appendQuoted(body, r.Time)
		body = append(body, `,"_id":"`...)
		idStart := len(body)
		body = r.ID().AppendText(body)
		rq.ids = append(rq.ids, idStart, len(body))
		body = append(body, "\"}}\n"...)
		fields := r.Fields
		if s.cfg.ECS {
			rq.fields = appendECSFields(rq.fields[:0], fields)
			fields = rq.fields
		}
		if hasMetadata(fields) {
			rq.meta = appendMetadataRenamed(rq.meta[:0], fields)
			fields = rq.meta
		}
		if len(fields) > 0 && &fields[0] != &r.Fields[0] {
			rc := *r
			rc.Fields = fields
			body = rq.enc.Append(body, &rc)
		} else {
			body = rq.enc.Append(body, r)
		}
		body = append(body, '\n')
	}
	rq.offs = append(rq.offs, len(body))
	rq.body = body
	clear(rq.fields) // hold no pointers into the caller's records
	clear(rq.meta)
}

// sendRange sends records [lo, hi) of the encoded batch and fills their
// results.
func (s *Sink) sendRange(ctx context.Context, rq *request, results []sidetrail.Result, lo, hi int) error {
	status, header, err := s.do(ctx, rq, rq.body[rq.offs[lo]:rq.offs[hi]], hi-lo)
	if err != nil {
		return err
	}
	switch {
	case status >= 200 && status < 300:
		s.c.status2xx.Add(1)
		if !rq.taken {
			rq.takenAt = len(rq.alone)
		}
		rq.taken = true
		s.refusing.Store(false)
		if err := s.parseItems(rq, results[lo:hi], lo); err != nil {
			if errors.Is(err, errNoPipeline) {
				s.c.statusOther4xx.Add(1)
				if s.refusedLog.allow(time.Now()) {
					s.log.Error("elasticsearch: an ingest pipeline the documents go through does not exist (pipeline, or the index's default_pipeline); records are kept and retried",
						"error", err, "urls", safeurl.Strings(s.cfg.URLs))
				}
				return err
			}
			s.c.badResponses.Add(1)
			return err
		}
		return nil
	case status == http.StatusRequestEntityTooLarge:
		s.c.status413.Add(1)
		if hi-lo == 1 {
			s.c.tooLarge.Add(1)
			s.c.rejected.Add(1)
			results[lo] = sidetrail.Result{Status: sidetrail.Rejected,
				Reason: fmt.Sprintf("413 request entity too large: the record alone is %d bytes of bulk body", rq.offs[hi]-rq.offs[lo])}
			return nil
		}
		s.c.splits.Add(1)
		s.c.halved.Add(1)
		s.c.resent.Add(uint64(hi - lo))
		if s.tooLargeLog.allow(time.Now()) {
			s.log.Warn("elasticsearch: 413 request entity too large: sending the batch in halves; lower batch.max_bytes or raise http.max_content_length",
				"records", hi-lo, "bytes", rq.offs[hi]-rq.offs[lo])
		}
		mid := lo + (hi-lo)/2
		if err := s.sendRange(ctx, rq, results, lo, mid); err != nil {
			return err
		}
		return s.sendRange(ctx, rq, results, mid, hi)
	}

	err = fmt.Errorf("elasticsearch bulk: %s: %s", statusText(status), errorReason(rq.resp.Bytes()))
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		s.c.authFailures.Add(1)
		s.c.statusOther4xx.Add(1)
		reloaded := s.reloadAuth(true)
		if s.authLog.allow(time.Now()) {
			s.log.Error("elasticsearch: authentication failed; records are kept and retried until the credentials work",
				"status", status, "error", err, "urls", safeurl.Strings(s.cfg.URLs), "credentials_reloaded", reloaded)
		}
		return err
	case status == http.StatusTooManyRequests || status >= 500 || status == http.StatusRequestTimeout:
		if status == http.StatusTooManyRequests {
			s.c.status429.Add(1)
		} else if status >= 500 {
			s.c.status5xx.Add(1)
		} else {
			s.c.statusOther4xx.Add(1)
		}
		if d, ok := parseRetryAfter(header.Get("Retry-After"), time.Now()); ok {
			return &sidetrail.RetryAfterError{After: d, Err: err}
		}
		return err
	case status == http.StatusBadRequest && (hi-lo > 1 || rq.taken || len(rq.alone) < maxAlone):
		// Elasticsearch refuses a bad document in its item, but a bulk
		// endpoint such as VictoriaLogs refuses the whole request for one
		// record (a line over its -insert.maxLineSizeBytes). Look for it
		// by halves: a record refused alone while others are taken is
		// dead-lettered (refusedAlone); maxAlone refused alone with none
		// taken are the configuration's (below).
		s.c.statusOther4xx.Add(1)
		if hi-lo > 1 {
			s.c.halved.Add(1)
			s.c.resent.Add(uint64(hi - lo))
			if s.halvingLog.allow(time.Now()) {
				s.log.Warn("elasticsearch: the bulk endpoint refused a whole request (400): sending it again in halves to find the records it refuses",
					"records", hi-lo, "error", err)
			}
			mid := lo + (hi-lo)/2
			if err := s.sendRange(ctx, rq, results, lo, mid); err != nil {
				return err
			}
			return s.sendRange(ctx, rq, results, mid, hi)
		}
		rq.alone = append(rq.alone, lo)
		results[lo].Reason = "400 for the record alone: " + errorReason(rq.resp.Bytes())
		return nil
	case status >= 400:
		// The whole request refused. Its NDJSON is ours and valid, and
		// Elasticsearch refuses a bad document in its item, not here: the
		// cause is the configuration or what stands in between (a 404
		// for a wrong path, a 400 for an ingest pipeline or a parameter
		// it does not know, a proxy's HTML page for plain HTTP sent to
		// its TLS port). Keep the records and retry, loudly, as Fluent Bit
		// and Filebeat do, rather than dead-letter every batch while the
		// sink looks healthy.
		s.c.statusOther4xx.Add(1)
		if s.refusedLog.allow(time.Now()) {
			s.log.Error("elasticsearch: the bulk endpoint refused the whole request; check urls, pipeline and params. Records are kept and retried",
				"status", status, "error", err, "urls", safeurl.Strings(s.cfg.URLs))
		}
		return err
	}
	// 1xx/3xx: the client follows no redirects; treat as transient.
	return err
}

// refusedAlone settles the records a whole-request 400 was about alone
// (rq.alone): rejected when the endpoint took other records of the batch,
// or when they are large and the endpoint is not known to refuse small
// ones; else left Unsent with the configuration error that refuses
// everything.
func (s *Sink) refusedAlone(rq *request, results []sidetrail.Result) error {
	if rq.taken || rq.allLarge() && !s.refusing.Load() {
		// Others of the batch were taken; or nothing else was in it to
		// take (a quiet file's oversize line alone in its batch), the
		// records are large, and the endpoint has not refused small ones
		// since it last took a request: a size limit, not the
		// configuration. Also right after a start: kept until the
		// endpoint took a request, such records filled every request in
		// flight, none could be taken, and the sink stalled for good
		// (sinks11).
		for _, i := range rq.alone {
			s.c.rejected.Add(1)
			results[i].Status = sidetrail.Rejected
		}
		return nil
	}
	for _, i := range rq.alone {
		results[i] = sidetrail.Result{}
	}
	if !rq.allLarge() {
		s.refusing.Store(true)
	}
	err := fmt.Errorf("elasticsearch bulk: %s: %s", statusText(http.StatusBadRequest), errorReason(rq.resp.Bytes()))
	if s.refusedLog.allow(time.Now()) {
		s.log.Error("elasticsearch: the bulk endpoint refused the whole request; check urls, pipeline and params. Records are kept and retried",
			"status", http.StatusBadRequest, "error", err, "urls", safeurl.Strings(s.cfg.URLs))
	}
	return err
}

// largeRecord is the bulk size from which a record refused alone is taken
// for one over the endpoint's size limit (VictoriaLogs: 256 KiB by
// default) even when no other record of its batch was taken.
const largeRecord = 64 << 10

// allLarge reports whether every record refused alone is largeRecord or more.
func (rq *request) allLarge() bool {
	for _, i := range rq.alone {
		if rq.offs[i+1]-rq.offs[i] < largeRecord {
			return false
		}
	}
	return len(rq.alone) > 0
}

// maxAlone is how many records a whole-request 400 may find refused alone,
// none of the batch taken, before the search stops and the batch is kept
// as refused by the configuration: room for a few oversize records at a
// batch's head, a bound on the requests a configuration error costs.
const maxAlone = 4

// do performs one bulk request with body and reads the response into
// rq.resp. A non-nil error means no HTTP answer was read.
func (s *Sink) do(ctx context.Context, rq *request, body []byte, n int) (int, http.Header, error) {
	if rq.zw != nil {
		rq.zbuf.Reset()
		rq.zw.Reset(&rq.zbuf)
		if _, err := rq.zw.Write(body); err != nil {
			return 0, nil, fmt.Errorf("gzip: %w", err)
		}
		if err := rq.zw.Close(); err != nil {
			return 0, nil, fmt.Errorf("gzip: %w", err)
		}
		body = rq.zbuf.Bytes()
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.bulkPath, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("elasticsearch bulk: %w", err)
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	s.authMu.Lock()
	auth := s.auth
	s.authMu.Unlock()
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	s.c.requests.Add(1)
	s.c.bytesSent.Add(uint64(len(body)))
	// The client's own Perform checks, on the first 2xx answer, that the
	// server calls itself Elasticsearch (X-Elastic-Product), and fails
	// requests the server accepted when it does not: OpenSearch, a
	// compatible backend or a proxy that drops the header would get every
	// batch again and again. The answer's items are checked instead
	// (parseItems); the transport still does failover and connection
	// reuse.
	res, err := s.client.Transport.Perform(req)
	if err == nil {
		err = rq.readAnswer(res.Body, responseLimit(n), responseLimit(n)+8*int64(len(body)))
		res.Body.Close()
		if err != nil {
			err = fmt.Errorf("reading response: %w", err)
		}
	}
	if err != nil {
		s.c.requestErrors.Add(1)
		if ctx.Err() == nil && rctx.Err() == context.DeadlineExceeded {
			return 0, nil, fmt.Errorf("elasticsearch bulk: no answer within timeout %v: %w", s.cfg.Timeout, err)
		}
		return 0, nil, fmt.Errorf("elasticsearch bulk: %w", err)
	}
	return res.StatusCode, res.Header, nil
}

// readAnswer reads a bulk answer into rq.resp, up to limit bytes. An
// answer that reaches the limit has its long strings cut (cutStrings: the
// reasons that quote refused values whole), as far as it goes, reading at
// most readMax bytes in all: what is kept is still at most limit, and an
// endless body ends there. Cut short even so, it reads as a bad answer.
func (rq *request) readAnswer(body io.Reader, limit, readMax int64) error {
	rq.resp.Reset()
	if _, err := rq.resp.ReadFrom(io.LimitReader(body, limit)); err != nil {
		return err
	}
	if int64(rq.resp.Len()) < limit {
		return nil // the common case, copied as it came
	}
	rq.spare.Reset()
	c := &cutStrings{dst: &rq.spare, limit: int(limit)}
	c.Write(rq.resp.Bytes())
	_, err := io.Copy(c, io.LimitReader(body, readMax-limit))
	rq.resp, rq.spare = rq.spare, rq.resp
	return err
}

type itemError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *itemError `json:"caused_by"`
}

func (e *itemError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil && e.CausedBy.Reason != "" {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

// parseItems reads rq.resp as a bulk answer for len(results) records. It
// fills results only when the whole answer is usable.
func (s *Sink) parseItems(rq *request, results []sidetrail.Result, lo int) error {
	var err error
	rq.items, err = scanBulk(rq.items[:0], rq.resp.Bytes())
	if err != nil {
		return fmt.Errorf("elasticsearch bulk: unreadable response (%v): %.200q", err, rq.resp.Bytes())
	}
	if len(rq.items) != len(results) {
		return fmt.Errorf("elasticsearch bulk: response has %d items for %d records", len(rq.items), len(results))
	}
	// Elasticsearch answers the actions in order. An item that names
	// another action's _id (a proxy or a compatible backend that reorders)
	// is matched by _id instead: by position, a failed record would be
	// taken for a delivered one.
	pos := func(i int) int { return i }
	for i, it := range rq.items {
		if it.id != nil && !bytes.Equal(unquote(it.id), rq.actionID(lo+i)) {
			byID, err := rq.matchIDs(lo)
			if errors.Is(err, errForeignIDs) {
				// An ingest pipeline set the _ids (a fingerprint
				// for deduplication, index.default_pipeline), of
				// every document or some: nothing to match those
				// by, and Elasticsearch answers in order. Matched
				// by _id, every batch was sent again without end
				// (sinks23 P6, regress23 P4).
				if s.idsLog.allow(time.Now()) {
					s.log.Warn("elasticsearch: the answer's items name _ids the request does not have (an ingest pipeline sets _id?): they are taken in the request's order",
						"sent", string(rq.actionID(lo+i)), "answered", string(unquote(it.id)))
				}
				break
			}
			if err != nil {
				return err
			}
			pos = func(i int) int { return byID[i] }
			break
		}
	}
	for _, it := range rq.items {
		if it.status == http.StatusBadRequest && noPipeline(it.err) {
			// Elasticsearch refuses a document whose pipeline does not
			// exist in its item, not the request: a misspelt pipeline
			// had every record dead-lettered, then discarded, the sink
			// healthy (sinks25 P3). The configuration's, as a whole
			// request's 400 is.
			return fmt.Errorf("%w: %s", errNoPipeline, itemReason(it.status, it.err))
		}
	}
	for i, it := range rq.items {
		j := pos(i)
		switch st := it.status; {
		case st >= 200 && st < 300:
			results[j] = sidetrail.Result{Status: sidetrail.Accepted}
			s.c.accepted.Add(1)
		case st == http.StatusConflict:
			results[j] = sidetrail.Result{Status: sidetrail.Duplicate}
			s.c.duplicates.Add(1)
		case st == http.StatusTooManyRequests || st == http.StatusRequestTimeout || st >= 500:
			results[j] = sidetrail.Result{Status: sidetrail.Retry, Reason: itemReason(st, it.err)}
			s.c.retries.Add(1)
		default:
			results[j] = sidetrail.Result{Status: sidetrail.Rejected, Reason: itemReason(st, it.err)}
			s.c.rejected.Add(1)
		}
	}
	return nil
}

// errNoPipeline: an item refused because its ingest pipeline does not
// exist (see parseItems).
var errNoPipeline = errors.New("elasticsearch bulk: an ingest pipeline does not exist")

// noPipeline reports whether an item's error is Elasticsearch's for a
// pipeline that does not exist.
func noPipeline(rawErr []byte) bool {
	return bytes.Contains(rawErr, []byte("pipeline with id [")) && bytes.Contains(rawErr, []byte("] does not exist"))
}

// actionID returns record i's _id as sent.
func (rq *request) actionID(i int) []byte { return rq.body[rq.ids[2*i]:rq.ids[2*i+1]] }

// matchIDs maps each answered item to the position of the action with its
// _id, for the records from lo on; every item must name a distinct action
// of the request.
func (rq *request) matchIDs(lo int) ([]int, error) {
	want := make(map[string]int, len(rq.items))
	for i := range rq.items {
		want[string(rq.actionID(lo+i))] = i
	}
	reordered := false
	for i, it := range rq.items {
		if j, ok := want[string(unquote(it.id))]; ok && j != i {
			reordered = true
			break
		}
	}
	if !reordered {
		// Every item names its own action's _id or one the request
		// does not have: in order, some _ids set by an ingest
		// pipeline (for some documents only, or all but one that
		// failed in it: regress23 P4).
		return nil, errForeignIDs
	}
	out := make([]int, len(rq.items))
	for i, it := range rq.items {
		j, ok := want[string(unquote(it.id))]
		if !ok {
			return nil, fmt.Errorf("elasticsearch bulk: response item %d is for _id %s, which is not one of the request's actions (or has none)", i, it.id)
		}
		delete(want, string(unquote(it.id)))
		out[i] = j
	}
	return out, nil
}

// errForeignIDs: no item of an answer names another action's _id, and
// some name an _id the request's actions do not have (see parseItems).
var errForeignIDs = errors.New("elasticsearch bulk: items name _ids the request does not have, none out of order")

// unquote returns a JSON string's bytes between its quotes (escapes are
// not undone: _id values sidetrail sends have none).
func unquote(raw []byte) []byte {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		return raw[1 : len(raw)-1]
	}
	return raw
}

func statusText(status int) string {
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// errorReason extracts "type: reason" from an Elasticsearch error body, or
// returns the start of the body.
func errorReason(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var ie itemError
		if json.Unmarshal(e.Error, &ie) == nil && ie.Type != "" {
			return ie.String()
		}
		var str string
		if json.Unmarshal(e.Error, &str) == nil {
			return str
		}
	}
	b := strings.TrimSpace(string(body))
	if len(b) > 512 {
		b = b[:512] + "..."
	}
	if b == "" {
		return "(empty body)"
	}
	return b
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// authHeader builds the Authorization header from cfg, reading the
// credential files. The sink sets the header itself (rather than through the
// client's options) so it can re-read the files after a 401 or 403: a
// rotated Kubernetes Secret then takes effect without a restart.
func authHeader(cfg *Config) (string, error) {
	secret := func(value, file, key string) (string, error) {
		if file == "" {
			return value, nil
		}
		v, err := sinkhttp.ReadSecret(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		return v, nil
	}
	switch {
	case cfg.Username != "":
		pw, err := secret(cfg.Password, cfg.PasswordFile, "password_file")
		if err != nil {
			return "", err
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+pw)), nil
	case cfg.APIKey != "" || cfg.APIKeyFile != "":
		key, err := secret(cfg.APIKey, cfg.APIKeyFile, "api_key_file")
		if err != nil {
			return "", err
		}
		return "ApiKey " + key, nil
	case cfg.BearerToken != "" || cfg.BearerTokenFile != "":
		tok, err := secret(cfg.BearerToken, cfg.BearerTokenFile, "bearer_token_file")
		if err != nil {
			return "", err
		}
		return "Bearer " + tok, nil
	}
	return "", nil
}

// reloadAuth re-reads the credential files when force is set (after a 401
// or 403) or when one of them changed (size or modification time, checked
// once per Send: one stat per file per batch), and reports whether the
// header changed. A file that cannot be read keeps the old header.
func (s *Sink) reloadAuth(force bool) bool {
	files := [...]string{s.cfg.PasswordFile, s.cfg.APIKeyFile, s.cfg.BearerTokenFile}
	if files == [len(files)]string{} {
		return false
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	var stamp [len(files)]credStamp
	have := false
	for i, f := range files {
		if f == "" {
			continue
		}
		have = true
		if fi, err := os.Stat(f); err == nil {
			stamp[i] = credStamp{size: fi.Size(), mod: fi.ModTime().UnixNano()}
		}
	}
	if !have || (!force && stamp == s.authStamp) {
		return false
	}
	s.authStamp = stamp
	auth, err := authHeader(&s.cfg)
	if err != nil {
		s.log.Warn("elasticsearch: re-reading credentials", "error", err)
		return false
	}
	if auth == s.auth {
		return false
	}
	s.auth = auth
	return true
}

// credStamp identifies one version of a credential file.
type credStamp struct{ size, mod int64 }

// Close releases the client's connections. It is idempotent; Send after
// Close returns an error wrapping sidetrail.ErrClosed.
func (s *Sink) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.client.Close(ctx)
	if errors.Is(err, es.ErrAlreadyClosed) {
		err = nil
	}
	s.transport.CloseIdleConnections()
	return err
}

// Stats returns a snapshot of the counters. Safe for concurrent use.
func (s *Sink) Stats() Stats {
	c := &s.c
	return Stats{
		Requests: c.requests.Load(), RequestErrors: c.requestErrors.Load(), BytesSent: c.bytesSent.Load(),
		Status2xx: c.status2xx.Load(), Status413: c.status413.Load(), Status429: c.status429.Load(),
		Status5xx: c.status5xx.Load(), StatusOther4xx: c.statusOther4xx.Load(),
		AuthFailures: c.authFailures.Load(), Splits: c.splits.Load(), TooLarge: c.tooLarge.Load(),
		Halved: c.halved.Load(), Resent: c.resent.Load(),
		Accepted: c.accepted.Load(), Duplicates: c.duplicates.Load(), Retries: c.retries.Load(),
		Rejected: c.rejected.Load(), BadResponses: c.badResponses.Load(),
	}
}
