package result

// Comparison is one metric of a run judged against a baseline of earlier
// runs (`run --baseline`).
type Comparison struct {
	// Metric is a change-point metric name: latency_p50, latency_p90,
	// latency_p99, corrected_latency_p99, achieved_rps, error_ratio.
	Metric string
	// Baseline is the baseline's typical value (the mean of its runs).
	Baseline float64
	// Runs is how many baseline runs had the metric.
	Runs     int
	Measured float64
	// Ratio is Measured / Baseline (0 when the baseline is 0).
	Ratio float64
	// PValue is the probability of a value at least this much worse from
	// the baseline's run-to-run noise alone; 0 when the verdict came from
	// the tolerance (a single baseline run).
	PValue float64 `json:",omitempty"`
	// Method says how the verdict was reached: "t-test" or "tolerance".
	Method string
	// Regression is true when the run is worse than the baseline beyond
	// its noise and by more than the minimum magnitude.
	Regression bool
}
