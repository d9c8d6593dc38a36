package loki

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/safeurl"
	"github.com/sidetrail/sidetrail/internal/sinkhttp"
)

// Options are the sink's dependencies.
type Options struct {
	// Logger receives the sink's warnings (auth failures, the stream limit),
	// rate-limited. Nil discards.
	Logger *slog.Logger
}

// Stats is a snapshot of the sink's counters since New.
type Stats struct {
	// Requests is the number of push requests made; AcceptedRequests those
	// answered 2xx, FailedRequests the others (no answer included: each
	// request of a search by halves is one); SetupErrors counts pushes that
	// failed before a request (a secret file that cannot be read).
	Requests, AcceptedRequests, FailedRequests, SetupErrors uint64
	// Records and Entries were accepted (a split record makes several entries).
	Records, Entries uint64
	// Bytes is the accepted request bodies' size on the wire (compressed).
	Bytes uint64
	// Rejected counts records of pushes Loki answered 400, and records
	// answered 413 when pushed alone (both dead-lettered by the shipper).
	Rejected uint64
	// TooLarge counts 413 answers; TooLargeSplits those that sent a batch
	// again in halves; Halved the 400 answers that did (for a push of
	// several records); Resent the records those halves sent again.
	TooLarge, TooLargeSplits, Halved, Resent uint64
	// Throttled (429), ServerErrors (5xx), AuthErrors (401, 403),
	// OtherStatus (any other non-2xx) and NetworkErrors (no answer, timeout,
	// reset) count failed requests that will be retried.
	Throttled, ServerErrors, AuthErrors, OtherStatus, NetworkErrors uint64
	// Truncated and Split count records whose line exceeded max_line_bytes;
	// FieldsDropped those of them (line: json) whose parsed fields alone
	// left no room for the message, sent without the fields.
	Truncated, Split, FieldsDropped uint64
	// StreamLimited counts records sent with the static labels only because
	// max_streams distinct label sets were already open.
	StreamLimited uint64
	// Streams is the number of distinct label sets opened (≤ max_streams,
	// plus possibly the static set).
	Streams uint64
}

// Sink pushes batches to Loki's push API, one request per Send. Send and
// Close are never called concurrently (the sidetrail.Sink contract); Stats
// may be called at any time from any goroutine. A Sink keeps its encoding
// buffers between calls (about twice the largest batch's encoded size; a
// buffer over 32 MiB is let go at the next Send) and keeps nothing of a
// record past Send.
type Sink struct {
	cfg     Config
	url     string
	log     *slog.Logger
	client  *http.Client
	enc     *encoder
	respBuf []byte

	mu     sync.Mutex
	closed bool

	warnAuth, warnStreams, warnStatus, warnTooLarge, warnFields, warnHalved rateLimit
	warnRefusesAll, warnLabels                                              rateLimit

	alwaysLabels int // label names every record's stream has (alwaysLabels)

	// A 400 for a push of several records is searched by halves for the
	// records it refuses (rejectHalves), within one Send: taken, some push
	// got a 2xx; alone, how many records were refused on their own.
	taken bool
	alone int
	// checked: this Send asked already whether the endpoint refuses an
	// empty push too (refusesEverything).
	checked bool

	requests, acceptedReqs, records, entries, bytes         atomic.Uint64
	rejected, throttled, serverErrs, authErrs, otherErrs    atomic.Uint64
	netErrs, truncated, split, streamLimited, streams       atomic.Uint64
	tooLarge, tooLargeSplits, halved, fieldsDropped, resent atomic.Uint64
	failedReqs, setupErrs                                   atomic.Uint64
}

// warnEvery is how often each kind of warning is logged at most.
const warnEvery = time.Minute

type rateLimit struct{ last time.Time }

func (r *rateLimit) allow(now time.Time) bool {
	if !r.last.IsZero() && now.Sub(r.last) < warnEvery {
		return false
	}
	r.last = now
	return true
}

// maxReasonBytes bounds how much of an error response is kept as the reason.
const maxReasonBytes = 4 << 10

