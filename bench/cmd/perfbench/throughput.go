package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/perf-exporter/perf-exporter/result"
)

// throughputConnections is the connection count of every contender.
const throughputConnections = 16

// settle is the pause between two contenders' runs, for the target to
// close the last one's connections.
const settle = 250 * time.Millisecond

// balancedOrders is a Williams design: n orders of 0..n-1 in which every
// contender runs in every position once and, for even n, right after every
// other contender once. A plain rotation would always run a contender
// right after the same other one, and whatever that one leaves behind in
// the target (closing connections, a grown heap) would count against it.
func balancedOrders(n int) [][]int {
	first := make([]int, n) // 0, 1, n-1, 2, n-2, ...
	for i, lo, hi := 1, 1, n-1; i < n; i++ {
		if i%2 == 1 {
			first[i], lo = lo, lo+1
		} else {
			first[i], hi = hi, hi-1
		}
	}
	orders := make([][]int, n)
	for r := range n {
		orders[r] = make([]int, n)
		for i, c := range first {
			orders[r][i] = (c + r) % n
		}
	}
	return orders
}

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
	orders := balancedOrders(len(contenders))
	for round := range o.rounds {
		cells := make(map[string]string)
		for i, ci := range orders[round%len(orders)] {
			c := contenders[ci]
			if i > 0 {
				time.Sleep(settle)
			}
			r, err := c.run(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			runs[c.name] = append(runs[c.name], r)
			cells[c.name] = fmt.Sprintf("%.0f (%.1f µs CPU/req)", r.rps, r.cpuPerRequest())
			logf("round %d %-20s %8.0f req/s  client CPU %.1f µs/req", round+1, c.name, r.rps, r.cpuPerRequest())
		}
		var row strings.Builder
		fmt.Fprintf(&row, "| %d |", round+1)
		for _, c := range contenders {
			row.WriteString(" " + cells[c.name] + " |")
		}
		lines = append(lines, row.String())
	}
	med := func(name string) (rps, cpu float64) {
		var rs, cs []float64
		for _, r := range runs[name] {
			rs = append(rs, r.rps)
			cs = append(cs, r.cpuPerRequest())
		}
		return median(rs), median(cs)
	}
	// Ratios pair the contenders' runs of the same round: the machine's
	// speed drifts between rounds (other work shares its cores), and a
	// ratio within a round cancels most of that drift.
	ratio := func(a, b string) float64 {
		var rs []float64
		for i := range runs[a] {
			rs = append(rs, runs[a][i].rps/runs[b][i].rps)
		}
		return median(rs)
	}
	const ours, wrk, raw, daemon = "perf-exporter run", "wrk", "raw Fortio", "engine + collector"
	oursRPS, oursCPU := med(ours)
	wrkRPS, wrkCPU := med(wrk)
	rawRPS, rawCPU := med(raw)
	daemonRPS, daemonCPU := med(daemon)

	rep.heading(fmt.Sprintf("Peak throughput: /echo, %d connections, as fast as possible, %s × %d rounds", throughputConnections, o.duration, o.rounds))
	rep.figure("`perf-exporter run --qps 0`", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(oursRPS), oursCPU))
	rep.figure("`wrk -t2 -c16`", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(wrkRPS), wrkCPU))
	rep.figure("raw Fortio (`fhttp.RunHTTPTest`, no hook)", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(rawRPS), rawCPU))
	rep.figure("engine with the daemon's collector observer", fmt.Sprintf("%s (client CPU %.1f µs/request)", rate(daemonRPS), daemonCPU))
	for _, c := range []struct {
		a, b, figure, target string
		min                  float64
	}{
		{ours, wrk, "perf-exporter run / wrk", "≥ 0.95", 0.95},
		{ours, raw, "perf-exporter run / raw Fortio", "≥ 0.97", 0.97},
		{daemon, raw, "engine with collector / raw Fortio", "≥ 0.97", 0.97},
	} {
		r := ratio(c.a, c.b)
		rep.check(c.figure, fmt.Sprintf("%.3f (ratio of the medians %.3f)", r, median(rpsOf(runs[c.a]))/median(rpsOf(runs[c.b]))), c.target, r >= c.min)
	}
	// Client CPU per request is what decides the rates on two shared
	// cores, and it moves less with other work on the machine than the
	// rates do.
	rep.figure("client CPU per request, perf-exporter run / wrk", fmt.Sprintf("%.2f", oursCPU/wrkCPU))
	rep.figure("client CPU per request, perf-exporter run / raw Fortio", fmt.Sprintf("%.2f", oursCPU/rawCPU))
	rep.figure("client CPU per request, engine with collector / raw Fortio", fmt.Sprintf("%.2f", daemonCPU/rawCPU))
	rep.figure("client CPU per request, wrk / raw Fortio", fmt.Sprintf("%.2f", wrkCPU/rawCPU))

	share, err := profileClient(ctx, o, b, url)
	if err != nil {
		return err
	}
	rep.figure("client CPU in perf-exporter's per-request code (pprof)", share.summary())
	how := fmt.Sprintf(`Each round runs every contender once for %s against the built-in target's /echo (a
separate process) with %d connections and no rate limit, a quarter of a second apart. Runs are
short and rounds many so that other work on the machine, which comes in bursts of seconds,
tends to slow a whole round rather than one contender. The orders of the rounds form a
balanced Latin square (every contender runs in every position, and right after every other
contender, equally often), and a one-second wrk run warms the target first. Rates are the medians of the rounds; a ratio is
the median of the rounds' ratios (each pairs two runs of the same round, which cancels most of
the drift of a shared machine between rounds), with the ratio of the medians next to it.
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

The CPU profile is one more run of the engine subcommand with the collector observer, %s under
runtime/pprof; shares are of the client's sampled CPU (pprof -top -cum), and ns/request is a
share of the client's CPU time as the kernel accounted it, over its requests.`, o.duration, throughputConnections, profileRun)
	rep.section("Peak throughput", how, append(lines, "", "CPU profile of the client (cumulative share of its samples):", "", share.table())...)
	return nil
}

func rpsOf(rs []clientRun) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.rps
	}
	return out
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

func ourDocument(ctx context.Context, b binaries, args ...string) (*result.Document, measured, error) {
	m, err := runMeasured(ctx, b.perfExporter, append([]string{"run", "--json", "-"}, args...)...)
	if err != nil {
		return nil, m, err
	}
	var doc result.Document
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
