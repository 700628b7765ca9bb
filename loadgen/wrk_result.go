package loadgen

// Turning a scanned wrk or wrk2 report into a Measurement: which flavour
// printed it, the response codes, the latency histograms and the notes
// that say what the figures leave out.

import (
	"errors"
	"fmt"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// parseWrk reads the output of wrk (flavour "wrk") or wrk2 ("wrk2") into a
// Result with the given latency percentiles. What the output cannot tell
// (start time, the rate wrk2 was asked for) is left for the caller.
func parseWrk(data []byte, flavour string, percentiles []float64) (*result.Measurement, error) {
	rep, err := parseWrkReport(data)
	if err != nil {
		return nil, err
	}
	return rep.result(flavour, percentiles)
}

func (rep *wrkReport) result(flavour string, percentiles []float64) (*result.Measurement, error) {
	if !rep.hasSummary {
		return nil, fmt.Errorf(`no "N requests in T" line: %s did not finish a run (is this %s output?)`, flavour, flavour)
	}
	wrk2Output := rep.calibrations > 0 || rep.recorded != nil || rep.uncorrected != nil
	switch flavour {
	case config.EngineWrk:
		if wrk2Output {
			return nil, errors.New("this is wrk2 output (it has thread calibration lines or HdrHistogram blocks): read it as wrk2")
		}
	case config.EngineWrk2:
		if rep.hasDistribution {
			return nil, errors.New("this is wrk output (its latency distribution is not an HdrHistogram): read it as wrk")
		}
	default:
		return nil, fmt.Errorf("unknown wrk flavour %q (wrk or wrk2)", flavour)
	}
	r := &result.Measurement{
		Engine:            flavour,
		Protocol:          config.ProtocolHTTP1,
		ActualDuration:    rep.duration,
		RequestedDuration: rep.requestedDuration,
		Connections:       rep.connections,
		Codes:             rep.codes(),
	}
	if rep.url != "" {
		r.URL = config.PublicURL(rep.url)
	}
	switch {
	case rep.hasRPS:
		r.ActualQPS = rep.rps
	case rep.duration > 0:
		r.ActualQPS = float64(rep.requests) / rep.duration.Seconds()
	}
	if flavour == config.EngineWrk {
		rep.wrkLatency(r, percentiles)
	} else {
		rep.wrk2Latency(r, percentiles)
	}
	if rep.requestedDuration > 0 && rep.duration < rep.requestedDuration*9/10 {
		r.Aborted = true
		r.Notes = append(r.Notes, fmt.Sprintf("the run stopped after %s of the %s it was started for: it was interrupted",
			rep.duration.Round(10*time.Millisecond), rep.requestedDuration))
	}
	return r, nil
}

// wrkLatency fills the latency of a wrk result. wrk prints four percentiles
// and its thread stats, not a histogram; the buckets are rebuilt from the
// percentiles so that runs still feed the cumulative latency histogram.
func (rep *wrkReport) wrkLatency(r *result.Measurement, percentiles []float64) {
	timeouts := min(rep.socket.timeout, rep.requests)
	if timeouts > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d responses were slower than --timeout: wrk leaves them out of its latency statistics; they are counted under code %q", timeouts, result.CodeError))
	}
	// wrk's latency statistics hold every response within --timeout.
	count := rep.requests - timeouts
	h := &stats.HistogramData{}
	if rep.latency.known && count > 0 {
		h.Count, h.Avg, h.StdDev, h.Max = count, rep.latency.avg, rep.latency.stdev, rep.latency.max
		h.Sum = h.Avg * float64(count)
	}
	r.Latency = h
	if !rep.hasDistribution {
		r.Notes = append(r.Notes, "the output has no latency distribution (wrk ran without --latency): only the average, standard deviation and maximum are known")
		return
	}
	if h.Count == 0 || len(rep.distribution) == 0 {
		return
	}
	var missing []float64
	h.Percentiles, missing = pickPercentiles(percentiles, rep.distribution, nil)
	h.Data = approximateBuckets(rep.distribution, h.Max, h.Count)
	r.Notes = append(r.Notes,
		"wrk prints only p50, p75, p90 and p99 (and no minimum): the latency histogram is rebuilt from them, the requests below p50 at p50 and the others spread evenly between the printed percentiles and the maximum, so its shape is approximate",
		// wrk 4's stats_correct: for each response slower than twice a
		// connection's average time per request, it adds the responses the
		// connection would have completed meanwhile.
		"wrk corrects its latency percentiles for coordinated omission itself, assuming each connection's average pace: when the target stalls they run higher than the fortio engine's service time, and wrk does not print uncorrected ones")
	if len(missing) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("wrk does not report %s", percentileList(missing)))
	}
}

