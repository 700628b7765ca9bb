package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	"fortio.org/fortio/stats"
)

// latencyHistogram records durations with a relative error under 0.4 %, for
// exact percentiles. Fortio's own histogram has buckets 10-25 % wide and
// interpolates inside them, which puts the median of a steady 20.3 ms
// target near 22.5 ms; this one puts it within 0.1 ms.
//
// The layout is HDR-style: exact nanoseconds below 256 ns, then 128
// buckets per power of two. Every field is updated atomically, so all
// connections of a run share one histogram without locks (about 16 KiB).
type latencyHistogram struct {
	counts [latencyBuckets]atomic.Uint32
	n      atomic.Int64
	sumNs  atomic.Int64
	minNs  atomic.Int64
	maxNs  atomic.Int64
}

const (
	subBucketBits  = 8
	subBuckets     = 1 << subBucketBits
	halfSubBuckets = subBuckets / 2
	// maxExponent bounds the range at 2^(8+28) ns, about 69 s; longer
	// requests count in the last bucket (and exactly in Max).
	maxExponent    = 28
	latencyBuckets = subBuckets + maxExponent*halfSubBuckets
)

func newLatencyHistogram() *latencyHistogram {
	h := &latencyHistogram{}
	h.minNs.Store(math.MaxInt64)
	return h
}

func latencyBucket(ns int64) int {
	if ns < subBuckets {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - subBucketBits
	if e > maxExponent {
		return latencyBuckets - 1
	}
	return subBuckets + (e-1)*halfSubBuckets + int(ns>>e) - halfSubBuckets
}

// bucketBounds is the [low, high) range of a bucket in nanoseconds.
func bucketBounds(i int) (int64, int64) {
	if i < subBuckets {
		return int64(i), int64(i) + 1
	}
	e := (i-subBuckets)/halfSubBuckets + 1
	low := int64((i-subBuckets)%halfSubBuckets+halfSubBuckets) << e
	return low, low + 1<<e
}

// Record adds one duration. It is safe for concurrent use and allocates
// nothing.
func (h *latencyHistogram) Record(d time.Duration) {
	ns := int64(d)
	h.counts[latencyBucket(ns)].Add(1)
	h.n.Add(1)
	h.sumNs.Add(ns)
	for cur := h.minNs.Load(); ns < cur && !h.minNs.CompareAndSwap(cur, ns); cur = h.minNs.Load() {
	}
	for cur := h.maxNs.Load(); ns > cur && !h.maxNs.CompareAndSwap(cur, ns); cur = h.maxNs.Load() {
	}
}

// Percentile returns the duration at percentile p (0-100) in seconds,
// interpolated inside its bucket and clamped to the observed min and max.
func (h *latencyHistogram) Percentile(p float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := p / 100 * float64(n)
	var cum float64
	for i := range h.counts {
		c := float64(h.counts[i].Load())
		if c == 0 || cum+c < rank {
			cum += c
			continue
		}
		low, high := bucketBounds(i)
		v := float64(low) + (rank-cum)/c*float64(high-low)
		v = max(min(v, float64(h.maxNs.Load())), float64(h.minNs.Load()))
		return v / 1e9
	}
	return float64(h.maxNs.Load()) / 1e9
}

// Summary returns count, min, max, mean and the given percentiles in
// fortio's shape, without buckets.
func (h *latencyHistogram) Summary(percentiles []float64) *stats.HistogramData {
	n := h.n.Load()
	if n == 0 {
		return nil
	}
	d := &stats.HistogramData{
		Count: n,
		Min:   float64(h.minNs.Load()) / 1e9,
		Max:   float64(h.maxNs.Load()) / 1e9,
		Sum:   float64(h.sumNs.Load()) / 1e9,
	}
	d.Avg = d.Sum / float64(n)
	for _, p := range percentiles {
		d.Percentiles = append(d.Percentiles, stats.Percentile{Percentile: p, Value: h.Percentile(p)})
	}
	return d
}