// New validates cfg, applies its defaults and returns a Sink. It reads the
// TLS files, again when they change; password and token files are read
// again for every push.
// It starts no goroutines; the HTTP client keeps idle connections until
// Close.
func New(cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("loki: %w", err)
	}
	cfg = cfg.withDefaults()
	u, err := pushURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("loki: url: %w", err)
	}
	tr, err := cfg.TLS.NewTransport(func(tlsCfg *tls.Config) *http.Transport {
		tr := http.DefaultTransport.(*http.Transport).Clone() // IdleConnTimeout 90 s
		tr.TLSClientConfig = tlsCfg
		tr.MaxIdleConnsPerHost = 4
		tr.DisableCompression = true
		return tr
	})
	if err != nil {
		return nil, fmt.Errorf("loki: tls: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TLS.InsecureSkipVerify {
		log.Warn("loki: tls.insecure_skip_verify is set: server certificates are not checked", "url", safeurl.String(cfg.URL))
	}
	s := &Sink{
		cfg:    cfg,
		url:    u,
		log:    log, // the caller's logger names the sink; messages start "loki:"
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: noRedirects},
		enc:    newEncoder(cfg),

		alwaysLabels: alwaysLabels(cfg),
	}
	if n := len(cfg.Labels) + len(cfg.LabelFields); n > lokiLabelNames {
		// Loki's limit is the server's; its default is what most have.
		log.Warn("loki: labels and label_fields can make more label names than Loki allows by default (max_label_names_per_series 15): the records of such streams are refused",
			"label_names", n, "url", safeurl.String(cfg.URL))
	}
	return s, nil
}

// Send pushes batch as one request and fills results. The records' bytes
// are read only during the call. It blocks until Loki answers, the timeout
// passes or ctx ends, and never retries or sleeps.
//
// Outcomes: 2xx marks every record Accepted. 413 sends the batch again in
// halves; a single record Loki still finds too large is Rejected. 3xx
// answers are not followed (see noRedirects). 400 (Loki refused the push:
// line too long, too far behind, too many labels, a body over its limit)
// sends a batch of several records again in halves (rejectHalves); the
// records refused alone are Rejected with Loki's reason, and the error
// returned is a sidetrail.Permanent one. 401
// and 403 are logged (rate-limited), counted and returned as retryable
// errors. 429, 5xx, other statuses and network errors return retryable
// errors, a *sidetrail.RetryAfterError when the answer carried
// Retry-After; their records stay Unsent. After Close, Send returns
// sidetrail.ErrClosed.
func (s *Sink) Send(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return sidetrail.ErrClosed
	}
	if len(results) != len(batch) {
		return fmt.Errorf("loki: %d results for %d records", len(results), len(batch))
	}
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.push(ctx, batch, results, true)
}

// delivered counts what the encoding of a push Loki took did to its
// records. Counted at encoding, a batch retried through an outage added
// its records again at every try (docs19 F1).
func (s *Sink) delivered(st encodeStats) {
	s.truncated.Add(st.truncated)
	s.split.Add(st.split)
	if st.fieldsDropped > 0 {
		s.fieldsDropped.Add(st.fieldsDropped)
		if s.warnFields.allow(time.Now()) {
			s.log.Warn("loki: records whose parsed fields alone exceed max_line_bytes were sent without them (their message still holds them)",
				"max_line_bytes", s.cfg.MaxLineBytes, "records", st.fieldsDropped)
		}
	}
	if st.streamLimited > 0 {
		s.streamLimited.Add(st.streamLimited)
		if s.warnStreams.allow(time.Now()) {
			s.log.Warn("loki: max_streams reached; records sent with the static labels only",
				"max_streams", s.cfg.MaxStreams, "records", st.streamLimited)
		}
	}
}

