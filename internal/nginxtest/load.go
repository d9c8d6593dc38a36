package nginxtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The secrets Drive plants in requests. None of them may appear anywhere
// downstream of a redacting agent.
const (
	// SecretToken is the value of token=, password= and api_key= query
	// parameters.
	SecretToken = "secret123"
	// SecretEmail is the value of user= query parameters.
	SecretEmail = "alice@example.com"
	// SecretJWT is a JSON Web Token sent in id_token= query parameters and in
	// Referer headers.
	SecretJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	// SecretJWTHead is SecretJWT's first segment: search for it to find a
	// JWT however it was cut.
	SecretJWTHead = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
)

// Secrets returns the planted secrets to search for downstream.
func Secrets() []string { return []string{SecretToken, SecretEmail, SecretJWTHead} }

// LoadOptions configure Drive. The zero value sends nothing.
type LoadOptions struct {
	// Requests is the number of requests to send. Required.
	Requests int
	// Concurrency is the number of client goroutines. Default 4.
	Concurrency int
	// Rate caps the requests per second across all goroutines; 0 means as
	// fast as nginx answers.
	Rate float64
	// Seed makes the request mix reproducible.
	Seed uint64
	// Progress, if set, is incremented after every answered request, so a
	// test can schedule faults at points of the load.
	Progress *atomic.Int64
}

// LoadResult is what Drive did.
type LoadResult struct {
	Sent     int         // requests attempted
	Answered int         // requests nginx answered (any status)
	Errors   int         // requests that failed on the client side
	ByStatus map[int]int // answers per HTTP status
	// IDs holds the X-Request-Id ($request_id) of every answered request:
	// one access log line each.
	IDs      []string
	Duration time.Duration
	FirstErr error
}

var userAgents = []string{
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"curl/8.5.0",
	"kube-probe/1.30",
	"Go-http-client/1.1",
	"python-requests/2.32.3",
}

// request returns the i-th request of a mix: path with query, referer, user agent.
func request(r *rand.Rand, i int) (path, referer, ua string) {
	var base string
	switch r.IntN(10) {
	case 0, 1, 2:
		base = "/"
	case 3, 4:
		base = fmt.Sprintf("/api/v1/users/%d", r.IntN(100000))
	case 5:
		base = fmt.Sprintf("/static/app.%x.js", r.Uint32())
	case 6:
		base = fmt.Sprintf("/notfound/item%d", i)
	case 7:
		base = fmt.Sprintf("/error/%d", i)
	case 8:
		base = "/redirect"
	default:
		base = "/search"
	}
	var q []string
	switch r.IntN(8) {
	case 0:
		q = append(q, "token="+SecretToken)
	case 1:
		q = append(q, "user="+SecretEmail, fmt.Sprintf("page=%d", r.IntN(50)))
	case 2:
		q = append(q, "q=shoes", "password="+SecretToken)
	case 3:
		q = append(q, "api_key="+SecretToken, "v=2")
	case 4:
		q = append(q, "id_token="+SecretJWT)
	case 5:
		q = append(q, fmt.Sprintf("n=%d", i), "token="+SecretToken, "user="+SecretEmail)
	}
	path = base
	if len(q) > 0 {
		path += "?" + strings.Join(q, "&")
	}
	switch r.IntN(6) {
	case 0:
		referer = "https://app.example.org/login?next=/home&token=" + SecretToken
	case 1:
		referer = "https://app.example.org/callback#id_token=" + SecretJWT
	case 2:
		referer = "https://www.example.org/"
	}
	ua = userAgents[r.IntN(len(userAgents))]
	return path, referer, ua
}

// Drive sends opts.Requests requests to s and returns what nginx answered.
// It blocks until all are sent or ctx ends; requests are bounded by
// opts.Requests, so Drive always ends, and every goroutine it starts has
// ended when it returns. Redirects are not followed: every answered request
// is exactly one access log line. The result belongs to the caller.
func (s *Server) Drive(ctx context.Context, opts LoadOptions) *LoadResult {
	return Drive(ctx, s.URL(), opts)
}

// Drive is Server.Drive for any base URL.
func Drive(ctx context.Context, baseURL string, opts LoadOptions) *LoadResult {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	tr := &http.Transport{MaxIdleConnsPerHost: opts.Concurrency, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res := &LoadResult{ByStatus: make(map[int]int), IDs: make([]string, 0, opts.Requests)}
	start := time.Now()
	var (
		next atomic.Int64 // the next request index
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	var interval time.Duration
	if opts.Rate > 0 {
		interval = time.Duration(float64(time.Second) / opts.Rate)
	}
	for w := 0; w < opts.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= opts.Requests || ctx.Err() != nil {
					return
				}
				if interval > 0 {
					// Pace: request i is due at start + i*interval.
					if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(d):
						}
					}
				}
				r := rand.New(rand.NewPCG(opts.Seed, uint64(i)))
				path, referer, ua := request(r, i)
				status, id, err := do(ctx, client, baseURL+path, referer, ua)
				mu.Lock()
				res.Sent++
				if err != nil {
					res.Errors++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					res.Answered++
					res.ByStatus[status]++
					res.IDs = append(res.IDs, id)
				}
				mu.Unlock()
				if err == nil && opts.Progress != nil {
					opts.Progress.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	res.Duration = time.Since(start)
	return res
}

func do(ctx context.Context, client *http.Client, url, referer, ua string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	req.Header.Set("User-Agent", ua)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if err == nil && len(id) != 32 {
		err = fmt.Errorf("GET %s: X-Request-Id %q", url, id)
	}
	return resp.StatusCode, id, err
}

// AccessLogs is what ReadAccessLogs found in the files.
type AccessLogs struct {
	Files int            // files read
	Lines int            // complete lines
	IDs   map[string]int // $request_id (the last field of each line) → lines
	// Partial counts bytes after the last newline of a file (a line nginx
	// was still writing; 0 once nginx is idle).
	Partial int
}

// ReadAccessLogs reads every file matching glob (all rotated generations)
// and collects the last space-separated field of each line, which is
// $request_id with LogFormat. It may run while nginx writes and rotates: a
// file renamed away between the glob and the open is skipped, and a last
// line without its newline counts in Partial, not in Lines, so call it again
// once nginx is idle for the truth.
func ReadAccessLogs(glob string) (*AccessLogs, error) {
	paths, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	a := &AccessLogs{IDs: make(map[string]int)}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // rotated away between glob and open
			}
			return nil, err
		}
		a.Files++
		br := bufio.NewReaderSize(f, 1<<16)
		for {
			line, err := br.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				return nil, fmt.Errorf("%s: line longer than 64KiB", p)
			}
			if err != nil {
				a.Partial += len(line)
				break
			}
			line = line[:len(line)-1]
			if len(line) == 0 {
				continue
			}
			a.Lines++
			id := line[bytes.LastIndexByte(line, ' ')+1:]
			a.IDs[string(id)]++
		}
		f.Close()
	}
	return a, nil
}
