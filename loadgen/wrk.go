package loadgen

import (
	"context"
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

// Wrk runs wrk or wrk2, external HTTP/1.1 load generators. wrk sends as
// fast as its connections allow; wrk2 holds a constant rate (-R) and
// measures latency from each request's intended send time.
//
// Neither reports requests as they complete: Run does not call the
// result.Observer, and the caller records the Result in bulk.
type Wrk struct {
	flavour string // config.EngineWrk or config.EngineWrk2
	path    string
	logger  *slog.Logger
}

// NewWrk returns the wrk engine running the executable at path (engines.wrk.path;
// a bare name is looked up on PATH).
func NewWrk(path string, logger *slog.Logger) *Wrk {
	return &Wrk{flavour: config.EngineWrk, path: path, logger: discardLogger(logger)}
}

// NewWrk2 returns the wrk2 engine running the executable at path
// (engines.wrk2.path).
func NewWrk2(path string, logger *slog.Logger) *Wrk {
	return &Wrk{flavour: config.EngineWrk2, path: path, logger: discardLogger(logger)}
}

// Check tells whether the executable can be found, with the one-line
// install hint when it cannot.
func (w *Wrk) Check() error {
	_, err := lookupEngine(w.flavour, w.path)
	return err
}

// wrkGrace is how long wrk may take to print its report after SIGINT. wrk2
// notices the signal only at its next 2 s timeout check.
const wrkGrace = 10 * time.Second

// Run runs one load test. The profile's warmup, if any, is a separate
// unmeasured run right before the measured one.
func (w *Wrk) Run(ctx context.Context, p config.Profile, _ result.Observer) (*result.Measurement, error) {
	bin, err := lookupEngine(w.flavour, w.path)
	if err != nil {
		return nil, err
	}
	inv, err := w.invocation(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.flavour, err)
	}
	return runExternal(ctx, p, externalPlan{
		tool: externalTool{engine: w.flavour, bin: bin, logger: w.logger, resendInterrupt: true, grace: wrkGrace,
			redact: func(args []string) []string { return redactArgs(args, "-H", &p.Target) }},
		file: inv.script, fileExt: ".lua", args: inv.args,
		seconds: inv.seconds, connections: inv.connections, notes: inv.notes,
		parse: func(out []byte, percentiles []float64) (*result.Measurement, error) {
			return parseWrk(out, w.flavour, percentiles)
		},
	})
}

// wrkInvocation is a profile translated into wrk's command line.
type wrkInvocation struct {
	flags       []string // everything but the script, duration and URL
	url         string
	seconds     int64
	script      string // Lua for method, body and secret headers; "" if none
	connections int    // what wrk really opens
	notes       []string
}

func (inv wrkInvocation) args(scriptPath string, seconds int64) []string {
	args := append([]string{"-d", strconv.FormatInt(seconds, 10) + "s"}, inv.flags...)
	if scriptPath != "" {
		args = append(args, "-s", scriptPath)
	}
	return append(args, inv.url)
}

