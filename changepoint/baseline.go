package changepoint

import (
	"math"
)

// Judgement is one metric of a new run judged against a baseline of
// earlier runs (`run --baseline`).
type Judgement struct {
	Metric string
	// Baseline is the median of the baseline runs' values, as the
	// detector's levels are medians.
	Baseline float64
	Runs     int
	Value    float64
	// PValue is the two-sided t-test's p-value of the new value against
	// the baseline sample; 1 with the tolerance.
	PValue float64
	// Tolerance is true when the baseline had fewer than MinRuns runs and
	// the verdict came from the tolerance instead of the t-test.
	Tolerance  bool
	Regression bool
}

// Ratio is Value / Baseline, 0 when the baseline is 0.
func (j Judgement) Ratio() float64 {
	if j.Baseline == 0 {
		return 0
	}
	return j.Value / j.Baseline
}

// JudgeRun judges a new run against baseline runs with the detector's
// statistics: per metric, the same Student's t-test (a baseline sample of
// n runs against a "level" of the one new run, which is the t-test of a
// prediction interval), on the same scale (logarithms of latencies and
// throughput), and a regression only when p <= Significance, the change
// is at least MinMagnitude (and the error ratio's absolute minimum) and in
// the bad direction. A baseline of fewer than MinRuns runs has no noise to
// measure: a metric is then a regression when it is worse by the
// tolerance (0.1 = 10 %) or more. Runs that did not count (failed,
// aborted) are left out of the baseline; a new run that did not count is
// not judged. Throughput is judged as in the history: only when the new
// run asked for no rate or for one the baseline did not reach.
func JudgeRun(p Params, tolerance float64, baseline []Run, run Run) []Judgement {
	if !run.Counts {
		return nil
	}
	var out []Judgement
	for _, metric := range Metrics() {
		v, ok := run.Values[metric]
		if !ok || !finite(v) {
			continue
		}
		var sample []float64
		for _, b := range baseline {
			if x, ok := b.Values[metric]; b.Counts && ok && finite(x) {
				sample = append(sample, x)
			}
		}
		if len(sample) == 0 {
			continue
		}
		j := judgeValue(p, tolerance, metric, sample, v)
		if metric == AchievedRPS && !rpsCounts(run.RequestedQPS, j.Baseline) {
			continue
		}
		out = append(out, j)
	}
	return out
}

func judgeValue(p Params, tolerance float64, metric string, sample []float64, v float64) Judgement {
	scale := scaleOf(metric)
	j := Judgement{Metric: metric, Baseline: median(sample), Runs: len(sample), Value: v, PValue: 1}
	worse := direction(metric, j.Baseline, v) == Regression && v != j.Baseline
	mag := scale.magnitude(j.Baseline, v)
	if len(sample) < MinRuns {
		j.Tolerance = true
		j.Regression = worse && mag >= tolerance
		return j
	}
	y := func(x float64) float64 {
		if scale.Log {
			return math.Log(math.Max(x, tiny))
		}
		return x
	}
	var mean float64
	for _, x := range sample {
		mean += y(x)
	}
	n := float64(len(sample))
	mean /= n
	var ss float64
	for _, x := range sample {
		d := y(x) - mean
		ss += d * d
	}
	j.PValue = tTest(mean, y(v), ss, 0, n, 1)
	j.Regression = worse && j.PValue <= p.Significance && mag >= p.MinMagnitude
	return j
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
