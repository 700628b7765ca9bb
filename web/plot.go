package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"fortio.org/fortio/stats"
)

// Log axes and latency-by-percentile curves, shared by the run and the
// compare pages.

// axis maps values onto a span of the viewBox, linearly or on a log
// scale. A log axis maps log10(v).
type axis struct {
	lo, hi   float64 // value range (log10 of it on a log axis)
	from, to float64 // viewBox range
	log      bool
}

func linearAxis(lo, hi, from, to float64) axis {
	if !(hi > lo) {
		hi = lo + 1
	}
	return axis{lo: lo, hi: hi, from: from, to: to}
}

// logAxis spans [lo, hi] (both > 0) widened to 1, 2 or 5 times a power
// of ten at each end, so its ends carry ticks.
func logAxis(lo, hi, from, to float64) axis {
	if !(hi > 0) {
		lo, hi = 1e-3, 1
	}
	if !(lo > 0) || lo > hi {
		lo = hi / 1000
	}
	l, h := math.Log10(niceDown(lo)), math.Log10(niceUp(hi))
	if h-l < 0.3 {
		h = l + 1
	}
	return axis{lo: l, hi: h, from: from, to: to, log: true}
}

// niceDown is the largest 1, 2 or 5 times a power of ten at or below v;
// niceUp the smallest at or above it.
func niceDown(v float64) float64 {
	d := math.Pow(10, math.Floor(math.Log10(v)+1e-9))
	for _, m := range []float64{5, 2, 1} {
		if m*d <= v*(1+1e-9) {
			return m * d
		}
	}
	return d
}

func niceUp(v float64) float64 {
	d := math.Pow(10, math.Floor(math.Log10(v)-1e-9))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*d >= v*(1-1e-9) {
			return m * d
		}
	}
	return 10 * d
}

// at is where v falls on the axis.
func (a axis) at(v float64) float64 {
	if a.log {
		if !(v > 0) {
			return a.from
		}
		v = math.Log10(v)
	}
	return round1(a.from + (a.to-a.from)*(v-a.lo)/(a.hi-a.lo))
}

// latencyTicks label a latency axis (seconds): on a log axis 1, 2 and 5
// of every decade (1 only when the axis spans more than three decades),
// on a linear one about five steps from 0.
func (a axis) latencyTicks() []tick {
	if !a.log {
		top, step := a.hi, niceStep(a.hi, 5)
		var out []tick
		for v := 0.0; v <= top*(1+1e-9); v += step {
			out = append(out, tick{Pos: a.at(v), Label: formatLatency(v)})
		}
		return out
	}
	mults := []float64{1, 2, 5}
	if a.hi-a.lo > 3 {
		mults = []float64{1}
	}
	var out []tick
	for d := math.Floor(a.lo + 1e-9); d <= a.hi; d++ {
		for _, m := range mults {
			l := math.Log10(m) + d
			if l < a.lo-1e-9 || l > a.hi+1e-9 {
				continue
			}
			v := m * math.Pow(10, d)
			out = append(out, tick{Pos: a.at(v), Label: formatLatency(roundSignificant(v, 1))})
		}
	}
	return out
}

// niceStep is the step of niceScale(largest, n).
func niceStep(largest float64, n int) float64 {
	_, step := niceScale(largest, n)
	return step
}

// Percentile axis: HdrHistogram's plotter puts percentile p at
// log10(1/(1-p)), so 90, 99, 99.9 and 99.99 % are equally far apart and
// the tail gets the room it deserves.

// percentileX is log10(1/(1-p/100)) for a percentile p (0 to 100).
func percentileX(p float64) float64 {
	if p >= 100 {
		return math.Inf(1)
	}
	return -math.Log10(1 - p/100)
}

// nines is how many nines a percentile axis needs to show the tail of n
// requests: its last request is at 1 - 1/n; at least 2 (p99), at most 6.
func nines(n int64) float64 {
	return min(max(math.Ceil(math.Log10(float64(max(n, 1)))), 2), 6)
}

// percentileTicks label 0, 90, 99, 99.9 % ... up to the axis' end.
func percentileTicks(a axis) []tick {
	out := []tick{{Pos: a.at(0), Label: "0 %"}, {Pos: a.at(percentileX(50)), Label: "50 %"}}
	for k := 1.0; k <= a.hi+1e-9; k++ {
		p := 100 * (1 - math.Pow(10, -k))
		out = append(out, tick{Pos: a.at(k), Label: strconv.FormatFloat(roundSignificant(p, int(k)+1), 'f', -1, 64) + " %"})
	}
	return out
}

// curvePoint is a percentile of a distribution.
type curvePoint struct {
	Percentile float64 // 0 to 100
	Value      float64 // seconds
}

// percentileCurve is a histogram's latency by percentile: its minimum at
// 0 % and each bucket's end at the share of requests at or below it. The
// last bucket (100 %) is drawn at the axis' end, nines.
func percentileCurve(h *stats.HistogramData) []curvePoint {
	if h == nil || h.Count == 0 || len(h.Data) == 0 {
		return nil
	}
	out := []curvePoint{{0, h.Min}}
	for _, b := range h.Data {
		out = append(out, curvePoint{Percentile: b.Percent, Value: min(b.End, h.Max)})
	}
	return out
}

// path is a polyline's points for a curve on the axes, with percentiles
// past the x axis' end (100 %) at its end.
func curvePath(pts []curvePoint, x, y axis) string {
	var b strings.Builder
	for i, p := range pts {
		px := min(percentileX(p.Percentile), x.hi)
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%g,%g", x.at(px), y.at(p.Value))
	}
	return b.String()
}

// pointTip is a focusable point of a chart with the values it stands for,
// shown next to it on hover and keyboard focus (CSS, no script).
type pointTip struct {
	X, Y  float64
	Class string
	Text  string
	// TipX, TipY and TipW place the label's box inside the chart.
	TipX, TipY, TipW float64
}

// newPointTip places the label right of the point, or left of it near
// the right edge, and below it near the top.
func newPointTip(p plot, x, y float64, class, text string) pointTip {
	w := round1(float64(len([]rune(text)))*6.1 + 12)
	tx := x + 8
	if tx+w > p.Right {
		tx = x - 8 - w
	}
	ty := y - 26
	if ty < 2 {
		ty = y + 8
	}
	return pointTip{X: x, Y: y, Class: class, Text: text, TipX: round1(max(tx, 2)), TipY: round1(ty), TipW: w}
}
