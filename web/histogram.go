package web

import (
	"fmt"
	"math"
	"strconv"

	"fortio.org/fortio/stats"
)

// histogramChart is a run's latency distribution on a log latency axis:
// a bar per histogram bucket, as wide as the bucket, its area its
// requests (height: requests per decade of latency), so the shape is the
// distribution's whatever the buckets' widths; percentiles marked.
type histogramChart struct {
	plot
	YTicks, XTicks []tick
	Bars           []bar
	// Markers are the percentiles at their latency.
	Markers []tick
}

func newHistogramChart(h *stats.HistogramData) *histogramChart {
	if h == nil || h.Count == 0 || len(h.Data) == 0 {
		return nil
	}
	c := &histogramChart{plot: newPlot(880, 280, 70, 34, 30, 40)}
	lo := h.Data[0].Start
	if !(lo > 0) {
		// A first bucket from 0 (fortio's offset) starts at the minimum.
		lo = h.Min
	}
	if !(lo > 0) {
		lo = h.Data[0].End / 2
	}
	x := logAxis(lo, h.Data[len(h.Data)-1].End, c.Left, c.Right)
	c.XTicks = x.latencyTicks()

	// density is a bucket's requests per decade of latency.
	density := func(b stats.Bucket) float64 {
		start := max(b.Start, math.Pow(10, x.lo))
		w := math.Log10(b.End) - math.Log10(start)
		if !(w > 0) {
			return 0
		}
		return float64(b.Count) / w
	}
	top := 0.0
	for _, b := range h.Data {
		top = max(top, density(b))
	}
	top, step := niceScale(top, 4)
	c.YTicks = c.yTicks(top, step, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })

	for _, b := range h.Data {
		x0, x1 := x.at(max(b.Start, math.Pow(10, x.lo))), x.at(b.End)
		y := c.y(density(b), top)
		text := fmt.Sprintf("%s – %s: %d requests (%.2f %%, %.2f %% at or below)",
			formatLatency(b.Start), formatLatency(b.End), b.Count, 100*float64(b.Count)/float64(h.Count), b.Percent)
		bb := bar{pointTip: newPointTip(c.plot, x0, y, "", text), W: round1(max(x1-x0-0.6, 0.6)), H: round1(c.Bottom - y)}
		bb.X = x0
		c.Bars = append(c.Bars, bb)
	}
	for _, p := range h.Percentiles {
		c.Markers = append(c.Markers, tick{Pos: x.at(p.Value), Label: "p" + strconv.FormatFloat(p.Percentile, 'f', -1, 64)})
	}
	return c
}
