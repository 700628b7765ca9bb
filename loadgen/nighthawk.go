package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// Nighthawk runs nighthawk_client, Envoy's load generator, which speaks
// HTTP/1.1 and HTTP/2 and holds an open-loop rate. It reports at the end
// only: Run does not call the result.Observer, and the caller records the Result
// in bulk.
type Nighthawk struct {
	path   string
	logger *slog.Logger
}

// NewNighthawk returns the Nighthawk engine running the executable at path
// (engines.nighthawk.path; a bare name is looked up on PATH).
func NewNighthawk(path string, logger *slog.Logger) *Nighthawk {
	return &Nighthawk{path: path, logger: discardLogger(logger)}
}

// Check tells whether the executable can be found, with the one-line
// install hint when it cannot.
func (n *Nighthawk) Check() error {
	_, err := lookupEngine(config.EngineNighthawk, n.path)
	return err
}

// nighthawkGrace is how long nighthawk_client may take to drain and print
// its report after SIGINT.
const nighthawkGrace = 15 * time.Second

// nighthawkMaxRPS is the largest --rps nighthawk_client accepts. A profile
// without a rate (qps 0) runs at it in Nighthawk's default closed-loop
// mode, where the connections are what limits the rate.
const nighthawkMaxRPS = 1000000

// nighthawkMethods are the methods nighthawk_client can send.
var nighthawkMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true}

// Run runs one load test. The profile's warmup, if any, is a separate
// unmeasured run right before the measured one.
func (n *Nighthawk) Run(ctx context.Context, p config.Profile, _ result.Observer) (*result.Measurement, error) {
	bin, err := lookupEngine(config.EngineNighthawk, n.path)
	if err != nil {
		return nil, err
	}
	inv, err := nighthawkInvocation(p)
	if err != nil {
		return nil, fmt.Errorf("nighthawk: %w", err)
	}
	tool := externalTool{engine: config.EngineNighthawk, bin: bin, logger: n.logger, grace: nighthawkGrace,
		redact: func(args []string) []string { return redactArgs(args, "--request-header", &p.Target) }}

	if warmup := p.Load.Warmup.D(); warmup > 0 {
		secs, _ := wholeSeconds(warmup)
		tool.args = inv.args(secs)
		out := tool.run(ctx)
		if ctx.Err() != nil {
			return abortedResult(config.EngineNighthawk, p, time.Now(), "stopped during the warmup"), nil
		}
		if _, err := parseNighthawk(out.stdout, nil); err != nil {
			return nil, fmt.Errorf("warmup: %w", out.failure(config.EngineNighthawk, err))
		}
	}

	start := time.Now()
	if ctx.Err() != nil {
		return abortedResult(config.EngineNighthawk, p, start, "stopped before it started"), nil
	}
	tool.args = inv.args(inv.seconds)
	out := tool.run(ctx)
	r, err := parseNighthawk(out.stdout, p.Load.Percentiles)
	if err != nil {
		if out.interrupted {
			return abortedResult(config.EngineNighthawk, p, start, out.failure(config.EngineNighthawk, err).Error()), nil
		}
		return nil, out.failure(config.EngineNighthawk, err)
	}
	return completeExternal(r, config.EngineNighthawk, p, start, inv.connections, inv.notes, out), nil
}

// nighthawkCall is a profile translated into nighthawk_client's command
// line.
type nighthawkCall struct {
	flags       []string // everything but the duration and URL
	url         string
	seconds     int64
	connections int // in all workers
	notes       []string
}

func (c nighthawkCall) args(seconds int64) []string {
	args := append([]string{"--duration", strconv.FormatInt(seconds, 10)}, c.flags...)
	return append(args, c.url)
}

