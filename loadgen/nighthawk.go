package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"slices"
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
	return runExternal(ctx, p, externalPlan{
		tool: externalTool{engine: config.EngineNighthawk, bin: bin, logger: n.logger, grace: nighthawkGrace,
			redact: func(args []string) []string { return redactArgs(args, "--request-header", &p.Target) }},
		file: inv.requests, fileExt: ".json",
		args:    func(requestsPath string, seconds int64) []string { return inv.args(seconds, requestsPath) },
		seconds: inv.seconds, connections: inv.connections, notes: inv.notes,
		parse: parseNighthawk,
	})
}

// nighthawkCall is a profile translated into nighthawk_client's command
// line.
type nighthawkCall struct {
	flags []string // everything but the duration, the request file and URL
	url   string
	// requests is the request file (method, headers, body size) for
	// nighthawk's file-based request source, "" when the command line
	// carries them: with a secret header they never go on it.
	requests    string
	seconds     int64
	connections int // in all workers
	notes       []string
}

func (c nighthawkCall) args(seconds int64, requestsPath string) []string {
	args := append([]string{"--duration", strconv.FormatInt(seconds, 10)}, c.flags...)
	if requestsPath != "" {
		args = append(args, "--request-source-plugin-config", nighthawkRequestSource(requestsPath))
	}
	return append(args, c.url)
}

// nighthawkRequestSource is the --request-source-plugin-config of
// Nighthawk's file-based request source, which reads every request's
// method, headers and body size from the file at path, replayed for as
// long as the run lasts (num_requests 0).
func nighthawkRequestSource(path string) string {
	b, _ := json.Marshal(map[string]any{
		"name": "nighthawk.file-based-request-source-plugin",
		"typed_config": map[string]any{
			"@type":     "type.googleapis.com/nighthawk.request_source.FileBasedOptionsListRequestSourceConfig",
			"file_path": path,
		},
	})
	return string(b)
}

// nighthawkMaxRequestFile is the file-based request source's default
// max_file_size.
const nighthawkMaxRequestFile = 1000000

// nighthawkRequestFile is the request file of the file-based request source:
// a nighthawk.client.RequestOptionsList of one request, in the protobuf
// JSON mapping.
func nighthawkRequestFile(method string, headers map[string]string, bodySize int) (string, error) {
	type header struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	type headerOption struct {
		Header header `json:"header"`
	}
	type options struct {
		RequestMethod   string         `json:"request_method"`
		RequestHeaders  []headerOption `json:"request_headers,omitempty"`
		RequestBodySize int            `json:"request_body_size,omitempty"`
	}
	o := options{RequestMethod: method, RequestBodySize: bodySize}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		o.RequestHeaders = append(o.RequestHeaders, headerOption{header{Key: name, Value: headers[name]}})
	}
	b, err := json.MarshalIndent(map[string][]options{"options": {o}}, "", "  ")
	if err != nil {
		return "", err
	}
	if len(b) > nighthawkMaxRequestFile {
		return "", fmt.Errorf("the headers take %d bytes, more than nighthawk's request file takes (%d)", len(b), nighthawkMaxRequestFile)
	}
	return string(b) + "\n", nil
}

// nighthawkInvocation builds nighthawk_client's arguments. Nighthawk's
// --rps and --connections apply to each worker (--concurrency); the
// profile's are totals, so they are divided by the number of workers,
// load.threads (1 when unset).
//
// A profile with a secret header (Authorization, Cookie, secret_headers,
// header_files) sends its request through Nighthawk's file-based request
// source: method, headers and body size go into a private temporary file
// rather than onto the command line, where every local user could read
// them with ps. Other profiles keep the plain flags.
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
	secret := false
	for name, value := range t.Headers {
		if strings.ContainsAny(name, ":\r\n") || strings.ContainsAny(value, "\r\n") {
			return c, fmt.Errorf("header %q: names cannot hold ':' and neither names nor values line breaks", name)
		}
		secret = secret || t.IsSecretHeader(name)
	}
	if secret {
		if c.requests, err = nighthawkRequestFile(method, t.Headers, len(t.Body)); err != nil {
			return c, err
		}
	} else {
		c.flags = append(c.flags, "--request-method", method)
		for _, name := range slices.Sorted(maps.Keys(t.Headers)) {
			c.flags = append(c.flags, "--request-header", name+": "+t.Headers[name])
		}
		if t.Body != "" {
			c.flags = append(c.flags, "--request-body-size", strconv.Itoa(len(t.Body)))
		}
	}
	if t.Body != "" {
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