// noRedirects makes the client return a 3xx answer as it is. Followed, a
// redirect to a login page or another host turns the POST into a GET
// without the entries, whose 200 would count them as stored.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// push sends batch as one request (first: the batch Send was given;
// otherwise a half of one answered 413).
func (s *Sink) push(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result, first bool) error {
	body := s.enc.encode(batch)
	encoded := s.enc.stats // counted once Loki takes them (see delivered)
	opened := s.enc.opened // label sets this push opens, once Loki takes it
	if first {
		s.taken, s.alone, s.checked = false, 0, false
	}
	entries := len(s.enc.entries)

	contentType, encoding := "application/x-protobuf", ""
	if !s.enc.protobuf {
		contentType = "application/json"
		if s.enc.gzip {
			encoding = "gzip"
		}
	}

	req, err := s.newRequest(ctx, body, contentType, encoding)
	if err != nil {
		s.enc.forget(opened)
		s.setupErrs.Add(1)
		return err
	}

	resp, err := s.do(ctx, req)
	if err != nil {
		s.enc.forget(opened)
		return err
	}
	reason, readErr := s.readReason(resp)
	resp.Body.Close()

	code := resp.StatusCode
	if code < 200 || code >= 300 {
		s.failedReqs.Add(1)
		// Loki opened none of the push's streams (before the halves
		// encode theirs).
		s.enc.forget(opened)
	}
	switch {
	case code >= 200 && code < 300:
		// The answer is the status; a body cut short by a reset does not undo it.
		for i := range results {
			results[i] = sidetrail.Result{Status: sidetrail.Accepted}
		}
		s.delivered(encoded)
		s.streams.Store(uint64(len(s.enc.seen)))
		s.taken = true
		s.acceptedReqs.Add(1)
		s.records.Add(uint64(len(batch)))
		s.entries.Add(uint64(entries))
		s.bytes.Add(uint64(len(body)))
		return nil
	case code == http.StatusRequestEntityTooLarge:
		return s.pushHalves(ctx, batch, results, len(body), reason)
	case code == http.StatusBadRequest:
		if readErr != nil && reason == "" {
			// The reason is what the dead letters will carry: without it, ask again.
			s.netErrs.Add(1)
			return fmt.Errorf("loki: 400 Bad Request, reading its reason: %w", readErr)
		}
		r := "loki: 400 Bad Request: " + reason
		if s.labelsAlwaysRefused(reason) {
			// The label set every record's stream has (labels, and
			// label_fields every record holds: source,
			// log.file.path): no record's fault. Dead-lettered one by
			// one, every record went, then the dead-letter file
			// filled and the rest were discarded (sinks25 P2: 16
			// label names, Loki's limit 15). A label set some
			// records make (a field only some lines hold) is theirs:
			// kept, one such record held every other (regress25b R6).
			s.otherErrs.Add(1)
			if s.warnLabels.allow(time.Now()) {
				s.log.Error("loki: a stream's labels are over the server's limits (by default 15 names, values of 2,048 bytes): fix labels and label_fields, or raise the server's limits. Records are kept and retried",
					"reason", reason, "url", safeurl.String(s.url))
			}
			return fmt.Errorf("%s (the labels and label_fields make a label set the server refuses)", r)
		}
		if !s.taken && !s.checked {
			// Before any record is refused on a 400: does the endpoint
			// refuse a push of nothing too?
			s.checked = true
			if err := s.refusesEverything(ctx, reason); err != nil {
				return err // the records stay Unsent and are retried
			}
		}
		if len(batch) > 1 && (s.taken && !tooFarBehind(reason) || s.alone < maxAlone) {
			return s.rejectHalves(ctx, batch, results, r)
		}
		alone := len(batch) == 1
		if !alone {
			// Several refused alone, none taken: every record may be
			// refused (all too old), so one is asked before a search.
			// The last, the newest: taken, the search goes on; refused,
			// the batch is rejected whole. Rejected whole at once, the
			// records a body limit refused with an oversize neighbour
			// were dead-lettered (regress21 F3: 15 lines that fitted).
			last := len(batch) - 1
			err := s.push(ctx, batch[last:], results[last:], false)
			switch {
			case err == nil && last > 1:
				return s.rejectHalves(ctx, batch[:last], results[:last], r)
			case err == nil:
				return s.push(ctx, batch[:last], results[:last], false)
			case !sidetrail.IsPermanent(err):
				return err // the rest stay Unsent and are retried
			}
			batch, results = batch[:last], results[:last]
		}
		if alone {
			s.alone++
		}
		s.rejected.Add(uint64(len(batch)))
		for i := range results {
			results[i] = sidetrail.Result{Status: sidetrail.Rejected, Reason: r}
		}
		return sidetrail.Permanent(errors.New(r))
	}

	err = fmt.Errorf("loki: %s: %s", resp.Status, reason)
	switch {
	case code == http.StatusTooManyRequests:
		s.throttled.Add(1)
	case code >= 500:
		s.serverErrs.Add(1)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		s.authErrs.Add(1)
		if s.warnAuth.allow(time.Now()) {
			s.log.Error("loki: push refused: check credentials and tenant; records are kept and retried",
				"status", code, "reason", reason, "url", safeurl.String(s.url))
		}
	default:
		s.otherErrs.Add(1)
		if s.warnStatus.allow(time.Now()) {
			s.log.Warn("loki: unexpected status; records are kept and retried", "status", code, "reason", reason)
		}
	}
	if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return &sidetrail.RetryAfterError{After: after, Err: err}
	}
	return err
}

