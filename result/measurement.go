// Package result is the model of a run's result that engines, the store, the
// collector, the web pages and the change-point detector share: what an
// engine measured, the result document, outcomes and objective verdicts. It
// runs nothing, so its importers do not link Fortio's runner or gRPC.
package result

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"fortio.org/fortio/stats"
)

// Observer receives each request as it completes, while the run is going on.
// Engines that only report at the end (external tools) do not call it; the
// caller then records their Measurement in bulk. Implementations must be cheap and
// safe for concurrent use: they sit on the load generator's hot path.
type Observer interface {
	ObserveRequest(latency time.Duration, code string)
}

// CodeError is the code label of a request that got no status at all
// (connect, read, write or timeout error).
const CodeError = "error"

// Measurement is what one run measured, whatever the engine.
type Measurement struct {
	Engine   string // fortio, wrk, wrk2, nighthawk
	Protocol string // http1, http2, grpc
	// URL is the target as shown to users: scheme://host/path, without
	// credentials or query string.
	URL string

	StartTime         time.Time
	ActualDuration    time.Duration
	RequestedDuration time.Duration
	RequestedQPS      float64 // 0 = as fast as possible
	ActualQPS         float64
	Connections       int

	// Codes counts requests by HTTP status ("200"), gRPC code name ("OK") or
	// CodeError for transport errors.
	Codes map[string]int64

	// Latency of every measured request, in seconds, with the percentiles the
	// profile asked for. For rate-limited external engines that correct for
	// coordinated omission themselves (wrk2, Nighthawk) this is what they
	// report as their main latency.
	Latency *stats.HistogramData
	// Corrected is latency counted from each request's intended send time
	// (coordinated omission corrected), where the engine measures it.
	Corrected *stats.HistogramData
	// SendLateness is how late requests left compared with their intended
	// send time, where the engine measures it.
	SendLateness *stats.HistogramData

	// ErrorReasons counts the requests that got no response (code
	// CodeError) by why they failed ("connection refused": 998), where the
	// engine tells; redacted like engine errors, and bounded by
	// BoundReasons.
	ErrorReasons map[string]int64

	// Aborted is set when the run was stopped before its planned end.
	Aborted bool
	// Notes are caveats a reader of the result should know (e.g. wrk2's
	// histogram reset after calibration).
	Notes []string
}

// Requests is the number of requests that completed, successfully or not.
func (r *Measurement) Requests() int64 {
	var n int64
	for _, c := range r.Codes {
		n += c
	}
	return n
}

// Responses is the number of requests that got a response (an HTTP status
// or a gRPC code, success or not): the requests latency and the achieved
// rate are about.
func (r *Measurement) Responses() int64 {
	return r.Requests() - r.Codes[CodeError]
}

// MaxErrorReasons bounds the distinct failure reasons a result keeps; the
// rest count under ReasonOther.
const MaxErrorReasons = 16

// ReasonOther collects the failure reasons beyond MaxErrorReasons.
const ReasonOther = "other"

// ByCount lists the keys of counts, the largest count first, equal counts
// by name.
func ByCount(counts map[string]int64) []string {
	return slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
}

// BoundReasons keeps the MaxErrorReasons-1 most frequent reasons and counts
// the others under ReasonOther, so a result's size does not grow with the
// variety of a target's failures. It returns nil for no reasons.
func BoundReasons(reasons map[string]int64) map[string]int64 {
	if len(reasons) == 0 {
		return nil
	}
	if len(reasons) <= MaxErrorReasons {
		return reasons
	}
	out := make(map[string]int64, MaxErrorReasons)
	for i, k := range ByCount(reasons) {
		if i < MaxErrorReasons-1 && k != ReasonOther {
			out[k] = reasons[k]
		} else {
			out[ReasonOther] += reasons[k]
		}
	}
	return out
}

// Errors is the number of requests that failed: transport errors and, for
// HTTP, statuses outside 2xx; for gRPC, every code but OK.
func (r *Measurement) Errors() int64 {
	var n int64
	for code, c := range r.Codes {
		if !CodeOK(code) {
			n += c
		}
	}
	return n
}

// ErrorRatio is Errors over Requests, 0 when nothing was sent.
func (r *Measurement) ErrorRatio() float64 {
	total := r.Requests()
	if total == 0 {
		return 0
	}
	return float64(r.Errors()) / float64(total)
}

// CodeOK tells whether a code label counts as a success.
func CodeOK(code string) bool {
	if code == "OK" || code == "SERVING" {
		return true
	}
	return len(code) == 3 && code[0] == '2'
}

// Percentile returns the latency in seconds at percentile p (e.g. 99.9) and
// whether the result has it.
func (r *Measurement) Percentile(p float64) (float64, bool) {
	return PercentileOf(r.Latency, p)
}

// PercentileOf returns the value a histogram lists for percentile p, and
// whether it lists it; a nil histogram lists none.
func PercentileOf(h *stats.HistogramData, p float64) (float64, bool) {
	if h == nil {
		return 0, false
	}
	for _, pc := range h.Percentiles {
		if pc.Percentile == p {
			return pc.Value, true
		}
	}
	return 0, false
}
