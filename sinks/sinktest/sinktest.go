package sinktest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sidetrail/sidetrail"
)

// Harness tells Run how to make a sink and how to read back its backend.
type Harness struct {
	// New returns a fresh sink connected to a backend. It may start a fresh
	// backend per call (stopping it with t.Cleanup) or share one across
	// calls: every subtest tags its records with a token of its own (in the
	// message, the path and the file key) and looks only at stored records
	// carrying it. Run closes every sink it gets; a harness may Close again
	// in its own cleanup, since Close is idempotent. Required.
	New func(t *testing.T) sidetrail.Sink

	// Stored returns what the backend behind the most recent New holds now.
	// Run calls it only after Send returned; a backend that makes data
	// visible lazily (VictoriaLogs) must flush first. Records of other
	// subtests may be included; they are ignored. Required.
	Stored func(t *testing.T) []Stored

	// Dedupes says the backend drops a replayed record (Elasticsearch by
	// _id, Loki by identical stream, timestamp and line). When false, a
	// replay may store a second copy, but never a third.
	Dedupes bool

	// Stall, if set, makes the backend behind the most recent New hold every
	// request it receives without answering, until release is called. A
	// receive on arrived succeeds once a request is being held. release must
	// be idempotent; Run calls it, and the harness should also call it in
	// t.Cleanup so a failing test does not leave handlers blocked. When nil,
	// the cancel-mid-request case is skipped.
	Stall func(t *testing.T) (arrived <-chan struct{}, release func())

	// MaxWait bounds how long one Send may block before Run reports it as
	// hung (a hang detector, not a speed assertion). Zero means 30s.
	MaxWait time.Duration
}

// Stored is one record as the backend holds it, reduced to what every sink
// can report. A field a backend does not keep is left at its "unknown" value
// and is then not compared.
type Stored struct {
	// Message is the record's message as stored (for a backend that stores
	// the record JSON as its line, the harness decodes it and returns the
	// "message" value). Always compared.
	Message string
	// Offset is log.offset; -1 when the backend does not keep it.
	Offset int64
	// Path is log.file.path; "" when unknown.
	Path string
	// Source is the source name; "" when unknown.
	Source string
	// Time is the event time; zero when unknown. Compared at one-second
	// precision, since a sink may move sub-second digits to keep entries
	// unique (Loki).
	Time time.Time
}

// Run runs the conformance suite against h in named subtests of t. Each
// subtest calls h.New exactly once; subtests never run in parallel. The
// cases:
//
//	AllAccepted                        1000 fresh records: every result Accepted, each stored once with its fields
//	EmptyBatch                         nil and empty batches succeed and store nothing
//	IdenticalMessagesDifferentOffsets  the same line at four offsets is four stored records
//	Replay                             a resent batch is all Delivered; stored once if Dedupes, else at most twice
//	NoRetainedMemory                   overwriting the records' bytes after Send changes nothing stored
//	Encoding                           unicode, invalid UTF-8, quotes, newlines, controls, 64 KiB lines survive
//	CanceledContext                    canceled/expired ctx: error wrapping ctx.Err(), not permanent; sink still works
//	CancelMidRequest                   (needs Stall) cancel while the backend holds the request: same, nothing delivered
//	Close                              Close twice is fine; Send after Close wraps sidetrail.ErrClosed, delivers nothing
//
// Everywhere, a record marked Accepted or Duplicate must be in the backend.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Stored == nil {
		t.Fatal("sinktest: Harness.New and Harness.Stored are required")
	}
	if h.MaxWait == 0 {
		h.MaxWait = 30 * time.Second
	}
	s := &suite{h: h}
	t.Run("AllAccepted", s.allAccepted)
	t.Run("EmptyBatch", s.emptyBatch)
	t.Run("IdenticalMessagesDifferentOffsets", s.identicalMessages)
	t.Run("Replay", s.replay)
	t.Run("NoRetainedMemory", s.noRetainedMemory)
	t.Run("RecordsUnchanged", s.recordsUnchanged)
	t.Run("Encoding", s.encoding)
	t.Run("CanceledContext", s.canceledContext)
	t.Run("CancelMidRequest", s.cancelMidRequest)
	t.Run("Close", s.close)
}

type suite struct{ h Harness }

// gen makes the records of one subtest. Everything it generates carries the
// subtest's token, so a shared backend can be read back selectively.
type gen struct {
	token   string
	fileKey uint64
	path    string
	source  string
	base    time.Time
}

