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
// omission: how late each request left compared with the time its
// connection's schedule intended, and the latency counted from that
// intended time (as wrk2 does).
//
// Latency is response latency: a request that got no response (refused,
// reset, timed out: code result.CodeError) counts in the codes and in the
// failure reasons, never in the latency percentiles or the achieved rate,
// or a target that goes down would look faster.
//
// Each connection records into its own connStats, written only by the
// goroutine fortio runs that connection on, so Report takes no lock and
// touches no shared cache line; finish merges them after fortio's runners
// have waited for every connection.
type requestHook struct {
	obs   result.Observer
	conns []connStats
	// timeout is target.timeout: an answer slower than it is a timeout
	// (0: no such check). Fortio lets one through when a kept-alive
	// connection stays silent past the timeout: it takes the silence for a
	// dead idle socket, sends the request again on a new connection and
	// reports that answer, its latency counted from the first send.
	timeout time.Duration
}

// connStats is what one connection measured.
type connStats struct {
	latency   latencyHistogram // responses only
	responses int64
	reasons   map[string]int64 // failed requests by reason
	// late counts, by the code fortio gave them, the answers slower than
	// the timeout counted as errors: fortio's own codes count them as such.
	late map[string]int64
	// Rate-limited runs only: interval is the time between two intended
	// sends of this connection, in seconds.
	interval            float64
	lateness, corrected latencyHistogram
	start               time.Time // the connection's first send
	// Keeps the counters of neighbouring connections off each other's
	// cache line.
	_ [64]byte
}

func newRequestHook(obs result.Observer, connections int) *requestHook {
	h := &requestHook{obs: obs, conns: make([]connStats, max(connections, 1))}
	for i := range h.conns {
		c := &h.conns[i]
		c.latency.minNs, c.lateness.minNs, c.corrected.minNs = noMin, noMin, noMin
	}
	return h
}

// group is the AccessLogger of one fortio runner: its threads are the hook's
// connections from offset on. reason, when set, tells why a thread's last
// request failed.
func (h *requestHook) group(offset int, g connGroup, d time.Duration, reason func(thread int) string) *hookGroup {
	if g.calls > 1 {
		// fortio spreads a connection's calls evenly from the start to the
		// end of the duration: call i at i × d / (calls - 1).
		interval := d.Seconds() / float64(g.calls-1)
		for i := offset; i < offset+g.connections && i < len(h.conns); i++ {
			h.conns[i].interval = interval
		}
	}
	return &hookGroup{h: h, offset: offset, reason: reason}
}

type hookGroup struct {
	h      *requestHook
	offset int
	reason func(thread int) string
}

// Start implements periodic.AccessLogger.
func (g *hookGroup) Start(ctx context.Context, _ periodic.ThreadID, _ int64, _ time.Time) context.Context {
	return ctx
}

// Report implements periodic.AccessLogger.
func (g *hookGroup) Report(_ context.Context, thread periodic.ThreadID, iter int64, start time.Time, latency float64, ok bool, details string) {
	d := time.Duration(latency * float64(time.Second))
	code := codeFromDetails(details, ok)
	h := g.h
	lateCode := ""
	if code != result.CodeError && h.timeout > 0 && d > h.timeout {
		lateCode, code = code, result.CodeError
	}
	if h.obs != nil {
		h.obs.ObserveRequest(d, code)
	}
	i := g.offset + int(thread)
	if i >= len(h.conns) {
		return // fortio never runs more threads than it was given connections
	}
	c := &h.conns[i]
	var late time.Duration
	if c.interval > 0 {
		if iter == 0 {
			c.start = start
		}
		intended := time.Duration(float64(iter) * c.interval * float64(time.Second))
		late = max(start.Sub(c.start)-intended, 0)
		c.lateness.Record(late)
	}
	if code == result.CodeError {
		reason := ""
		switch {
		case lateCode != "":
			reason = reasonLate
			if c.late == nil {
				c.late = map[string]int64{}
			}
			c.late[lateCode]++
		case g.reason != nil:
			reason = g.reason(int(thread))
		}
		if reason == "" {
			reason = reasonUnknown
		}
		if c.reasons == nil {
			c.reasons = map[string]int64{}
		}
		c.reasons[reason]++
		return
	}
	c.responses++
	c.latency.Record(d)
	if c.interval > 0 {
		c.corrected.Record(d + late)
	}
}

// reasonLate is the reason of an answer slower than target.timeout.
const reasonLate = "no answer within target.timeout"

// Info implements periodic.AccessLogger.
func (g *hookGroup) Info() string { return "perf-exporter metrics" }

// finish puts what the hook measured into the result: the latency of the
// responses (fortio's buckets, exact percentiles), the achieved rate of
// responses, the failure reasons and, for rate-limited runs, the
// coordinated-omission view. It must only be called once fortio's runners
// have returned, and after r.ActualDuration is set.
func (h *requestHook) finish(r *result.Measurement, percentiles []float64, redact func(string) string) {
	latency := newLatencyHistogram()
	var responses int64
	reasons := map[string]int64{}
	rateLimited := false
	for i := range h.conns {
		c := &h.conns[i]
		latency.Merge(&c.latency)
		responses += c.responses
		for code, n := range c.late {
			if r.Codes != nil && r.Codes[code] >= n {
				r.Codes[code] -= n
				if r.Codes[code] == 0 {
					delete(r.Codes, code)
				}
				r.Codes[result.CodeError] += n
			}
		}
		for reason, n := range c.reasons {
			if redact != nil {
				reason = redact(reason)
			}
			reasons[reason] += n
		}
		rateLimited = rateLimited || c.interval > 0
	}
	r.Latency = nil
	if responses > 0 {
		r.Latency = latency.fortioHistogram(percentiles)
	}
	r.ActualQPS = 0
	if s := r.ActualDuration.Seconds(); s > 0 {
		r.ActualQPS = float64(responses) / s
	}
	r.ErrorReasons = result.BoundReasons(reasons)
	if !rateLimited {
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
