package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ShutdownTimeout bounds how long Run waits, once its context ends, for
// requests in progress to finish.
const ShutdownTimeout = 5 * time.Second

// Options configure a Server.
type Options struct {
	// Listen is the TCP address to listen on ("host:port", ":9110",
	// "127.0.0.1:0" for a free port). Required.
	Listen string
	// Gatherer supplies /metrics. Nil serves an empty registry.
	Gatherer prometheus.Gatherer
	// Ready is called for every /readyz request and may be called
	// concurrently: nil error means ready (200 "ok"), an error means not
	// ready (503 with the error's text). It must not block for long. Nil
	// means always ready.
	Ready func() error
	// Logger receives errors serving requests and the listen address.
	// Nil discards.
	Logger *slog.Logger
}

// Server is the agent's HTTP server. New binds nothing; Run listens and
// serves. Addr may be called from any goroutine.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	mu      sync.Mutex
	addr    net.Addr
	bound   chan struct{} // closed once addr is set or Run failed to listen
	started bool
}

// New returns a Server for opts. It starts nothing.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), bound: make(chan struct{})}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	return s
}

// Handler returns the server's handler (for tests and for embedding in
// another server). It is safe for concurrent use.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
	}
	writeText(w, http.StatusOK, "ok")
}

func writeText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text+"\n")
}

// Run listens on Options.Listen and serves until ctx ends, then shuts down
// gracefully: it stops accepting, waits up to ShutdownTimeout for requests
// in progress and returns nil. It returns an error at once if it cannot
// listen, and the serving error if serving fails. Run may be called only
// once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("server: Run called twice")
	}
	s.started = true
	s.mu.Unlock()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		close(s.bound)
		return fmt.Errorf("server: listen: %w", err)
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	close(s.bound)
	s.opts.Logger.Info("http server listening", "addr", ln.Addr().String())

	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

// Addr returns the address Run listens on, waiting until Run has bound it
// or ctx ends. It returns nil if Run failed to listen or ctx ended first.
func (s *Server) Addr(ctx context.Context) net.Addr {
	select {
	case <-s.bound:
	case <-ctx.Done():
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}