func newGen(t *testing.T) *gen {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	tok := fmt.Sprintf("st%016x", rand.Uint64())
	return &gen{
		token:   tok,
		fileKey: rand.Uint64(),
		path:    "/var/log/sinktest/" + name + "-" + tok + ".log",
		source:  "sinktest",
		// Now, so backends with a retention window keep it; whole seconds,
		// so up to 1000 records one millisecond apart share the second.
		base: time.Now().UTC().Truncate(time.Second),
	}
}

// record builds one record whose message is "<token> <text>". Its bytes
// (message and field values) are appended to *arena, so a batch's records
// share a few arrays the way decoded records share the buffer's.
func (g *gen) record(arena *[]byte, i int, offset int64, text string) sidetrail.Record {
	start := len(*arena)
	*arena = append(*arena, g.token...)
	*arena = append(*arena, ' ')
	*arena = append(*arena, text...)
	msg := (*arena)[start:len(*arena):len(*arena)]
	val := func(s string) []byte {
		st := len(*arena)
		*arena = append(*arena, s...)
		return (*arena)[st:len(*arena):len(*arena)]
	}
	r := sidetrail.Record{
		FileKey:  g.fileKey,
		Offset:   offset,
		Time:     g.base.Add(time.Duration(i%1000) * time.Millisecond),
		Ingested: g.base,
		Source:   g.source,
		Path:     g.path,
		Message:  msg,
	}
	r.Add("http.request.method", sidetrail.KindString, val("GET"))
	r.Add("http.response.status_code", sidetrail.KindInt, val("200"))
	r.Add("event.duration_s", sidetrail.KindFloat, val("0.004"))
	r.Add("cached", sidetrail.KindBool, val("true"))
	r.Add("upstream", sidetrail.KindNull, nil)
	r.Add("tags", sidetrail.KindJSON, val(`["a","b"]`))
	r.Add("cluster", sidetrail.KindString, val("sinktest"))
	return r
}

// records builds n records with distinct messages, offsets 100 bytes apart.
// The arena is sized up front so the records' bytes share one array.
func (g *gen) records(n int) []sidetrail.Record {
	arena := make([]byte, 0, n*(len(g.token)+128))
	recs := make([]sidetrail.Record, n)
	for i := range recs {
		recs[i] = g.record(&arena, i, int64(i)*100, fmt.Sprintf("line %d GET /index.html 200", i))
	}
	return recs
}

// want is the expected content of one stored record, copied out of the
// record so mutations of the record's bytes do not affect it.
type want struct {
	msg    string // raw bytes, possibly invalid UTF-8
	offset int64
	path   string
	source string
	time   time.Time
}

func wants(recs []sidetrail.Record) []want {
	w := make([]want, len(recs))
	for i, r := range recs {
		w[i] = want{msg: string(r.Message), offset: r.Offset, path: r.Path, source: r.Source, time: r.Time}
	}
	return w
}

// send calls Send with a hang detector and returns its error and results.
func (s *suite) send(t *testing.T, ctx context.Context, sink sidetrail.Sink, batch []sidetrail.Record) ([]sidetrail.Result, error) {
	t.Helper()
	results := make([]sidetrail.Result, len(batch))
	done := make(chan error, 1)
	go func() { done <- sink.Send(ctx, batch, results) }()
	timer := time.NewTimer(s.h.MaxWait)
	defer timer.Stop()
	select {
	case err := <-done:
		return results, err
	case <-timer.C:
		t.Fatalf("Send of %d records did not return within %v", len(batch), s.h.MaxWait)
		return nil, nil
	}
}

func (s *suite) newSink(t *testing.T) sidetrail.Sink {
	t.Helper()
	sink := s.h.New(t)
	if sink == nil {
		t.Fatal("Harness.New returned nil")
	}
	t.Cleanup(func() {
		if err := sink.Close(); err != nil {
			t.Errorf("Close in cleanup: %v", err)
		}
	})
	return sink
}

// stored returns the backend's records carrying g's token.
func (s *suite) stored(t *testing.T, g *gen) []Stored {
	t.Helper()
	var out []Stored
	for _, st := range s.h.Stored(t) {
		if strings.Contains(st.Message, g.token) {
			out = append(out, st)
		}
	}
	return out
}

