package changepoint

import (
	"strconv"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/result"
)

// The metrics judged per profile; the names are a public contract (label
// values, API and CLI fields).
const (
	LatencyP50          = "latency_p50"
	LatencyP90          = "latency_p90"
	LatencyP99          = "latency_p99"
	CorrectedLatencyP99 = "corrected_latency_p99"
	AchievedRPS         = "achieved_rps"
	ErrorRatio          = "error_ratio"
)

// Metrics lists the judged metrics in their display order.
func Metrics() []string {
	return []string{LatencyP50, LatencyP90, LatencyP99, CorrectedLatencyP99, AchievedRPS, ErrorRatio}
}

// Directions and statuses of change points.
const (
	Regression  = "regression"
	Improvement = "improvement"

	StatusOpen      = "open"
	StatusAccepted  = "accepted"
	StatusRecovered = "recovered"
)

// MinErrorRatioChange is the smallest change of the error ratio that counts:
// half a percentage point. Below it a relative test would flag one stray
// error in a clean series.
const MinErrorRatioChange = 0.005

// scaleOf is how a metric's values compare: latencies and throughput by
// ratio, the error ratio by difference.
func scaleOf(metric string) Scale {
	if metric == ErrorRatio {
		return Scale{MinAbsolute: MinErrorRatioChange}
	}
	return Scale{Log: true}
}

// HigherIsBetter tells a metric's good direction: only throughput improves
// upwards.
func HigherIsBetter(metric string) bool { return metric == AchievedRPS }

// Run is what the detector reads of one run.
type Run struct {
	ID   string
	Time time.Time
	// RequestedQPS is the rate the run asked for; 0 = as fast as possible.
	RequestedQPS float64
	// Counts is false for runs whose numbers do not describe the target
	// (failed, aborted): they keep their place in the history but are not
	// judged.
	Counts bool
	// Values by metric name; a metric the run did not measure is absent.
	Values map[string]float64
}

// countingOutcome tells whether a run's numbers describe the target: a run
// that missed its objectives still measured it.
func countingOutcome(outcome string) bool {
	return outcome == result.OutcomeSuccess || outcome == result.OutcomeSLOMissed
}

// RunFromDocument reads a result document.
func RunFromDocument(doc *result.Document) Run {
	r := Run{ID: doc.PerfExporter.RunID, Time: doc.StartTime, Counts: countingOutcome(doc.PerfExporter.Outcome)}
	r.RequestedQPS = parseRequested(doc.RequestedQPS)
	r.Values = values(doc.DurationHistogram, doc.PerfExporter.CorrectedDurationHistogram, doc.ActualQPS, doc.PerfExporter.ErrorRatio)
	return r
}

// RunFromMeasurement reads what an engine measured, judged as by Judge
// without objectives.
func RunFromMeasurement(id string, m *result.Measurement) Run {
	outcome := result.OutcomeSuccess
	switch {
	case m.Aborted:
		outcome = result.OutcomeAborted
	case m.Requests() == 0 || m.Errors() == m.Requests():
		outcome = result.OutcomeFailure
	}
	return Run{
		ID: id, Time: m.StartTime, RequestedQPS: m.RequestedQPS, Counts: countingOutcome(outcome),
		Values: values(m.Latency, m.Corrected, m.ActualQPS, m.ErrorRatio()),
	}
}

func values(latency, corrected *stats.HistogramData, rps, errorRatio float64) map[string]float64 {
	v := map[string]float64{AchievedRPS: rps, ErrorRatio: errorRatio}
	for metric, p := range map[string]float64{LatencyP50: 50, LatencyP90: 90, LatencyP99: 99} {
		if x, ok := result.PercentileOf(latency, p); ok {
			v[metric] = x
		}
	}
	if x, ok := result.PercentileOf(corrected, 99); ok {
		v[CorrectedLatencyP99] = x
	}
	return v
}

// parseRequested reads a document's RequestedQPS: a number, or "max" (0).
func parseRequested(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return f
}
