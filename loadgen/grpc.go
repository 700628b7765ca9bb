package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"fortio.org/fortio/periodic"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// grpcGroup runs one group of connections of a gRPC profile with fortio's
// periodic runner and our health checkers: they send the standard gRPC
// health check on connections this engine owns, as fortio's own gRPC
// runner never closes its connections, which a daemon running thousands of
// runs cannot afford. Codes are gRPC code names ("OK", "Unavailable", ...);
// a health answer other than SERVING counts under its status name. A call
// the server never answered (connection refused, reset, deadline passed
// with no response: the client made its status up) counts as
// result.CodeError, as an HTTP transport error does, with the client's
// reason.
func grpcGroup(p config.Profile, dial func() (*grpc.ClientConn, error)) groupRunner {
	return func(ctx context.Context, o periodic.RunnerOptions, hook func(reason func(thread int) string) periodic.AccessLogger) (*groupResult, error) {
		o.RunType = "GRPC Health"
		var checkers []*healthChecker
		o.AccessLogger = hook(func(thread int) string {
			if thread < 0 || thread >= len(checkers) {
				return ""
			}
			return checkers[thread].takeReason()
		})
		// The runner takes the options' runners away from them (fortio's
		// ReleaseRunners): ours go into the runner's own copy, as fhttp does.
		runner := periodic.NewPeriodicRunner(&o)
		checkers = make([]*healthChecker, len(runner.Options().Runners))
		var outgoing metadata.MD
		if len(p.Target.Headers) > 0 {
			outgoing = metadata.New(p.Target.Headers)
		}
		for i := range checkers {
			conn, err := dial()
			if err != nil {
				closeCheckers(checkers)
				return nil, fmt.Errorf("grpc: connecting to %s: %w", config.PublicURL(p.Target.URL), err)
			}
			checkers[i] = &healthChecker{conn: conn, client: healthpb.NewHealthClient(conn),
				timeout: p.Target.Timeout.D(), md: outgoing, codes: map[string]int64{}}
			runner.Options().Runners[i] = checkers[i]
		}
		defer closeCheckers(checkers)
		stop := abortOnDone(ctx, runner.Options().Stop)
		res := runner.Run()
		stop()
		runner.Options().Abort()
		codes := map[string]int64{}
		for _, c := range checkers {
			for code, n := range c.codes {
				codes[code] += n
			}
		}
		return &groupResult{res: res, codes: codes}, nil
	}
}

func closeCheckers(cs []*healthChecker) {
	for _, c := range cs {
		if c != nil {
			_ = c.conn.Close()
		}
	}
}

// healthChecker is one connection's runnable. codes and reason are only
// touched by the goroutine fortio runs it on (Run, then the hook's Report).
type healthChecker struct {
	conn    *grpc.ClientConn
	client  healthpb.HealthClient
	timeout time.Duration
	md      metadata.MD
	codes   map[string]int64
	reason  string // why the last call got no response
}

// Run implements periodic.Runnable.
func (h *healthChecker) Run(ctx context.Context, _ periodic.ThreadID) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	if h.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, h.md)
	}
	answered := &atomic.Bool{}
	ctx = context.WithValue(ctx, answeredKey{}, answered)
	resp, err := h.client.Check(ctx, &healthpb.HealthCheckRequest{})
	code := "OK"
	switch {
	case err != nil && !answered.Load():
		code = result.CodeError
		st := status.Convert(err)
		h.reason = st.Code().String() + ": " + failureReason("", st.Message())
	case err != nil:
		code = status.Code(err).String()
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		code = resp.GetStatus().String()
	}
	h.codes[code]++
	return code == "OK", code
}

func (h *healthChecker) takeReason() string {
	r := h.reason
	h.reason = ""
	return r
}

// answeredKey marks a call's context with the flag answerTracker sets when
// the server's response headers or trailers arrive.
type answeredKey struct{}

// answerTracker is the connections' stats handler: it tells a status the
// server sent from one the client made up because no response came.
type answerTracker struct{}

func (answerTracker) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (answerTracker) HandleRPC(ctx context.Context, s stats.RPCStats) {
	switch s.(type) {
	case *stats.InHeader, *stats.InTrailer:
		if answered, ok := ctx.Value(answeredKey{}).(*atomic.Bool); ok {
			answered.Store(true)
		}
	}
}

func (answerTracker) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (answerTracker) HandleConn(context.Context, stats.ConnStats) {}

// grpcDialer builds the connection factory of a gRPC target: plaintext for
// http:// URLs, TLS for https:// ones.
func grpcDialer(t config.Target) (func() (*grpc.ClientConn, error), error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("grpc target %q: %w", config.PublicURL(t.URL), err)
	}
	host := u.Host
	if u.Port() == "" {
		host += map[string]string{"https": ":443", "http": ":80"}[u.Scheme]
	}
	creds := insecure.NewCredentials()
	if u.Scheme == "https" {
		cfg, err := tlsConfig(t.TLS, u.Hostname())
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	return func() (*grpc.ClientConn, error) {
		return grpc.NewClient(host, grpc.WithTransportCredentials(creds), grpc.WithStatsHandler(answerTracker{}))
	}, nil
}

func tlsConfig(o config.TLS, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // the user asked for it
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("target.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("target.tls.ca_file: no PEM certificate in " + o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("target.tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