// do sends req, counting it, and a failure to get an answer.
func (s *Sink) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	s.requests.Add(1)
	resp, err := s.client.Do(req)
	if err == nil {
		return resp, nil
	}
	s.failedReqs.Add(1)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("loki: push: %w", ctxErr)
	}
	s.netErrs.Add(1)
	var ue *url.Error
	if errors.As(err, &ue) {
		// Its text quotes the URL, query string included (an API key
		// there was in every WARN: redact14 F8).
		ue.URL = safeurl.String(ue.URL)
	}
	return nil, fmt.Errorf("loki: push: %w", err)
}

// newRequest makes a push request of body with the sink's headers and
// credentials.
func (s *Sink) newRequest(ctx context.Context, body []byte, contentType, encoding string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("loki: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	req.Header.Set("User-Agent", "sidetrail")
	if s.cfg.TenantID != "" {
		req.Header.Set("X-Scope-OrgID", s.cfg.TenantID)
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	if err := s.authorize(req); err != nil {
		return nil, fmt.Errorf("loki: %w", err)
	}
	return req, nil
}

// refusesEverything answers a 400 (reason) before any record of a Send is
// refused for it: it pushes nothing (no stream: VictoriaLogs and Loki
// before 3.5 answer 204, later Lokis 422) and returns an error, keeping
// the records, when that is refused with a 400 too (unless for being
// empty), or cannot be asked. A 400 to every push is the URL or a
// proxy, not the records: VictoriaLogs answers a Loki push to its root URL
// (not /insert/loki) 400 "unsupported path", and every record was
// dead-lettered, then discarded once the file was full, the sink reported
// healthy (user23 P6: 2,000 of 2,000 lines).
func (s *Sink) refusesEverything(ctx context.Context, reason string) error {
	body, contentType := []byte(`{"streams":[]}`), "application/json"
	if s.enc.protobuf {
		body, contentType = []byte{0}, "application/x-protobuf" // an empty PushRequest, snappy-compressed
	}
	req, err := s.newRequest(ctx, body, contentType, "")
	if err != nil {
		s.setupErrs.Add(1)
		return err
	}
	resp, err := s.do(ctx, req)
	if err != nil {
		return err
	}
	empty, _ := s.readReason(resp)
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		s.acceptedReqs.Add(1)
	} else {
		s.failedReqs.Add(1)
	}
	if resp.StatusCode != http.StatusBadRequest || aboutNothing(empty) {
		// Taken (Loki before 3.5, VictoriaLogs: 204), or refused for
		// holding nothing: Loki 3.5 and later answer 422 "at least one
		// valid stream is required". Either way the 400 was about the
		// records. Taken for the configuration, a 422 held a refused
		// record and every one after it for good (regress23 P3). A 400
		// for a push of nothing is the configuration whatever its text:
		// required to be the batch's, a proxy's page with a request id
		// in it differed, and every record was dead-lettered again
		// (regress23b P1).
		return nil
	}
	s.otherErrs.Add(1)
	err = fmt.Errorf("loki: 400 Bad Request: %s (a push of no records is refused too: %s %s; check url, tenant_id and headers)", reason, resp.Status, empty)
	if s.warnRefusesAll.allow(time.Now()) {
		s.log.Error("loki: the endpoint refuses every push, an empty one too: check url (VictoriaLogs: /insert/loki), tenant_id and headers. Records are kept and retried",
			"status", resp.StatusCode, "reason", reason, "url", safeurl.String(s.url))
	}
	return err
}

// labelsAlwaysRefused reports whether a 400's reason is Loki's refusal of
// the label set every record's stream has: more names than its limit
// (max_label_names_per_series) among the static labels and the label_fields
// every record holds, or a static label's name or value too long.
func (s *Sink) labelsAlwaysRefused(reason string) bool {
	if m := labelLimitRe.FindStringSubmatch(reason); m != nil {
		limit, err := strconv.Atoi(m[1])
		return err == nil && s.alwaysLabels > limit
	}
	if m := labelTooLongRe.FindStringSubmatch(reason); m != nil && m[2] != "" {
		// The reason quotes the name or value, perhaps cut (readReason).
		for name, value := range s.cfg.Labels {
			if m[1] == "name" && strings.HasPrefix(name, m[2]) || m[1] == "value" && strings.HasPrefix(value, m[2]) {
				return true
			}
		}
	}
	return false
}

// lokiLabelNames is Loki's default max_label_names_per_series.
const lokiLabelNames = 15

// Loki's refusals of a stream's label set (pkg/validation).
var (
	labelLimitRe   = regexp.MustCompile(`has \d+ label names; limit (\d+)`)
	labelTooLongRe = regexp.MustCompile(`has label (name|value) too long: '([^'\n]*)`)
)

// alwaysLabels counts the label names every record's stream has: the
// static labels (or the job label put in their place), and the label_fields
// every record holds.
func alwaysLabels(c Config) int {
	n := len(c.Labels)
	for _, f := range c.LabelFields {
		if f == "source" || f == "log.file.path" || f == "log.offset" {
			n++
		}
	}
	return max(n, 1)
}

// aboutNothing reports whether a refusal of an empty push says it is
// refused for being empty ("at least one valid stream is required", "no
// streams", "empty request").
func aboutNothing(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "stream") || strings.Contains(r, "empty") || strings.Contains(r, "at least one") || strings.Contains(r, "no entries")
}

