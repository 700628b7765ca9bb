package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/perf-exporter/perf-exporter/loadgen"
)

// throughputConnections is the connection count of every contender.
const throughputConnections = 16

// clientRun is one contender's run: its rate, requests and CPU time.
type clientRun struct {
	rps      float64
	requests int64
	cpu      time.Duration
}

// cpuPerRequest is the client's CPU time per request in microseconds.
func (c clientRun) cpuPerRequest() float64 {
	if c.requests == 0 {
		return 0
	}
	return c.cpu.Seconds() * 1e6 / float64(c.requests)
}

type contender struct {
	name string
	run  func(ctx context.Context) (clientRun, error)
}

func benchThroughput(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	url := t.url + "/echo"
	secs := strconv.FormatFloat(o.duration.Seconds(), 'f', -1, 64) + "s"
	conns := strconv.Itoa(throughputConnections)
	contenders := []contender{
		{"perf-exporter run", func(ctx context.Context) (clientRun, error) {
			return ourRun(ctx, b, "--url", url, "--qps", "0", "--connections", conns, "--duration", secs)
		}},
		{"wrk", func(ctx context.Context) (clientRun, error) {
			m, err := runMeasured(ctx, o.wrk, "-t2", "-c"+conns, "-d"+secs, url)
			if err != nil {
				return clientRun{}, err
			}
			w, err := parseWrk(m.stdout)
			return clientRun{rps: w.rps, requests: w.requests, cpu: m.cpu}, err
		}},
		{"raw Fortio", func(ctx context.Context) (clientRun, error) {
			return jsonClient(ctx, b.rawFortio, "--url", url, "--connections", conns, "--duration", secs)
		}},
		{"engine + collector", func(ctx context.Context) (clientRun, error) {
			return jsonClient(ctx, b.self, "engine", "--url", url, "--connections", conns, "--duration", secs)
		}},
	}
	// Warm the target (and the CPU's clocks) before the first round.
	if _, err := runMeasured(ctx, o.wrk, "-t2", "-c"+conns, "-d1s", url); err != nil {
		return err
	}
	runs := make(map[string][]clientRun)
	lines := []string{"| round | " + joinNames(contenders) + " |", "|---" + strings.Repeat("|---", len(contenders)) + "|"}
	for round := range o.rounds {
		cells := make(map[string]string)
		for i := range contenders {
			c := contenders[(i+round)%len(contenders)]
			r, err := c.run(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			runs[c.name] = append(runs[c.name], r)
			cells[c.name] = fmt.Sprintf("%.0f (%.1f µs CPU/req)", r.rps, r.cpuPerRequest())
			logf("round %d %-20s %8.0f req/s  client CPU %.1f µs/req", round+1, c.name, r.rps, r.cpuPerRequest())
		}
		row := fmt.Sprintf("| %d |", round+1)
		for _, c := range contenders {
			row += " " + cells[c.name] + " |"
		}
		lines = append(lines, row)
	}
	med := func(name string) (rps, cpu float64) {
		var rs, cs []float64
		for _, r := range runs[name] {
			rs = append(rs, r.rps)
			cs = append(cs, r.cpuPerRequest())
		}
		return median(rs), median(cs)
	}
	ours, oursCPU := med("perf-exporter run")
	wrk, wrkCPU := med("wrk")
	raw, rawCPU := med("raw Fortio")
	daemon, daemonCPU := med("engine + collector")

	rep.heading(fmt.Sprintf("Peak throughput: /echo, %d connections, as fast as possible, %s × %d rounds", throughputConnections, o.duration, o.rounds))
	rep.figure("`perf-exporter run --qps 0`", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(ours), oursCPU))
	rep.figure("`wrk -t2 -c16`", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(wrk), wrkCPU))
	rep.figure("raw Fortio (`fhttp.RunHTTPTest`, no hook)", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(raw), rawCPU))
	rep.figure("engine with the daemon's collector observer", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(daemon), daemonCPU))
	rep.check("perf-exporter run / wrk", fmt.Sprintf("%.3f", ours/wrk), "≥ 0.95", ours/wrk >= 0.95)
	rep.check("perf-exporter run / raw Fortio", fmt.Sprintf("%.3f", ours/raw), "≥ 0.97", ours/raw >= 0.97)
	rep.check("engine with collector / raw Fortio", fmt.Sprintf("%.3f", daemon/raw), "≥ 0.97", daemon/raw >= 0.97)

	share, err := profileClient(ctx, o, b, url)
	if err != nil {
		return err
	}
	rep.figure("client CPU in perf-exporter's per-request code (pprof)", share.summary())
	how := fmt.Sprintf(`Each round runs every contender once for %s against the built-in target's /echo (a
separate process) with %d connections and no rate limit; the order rotates every round, and
a one-second wrk run warms the target first. The figures are the medians of the rounds.
Client CPU is the user + system time the kernel accounted to the client process, divided by
its requests: on two shared cores every microsecond the client spends is one the target does
not get, which is what separates the contenders.

- perf-exporter run: the release binary, `+"`run --qps 0 --connections 16 --json -`"+`; the rate is
  the result document's ActualQPS. Its per-request observer is the progress counter.
- wrk: Debian's /usr/bin/wrk, `+"`-t2 -c16`"+`, the Requests/sec line.
- raw Fortio: bench/rawfortio, fhttp.RunHTTPTest with perf-exporter's options (output to
  io.Discard, its own Aborter, Fortio's log at errors only, 100 µs histogram resolution) and no
  access logger.
- engine with the daemon's collector observer: perfbench's engine subcommand, the Fortio
  engine in-process feeding collector.Runs' observer (the live histogram and code counters of
  a scheduled run).

The CPU profile is one more %s run of the engine subcommand with the collector observer under
runtime/pprof; shares are of the client's sampled CPU (pprof -top -cum).`, o.duration, throughputConnections, o.duration)
	rep.section("Peak throughput", how, append(lines, "", "CPU profile of the client (cumulative share of its samples):", "", share.table())...)
	return nil
}

