package web

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The charts are inline SVG laid out here, so the templates only place
// shapes and the pages need no script and nothing from the network.

// plot is a chart's drawing area inside its SVG viewBox.
type plot struct {
	Width, Height            float64 // of the viewBox
	Left, Top, Right, Bottom float64 // of the area the data is drawn in
}

func newPlot(width, height, left, top, right, bottom float64) plot {
	return plot{Width: width, Height: height, Left: left, Top: top, Right: width - right, Bottom: height - bottom}
}

// y maps a value on a scale from 0 to top onto the plot, 0 at the bottom.
func (p plot) y(v, top float64) float64 {
	return round1(p.Bottom - (p.Bottom-p.Top)*v/top)
}

// tick is a labelled position on an axis.
type tick struct {
	Pos   float64
	Label string
}

// niceScale returns the top of an axis from 0 that shows largest, and its
// ticks: about n steps of 1, 2 or 5 times a power of ten.
func niceScale(largest float64, n int) (top, step float64) {
	if !(largest > 0) || math.IsInf(largest, 0) {
		largest = 1
	}
	raw := largest / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	return math.Ceil(largest/step-1e-9) * step, step
}

// yTicks labels a latency axis (seconds) in milliseconds.
func (p plot) yTicks(top, step float64, label func(float64) string) []tick {
	var out []tick
	for v := 0.0; v <= top*(1+1e-9); v += step {
		out = append(out, tick{Pos: p.y(v, top), Label: label(v)})
	}
	return out
}

// latencyChart is a profile's p50, p99 and corrected p99 over its runs,
// with their baselines and the change points found in them.
type latencyChart struct {
	plot
	YTicks, XTicks []tick
	Lines          []chartLine
	Baselines      []baselineLine
	// Points has one entry per run, oldest first.
	Points []chartPoint
	// BaselineRuns is how many successful runs the baselines are the
	// median of (0 when there are none).
	BaselineRuns int
	// Changes are the change points of the latency metrics.
	Changes []changeMark
	// x places a time on the chart; top is the latency axis' top.
	x   func(time.Time) float64
	top float64
}

// chartLine joins one series' values over time.
type chartLine struct {
	Label, Class string
	Points       string // "x,y x,y ...", for a polyline
}

type baselineLine struct {
	Label, Class string
	Y            float64
}

// chartPoint is a run: a mark per charted percentile, or a cross on the
// time axis when the run measured no latency (it failed or was aborted).
type chartPoint struct {
	RunID, Outcome, Title string
	X                     float64
	Marks                 []pointMark
	// Cross is the path of the cross on the time axis that stands for a
	// run without latency; "" when the run has marks.
	Cross string
	// Tip shows Title next to the point on hover and keyboard focus.
	Tip pointTip
}

type pointMark struct {
	Class string
	Y     float64
}

// chartedSeries are the lines of the latency chart; label is the
// percentile label of those with a baseline.
var chartedSeries = []struct {
	label, class, name string
	value              func(ResultView) (float64, bool)
}{
	{"50", "p50", "p50", func(r ResultView) (float64, bool) { v, ok := r.Latency["50"]; return v, ok }},
	{"99", "p99", "p99", func(r ResultView) (float64, bool) { v, ok := r.Latency["99"]; return v, ok }},
	{"", "cp99", "corrected p99", func(r ResultView) (float64, bool) { return r.CorrectedP99, r.CorrectedP99 > 0 }},
}

