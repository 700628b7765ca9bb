package web

import (
	"fmt"
	"strconv"

	"github.com/perf-exporter/perf-exporter/result"
)

// barChart is Fortio's comparison: groups of bars (a statistic, or a
// run), a bar per run or per measure, each focusable with its value.
type barChart struct {
	plot
	YTicks []tick
	Groups []tick // label under each group's middle
	Bars   []bar
}

type bar struct {
	pointTip
	W, H float64
}

// barValue is one bar's value; ok false leaves a gap (not measured).
type barValue struct {
	class, text string
	v           float64
	ok          bool
}

// newBarChart lays out groups of bars on a linear axis from 0; format
// labels the axis.
func newBarChart(groups []string, values [][]barValue, format func(float64) string) *barChart {
	hi := 0.0
	for _, g := range values {
		for _, b := range g {
			if b.ok {
				hi = max(hi, b.v)
			}
		}
	}
	c := &barChart{plot: newPlot(880, 240, 70, 24, 20, 34)}
	top, step := niceScale(hi*1.05, 4)
	c.YTicks = c.yTicks(top, step, format)
	groupW := (c.Right - c.Left) / float64(len(groups))
	for i, name := range groups {
		x0 := c.Left + groupW*float64(i)
		c.Groups = append(c.Groups, tick{Pos: round1(x0 + groupW/2), Label: name})
		n := len(values[i])
		w := (groupW * 0.8) / float64(max(n, 1))
		for j, b := range values[i] {
			if !b.ok {
				continue
			}
			x := round1(x0 + groupW*0.1 + w*float64(j))
			y := c.y(b.v, top)
			bb := bar{pointTip: newPointTip(c.plot, x+w/2, y, b.class, b.text), W: round1(max(w-2, 1)), H: round1(c.Bottom - y)}
			bb.X = x
			c.Bars = append(c.Bars, bb)
		}
	}
	return c
}

// statsLabels are the statistics of the compare page's bars.
var statsLabels = []string{"min", "p50", "p90", "p99", "max", "avg"}

// newStatsBars groups the runs' min, p50, p90, p99, max and average
// latency, a bar per run (Fortio's comparison).
func newStatsBars(docs []*result.Document) *barChart {
	values := make([][]barValue, len(statsLabels))
	anyMeasured := false
	for i, d := range docs {
		h := d.DurationHistogram
		measured := h != nil && h.Count > 0
		anyMeasured = anyMeasured || measured
		for s, label := range statsLabels {
			var v float64
			ok := measured
			if measured {
				switch label {
				case "min":
					v = h.Min
				case "max":
					v = h.Max
				case "avg":
					v = h.Avg
				default:
					p, _ := strconv.ParseFloat(label[1:], 64)
					v, ok = result.PercentileOf(h, p)
				}
			}
			values[s] = append(values[s], barValue{class: fmt.Sprintf("c%d", i), v: v, ok: ok,
				text: fmt.Sprintf("#%d %s %s", i+1, label, formatLatency(v))})
		}
	}
	if !anyMeasured {
		return nil
	}
	return newBarChart(statsLabels, values, formatLatency)
}

// newRateBars puts each run's achieved rate next to the one it asked for.
func newRateBars(runs []compareRun) *barChart {
	groups := make([]string, len(runs))
	values := make([][]barValue, len(runs))
	for i, r := range runs {
		groups[i] = fmt.Sprintf("#%d", i+1)
		values[i] = []barValue{
			{class: fmt.Sprintf("c%d", r.Color), v: r.AchievedRPS, ok: true, text: fmt.Sprintf("#%d achieved %s req/s", i+1, strconv.FormatFloat(r.AchievedRPS, 'f', 1, 64))},
			{class: "requested", v: r.RequestedRPS, ok: r.RequestedRPS > 0, text: fmt.Sprintf("#%d requested %s req/s", i+1, strconv.FormatFloat(r.RequestedRPS, 'f', -1, 64))},
		}
	}
	return newBarChart(groups, values, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
}
