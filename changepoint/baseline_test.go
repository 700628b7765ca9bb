package changepoint

import (
	"math"
	"testing"
)

// baselineRuns are ten runs whose p50 is 10 ms with ±2 % noise, p99 25 ms
// with ±6 %, at an asked-for rate they reached.
func baselineRuns() []Run {
	noise := []float64{-1, 0.5, 0.2, -0.4, 1, -0.7, 0.1, 0.8, -0.2, -0.3}
	var runs []Run
	for _, n := range noise {
		runs = append(runs, Run{Counts: true, RequestedQPS: 200, Values: map[string]float64{
			LatencyP50: 0.010 * (1 + 0.02*n), LatencyP99: 0.025 * (1 + 0.06*n),
			AchievedRPS: 200 * (1 - 0.001*math.Abs(n)), ErrorRatio: 0,
		}})
	}
	// A failed run does not describe the target: it is left out.
	runs = append(runs, Run{Counts: false, Values: map[string]float64{LatencyP50: 5, LatencyP99: 5}})
	return runs
}

func newRun(p50, p99, rps, errs float64) Run {
	return Run{Counts: true, RequestedQPS: 200, Values: map[string]float64{
		LatencyP50: p50, LatencyP99: p99, AchievedRPS: rps, ErrorRatio: errs}}
}

func verdicts(js []Judgement) map[string]Judgement {
	out := map[string]Judgement{}
	for _, j := range js {
		out[j.Metric] = j
	}
	return out
}

func TestJudgeRunAgainstBaseline(t *testing.T) {
	p := DefaultParams()
	base := baselineRuns()
	for _, tc := range []struct {
		name       string
		run        Run
		regression []string
	}{
		{"within the noise", newRun(0.0101, 0.026, 199.9, 0), nil},
		{"p50 30% slower", newRun(0.013, 0.026, 199.9, 0), []string{LatencyP50}},
		// 8 % on p99 is inside its ±6 % noise: not significant.
		{"p99 within its own noise", newRun(0.0101, 0.027, 199.9, 0), nil},
		{"faster is no regression", newRun(0.007, 0.018, 199.9, 0), nil},
		// Significant but under the 5 % minimum magnitude.
		{"p50 4% slower", newRun(0.0104, 0.025, 199.9, 0), nil},
		{"errors above the absolute minimum", newRun(0.010, 0.025, 199.9, 0.02), []string{ErrorRatio}},
		{"errors under the absolute minimum", newRun(0.010, 0.025, 199.9, 0.004), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := verdicts(JudgeRun(p, 0.1, base, tc.run))
			want := map[string]bool{}
			for _, m := range tc.regression {
				want[m] = true
			}
			for _, m := range []string{LatencyP50, LatencyP99, ErrorRatio} {
				j, ok := got[m]
				if !ok {
					t.Fatalf("%s not judged", m)
				}
				if j.Regression != want[m] {
					t.Errorf("%s: regression %v (p %.3g, baseline %v, value %v), want %v", m, j.Regression, j.PValue, j.Baseline, j.Value, want[m])
				}
				if j.Runs != 10 || j.Tolerance {
					t.Errorf("%s: %d runs, tolerance %v; want 10 runs by t-test", m, j.Runs, j.Tolerance)
				}
			}
			// The rate asked for was reached: throughput says nothing.
			if _, ok := got[AchievedRPS]; ok {
				t.Error("achieved_rps judged though the baseline reached its requested rate")
			}
		})
	}
	if j := verdicts(JudgeRun(p, 0.1, base, newRun(0.013, 0.026, 199.9, 0)))[LatencyP50]; j.PValue > 1e-6 || math.Abs(j.Ratio()-1.3) > 0.01 {
		t.Errorf("p50 30%% slower: p %.3g ratio %.3f", j.PValue, j.Ratio())
	}
}

// With fewer than MinRuns baseline runs there is no noise to measure: the
// tolerance decides.
func TestJudgeRunToleranceWithOneRun(t *testing.T) {
	base := baselineRuns()[:1] // p50 9.8 ms
	for _, tc := range []struct {
		p50  float64
		want bool
	}{{0.0098 * 1.09, false}, {0.0098 * 1.11, true}, {0.0098 * 0.5, false}} {
		j := verdicts(JudgeRun(DefaultParams(), 0.1, base, newRun(tc.p50, 0.025, 200, 0)))[LatencyP50]
		if !j.Tolerance || j.Regression != tc.want || j.Runs != 1 {
			t.Errorf("p50 %v against 9.8ms with 10%% tolerance: %+v, want regression %v", tc.p50, j, tc.want)
		}
	}
}

// Throughput counts when the run asks for all it can get.
func TestJudgeRunThroughputAsFastAsPossible(t *testing.T) {
	var base []Run
	for _, rps := range []float64{1000, 1010, 990, 1005, 995} {
		base = append(base, Run{Counts: true, Values: map[string]float64{AchievedRPS: rps}})
	}
	run := Run{Counts: true, Values: map[string]float64{AchievedRPS: 700}}
	if j := verdicts(JudgeRun(DefaultParams(), 0.1, base, run))[AchievedRPS]; !j.Regression {
		t.Errorf("30%% less throughput: %+v", j)
	}
	run.Values[AchievedRPS] = 1300
	if j := verdicts(JudgeRun(DefaultParams(), 0.1, base, run))[AchievedRPS]; j.Regression {
		t.Errorf("more throughput is no regression: %+v", j)
	}
	if got := JudgeRun(DefaultParams(), 0.1, base, Run{Counts: false, Values: run.Values}); got != nil {
		t.Errorf("a failed run judged: %v", got)
	}
}