// newLatencyChart lays out runs (newest first, as listed) and the
// baseline (percentile label -> seconds) over baselineRuns runs.
func newLatencyChart(runs []ResultView, baseline map[string]float64, baselineRuns int) *latencyChart {
	if len(runs) == 0 {
		return nil
	}
	c := &latencyChart{plot: newPlot(880, 250, 64, 24, 44, 34)}
	oldest, newest := runs[len(runs)-1].Start, runs[0].Start

	maxLatency := 0.0
	for _, r := range runs {
		for _, p := range chartedSeries {
			if v, ok := p.value(r); ok {
				maxLatency = max(maxLatency, v)
			}
		}
	}
	if baselineRuns > 0 {
		c.BaselineRuns = baselineRuns
		for _, p := range chartedSeries {
			if v, ok := baseline[p.label]; ok && p.label != "" {
				maxLatency = max(maxLatency, v)
			}
		}
	}
	top, step := niceScale(maxLatency*1.05, 5)
	c.top = top
	c.YTicks = c.yTicks(top, step, formatLatency)
	c.x = timeScale(c.plot, oldest, newest)
	c.XTicks = timeTicks(oldest, newest, c.x)

	lines := make([][]string, len(chartedSeries))
	for _, r := range slices.Backward(runs) {
		pt := chartPoint{RunID: r.RunID, Outcome: r.Outcome, X: c.x(r.Start)}
		var desc []string
		for j, p := range chartedSeries {
			v, ok := p.value(r)
			if !ok {
				continue
			}
			y := c.y(v, top)
			pt.Marks = append(pt.Marks, pointMark{Class: p.class, Y: y})
			lines[j] = append(lines[j], fmt.Sprintf("%g,%g", pt.X, y))
			desc = append(desc, p.name+" "+formatLatency(v))
		}
		tipY := c.Bottom - 5
		if len(pt.Marks) == 0 {
			pt.Cross = fmt.Sprintf("M%g,%g l10,10 m0,-10 l-10,10", pt.X-5, c.Bottom-5)
			desc = append(desc, r.LatencyText("50"))
		} else {
			tipY = pt.Marks[0].Y
		}
		desc = append(desc, strconv.FormatFloat(r.AchievedRPS, 'f', 1, 64)+" req/s", formatPercent(r.ErrorRatio)+" errors")
		pt.Title = fmt.Sprintf("%s · %s · %s", r.Start.UTC().Format("Jan 2 15:04:05"), r.Outcome, strings.Join(desc, ", "))
		pt.Tip = newPointTip(c.plot, pt.X, tipY, "", pt.Title)
		c.Points = append(c.Points, pt)
	}
	for j, p := range chartedSeries {
		if len(lines[j]) > 1 {
			c.Lines = append(c.Lines, chartLine{Label: p.name, Class: p.class, Points: strings.Join(lines[j], " ")})
		}
		if v, ok := baseline[p.label]; ok && p.label != "" && baselineRuns > 0 {
			c.Baselines = append(c.Baselines, baselineLine{
				Label: fmt.Sprintf("p%s baseline %s", p.label, formatLatency(v)), Class: p.class, Y: c.y(v, top),
			})
		}
	}
	return c
}

// timeScale places times between oldest and newest on a plot.
func timeScale(p plot, oldest, newest time.Time) func(time.Time) float64 {
	return func(t time.Time) float64 {
		span := newest.Sub(oldest)
		if span <= 0 {
			return round1((p.Left + p.Right) / 2)
		}
		// Keep the first and last points, and their labels, off the edges.
		pad := 24.0
		return round1(p.Left + pad + (p.Right-p.Left-2*pad)*float64(t.Sub(oldest))/float64(span))
	}
}

// timeTicks labels about five times between oldest and newest.
func timeTicks(oldest, newest time.Time, x func(time.Time) float64) []tick {
	span := newest.Sub(oldest)
	layout := "15:04"
	if oldest.UTC().YearDay() != newest.UTC().YearDay() || span > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	if span <= 0 {
		return []tick{{Pos: x(oldest), Label: oldest.UTC().Format(layout)}}
	}
	const n = 4
	out := make([]tick, 0, n+1)
	for i := 0; i <= n; i++ {
		t := oldest.Add(span * time.Duration(i) / n)
		out = append(out, tick{Pos: x(t), Label: t.UTC().Format(layout)})
	}
	return out
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// formatTime shows a time in UTC, to the second.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