// pushHalves answers a 413 for batch, whose body was n bytes. Resent
// unchanged, the batch would be refused forever and hold back every record
// after it, so it goes again in halves, down to single records; a record
// refused alone is Rejected (dead-lettered), with its size in the reason.
// The result is a retryable error when some half failed so, Permanent when
// every record not stored was Rejected, nil when all were stored.
func (s *Sink) pushHalves(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result, n int, reason string) error {
	s.tooLarge.Add(1)
	if len(batch) == 1 {
		s.rejected.Add(1)
		r := fmt.Sprintf("loki: 413 Request Entity Too Large: the record alone is a %d-byte push: %s", n, reason)
		results[0] = sidetrail.Result{Status: sidetrail.Rejected, Reason: r}
		return sidetrail.Permanent(errors.New(r))
	}
	s.tooLargeSplits.Add(1)
	s.resent.Add(uint64(len(batch)))
	if s.warnTooLarge.allow(time.Now()) {
		s.log.Warn("loki: 413 Request Entity Too Large: sending the batch in halves; lower batch.max_bytes or batch.max_records, or raise the server's body limit",
			"records", len(batch), "bytes", n, "reason", reason)
	}
	return s.pushHalvesOf(ctx, batch, results)
}

// maxAlone is how many records a 400 may find refused alone, none of the
// Send's pushes taken, before each refused part is asked about by its last
// record first, and rejected whole if that is refused too: every record
// refused (all too old after a long outage) costs a few requests for each
// part, not two for each record.
const maxAlone = 4

// tooFarBehind reports whether a 400's reason is Loki's for entries older
// than a stream's window ("entry too far behind"). Loki stores the entries
// of such a push that are in the window: a part whose newest record is
// refused so is rejected whole also after some push was taken, its stored
// entries dead-lettered too. Searched record by record, a backlog with a
// few lines in the window took 1,775 requests for 1,000 records (sinks25
// P1).
func tooFarBehind(reason string) bool {
	return strings.Contains(reason, "too far behind")
}

// rejectHalves answers a 400 (reason r) for batch, of several records, by
// sending it again in halves, down to single records: a record refused
// alone is Rejected (dead-lettered) with Loki's reason, the others are
// stored. Loki refuses a push whole for one entry too far behind, too long
// or with bad labels, and so does a body over the server's size limit
// (VictoriaLogs' -loki.maxRequestSize, Loki's max_recv_msg_size): every
// record of the batch was dead-lettered (sinks21 F2: 300 of 300, each of
// which fitted in a smaller push). Entries Loki stored from the refused
// push are sent again, byte for byte, and Loki keeps them once.
func (s *Sink) rejectHalves(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result, r string) error {
	s.halved.Add(1)
	s.resent.Add(uint64(len(batch)))
	if s.warnHalved.allow(time.Now()) {
		s.log.Warn("loki: 400 Bad Request for a push of several records: sending it again in halves to find the records it refuses",
			"records", len(batch), "reason", r)
	}
	return s.pushHalvesOf(ctx, batch, results)
}

