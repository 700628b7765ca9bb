package loadgen

// Rebuilding a histogram from the few percentiles wrk prints.

import (
	"math"

	"fortio.org/fortio/stats"
)

// approximateSteps is how many buckets approximateBuckets makes between two
// printed percentiles.
const approximateSteps = 10

// approximateBuckets rebuilds a histogram from a few percentiles, for
// consumers that place each bucket's requests at its midpoint (the
// cumulative Prometheus histogram). The requests up to the first printed
// percentile sit at that percentile, an upper bound since wrk prints no
// minimum; between two printed percentiles, and from the last one to the
// maximum, the requests spread evenly over approximateSteps buckets of
// linearly interpolated bounds. Every printed percentile stays exact.
func approximateBuckets(printed []stats.Percentile, maxValue float64, count int64) []stats.Bucket {
	type point struct {
		value float64
		cum   int64
	}
	var points []point
	for _, pc := range printed {
		cum := min(count, int64(math.Round(float64(count)*pc.Percentile/100)))
		if maxValue > pc.Value {
			cum = min(cum, count-1) // the maximum is a request too
		}
		points = append(points, point{pc.Value, cum})
	}
	points = append(points, point{math.Max(maxValue, 0), count})

	var out []stats.Bucket
	var prevCum int64
	prev := points[0].value
	add := func(end float64, cum int64) {
		end = math.Max(end, prev)
		if cum > prevCum {
			out = append(out, stats.Bucket{
				Interval: stats.Interval{Start: prev, End: end},
				Percent:  100 * float64(cum) / float64(count),
				Count:    cum - prevCum,
			})
			prevCum = cum
		}
		prev = end
	}
	add(points[0].value, points[0].cum)
	for i := 1; i < len(points); i++ {
		a, b := points[i-1], points[i]
		for j := int64(1); j <= approximateSteps; j++ {
			value := a.value + (b.value-a.value)*float64(j)/approximateSteps
			cum := a.cum + (b.cum-a.cum)*j/approximateSteps
			add(value, max(cum, prevCum))
		}
	}
	return out
}
