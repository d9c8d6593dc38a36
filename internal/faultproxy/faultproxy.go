package faultproxy

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options configure a Proxy. The zero value is ready.
type Options struct {
	// MaxConns bounds the connections proxied at once; a connection beyond
	// it is closed as soon as it is accepted. Default 256.
	MaxConns int
	// DialTimeout bounds the dial to the backend. Default 5s.
	DialTimeout time.Duration
	// Logger receives one line per state change; nil discards.
	Logger *slog.Logger
}

// Stats is a snapshot of a Proxy's counters.
type Stats struct {
	Accepted  int64 // connections accepted while up and proxied
	Refused   int64 // connections accepted while down (or over MaxConns) and reset at once
	Cut       int64 // open connections cut by Down
	DialFails int64 // dials to the backend that failed
	Open      int64 // connections open now
	Down      bool  // whether the proxy is down now
}

// Proxy forwards TCP connections from a loopback listener to a backend.
//
// Concurrency: every method is safe for concurrent use. Down and Up return
// once the new state is in force for new connections; Down also returns only
// after every open connection has been closed.
type Proxy struct {
	ln      net.Listener
	backend string
	opts    Options
	log     *slog.Logger

	mu     sync.Mutex
	down   bool
	conns  map[*pair]struct{}
	closed bool

	wg sync.WaitGroup // the accept loop and every connection's goroutines

	accepted, refused, cut, dialFails atomic.Int64

	closeOnce sync.Once
}

type pair struct {
	client, server net.Conn
	once           sync.Once
}

func (p *pair) close() {
	p.once.Do(func() {
		resetClose(p.client)
		if p.server != nil {
			resetClose(p.server)
		}
	})
}

// resetClose closes c with SO_LINGER 0, so the peer sees a reset, not an
// orderly end of stream (a backend that vanished, not one that answered).
func resetClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// New starts a proxy on 127.0.0.1:0 in front of backend ("host:port"). The
// caller must Close it.
func New(backend string, opts Options) (*Proxy, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 256
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, backend: backend, opts: opts, log: log, conns: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Start is New for a test: it fails the test on error and closes the proxy
// in t.Cleanup.
func Start(t testing.TB, backend string, opts Options) *Proxy {
	t.Helper()
	p, err := New(backend, opts)
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Addr is the proxy's listening address, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is "http://" + Addr().
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Down makes the backend unreachable: connections accepted from now on are
// reset at once, and every open connection is cut (reset both ways). It
// returns after the open connections are closed. Idempotent.
func (p *Proxy) Down() {
	p.mu.Lock()
	p.down = true
	open := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		open = append(open, c)
	}
	p.mu.Unlock()
	for _, c := range open {
		c.close()
	}
	p.cut.Add(int64(len(open)))
	p.log.Info("faultproxy down", "addr", p.Addr(), "cut", len(open))
}

// Up lets new connections through to the backend again. Idempotent.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
	p.log.Info("faultproxy up", "addr", p.Addr())
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Accepted:  p.accepted.Load(),
		Refused:   p.refused.Load(),
		Cut:       p.cut.Load(),
		DialFails: p.dialFails.Load(),
		Open:      int64(len(p.conns)),
		Down:      p.down,
	}
}

// Close stops listening, cuts every connection and waits for every goroutine
// the proxy started. Idempotent; it always returns nil after the first call.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		open := make([]*pair, 0, len(p.conns))
		for c := range p.conns {
			open = append(open, c)
		}
		p.mu.Unlock()
		err = p.ln.Close()
		for _, c := range open {
			c.close()
		}
		p.wg.Wait()
	})
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (EMFILE and the like): back off briefly, bounded by Close.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		pr := &pair{client: c}
		p.mu.Lock()
		if p.closed || p.down || len(p.conns) >= p.opts.MaxConns {
			p.mu.Unlock()
			p.refused.Add(1)
			resetClose(c)
			continue
		}
		p.conns[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(pr)
	}
}

func (p *Proxy) serve(pr *pair) {
	defer p.wg.Done()
	defer func() {
		pr.close()
		p.mu.Lock()
		delete(p.conns, pr)
		p.mu.Unlock()
	}()
	s, err := net.DialTimeout("tcp", p.backend, p.opts.DialTimeout)
	if err != nil {
		p.dialFails.Add(1)
		return
	}
	p.mu.Lock()
	if p.down || p.closed {
		// Down (or Close) ran while we dialled: it did not see s, so cut here.
		p.mu.Unlock()
		resetClose(s)
		return
	}
	pr.server = s
	p.mu.Unlock()
	p.accepted.Add(1)

	done := make(chan struct{}, 2)
	go func() { pipe(s, pr.client); done <- struct{}{} }()
	pipe(pr.client, s)
	<-done // the other direction: ended by pipe's close or by its own EOF
}

// pipe copies src to dst; at src's end it half-closes dst so the peer sees
// EOF, and when either side fails it closes both via the caller's pair.
func pipe(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
			return
		}
	}
	_ = dst.Close()
	_ = src.Close()
}
