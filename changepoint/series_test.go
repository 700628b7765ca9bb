package changepoint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// noisy is a deterministic series: level times 1 + noise, cv the relative
// standard deviation.
func noisy(seed uint64, n int, level, cv float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = level * (1 + cv*r.NormFloat64())
	}
	return out
}

func detect(p Params, s Scale, values []float64) []Change {
	series := NewSeries(p, s)
	for _, v := range values {
		series.Append(v)
	}
	return series.Changes()
}

func TestTTestKnownValue(t *testing.T) {
	// [1..5] against [6..10]: t = 5 with 8 degrees of freedom, two-sided
	// p = 0.001052 (R: 2*pt(-5, 8)).
	p := tTest(3, 8, 10, 10, 5, 5)
	if math.Abs(p-0.0010528) > 1e-6 {
		t.Fatalf("p = %v, want 0.0010528", p)
	}
	if p := tTest(1, 1, 0, 0, 4, 4); p != 1 {
		t.Errorf("equal constant samples: p = %v, want 1", p)
	}
	if p := tTest(1, 2, 0, 0, 4, 4); p != 0 {
		t.Errorf("different constant samples: p = %v, want 0", p)
	}
}

func TestStepFoundAtItsRun(t *testing.T) {
	values := append(noisy(1, 40, 0.020, 0.02), noisy(2, 20, 0.023, 0.02)...)
	got := detect(DefaultParams(), Scale{Log: true}, values)
	if len(got) != 1 || got[0].Index != 40 {
		t.Fatalf("changes = %+v, want one at 40", got)
	}
	if r := got[0].Ratio(); r < 1.1 || r > 1.2 {
		t.Errorf("ratio = %v, want about 1.15", r)
	}
	if got[0].PValue > DefaultParams().Significance {
		t.Errorf("p-value %v above the significance", got[0].PValue)
	}
}

func TestStepFoundWithinThreeRuns(t *testing.T) {
	base := noisy(3, 50, 0.020, 0.02)
	series := NewSeries(DefaultParams(), Scale{Log: true})
	for _, v := range base {
		series.Append(v)
	}
	for _, v := range noisy(4, 3, 0.024, 0.02) {
		series.Append(v)
	}
	got := series.Changes()
	if len(got) != 1 || got[0].Index < 49 || got[0].Index > 51 {
		t.Fatalf("after 3 new runs: %+v, want one at 50±1", got)
	}
}

func TestSingleOutlierIsNoChange(t *testing.T) {
	for _, at := range []int{5, 30, 59, 60, 61} {
		values := noisy(5, 62, 0.020, 0.02)
		values[at] *= 5
		series := NewSeries(DefaultParams(), Scale{Log: true})
		for i, v := range values {
			series.Append(v)
			if got := series.Changes(); len(got) > 0 {
				t.Fatalf("outlier at %d: after %d runs changes %+v", at, i+1, got)
			}
		}
	}
}

func TestShortHistoriesHaveNoChange(t *testing.T) {
	for n := 1; n < 2*MinRuns; n++ {
		values := []float64{1, 10, 1, 10, 100}[:min(n, 5)]
		if got := detect(DefaultParams(), Scale{Log: true}, values); len(got) > 0 {
			t.Errorf("%d runs: %+v", n, got)
		}
	}
}

func TestDeterministic(t *testing.T) {
	values := append(noisy(6, 300, 1, 0.05), noisy(7, 300, 1.3, 0.05)...)
	a := detect(DefaultParams(), Scale{Log: true}, values)
	b := detect(DefaultParams(), Scale{Log: true}, values)
	if !slices.Equal(a, b) || len(a) == 0 {
		t.Fatalf("two runs differ or found nothing:\n%+v\n%+v", a, b)
	}
}

func TestErrorRatioNeedsHalfAPoint(t *testing.T) {
	clean := make([]float64, 40)
	stray := slices.Clone(clean)
	for i := 20; i < 40; i++ {
		stray[i] = 0.0002 // a stray error now and then: not a change
	}
	if got := detect(DefaultParams(), scaleOf(ErrorRatio), stray); len(got) > 0 {
		t.Errorf("0 -> 0.02 %%: %+v", got)
	}
	broken := slices.Clone(clean)
	for i := 20; i < 40; i++ {
		broken[i] = 0.02
	}
	got := detect(DefaultParams(), scaleOf(ErrorRatio), broken)
	if len(got) != 1 || got[0].Index != 20 || got[0].Before != 0 || got[0].After != 0.02 {
		t.Errorf("0 -> 2 %%: %+v, want one at 20", got)
	}
}

func TestParamsValidate(t *testing.T) {
	for _, p := range []Params{
		{Significance: 0, MinMagnitude: 0.05, Window: 30},
		{Significance: 1, MinMagnitude: 0.05, Window: 30},
		{Significance: 0.01, MinMagnitude: -1, Window: 30},
		{Significance: 0.01, MinMagnitude: 0.05, Window: 5},
	} {
		if p.Validate() == nil {
			t.Errorf("%+v: no error", p)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Error(err)
	}
}

// BenchmarkAppend is the cost of detection at the end of one run, for a
// metric with a history of 1 000 runs (with two changes in it).
func BenchmarkAppend(b *testing.B) {
	values := append(append(noisy(8, 400, 0.02, 0.05), noisy(9, 300, 0.026, 0.05)...), noisy(10, 301+b.N, 0.02, 0.05)...)
	series := NewSeries(DefaultParams(), Scale{Log: true})
	for _, v := range values[:1000] {
		series.Append(v)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		series.Append(values[1000+i])
	}
}

// BenchmarkAppendRealNoise is BenchmarkAppend on the recorded p99 of real
// runs (the 1 s corpus, repeated to a 1 000-run history), whose bursts leave
// many more weak change points to merge than synthetic noise.
func BenchmarkAppendRealNoise(b *testing.B) {
	base := loadCorpus(b, "corpus-1s", "base")
	values := make([]float64, 1000+b.N)
	for i := range values {
		values[i] = base[i%len(base)].Values[LatencyP99]
	}
	series := NewSeries(DefaultParams(), Scale{Log: true})
	for _, v := range values[:1000] {
		series.Append(v)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		series.Append(values[1000+i])
	}
}