// nighthawkInvocation builds nighthawk_client's arguments. Nighthawk's
// --rps and --connections apply to each worker (--concurrency); the
// profile's are totals, so they are divided by the number of workers,
// load.threads (1 when unset).
//
// Nighthawk has no way to read headers from a file, so secret header
// values are on its command line, visible to local users through ps; they
// are never logged (the command line is logged at debug level with them
// redacted).
func nighthawkInvocation(p config.Profile) (nighthawkCall, error) {
	var c nighthawkCall
	t, l := p.Target, p.Load
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("target %q is not an http:// or https:// URL", config.PublicURL(t.URL))
	}
	c.flags = []string{"--output-format", "json", "--no-default-failure-predicates"}
	switch t.Protocol {
	case "", config.ProtocolHTTP1:
	case config.ProtocolHTTP2:
		c.flags = append(c.flags, "--h2")
	default:
		return c, fmt.Errorf("protocol %s is not supported: nighthawk speaks http1 and http2 (use engine fortio for grpc)", t.Protocol)
	}
	if u.Scheme == "https" {
		if t.TLS.CertFile != "" || t.TLS.KeyFile != "" {
			return c, fmt.Errorf("nighthawk cannot present a client certificate here (target.tls.cert_file); use engine fortio")
		}
		if !t.TLS.InsecureSkipVerify {
			c.notes = append(c.notes, "nighthawk does not verify the target's TLS certificate")
		}
	}

	workers := l.Threads
	if workers == 0 {
		workers = 1
	}
	if workers < 1 || workers > l.Connections {
		return c, fmt.Errorf("load.threads %d must be between 1 and load.connections (%d): each nighthawk worker needs a connection", workers, l.Connections)
	}
	perWorkerConns := l.Connections / workers
	c.connections = perWorkerConns * workers
	switch {
	case t.Protocol == config.ProtocolHTTP2:
		// Nighthawk's --connections is HTTP/1 only: with --h2 each worker
		// multiplexes its requests over one connection.
		c.connections = workers
		c.notes = append(c.notes, fmt.Sprintf("with HTTP/2 nighthawk multiplexes over one connection per worker: %d connections, not the %d asked for", workers, l.Connections))
	case c.connections != l.Connections:
		c.notes = append(c.notes, fmt.Sprintf("nighthawk opens --connections per worker: %d of the %d connections asked for", c.connections, l.Connections))
	}
	rps := float64(nighthawkMaxRPS)
	if l.QPS > 0 {
		rps = l.QPS / float64(workers)
		if rps < 1 || rps != math.Trunc(rps) || rps > nighthawkMaxRPS {
			return c, fmt.Errorf("load.qps %g over %d workers (load.threads) is %g requests/s each; nighthawk_client --rps takes a whole number from 1 to %d per worker: choose a qps that divides evenly", l.QPS, workers, rps, nighthawkMaxRPS)
		}
	} else {
		c.notes = append(c.notes, fmt.Sprintf("nighthawk has no unlimited rate: load.qps 0 ran closed-loop at up to %d requests/s per worker, limited by the connections", nighthawkMaxRPS))
	}
	var rounded bool
	c.seconds, rounded = wholeSeconds(l.Duration.D())
	if rounded {
		c.notes = append(c.notes, fmt.Sprintf("nighthawk takes whole seconds: load.duration %s ran as %ds", l.Duration, c.seconds))
	}
	c.flags = append(c.flags,
		"--rps", strconv.FormatFloat(rps, 'f', 0, 64),
		"--connections", strconv.Itoa(perWorkerConns),
		"--concurrency", strconv.Itoa(workers),
	)

	method := t.Method
	if method == "" {
		method = "GET"
	}
	if !nighthawkMethods[method] {
		return c, fmt.Errorf("nighthawk cannot send method %s (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS or TRACE)", method)
	}
	c.flags = append(c.flags, "--request-method", method)
	for _, name := range sortedKeys(t.Headers) {
		value := t.Headers[name]
		if strings.ContainsAny(name, ":\r\n") || strings.ContainsAny(value, "\r\n") {
			return c, fmt.Errorf("header %q: names cannot hold ':' and neither names nor values line breaks", name)
		}
		c.flags = append(c.flags, "--request-header", name+": "+value)
	}
	if t.Body != "" {
		c.flags = append(c.flags, "--request-body-size", strconv.Itoa(len(t.Body)))
		c.notes = append(c.notes, fmt.Sprintf("nighthawk sends a body of %d 'a' bytes, not the profile's body: it can only set the body's size", len(t.Body)))
	}
	if l.Warmup > 0 {
		if _, rounded := wholeSeconds(l.Warmup.D()); rounded {
			c.notes = append(c.notes, fmt.Sprintf("nighthawk takes whole seconds: the warmup was rounded up from %s", l.Warmup))
		}
	}
	c.url = t.URL
	return c, nil
}
