package result

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/perf-exporter/perf-exporter/config"
)

// Outcomes of a run: the values of perf_runs_total's result label.
const (
	OutcomeSuccess   = "success"    // completed, objectives met or none set
	OutcomeSLOMissed = "slo_missed" // completed, an objective missed
	OutcomeFailure   = "failure"    // did not complete or every request failed
	OutcomeSkipped   = "skipped"    // the profile was still running at the tick
	OutcomeAborted   = "aborted"    // stopped by shutdown or crash
)

// Outcomes lists every outcome, so counters can start at zero.
var Outcomes = []string{OutcomeSuccess, OutcomeSLOMissed, OutcomeFailure, OutcomeSkipped, OutcomeAborted}

// Judge decides a completed run's outcome from the engine's error and the
// profile's objectives.
func Judge(p config.Profile, r *Measurement, runErr error) (string, []Verdict) {
	switch {
	case r == nil || runErr != nil:
		return OutcomeFailure, nil
	case r.Aborted:
		return OutcomeAborted, nil
	case r.Requests() == 0:
		return OutcomeFailure, nil
	case r.Errors() == r.Requests():
		return OutcomeFailure, nil
	}
	verdicts := Verdicts(p.SLO, r)
	for _, v := range verdicts {
		if !v.Met {
			return OutcomeSLOMissed, verdicts
		}
	}
	return OutcomeSuccess, verdicts
}

// Verdicts judges a result against objectives, in a stable order.
func Verdicts(slo config.SLO, r *Measurement) []Verdict {
	var out []Verdict
	keys := make([]string, 0, len(slo.Latency))
	for k := range slo.Latency {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return percentileOf(keys[i]) < percentileOf(keys[j]) })
	for _, k := range keys {
		target := slo.Latency[k].D().Seconds()
		actual, ok := r.Percentile(percentileOf(k))
		out = append(out, Verdict{
			Objective: "latency p" + k, Target: target, Actual: actual, Met: ok && actual <= target,
		})
	}
	if slo.ErrorRatio != nil {
		actual := r.ErrorRatio()
		out = append(out, Verdict{Objective: "error_ratio", Target: *slo.ErrorRatio, Actual: actual, Met: actual <= *slo.ErrorRatio})
	}
	return out
}

func percentileOf(key string) float64 {
	f, _ := strconv.ParseFloat(key, 64)
	return f
}

// PercentileLabel formats a percentile the way metrics label it: "50", "99.9".
func PercentileLabel(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64)
}

// Describe is a one-line summary for logs.
func (r *Measurement) Describe() string {
	latency := "no response"
	p50, ok50 := r.Percentile(50)
	p99, ok99 := r.Percentile(99)
	switch {
	case ok50 && ok99:
		latency = fmt.Sprintf("p50 %.3gms p99 %.3gms", p50*1e3, p99*1e3)
	case r.Responses() > 0:
		latency = "p50/p99 not measured"
	}
	return fmt.Sprintf("%d requests in %s, %.1f req/s answered, %s, error ratio %.4f",
		r.Requests(), r.ActualDuration.Round(1e6), r.ActualQPS, latency, r.ErrorRatio())
}
