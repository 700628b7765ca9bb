package loadgen

import (
	"context"
	"time"

	"fortio.org/fortio/periodic"
)

// requestHook is fortio's per-request AccessLogger. It forwards every
// request to the Observer as it completes, records latencies exactly (see
// latencyHistogram) and, for rate-limited runs, measures coordinated
// omission: how late each request left compared with the time fortio's
// schedule intended, and the latency counted from that intended time (as
// wrk2 does).
type requestHook struct {
	obs     Observer
	latency *latencyHistogram
	// Rate-limited runs only. starts[i] is connection i's first send; only
	// that connection's goroutine writes it.
	starts    []time.Time
	lateness  *latencyHistogram
	corrected *latencyHistogram
	// interval is the time between two intended sends of one connection,
	// and stretch fortio's correction that spreads the last call to the end
	// of the duration: intended(i) = start + (i + i/(n-1)) * interval.
	interval float64
	stretch  float64
}

func newRequestHook(obs Observer, qps float64, connections int, d time.Duration) *requestHook {
	h := &requestHook{obs: obs, latency: newLatencyHistogram()}
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
	h.starts = make([]time.Time, connections)
	h.lateness = newLatencyHistogram()
	h.corrected = newLatencyHistogram()
	return h
}

// Start implements periodic.AccessLogger.
func (h *requestHook) Start(ctx context.Context, _ periodic.ThreadID, _ int64, _ time.Time) context.Context {
	return ctx
}

// Report implements periodic.AccessLogger.
func (h *requestHook) Report(_ context.Context, thread periodic.ThreadID, iter int64, start time.Time, latency float64, ok bool, details string) {
	d := time.Duration(latency * float64(time.Second))
	h.latency.Record(d)
	if h.obs != nil {
		h.obs.ObserveRequest(d, codeFromDetails(details, ok))
	}
	if h.starts == nil || int(thread) >= len(h.starts) {
		return
	}
	if iter == 0 {
		h.starts[thread] = start
	}
	intended := time.Duration(float64(iter) * (1 + h.stretch) * h.interval * float64(time.Second))
	late := max(start.Sub(h.starts[thread])-intended, 0)
	h.lateness.Record(late)
	h.corrected.Record(d + late)
}

// Info implements periodic.AccessLogger.
func (h *requestHook) Info() string { return "perf-exporter metrics" }

// finish puts what the hook measured into the result: exact percentiles in
// place of fortio's interpolated ones, and the coordinated-omission view.
func (h *requestHook) finish(r *Result, percentiles []float64) {
	if r.Latency != nil && h.latency.n.Load() > 0 {
		exact := h.latency.Summary(percentiles)
		r.Latency.Percentiles = exact.Percentiles
	}
	if h.starts == nil {
		return
	}
	r.SendLateness = h.lateness.Summary(percentiles)
	r.Corrected = h.corrected.Summary(percentiles)
}