// validForms returns the stored forms accepted for message m: m itself when
// it is valid UTF-8; otherwise m with each invalid byte, or each run of
// invalid bytes, replaced by U+FFFD.
func validForms(m string) []string {
	if utf8.ValidString(m) {
		return []string{m}
	}
	var b strings.Builder
	for i := 0; i < len(m); {
		r, size := utf8.DecodeRuneInString(m[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(m[i : i+size])
		}
		i += size
	}
	forms := []string{b.String()}
	if run := strings.ToValidUTF8(m, "\uFFFD"); run != forms[0] {
		forms = append(forms, run)
	}
	return forms
}

// checkStored asserts that every wanted record is stored between lo and hi
// times, that nothing else carrying the token is stored, and that the
// offset, path, source and time match where the backend reports them.
func checkStored(t *testing.T, got []Stored, ws []want, lo, hi int) {
	t.Helper()
	type group struct {
		ws  []want
		got []Stored
	}
	groups := map[string]*group{} // by the first valid form of the message
	formOf := map[string]string{}
	var order []string
	for _, w := range ws {
		forms := validForms(w.msg)
		key := forms[0]
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
			order = append(order, key)
		}
		g.ws = append(g.ws, w)
		for _, f := range forms {
			formOf[f] = key
		}
	}
	unexpected := 0
	for _, st := range got {
		if !utf8.ValidString(st.Message) {
			t.Errorf("stored message is not valid UTF-8: %q", st.Message)
		}
		key, ok := formOf[st.Message]
		if !ok {
			if unexpected < 5 {
				t.Errorf("stored a record that was never sent: %q", trunc(st.Message))
			}
			unexpected++
			continue
		}
		groups[key].got = append(groups[key].got, st)
	}
	if unexpected > 5 {
		t.Errorf("... %d unexpected records in all", unexpected)
	}
	bad := 0
	for _, key := range order {
		g := groups[key]
		n, k := len(g.got), len(g.ws)
		if n < lo*k || n > hi*k {
			if bad < 10 {
				t.Errorf("message %q (sent %d times with different offsets) stored %d times, want %d..%d",
					trunc(key), k, n, lo*k, hi*k)
			}
			bad++
			continue
		}
		// Offsets: each wanted offset stored lo..hi times, no other offsets.
		counts := map[int64]int{}
		known := 0
		for _, st := range g.got {
			if st.Offset >= 0 {
				counts[st.Offset]++
				known++
			}
		}
		if known > 0 {
			for _, w := range g.ws {
				if c := counts[w.offset]; c < lo || c > hi {
					t.Errorf("message %q offset %d stored %d times, want %d..%d (offsets stored: %v)",
						trunc(key), w.offset, c, lo, hi, counts)
				}
				delete(counts, w.offset)
			}
			if len(counts) > 0 {
				t.Errorf("message %q stored with offsets never sent: %v", trunc(key), counts)
			}
		}
		w := g.ws[0]
		for _, st := range g.got {
			if st.Path != "" && st.Path != w.path {
				t.Errorf("message %q: stored path %q, want %q", trunc(key), st.Path, w.path)
			}
			if st.Source != "" && st.Source != w.source {
				t.Errorf("message %q: stored source %q, want %q", trunc(key), st.Source, w.source)
			}
			if !st.Time.IsZero() && !st.Time.Truncate(time.Second).Equal(w.time.Truncate(time.Second)) {
				t.Errorf("message %q: stored time %v, want %v (to the second)", trunc(key), st.Time.UTC(), w.time)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d messages stored a wrong number of times in all", bad)
	}
}

// checkDeliveredStored asserts the one rule that holds whatever the outcome:
// a record marked delivered is in the backend.
func checkDeliveredStored(t *testing.T, got []Stored, ws []want, results []sidetrail.Result) {
	t.Helper()
	have := map[string]bool{}
	for _, st := range got {
		have[st.Message] = true
	}
	for i, r := range results {
		if !r.Status.Delivered() {
			continue
		}
		found := false
		for _, f := range validForms(ws[i].msg) {
			found = found || have[f]
		}
		if !found {
			t.Errorf("record %d marked %v but not stored: %q", i, r.Status, trunc(ws[i].msg))
		}
	}
}

func requireStatus(t *testing.T, results []sidetrail.Result, ok func(sidetrail.Status) bool, what string) {
	t.Helper()
	bad := 0
	for i, r := range results {
		if !ok(r.Status) {
			if bad < 5 {
				t.Errorf("result %d: %v %q, want %s", i, r.Status, r.Reason, what)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("... %d of %d results not %s", bad, len(results), what)
	}
}

func isAccepted(s sidetrail.Status) bool   { return s == sidetrail.Accepted }
func isDelivered(s sidetrail.Status) bool  { return s.Delivered() }
func notDelivered(s sidetrail.Status) bool { return !s.Delivered() }

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

// allAccepted: a batch of fresh records is accepted whole, every result is
// filled, and every record is stored exactly once with its fields.
func (s *suite) allAccepted(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(1000)
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	checkStored(t, s.stored(t, g), wants(recs), 1, 1)
}

// emptyBatch: nil and empty batches succeed and store nothing.
func (s *suite) emptyBatch(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	if _, err := s.send(t, context.Background(), sink, nil); err != nil {
		t.Errorf("Send(nil batch): %v", err)
	}
	if err := sink.Send(context.Background(), []sidetrail.Record{}, []sidetrail.Result{}); err != nil {
		t.Errorf("Send(empty batch): %v", err)
	}
	// The sink still works afterwards.
	recs := g.records(3)
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send after empty batches: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	checkStored(t, s.stored(t, g), wants(recs), 1, 1)
}

// identicalMessages: the same line at three offsets (same time, as nginx's
// one-second timestamps make common) is three records, never collapsed, in
// one batch and across batches.
func (s *suite) identicalMessages(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	var arena []byte
	const text = `127.0.0.1 - - "GET / HTTP/1.1" 200 612`
	batch1 := []sidetrail.Record{
		g.record(&arena, 0, 0, text),
		g.record(&arena, 0, 100, text),
		g.record(&arena, 0, 200, text),
	}
	batch2 := []sidetrail.Record{g.record(&arena, 0, 300, text)}
	for i, b := range [][]sidetrail.Record{batch1, batch2} {
		results, err := s.send(t, context.Background(), sink, b)
		if err != nil {
			t.Fatalf("Send batch %d: %v", i+1, err)
		}
		requireStatus(t, results, isAccepted, "accepted")
	}
	checkStored(t, s.stored(t, g), wants(append(batch1, batch2...)), 1, 1)
}

// replay: sending the same batch again reports every record delivered, and
// a deduplicating backend keeps one copy.
func (s *suite) replay(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(50)
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("first Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	results, err = s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("replayed Send: %v", err)
	}
	requireStatus(t, results, isDelivered, "delivered (accepted or duplicate)")
	hi := 2
	if s.h.Dedupes {
		hi = 1
	}
	checkStored(t, s.stored(t, g), wants(recs), 1, hi)
}

// noRetainedMemory: the records' bytes belong to the caller once Send
// returns; overwriting them must not change what the backend holds, even
// after further sends.
func (s *suite) noRetainedMemory(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(20)
	ws := wants(recs)
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	// Overwrite every byte the records pointed at, then their Fields.
	for i := range recs {
		r := &recs[i]
		for j := range r.Message {
			r.Message[j] = 'Z'
		}
		for j := range r.Fields {
			for k := range r.Fields[j].Value {
				r.Fields[j].Value[k] = 'Z'
			}
			r.Fields[j] = sidetrail.Field{Key: "zz", Kind: sidetrail.KindString, Value: []byte("ZZ")}
		}
		r.Path, r.Source = "/zz", "zz"
	}
	// More sends, which may reuse the sink's buffers.
	more := g.records(20)
	for i := range more {
		more[i].Offset += 1 << 20
		more[i].Message = append([]byte(nil), more[i].Message...)
		more[i].Message = append(more[i].Message, " second batch"...)
	}
	results, err = s.send(t, context.Background(), sink, more)
	if err != nil {
		t.Fatalf("second Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	checkStored(t, s.stored(t, g), append(ws, wants(more)...), 1, 1)
}

// recordsUnchanged: Send never modifies the records or their bytes (the
// shipper sends its decoded records in place and dead-letters from them).
func (s *suite) recordsUnchanged(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(50)
	snapshot := func() string { return fmt.Sprintf("%+v", recs) }
	before := snapshot()
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	if after := snapshot(); after != before {
		t.Fatalf("Send modified its batch:\nbefore %s\nafter  %s", trunc(before), trunc(after))
	}
}

// encodingCases are messages that break naive encoders. Each is stored as
// valid data; invalid UTF-8 may be replaced by U+FFFD.
var encodingCases = []struct{ name, text string }{
	{"ascii", "plain ascii"},
	{"unicode", "héllo wörld 日本語 ∑ 🚀 \u00a0nbsp \u2028 ls \u2029 ps"},
	{"invalid_utf8", "bad \xff\xfe bytes"},
	{"truncated_rune", "cut \xe6\x97"},
	{"surrogate", "surrogate \xed\xa0\x80 half"},
	{"overlong", "overlong \xc0\xaf slash"},
	{"quotes", `say "hi" and 'bye' \ backslash \\ two \" escaped`},
	{"newlines", "first line\nsecond line\r\nthird\rfourth"},
	{"controls", "tab\there nul\x00 bell\x07 esc\x1b[31m del\x7f"},
	{"json_like", `{"message":"inner","@timestamp":"x","_id":"y"}`},
	{"html", `<script>alert("x")</script> &amp; </tag>`},
	{"ndjson_breaker", "}\n{\"create\":{}}\n{"},
	{"long", strings.Repeat("0123456789abcdef", 4096)},
}

// encoding: awkward bytes in the message survive as valid data.
func (s *suite) encoding(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	var arena []byte
	var recs []sidetrail.Record
	for i, c := range encodingCases {
		recs = append(recs, g.record(&arena, i, int64(i)*100, c.name+": "+c.text))
	}
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	checkStored(t, s.stored(t, g), wants(recs), 1, 1)
}

// canceledContext: a context that has already ended makes Send return an
// error that says so, is not permanent, and delivers nothing it does not
// report; the sink works afterwards.
func (s *suite) canceledContext(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(10)
	ws := wants(recs)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	results, err := s.send(t, ctx, sink, recs)
	if err == nil {
		t.Fatal("Send with a canceled context returned nil")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a canceled context: %v, want an error wrapping context.Canceled", err)
	}
	if sidetrail.IsPermanent(err) {
		t.Errorf("Send with a canceled context returned a permanent error: %v", err)
	}
	checkDeliveredStored(t, s.stored(t, g), ws, results)

	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	results, err = s.send(t, dctx, sink, recs)
	if err == nil {
		t.Fatal("Send with an expired deadline returned nil")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send with an expired deadline: %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if sidetrail.IsPermanent(err) {
		t.Errorf("Send with an expired deadline returned a permanent error: %v", err)
	}
	checkDeliveredStored(t, s.stored(t, g), ws, results)

	results, err = s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send after cancellations: %v", err)
	}
	requireStatus(t, results, isDelivered, "delivered")
	hi := 2 // a sink may have sent before noticing the context
	if s.h.Dedupes {
		hi = 1
	}
	checkStored(t, s.stored(t, g), ws, 1, hi)
}

// cancelMidRequest: while the backend holds the request, canceling the
// context makes Send return (not permanent, nothing marked delivered); once
// the backend answers again, resending delivers everything.
func (s *suite) cancelMidRequest(t *testing.T) {
	if s.h.Stall == nil {
		t.Skip("Harness.Stall not set")
	}
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(10)
	ws := wants(recs)

	arrived, release := s.h.Stall(t)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make([]sidetrail.Result, len(recs))
	done := make(chan error, 1)
	go func() { done <- sink.Send(ctx, recs, results) }()
	timer := time.NewTimer(s.h.MaxWait)
	defer timer.Stop()
	select {
	case <-arrived:
	case err := <-done:
		t.Fatalf("Send returned while the backend held the request: %v", err)
	case <-timer.C:
		t.Fatalf("no request reached the backend within %v", s.h.MaxWait)
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		t.Fatalf("Send did not return within %v of its context being canceled", s.h.MaxWait)
	}
	if err == nil {
		t.Fatal("Send canceled mid-request returned nil")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send canceled mid-request: %v, want an error wrapping context.Canceled", err)
	}
	if sidetrail.IsPermanent(err) {
		t.Errorf("Send canceled mid-request returned a permanent error: %v", err)
	}
	requireStatus(t, results, notDelivered, "not delivered (the backend never answered)")
	release()

	results, err = s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send after the stall: %v", err)
	}
	requireStatus(t, results, isDelivered, "delivered")
	hi := 2 // the held request may be processed after all
	if s.h.Dedupes {
		hi = 1
	}
	checkStored(t, s.stored(t, g), ws, 1, hi)
}

// close: Close is idempotent, and Send after Close fails with ErrClosed
// without delivering anything or marking the records permanent failures.
func (s *suite) close(t *testing.T) {
	sink := s.newSink(t)
	g := newGen(t)
	recs := g.records(5)
	results, err := s.send(t, context.Background(), sink, recs)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	requireStatus(t, results, isAccepted, "accepted")
	if err := sink.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	more := g.records(5)
	for i := range more {
		more[i].Offset += 1 << 20
		more[i].Message = append(append([]byte(nil), more[i].Message...), " after close"...)
	}
	results, err = s.send(t, context.Background(), sink, more)
	if err == nil {
		t.Error("Send after Close returned nil")
	} else {
		if !errors.Is(err, sidetrail.ErrClosed) {
			t.Errorf("Send after Close: %v, want an error wrapping sidetrail.ErrClosed", err)
		}
		if sidetrail.IsPermanent(err) {
			t.Errorf("Send after Close returned a permanent error: %v", err)
		}
	}
	requireStatus(t, results, notDelivered, "not delivered after Close")
	checkStored(t, s.stored(t, g), wants(recs), 1, 1)
}
