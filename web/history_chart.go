package web

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/regression"
)

// seriesChart is a value of each run over time (achieved rate, error
// ratio), under the latency chart and on its time scale.
type seriesChart struct {
	plot
	Title          string
	YTicks, XTicks []tick
	Lines          []chartLine
	// Dots are the runs' values, at Xs.
	Dots    []pointMark
	Xs      []float64
	Changes []changeMark
	x       func(time.Time) float64
}

// newSeriesChart charts value over runs (newest first); requested, when
// set, is drawn as a dashed line (the rate asked for).
func newSeriesChart(title string, runs []ResultView, value, requested func(ResultView) float64, format func(float64) string, ceiling float64) *seriesChart {
	if len(runs) == 0 {
		return nil
	}
	c := &seriesChart{plot: newPlot(880, 140, 64, 24, 44, 26), Title: title}
	hi := 0.0
	for _, r := range runs {
		hi = max(hi, value(r))
		if requested != nil {
			hi = max(hi, requested(r))
		}
	}
	// ceiling keeps a ratio's axis at or below 100 %.
	top, step := niceScale(min(hi*1.05, ceiling), 2)
	c.YTicks = c.yTicks(top, step, format)
	c.x = timeScale(c.plot, runs[len(runs)-1].Start, runs[0].Start)
	c.XTicks = timeTicks(runs[len(runs)-1].Start, runs[0].Start, c.x)
	var line, asked []string
	for _, r := range slices.Backward(runs) {
		x, y := c.x(r.Start), c.y(value(r), top)
		line = append(line, fmt.Sprintf("%g,%g", x, y))
		c.Dots = append(c.Dots, pointMark{Class: r.Outcome, Y: y})
		c.Xs = append(c.Xs, x)
		if requested != nil && requested(r) > 0 {
			asked = append(asked, fmt.Sprintf("%g,%g", x, c.y(requested(r), top)))
		}
	}
	if len(line) > 1 {
		c.Lines = append(c.Lines, chartLine{Label: title, Class: "series", Points: strings.Join(line, " ")})
	}
	if len(asked) > 1 {
		c.Lines = append(c.Lines, chartLine{Label: "requested", Class: "requested", Points: strings.Join(asked, " ")})
	}
	return c
}

// changeMark is a change point on a chart: a line at its run, labelled
// with its metric, direction and ratio; an open regression is shaded from
// its start to the chart's right edge.
type changeMark struct {
	RunID string
	X     float64
	// Class is regression or improvement, and open while a regression is.
	Class string
	Label string
	// Shade is the width of the open regression's shading, 0 if none.
	Shade float64
	Tip   pointTip
}

// changeMarks places the change points of the metrics a chart shows;
// a change before the chart's first run is left out, but an open
// regression that started before it shades the whole chart.
func changeMarks(p plot, x func(time.Time) float64, oldest time.Time, changes []regression.Change, metrics ...string) []changeMark {
	var out []changeMark
	for _, ch := range changes {
		if !slices.Contains(metrics, ch.Metric) {
			continue
		}
		open := ch.Direction == changepoint.Regression && ch.Status == changepoint.StatusOpen
		before := ch.Time.Before(oldest)
		if before && !open {
			continue
		}
		m := changeMark{RunID: ch.RunID, X: x(ch.Time), Class: ch.Direction + " " + ch.Status}
		if before {
			m.X = p.Left
		}
		arrow := "↑"
		if ch.Ratio < 1 {
			arrow = "↓"
		}
		m.Label = fmt.Sprintf("%s %s×%s", metricShort(ch.Metric), arrow, strconv.FormatFloat(roundSignificant(ch.Ratio, 3), 'f', -1, 64))
		if open {
			m.Shade = round1(p.Right - m.X)
		}
		text := fmt.Sprintf("%s %s ×%s (%s → %s), %s, from run %s at %s", ch.Metric, ch.Direction,
			strconv.FormatFloat(roundSignificant(ch.Ratio, 3), 'f', -1, 64), metricValue(ch.Metric, ch.Before), metricValue(ch.Metric, ch.After),
			ch.Status, ch.RunID, ch.Time.UTC().Format("Jan 2 15:04"))
		m.Tip = newPointTip(p, m.X, p.Top+14, "", text)
		out = append(out, m)
	}
	return out
}

// metricShort names a change-point metric on a chart.
func metricShort(metric string) string {
	switch metric {
	case changepoint.CorrectedLatencyP99:
		return "corr. p99"
	case changepoint.AchievedRPS:
		return "rate"
	case changepoint.ErrorRatio:
		return "errors"
	}
	return strings.TrimPrefix(metric, "latency_")
}

func metricValue(metric string, v float64) string {
	switch metric {
	case changepoint.AchievedRPS:
		return strconv.FormatFloat(v, 'f', 1, 64) + " req/s"
	case changepoint.ErrorRatio:
		return formatPercent(v)
	}
	return formatLatency(v)
}

// latencyChangeMetrics are the change-point metrics of the latency chart.
var latencyChangeMetrics = []string{changepoint.LatencyP50, changepoint.LatencyP90, changepoint.LatencyP99, changepoint.CorrectedLatencyP99}

// historyCharts are a profile's charts: latency, rate and errors over
// time, with their change points.
type historyCharts struct {
	Latency      *latencyChart
	Rate, Errors *seriesChart
}

func newHistoryCharts(runs []ResultView, baseline map[string]float64, baselineRuns int, changes []regression.Change) historyCharts {
	c := historyCharts{Latency: newLatencyChart(runs, baseline, baselineRuns)}
	if c.Latency == nil {
		return c
	}
	oldest := runs[len(runs)-1].Start
	c.Latency.Changes = changeMarks(c.Latency.plot, c.Latency.x, oldest, changes, latencyChangeMetrics...)
	c.Rate = newSeriesChart("achieved rate (req/s)", runs, func(r ResultView) float64 { return r.AchievedRPS },
		func(r ResultView) float64 { return r.RequestedRPS }, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }, math.Inf(1))
	c.Rate.Changes = changeMarks(c.Rate.plot, c.Rate.x, oldest, changes, changepoint.AchievedRPS)
	c.Errors = newSeriesChart("error ratio", runs, func(r ResultView) float64 { return r.ErrorRatio }, nil,
		func(v float64) string { return strconv.FormatFloat(roundSignificant(v*100, 3), 'f', -1, 64) + " %" }, 1)
	c.Errors.Changes = changeMarks(c.Errors.plot, c.Errors.x, oldest, changes, changepoint.ErrorRatio)
	return c
}

// parseHistoryRange reads the landing page's since= (as the results API
// reads it: 24h, 7d, or an RFC 3339 time).
func parseHistoryRange(raw string, now time.Time) (historyRange, error) {
	params, err := queryParams(raw, []string{"since"})
	if err != nil {
		return historyRange{}, err
	}
	r := historyRange{Since: params.get("since")}
	if r.Since != "" {
		if r.from, err = parseSince(r.Since, now); err != nil {
			return historyRange{}, err
		}
	}
	return r, nil
}