// invocation builds wrk's arguments from a profile. Method and body go
// through a generated Lua script, since wrk has no flags for them. Headers
// go through -H, except secret ones (Authorization, Cookie, secret_headers):
// a command line is readable by every local user (ps), so those go into the
// script, a private temporary file.
func (w *Wrk) invocation(p config.Profile) (wrkInvocation, error) {
	var inv wrkInvocation
	t, l := p.Target, p.Load
	if t.Protocol != "" && t.Protocol != config.ProtocolHTTP1 {
		return inv, fmt.Errorf("protocol %s is not supported: %s speaks HTTP/1.1 only (use engine fortio, or nighthawk for http2)", t.Protocol, w.flavour)
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return inv, fmt.Errorf("target %q is not an http:// or https:// URL", config.PublicURL(t.URL))
	}
	if u.Scheme == "https" {
		if t.TLS.CertFile != "" || t.TLS.KeyFile != "" {
			return inv, fmt.Errorf("%s cannot present a client certificate (target.tls.cert_file); use engine fortio", w.flavour)
		}
		if !t.TLS.InsecureSkipVerify {
			inv.notes = append(inv.notes, fmt.Sprintf("%s does not verify the target's TLS certificate", w.flavour))
		}
	}

	conns := l.Connections
	if conns < 1 {
		return inv, fmt.Errorf("load.connections must be at least 1, got %d", conns)
	}
	threads := l.Threads
	if threads == 0 {
		threads = min(conns, 2)
	}
	if threads < 1 || threads > conns {
		return inv, fmt.Errorf("load.threads %d must be between 1 and load.connections (%d): each %s thread needs a connection", threads, conns, w.flavour)
	}
	// wrk gives each thread connections/threads connections and drops the
	// remainder.
	inv.connections = conns / threads * threads
	if inv.connections != conns {
		inv.notes = append(inv.notes, fmt.Sprintf("%s opens load.connections/load.threads connections per thread: %d of the %d connections asked for", w.flavour, inv.connections, conns))
	}

	var rounded bool
	inv.seconds, rounded = wholeSeconds(l.Duration.D())
	if rounded {
		inv.notes = append(inv.notes, fmt.Sprintf("%s takes whole seconds: load.duration %s ran as %ds", w.flavour, l.Duration, inv.seconds))
	}
	timeout, rounded := wholeSeconds(t.Timeout.D())
	if rounded && t.Timeout > 0 {
		inv.notes = append(inv.notes, fmt.Sprintf("%s takes whole seconds: target.timeout %s ran as %ds", w.flavour, t.Timeout, timeout))
	}
	inv.flags = []string{
		"-t", strconv.Itoa(threads),
		"-c", strconv.Itoa(conns),
		"--timeout", strconv.FormatInt(timeout, 10) + "s",
		"--latency",
	}
	if w.flavour == config.EngineWrk2 {
		rate := math.Round(l.QPS)
		if rate < 1 {
			return inv, fmt.Errorf("wrk2 needs a rate: load.qps must be at least 1, got %g", l.QPS)
		}
		if rate != l.QPS {
			inv.notes = append(inv.notes, fmt.Sprintf("wrk2 takes a whole rate: load.qps %g ran as %g", l.QPS, rate))
		}
		// -U adds the uncorrected latency (service time) to the report.
		inv.flags = append(inv.flags, "-R", strconv.FormatFloat(rate, 'f', 0, 64), "-U")
	} else if l.QPS > 0 {
		return inv, fmt.Errorf("wrk has no rate control, so load.qps must be 0 (got %g); use engine wrk2 or fortio for a fixed rate", l.QPS)
	}
	if l.Warmup > 0 {
		if _, rounded := wholeSeconds(l.Warmup.D()); rounded {
			inv.notes = append(inv.notes, fmt.Sprintf("%s takes whole seconds: the warmup was rounded up from %s", w.flavour, l.Warmup))
		}
	}

	var lua strings.Builder
	for _, name := range slices.Sorted(maps.Keys(t.Headers)) {
		value := t.Headers[name]
		if strings.ContainsAny(name, ":\r\n") || strings.ContainsAny(value, "\r\n") {
			return inv, fmt.Errorf("header %q: names cannot hold ':' and neither names nor values line breaks", name)
		}
		if t.IsSecretHeader(name) {
			fmt.Fprintf(&lua, "wrk.headers[%s] = %s\n", luaString(name), luaString(value))
			continue
		}
		inv.flags = append(inv.flags, "-H", name+": "+value)
	}
	if t.Method != "" && t.Method != "GET" {
		fmt.Fprintf(&lua, "wrk.method = %s\n", luaString(t.Method))
	}
	if t.Body != "" {
		fmt.Fprintf(&lua, "wrk.body = %s\n", luaString(t.Body))
	}
	if lua.Len() > 0 {
		inv.script = "-- Generated by perf-exporter for profile " + strconv.Quote(p.Name) + ".\n" + lua.String()
	}
	inv.url = t.URL
	return inv, nil
}

// luaString quotes s as a Lua string literal. Every byte outside printable
// ASCII, and the quote and backslash, is written as a decimal escape, which
// Lua 5.1 and LuaJIT (wrk's Lua) both read byte for byte.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "\\%03d", c)
	}
	b.WriteByte('"')
	return b.String()
}
