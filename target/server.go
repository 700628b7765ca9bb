// Package target is the built-in test server: fortio-style /echo over HTTP/1.1, h2c and
// (optionally) TLS, plus the standard gRPC health service, all on one port. It backs
// `perf-exporter target`, the daemon's demo mode, and the integration tests and benchmarks.
package target

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Options configure a Server. The zero value serves cleartext HTTP/1.1 and h2c.
type Options struct {
	// Logger receives start/stop events and connection-level errors (at debug level).
	// Requests are never logged. Nil discards everything.
	Logger *slog.Logger
	// TLSCertFile and TLSKeyFile, when set, make the server speak TLS (HTTP/1.1 and
	// HTTP/2 negotiated by ALPN) instead of cleartext. Both or neither must be set.
	TLSCertFile, TLSKeyFile string
	// MaxDelay bounds ?delay=; a request asking for more gets a 400. Default 10s.
	MaxDelay time.Duration
	// MaxSize bounds ?size= and echoed request bodies, in bytes. Default 16 MiB.
	MaxSize int
	// ShutdownTimeout is how long Serve lets in-flight requests finish once its context
	// is cancelled, before closing their connections. Default 5s.
	ShutdownTimeout time.Duration
}

const (
	defaultMaxDelay        = 10 * time.Second
	defaultMaxSize         = 16 << 20
	defaultShutdownTimeout = 5 * time.Second
)

// Server is a configured test server; Serve runs it on a listener.
type Server struct {
	opts Options
	log  *slog.Logger
	echo *echoHandler
}

// New returns a Server with opts; zero or negative limits take their defaults.
func New(opts Options) *Server {
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = defaultMaxDelay
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = defaultMaxSize
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = defaultShutdownTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, log: logger, echo: newEchoHandler(opts.MaxDelay, opts.MaxSize)}
}

// Serve serves on l until ctx is cancelled, then shuts down gracefully: the gRPC health
// status turns NOT_SERVING, gRPC streams end, and in-flight HTTP requests get
// ShutdownTimeout to finish. It returns nil after such a shutdown, or the error that
// stopped it earlier. Serve closes l. It may be called more than once, also concurrently.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	r, err := s.newRun()
	if err != nil {
		_ = l.Close()
		return err
	}
	return r.serve(ctx, l)
}

// Running is a server started by Start.
type Running struct {
	addr   net.Addr
	scheme string
	done   chan struct{}
	err    error
}

// Start listens on addr (host:port; port 0 picks a free one) and serves in a goroutine
// until ctx is cancelled. Configuration and listen errors are returned here; Wait returns
// the outcome of serving.
func Start(ctx context.Context, addr string, opts Options) (*Running, error) {
	r, err := New(opts).newRun()
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		r.grpc.Stop()
		return nil, fmt.Errorf("target: listening on %s: %w", addr, err)
	}
	running := &Running{addr: l.Addr(), scheme: "http", done: make(chan struct{})}
	if r.tls {
		running.scheme = "https"
	}
	go func() {
		defer close(running.done)
		running.err = r.serve(ctx, l)
	}()
	return running, nil
}

// Addr is the address the server is bound to.
func (r *Running) Addr() net.Addr { return r.addr }

// URL is the server's base URL, such as "http://127.0.0.1:41234" (no trailing slash).
// A wildcard listen address is replaced by 127.0.0.1 so the URL can be dialled.
func (r *Running) URL() string {
	host, port, err := net.SplitHostPort(r.addr.String())
	if err != nil {
		return r.scheme + "://" + r.addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return r.scheme + "://" + net.JoinHostPort(host, port)
}

// Wait blocks until the server has shut down and returns what Serve returned.
func (r *Running) Wait() error {
	<-r.done
	return r.err
}

// run is one serving of a Server: http.Server and grpc.Server cannot be restarted once
// shut down, so each Serve builds its own.
type run struct {
	log             *slog.Logger
	shutdownTimeout time.Duration
	http            *http.Server
	grpc            *grpc.Server
	health          *health.Server
	tls             bool
}

func (s *Server) newRun() (*run, error) {
	var tlsConfig *tls.Config
	if s.opts.TLSCertFile != "" || s.opts.TLSKeyFile != "" {
		if s.opts.TLSCertFile == "" || s.opts.TLSKeyFile == "" {
			return nil, errors.New("target: TLS needs both a certificate file and a key file")
		}
		cert, err := tls.LoadX509KeyPair(s.opts.TLSCertFile, s.opts.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("target: loading TLS certificate %s and key %s: %w",
				s.opts.TLSCertFile, s.opts.TLSKeyFile, err)
		}
		// http.Server.ServeTLS adds the ALPN protocols (h2, http/1.1) to a clone of this.
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	healthServer := health.NewServer() // reports SERVING for the overall service ("")
	grpcServer := grpc.NewServer()
	healthpb.RegisterHealthServer(grpcServer, healthServer)

	mux := http.NewServeMux()
	mux.Handle("/echo", s.echo)
	mux.Handle("/{$}", s.echo)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// grpc.Server.ServeHTTP needs HTTP/2; gRPC is recognised the way grpc-go documents it.
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			grpcServer.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})

	// net/http serves HTTP/2 with prior knowledge on cleartext itself since Go 1.24, which
	// is what x/net/http2/h2c (now deprecated) used to add.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	httpServer := &http.Server{
		Handler:   handler,
		Protocols: protocols,
		TLSConfig: tlsConfig,
		// Load generators multiplex many requests on few HTTP/2 connections; the default
		// of 250 streams per connection would cap their concurrency.
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 1000},
		// Only header reading is bounded (against stuck clients). No read or write timeout:
		// delays up to MaxDelay, large bodies and gRPC health Watch streams are legitimate.
		ReadHeaderTimeout: 10 * time.Second,
		// Keep-alive connections stay open between a load generator's requests.
		IdleTimeout: 2 * time.Minute,
		// Connection errors (resets, bad handshakes) are routine under load tests.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return &run{
		log:             s.log,
		shutdownTimeout: s.opts.ShutdownTimeout,
		http:            httpServer,
		grpc:            grpcServer,
		health:          healthServer,
		tls:             tlsConfig != nil,
	}, nil
}

func (r *run) serve(ctx context.Context, l net.Listener) error {
	addr := l.Addr().String()
	served := make(chan error, 1)
	go func() {
		if r.tls {
			served <- r.http.ServeTLS(l, "", "")
		} else {
			served <- r.http.Serve(l)
		}
	}()
	r.log.Info("test target serving", "addr", addr, "tls", r.tls)

	select {
	case err := <-served:
		r.grpc.Stop()
		return fmt.Errorf("target: serving on %s: %w", addr, err)
	case <-ctx.Done():
	}

	// Watchers learn NOT_SERVING before their streams are ended by grpc.Stop.
	r.health.Shutdown()
	grpcStopped := make(chan struct{})
	go func() {
		defer close(grpcStopped)
		r.grpc.Stop()
	}()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.shutdownTimeout)
	defer cancel()
	if err := r.http.Shutdown(shutdownCtx); err != nil {
		r.log.Warn("test target closing connections with requests still in flight",
			"addr", addr, "timeout", r.shutdownTimeout, "err", err)
		_ = r.http.Close()
	}
	<-grpcStopped
	<-served //nolint:errcheck // http.ErrServerClosed once Shutdown has begun
	r.log.Info("test target stopped", "addr", addr)
	return nil
}
