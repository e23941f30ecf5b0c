package httpapi

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
)

// ServerOptions configure a Server. The timeouts protect against slow or
// idle clients holding connections.
type ServerOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Default 15s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer, from the end of the request
	// headers. Default 30s. A streaming handler (Server-Sent Events) must
	// lift it for its own request with http.ResponseController.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request. Default 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request headers. Default 64 KiB.
	MaxHeaderBytes int
	// Logger receives the server's own errors (accept failures such as
	// too many open files, TLS handshakes, bad connections) at WARN, each
	// kind at most once a second with a count of the others (errorlog.go).
	// Default: discard.
	Logger *slog.Logger
}

func (o *ServerOptions) ensureDefaults() {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Server is an HTTP server with sane timeouts that listens before it serves,
// so callers (and tests binding 127.0.0.1:0) learn the address first.
type Server struct {
	srv *http.Server

	mu sync.Mutex
	ln net.Listener
}

// NewServer returns a server for h on addr (host:port; port 0 picks a free
// one). Call Listen, then Serve; Shutdown stops it.
func NewServer(addr string, h http.Handler, opts ServerOptions) *Server {
	opts.ensureDefaults()
	down := make(chan struct{})
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ErrorLog:          newServerErrorLog(opts.Logger.With("component", "http")),
		// Streams (events.go) watch this channel: Shutdown waits for
		// requests to end, and a stream ends only when told.
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), shutdownKey{}, (<-chan struct{})(down))
		},
	}
	var once sync.Once
	srv.RegisterOnShutdown(func() { once.Do(func() { close(down) }) })
	return &Server{srv: srv}
}

// shutdownKey is the request context key of the channel closed when the
// Server shuts down.
type shutdownKey struct{}

// shuttingDown returns the channel closed when the server serving ctx's
// request shuts down (nil, never ready, outside a Server, e.g. in
// httptest).
func shuttingDown(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(shutdownKey{}).(<-chan struct{})
	return ch
}

// Listen binds the address and returns it. It fails if the server is
// already listening.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil, fmt.Errorf("http server: already listening on %s", s.ln.Addr())
	}
	if err := s.listenLocked(); err != nil {
		return nil, err
	}
	return s.ln.Addr(), nil
}

func (s *Server) listenLocked() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve answers requests until Shutdown, listening first if Listen was not
// called. It returns nil after Shutdown.
func (s *Server) Serve() error {
	s.mu.Lock()
	if s.ln == nil {
		if err := s.listenLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	ln := s.ln
	s.mu.Unlock()
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for the requests in flight
// to finish, or for ctx to end (then it closes the remaining connections and
// returns ctx's error).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close() // Serve may never have run; closing twice is harmless
	}
	s.mu.Unlock()
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("http server: shutdown: %w", err)
	}
	return nil
}
