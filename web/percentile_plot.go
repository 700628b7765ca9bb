package web

import (
	"fmt"
	"math"
	"strconv"

	"fortio.org/fortio/stats"
)

// percentilePlot is latency by percentile, HdrHistogram's plot: x is the
// percentile on a 1/(1-p) log scale, y the latency on a log or a linear
// scale; a curve per distribution, dashed for corrected ones, with a
// focusable point at each percentile the run reported.
type percentilePlot struct {
	plot
	XTicks, YTicks []tick
	LogY           bool
	Curves         []percentileCurveView
	Points         []pointTip
}

type percentileCurveView struct {
	Label, RunID string
	// Color is the run's colour index (c0 to c9); Dashed marks a
	// corrected curve.
	Color  int
	Dashed bool
	Points string
}

// plotSeries is a distribution to draw.
type plotSeries struct {
	Label, RunID string
	Color        int
	Dashed       bool
	Hist         *stats.HistogramData
}

func newPercentilePlot(series []plotSeries, logY bool) *percentilePlot {
	var n int64
	lo, hi := math.Inf(1), 0.0
	for _, s := range series {
		if s.Hist == nil || s.Hist.Count == 0 {
			continue
		}
		n = max(n, s.Hist.Count)
		if s.Hist.Min > 0 {
			lo = min(lo, s.Hist.Min)
		}
		hi = max(hi, s.Hist.Max)
	}
	if n == 0 {
		return nil
	}
	c := &percentilePlot{plot: newPlot(880, 300, 70, 28, 30, 40), LogY: logY}
	x := linearAxis(0, nines(n), c.Left, c.Right)
	var y axis
	if logY {
		if math.IsInf(lo, 1) {
			lo = hi / 10
		}
		y = logAxis(lo, hi, c.Bottom, c.Top)
	} else {
		top, _ := niceScale(hi*1.05, 5)
		y = linearAxis(0, top, c.Bottom, c.Top)
	}
	c.XTicks = percentileTicks(x)
	c.YTicks = y.latencyTicks()
	for _, s := range series {
		pts := percentileCurve(s.Hist)
		if pts == nil {
			continue
		}
		c.Curves = append(c.Curves, percentileCurveView{Label: s.Label, RunID: s.RunID, Color: s.Color, Dashed: s.Dashed, Points: curvePath(pts, x, y)})
		for _, p := range s.Hist.Percentiles {
			px, py := x.at(min(percentileX(p.Percentile), x.hi)), y.at(p.Value)
			text := fmt.Sprintf("%s · p%s %s", s.Label, strconv.FormatFloat(p.Percentile, 'f', -1, 64), formatLatency(p.Value))
			class := fmt.Sprintf("c%d", s.Color)
			if s.Dashed {
				class += " corrected"
			}
			c.Points = append(c.Points, newPointTip(c.plot, px, py, class, text))
		}
	}
	return c
}