func joinNames(cs []contender) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return strings.Join(names, " | ")
}

// ourRun runs `perf-exporter run ... --json -` and reads the document.
func ourRun(ctx context.Context, b binaries, args ...string) (clientRun, error) {
	doc, m, err := ourDocument(ctx, b, args...)
	if err != nil {
		return clientRun{}, err
	}
	var n int64
	if doc.DurationHistogram != nil {
		n = doc.DurationHistogram.Count
	}
	return clientRun{rps: doc.ActualQPS, requests: n, cpu: m.cpu}, nil
}

func ourDocument(ctx context.Context, b binaries, args ...string) (*loadgen.Document, measured, error) {
	m, err := runMeasured(ctx, b.perfExporter, append([]string{"run", "--json", "-"}, args...)...)
	if err != nil {
		return nil, m, err
	}
	var doc loadgen.Document
	if err := json.Unmarshal([]byte(m.stdout), &doc); err != nil {
		return nil, m, fmt.Errorf("perf-exporter run's document: %w", err)
	}
	if doc.PerfExporter.Error != "" {
		return nil, m, fmt.Errorf("perf-exporter run failed: %s", doc.PerfExporter.Error)
	}
	return &doc, m, nil
}

// jsonClient runs rawfortio or the engine subcommand, which print
// {"qps": ..., "requests": ...}.
func jsonClient(ctx context.Context, bin string, args ...string) (clientRun, error) {
	m, err := runMeasured(ctx, bin, args...)
	if err != nil {
		return clientRun{}, err
	}
	var r struct {
		QPS      float64 `json:"qps"`
		Requests int64   `json:"requests"`
	}
	if err := json.Unmarshal([]byte(m.stdout), &r); err != nil {
		return clientRun{}, fmt.Errorf("%s's output %q: %w", bin, m.stdout, err)
	}
	return clientRun{rps: r.QPS, requests: r.Requests, cpu: m.cpu}, nil
}