// codes splits wrk's request counts into code labels. wrk prints only how
// many responses were above 399 ("Non-2xx or 3xx"), and a response slower
// than --timeout is counted both as completed and as a timeout: timeouts
// are taken out of the completed responses (below 400 first) and counted
// with the socket errors under CodeError.
func (rep *wrkReport) codes() map[string]int64 {
	completed := rep.requests
	above := min(rep.non2xx3xx, completed)
	below := completed - above
	fromBelow := min(rep.socket.timeout, below)
	fromAbove := min(rep.socket.timeout-fromBelow, above)
	below -= fromBelow
	above -= fromAbove
	failed := rep.socket.connect + rep.socket.read + rep.socket.write + rep.socket.timeout
	codes := map[string]int64{}
	for label, n := range map[string]int64{result.CodeWrkBelow400: below, result.CodeWrkAbove399: above, result.CodeError: failed} {
		if n > 0 {
			codes[label] = n
		}
	}
	return codes
}

// wrk2Latency fills the latencies of a wrk2 result. wrk2's main latency
// ("Recorded Latency") counts from the time each request should have been
// sent at the asked rate: that is what Result.Corrected holds for every
// engine. Result.Latency holds service time, as for the fortio engine:
// wrk2's "Uncorrected Latency" block, printed with -U (which the engine
// always passes).
func (rep *wrkReport) wrk2Latency(r *result.Measurement, percentiles []float64) {
	var missing []float64
	switch {
	case rep.recorded != nil:
		var notes []string
		r.Corrected, missing, notes = rep.recorded.histogram(percentiles)
		r.Notes = append(r.Notes, notes...)
	default:
		h := &stats.HistogramData{}
		if rep.latency.known {
			h.Avg, h.StdDev, h.Max = rep.latency.avg, rep.latency.stdev, rep.latency.max
			if rep.calibrations == 0 {
				// Without calibration nothing was reset: wrk2 recorded
				// every completed response.
				h.Count = rep.requests
				h.Sum = h.Avg * float64(h.Count)
			}
		}
		r.Corrected = h
		r.Notes = append(r.Notes, "the output has no latency distribution (wrk2 ran without --latency): only the average, standard deviation and maximum are known")
	}
	if rep.uncorrected != nil {
		var missingU []float64
		var notes []string
		r.Latency, missingU, notes = rep.uncorrected.histogram(percentiles)
		missing = append(missing, missingU...)
		r.Notes = append(r.Notes, notes...)
	} else {
		copied := *r.Corrected
		r.Latency = &copied
		r.Notes = append(r.Notes, "the output has no uncorrected latency (wrk2 ran without -U): Latency holds wrk2's coordinated-omission-corrected latency, the same as Corrected")
	}
	if rep.calibrations > 0 {
		if n := r.Corrected.Count; n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("wrk2 resets its latency histograms when its calibration ends, about 10 s into the run: the latency distributions cover the last %d of the %d requests, while request counts, codes and rps cover the whole run", n, rep.requests))
		} else {
			r.Notes = append(r.Notes, "wrk2 resets its latency histograms when its calibration ends, about 10 s into the run: latency statistics leave out the first ~10 s, while request counts, codes and rps cover the whole run")
		}
	}
	if rep.socket.timeout > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("wrk2 reported %d timeouts: every 2 s it counts the requests outstanding for longer than --timeout, so one slow request can count more than once, and requests that completed late stay in the latency histograms; they are counted under code %q", rep.socket.timeout, result.CodeError))
	}
	if len(missing) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("wrk2's output has no %s", percentileList(uniqueFloats(missing))))
	}
}

// histogram turns an HdrHistogram block into fortio's histogram form.
func (b *hdrBlock) histogram(percentiles []float64) (h *stats.HistogramData, missing []float64, notes []string) {
	h = spectrumHistogram(b.rows)
	if b.haveFooter {
		h.Avg, h.StdDev = b.mean, b.stdev
		if b.max > 0 {
			h.Max = b.max
		}
		switch {
		case len(b.rows) == 0:
			h.Count = b.total
		case b.total > 0 && b.total != h.Count:
			notes = append(notes, fmt.Sprintf("wrk2's histogram footer counts %d values but its spectrum %d: the spectrum's count is used", b.total, h.Count))
		}
		h.Sum = h.Avg * float64(h.Count)
	}
	h.Percentiles, missing = pickPercentiles(percentiles, b.printed, b.rows)
	return h, missing, notes
}

func uniqueFloats(fs []float64) []float64 {
	var out []float64
	for _, f := range fs {
		if !containsFloat(out, f) {
			out = append(out, f)
		}
	}
	return out
}
