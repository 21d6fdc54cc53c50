package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultShutdownTimeout bounds the wait for requests in progress when the server stops.
const DefaultShutdownTimeout = 5 * time.Second

// maxReasonLen caps a reason shown on /readyz: it is a label, not a log line.
const maxReasonLen = 100

// ServerOptions configure a Server. Zero values mean the defaults.
type ServerOptions struct {
	// Logger receives the listening address and HTTP server errors (default slog.Default()).
	Logger *slog.Logger
	// ShutdownTimeout bounds the graceful shutdown once Run's context ends (default 5s).
	ShutdownTimeout time.Duration
}

// Server serves /metrics, /healthz and /readyz. Create it with NewServer, register the
// readiness conditions with SetReady, then call Run (or Serve) once.
type Server struct {
	addr            string
	handler         http.Handler
	log             *slog.Logger
	shutdownTimeout time.Duration

	mu        sync.Mutex
	notReady  map[string]string // condition → reason; ready conditions are absent
	boundAddr net.Addr
	listening chan struct{}
	listened  sync.Once
}

// NewServer returns a Server that will listen on addr (host:port; ":0" picks a free port)
// and serve the metrics gathered from g. A nil g serves an empty /metrics.
func NewServer(addr string, g prometheus.Gatherer, opts ServerOptions) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if g == nil {
		g = prometheus.NewRegistry()
	}
	s := &Server{
		addr:            addr,
		log:             opts.Logger.With("component", "ops"),
		shutdownTimeout: opts.ShutdownTimeout,
		notReady:        map[string]string{},
		listening:       make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// A collector failing must not blind the whole scrape.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	s.handler = mux
	return s
}

// SetReady records the state of the named readiness condition. It is safe for concurrent use.
// reason says briefly why it is not ready ("not connected to slack") and is ignored when
// ready. /readyz shows it, so it must be a fixed phrase, never an error's text (which may
// carry URLs or tokens). Register every condition with ready=false before Run, so /readyz
// does not pass before the condition is first reported.
func (s *Server) SetReady(name string, ready bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ready {
		delete(s.notReady, name)
		return
	}
	reason = strings.Join(strings.Fields(reason), " ") // one line per condition
	if r := []rune(reason); len(r) > maxReasonLen {
		reason = string(r[:maxReasonLen])
	}
	if reason == "" {
		reason = "not ready"
	}
	s.notReady[name] = reason
}

// Handler returns the endpoints' handler, for tests or to mount them on another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Listening is closed once Run or Serve listens; Addr is set from then on.
func (s *Server) Listening() <-chan struct{} { return s.listening }

// Addr returns the address the server listens on (the port chosen for ":0"), or nil before
// it listens.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boundAddr
}

// Run listens on the server's address and serves until ctx ends, then shuts down
// gracefully. It returns nil after a clean shutdown, or the error that stopped it (a port in
// use, for instance, wrapping the syscall error).
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s for ops endpoints: %w", s.addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln, which it closes, until ctx ends, as Run does. Call Run or Serve once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second, // a scrape of a slow collector
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	s.boundAddr = ln.Addr()
	s.mu.Unlock()
	s.listened.Do(func() { close(s.listening) })
	s.log.Info("serving ops endpoints", "addr", ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve ops endpoints: %w", err)
	case <-ctx.Done():
	}
	// ctx is done: shutting down needs a context of its own, still bounded.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stop serving ops endpoints: %w", err)
	}
	return nil
}

// readyz answers 200 when every condition is ready, else 503 listing what is not, one
// "name: reason" per line, sorted.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	lines := make([]string, 0, len(s.notReady))
	for name, reason := range s.notReady {
		lines = append(lines, name+": "+reason)
	}
	s.mu.Unlock()
	if len(lines) == 0 {
		writeText(w, http.StatusOK, "ok\n")
		return
	}
	slices.Sort(lines)
	writeText(w, http.StatusServiceUnavailable, "not ready\n"+strings.Join(lines, "\n")+"\n")
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
