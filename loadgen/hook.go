package loadgen

import (
	"context"
	"time"

	"fortio.org/fortio/periodic"
	"github.com/perf-exporter/perf-exporter/result"
)

// requestHook is fortio's per-request AccessLogger. It forwards every
// request to the result.Observer as it completes, records latencies exactly (see
// latencyHistogram) and, for rate-limited runs, measures coordinated
// omission: how late each request left compared with the time fortio's
// schedule intended, and the latency counted from that intended time (as
// wrk2 does).
//
// Each connection records into its own connStats, written only by the
// goroutine fortio runs that connection on, so Report takes no lock and
// touches no shared cache line; finish merges them after fortio's runner
// has waited for every connection.
type requestHook struct {
	obs   result.Observer
	conns []connStats
	// Rate-limited runs only: interval is the time between two intended
	// sends of one connection, and stretch fortio's correction that
	// spreads the last call to the end of the duration:
	// intended(i) = start + (i + i/(n-1)) * interval.
	rateLimited bool
	interval    float64
	stretch     float64
}

// connStats is what one connection measured.
type connStats struct {
	latency latencyHistogram
	// Rate-limited runs only.
	lateness, corrected latencyHistogram
	start               time.Time // the connection's first send
	// Keeps the counters of neighbouring connections off each other's
	// cache line.
	_ [64]byte
}

func newRequestHook(obs result.Observer, qps float64, connections int, d time.Duration) *requestHook {
	h := &requestHook{obs: obs, conns: make([]connStats, max(connections, 1))}
	for i := range h.conns {
		c := &h.conns[i]
		c.latency.minNs, c.lateness.minNs, c.corrected.minNs = noMin, noMin, noMin
	}
	if qps <= 0 || connections < 1 {
		return h // no schedule, so no intended send times
	}
	// Mirror fortio's own split of calls over threads (periodic.runQPSSetup).
	total := int64(qps * d.Seconds())
	total = max(total, 2)
	threads := connections
	if int64(2*threads) > total {
		threads = int(total / 2)
	}
	perThread := total / int64(threads)
	h.interval = float64(threads) / qps
	if perThread > 1 {
		h.stretch = 1 / float64(perThread-1)
	}
	h.rateLimited = true
	return h
}

// Start implements periodic.AccessLogger.
func (h *requestHook) Start(ctx context.Context, _ periodic.ThreadID, _ int64, _ time.Time) context.Context {
	return ctx
}

// Report implements periodic.AccessLogger.
func (h *requestHook) Report(_ context.Context, thread periodic.ThreadID, iter int64, start time.Time, latency float64, ok bool, details string) {
	d := time.Duration(latency * float64(time.Second))
	if h.obs != nil {
		h.obs.ObserveRequest(d, codeFromDetails(details, ok))
	}
	if int(thread) >= len(h.conns) {
		return // fortio never runs more threads than it was given connections
	}
	c := &h.conns[thread]
	c.latency.Record(d)
	if !h.rateLimited {
		return
	}
	if iter == 0 {
		c.start = start
	}
	intended := time.Duration(float64(iter) * (1 + h.stretch) * h.interval * float64(time.Second))
	late := max(start.Sub(c.start)-intended, 0)
	c.lateness.Record(late)
	c.corrected.Record(d + late)
}

// Info implements periodic.AccessLogger.
func (h *requestHook) Info() string { return "perf-exporter metrics" }

// finish puts what the hook measured into the result: exact percentiles in
// place of fortio's interpolated ones, and the coordinated-omission view.
// It must only be called once fortio's run has returned.
func (h *requestHook) finish(r *result.Measurement, percentiles []float64) {
	latency := newLatencyHistogram()
	for i := range h.conns {
		latency.Merge(&h.conns[i].latency)
	}
	if r.Latency != nil && latency.Count() > 0 {
		exact := latency.Summary(percentiles)
		r.Latency.Percentiles = exact.Percentiles
	}
	if !h.rateLimited {
		return
	}
	lateness, corrected := newLatencyHistogram(), newLatencyHistogram()
	for i := range h.conns {
		lateness.Merge(&h.conns[i].lateness)
		corrected.Merge(&h.conns[i].corrected)
	}
	r.SendLateness = lateness.Summary(percentiles)
	r.Corrected = corrected.Summary(percentiles)
}