// pushHalvesOf pushes batch, of several records, in two halves (each
// searched further as its answer says). The result is a retryable error
// when a half failed so (the rest stay Unsent), Permanent when every
// record not stored was Rejected, nil when all were stored.
func (s *Sink) pushHalvesOf(ctx context.Context, batch []sidetrail.Record, results []sidetrail.Result) error {
	h := len(batch) / 2
	var permanent error
	for _, part := range [][2]int{{0, h}, {h, len(batch)}} {
		err := s.push(ctx, batch[part[0]:part[1]], results[part[0]:part[1]], false)
		switch {
		case err == nil:
		case sidetrail.IsPermanent(err):
			permanent = err // its records are marked Rejected
		default:
			return err // the rest stay Unsent and are retried
		}
	}
	return permanent
}

// authorize sets basic or bearer authentication, reading secret files now.
func (s *Sink) authorize(req *http.Request) error {
	c := &s.cfg
	switch {
	case c.Username != "":
		pw := c.Password
		if c.PasswordFile != "" {
			var err error
			if pw, err = sinkhttp.ReadSecret(c.PasswordFile); err != nil {
				return fmt.Errorf("password_file: %w", err)
			}
		}
		req.SetBasicAuth(c.Username, pw)
	case c.BearerToken != "" || c.BearerTokenFile != "":
		tok := c.BearerToken
		if c.BearerTokenFile != "" {
			var err error
			if tok, err = sinkhttp.ReadSecret(c.BearerTokenFile); err != nil {
				return fmt.Errorf("bearer_token_file: %w", err)
			}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// readReason reads up to maxReasonBytes of the answer as one trimmed line of
// text and drains a little more so the connection can be reused.
func (s *Sink) readReason(resp *http.Response) (string, error) {
	if cap(s.respBuf) < maxReasonBytes {
		s.respBuf = make([]byte, maxReasonBytes)
	}
	buf := s.respBuf[:maxReasonBytes]
	n, err := io.ReadFull(resp.Body, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	} else if err == nil {
		_, err = io.CopyN(io.Discard, resp.Body, 64<<10)
		if err == io.EOF {
			err = nil
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return "", err
	}
	reason := strings.Join(strings.Fields(strings.ToValidUTF8(string(buf[:n]), "\uFFFD")), " ")
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	return reason, err
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Close releases idle connections. It is idempotent; Send afterwards
// returns sidetrail.ErrClosed.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.client.CloseIdleConnections()
	}
	return nil
}

// Stats returns a snapshot of the counters. Safe to call concurrently with
// anything.
func (s *Sink) Stats() Stats {
	return Stats{
		Requests:         s.requests.Load(),
		AcceptedRequests: s.acceptedReqs.Load(),
		Records:          s.records.Load(),
		Entries:          s.entries.Load(),
		Bytes:            s.bytes.Load(),
		Rejected:         s.rejected.Load(),
		TooLarge:         s.tooLarge.Load(),
		FailedRequests:   s.failedReqs.Load(),
		SetupErrors:      s.setupErrs.Load(),
		Halved:           s.halved.Load(),
		TooLargeSplits:   s.tooLargeSplits.Load(),
		Resent:           s.resent.Load(),
		Throttled:        s.throttled.Load(),
		ServerErrors:     s.serverErrs.Load(),
		AuthErrors:       s.authErrs.Load(),
		OtherStatus:      s.otherErrs.Load(),
		NetworkErrors:    s.netErrs.Load(),
		Truncated:        s.truncated.Load(),
		Split:            s.split.Load(),
		FieldsDropped:    s.fieldsDropped.Load(),
		StreamLimited:    s.streamLimited.Load(),
		Streams:          s.streams.Load(),
	}
}

var _ sidetrail.Sink = (*Sink)(nil)
