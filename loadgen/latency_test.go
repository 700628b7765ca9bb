package loadgen

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestLatencyBucketsCoverEveryValueOnce(t *testing.T) {
	for _, ns := range []int64{0, 1, 255, 256, 257, 511, 512, 1000, 20_000_000, 1 << 35, 1<<36 - 1} {
		i := latencyBucket(ns)
		low, high := bucketBounds(i)
		if ns < low || ns >= high {
			t.Errorf("%d ns: bucket %d is [%d, %d)", ns, i, low, high)
		}
		if ns >= subBuckets && float64(high-low)/float64(low) > 1.0/halfSubBuckets+1e-9 {
			t.Errorf("%d ns: bucket [%d, %d) wider than 1/%d", ns, low, high, halfSubBuckets)
		}
	}
	if got := latencyBucket(1 << 50); got != latencyBuckets-1 {
		t.Errorf("overflow bucket = %d, want the last", got)
	}
}

func TestLatencyPercentilesAreExact(t *testing.T) {
	h := newLatencyHistogram()
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 10000)
	for i := range values {
		d := time.Duration(20e6 + rng.NormFloat64()*1e6) // around 20 ms
		values[i] = d.Seconds()
		h.Record(d)
	}
	sort.Float64s(values)
	for _, p := range []float64{50, 90, 99, 99.9} {
		want := values[int(math.Ceil(p/100*float64(len(values))))-1]
		got := h.Percentile(p)
		if math.Abs(got-want)/want > 0.004 {
			t.Errorf("p%g = %.6f, exact %.6f: off by more than 0.4%%", p, got, want)
		}
	}
	s := h.Summary([]float64{50})
	if s.Count != 10000 || s.Min != values[0] || s.Max != values[len(values)-1] {
		t.Errorf("summary %+v", s)
	}
}

// BenchmarkLatencyRecord is one connection's record; connections do not
// share a histogram (BenchmarkRequestHook measures them together).
func BenchmarkLatencyRecord(b *testing.B) {
	h := newLatencyHistogram()
	d := 20 * time.Millisecond
	b.ReportAllocs()
	for b.Loop() {
		h.Record(d)
		d += 1000
	}
}

// The document's histogram keeps fortio's buckets, built once at the end
// from the exact histogram: its counts, extremes and percentiles agree with
// the exact ones.
func TestFortioHistogramFromExact(t *testing.T) {
	h := newLatencyHistogram()
	for i := range 5000 {
		h.Record(time.Duration(100+i*37%20000) * time.Microsecond)
	}
	percentiles := []float64{50, 99}
	d := h.fortioHistogram(percentiles)
	exact := h.Summary(percentiles)
	var sum int64
	for i, b := range d.Data {
		sum += b.Count
		if b.End < b.Start || (i > 0 && b.Start < d.Data[i-1].Start) {
			t.Errorf("bucket %d %+v out of order", i, b)
		}
	}
	if sum != 5000 || d.Count != 5000 || d.Min != exact.Min || d.Max != exact.Max || d.Data[0].Start != d.Min || d.Data[len(d.Data)-1].End != d.Max {
		t.Errorf("count %d (buckets %d) min %g max %g, want 5000 %g %g", d.Count, sum, d.Min, d.Max, exact.Min, exact.Max)
	}
	for i, p := range d.Percentiles {
		if p != exact.Percentiles[i] {
			t.Errorf("p%g = %g, want the exact %g", p.Percentile, p.Value, exact.Percentiles[i].Value)
		}
	}
	if newLatencyHistogram().fortioHistogram(percentiles) != nil {
		t.Error("an empty histogram has a fortio histogram")
	}
}
