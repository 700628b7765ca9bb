package loadgen

import (
	"context"
	"time"

	"fortio.org/fortio/periodic"
	"fortio.org/fortio/stats"
)

// requestHook is fortio's per-request AccessLogger. It forwards every
// request to the Observer as it completes and, for rate-limited runs,
// measures coordinated omission: how late each request left compared with
// the time fortio's schedule intended, and the latency counted from that
// intended time (as wrk2 does).
//
// Fortio calls Report from the connection's own goroutine, so per-thread
// state needs no lock: each thread only touches its own slot.
type requestHook struct {
	obs     Observer
	threads []threadClock
	// interval is the time between two intended sends of one connection, and
	// stretch fortio's correction that spreads the last call to the end of
	// the duration: intended(i) = start + (i + i/(n-1)) * interval.
	interval float64
	stretch  float64
}

type threadClock struct {
	start     time.Time
	lateness  *stats.Histogram
	corrected *stats.Histogram
	_         [32]byte // keep neighbouring threads off one cache line
}

func newRequestHook(obs Observer, qps float64, connections int, d time.Duration) *requestHook {
	h := &requestHook{obs: obs}
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
	h.threads = make([]threadClock, connections)
	for i := range h.threads {
		h.threads[i].lateness = stats.NewHistogram(0, resolution)
		h.threads[i].corrected = stats.NewHistogram(0, resolution)
	}
	return h
}

// Start implements periodic.AccessLogger.
func (h *requestHook) Start(ctx context.Context, _ periodic.ThreadID, _ int64, _ time.Time) context.Context {
	return ctx
}

// Report implements periodic.AccessLogger.
func (h *requestHook) Report(_ context.Context, thread periodic.ThreadID, iter int64, start time.Time, latency float64, ok bool, details string) {
	if h.obs != nil {
		h.obs.ObserveRequest(time.Duration(latency*float64(time.Second)), codeFromDetails(details, ok))
	}
	if h.threads == nil || int(thread) >= len(h.threads) {
		return
	}
	tc := &h.threads[thread]
	if iter == 0 {
		tc.start = start
	}
	intended := float64(iter) * (1 + h.stretch) * h.interval
	late := start.Sub(tc.start).Seconds() - intended
	if late < 0 {
		late = 0
	}
	tc.lateness.Record(late)
	tc.corrected.Record(latency + late)
}

// Info implements periodic.AccessLogger.
func (h *requestHook) Info() string { return "perf-exporter metrics" }

// finish puts what the hook measured into the result.
func (h *requestHook) finish(r *Result, percentiles []float64) {
	if h == nil || h.threads == nil {
		return
	}
	lateness := stats.NewHistogram(0, resolution)
	corrected := stats.NewHistogram(0, resolution)
	for i := range h.threads {
		lateness.Transfer(h.threads[i].lateness)
		corrected.Transfer(h.threads[i].corrected)
	}
	if lateness.Count == 0 {
		return
	}
	r.SendLateness = lateness.Export().CalcPercentiles(percentiles)
	r.Corrected = corrected.Export().CalcPercentiles(percentiles)
}
