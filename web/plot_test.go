package web

import (
	"math"
	"testing"

	"fortio.org/fortio/stats"
)

// The log axes' ticks are where their values are: for known latencies
// (2 ms to 40 ms), a log latency axis from 2 ms to 50 ms with 2, 5, 10,
// 20 and 50 ms at log-proportional places, and a percentile axis with 90,
// 99 and 99.9 % equally apart.
func TestLogAxesTicks(t *testing.T) {
	h := stats.NewHistogram(0, 0.001)
	for i := range 1000 {
		h.Record(0.002 + 0.038*float64(i)/999)
	}
	data := h.Export().CalcPercentiles([]float64{50, 90, 99, 99.9})
	c := newPercentilePlot([]plotSeries{{Label: "run", Hist: data}}, true)

	wantY := map[string]float64{"2 ms": 0.002, "5 ms": 0.005, "10 ms": 0.01, "20 ms": 0.02, "50 ms": 0.05}
	if len(c.YTicks) != len(wantY) {
		t.Fatalf("y ticks %+v, want %v", c.YTicks, wantY)
	}
	span := math.Log10(0.05) - math.Log10(0.002)
	for _, tk := range c.YTicks {
		v, ok := wantY[tk.Label]
		if !ok {
			t.Errorf("unexpected y tick %+v", tk)
			continue
		}
		want := c.Bottom - (c.Bottom-c.Top)*(math.Log10(v)-math.Log10(0.002))/span
		if math.Abs(tk.Pos-want) > 0.1 {
			t.Errorf("tick %s at y %v, want %v", tk.Label, tk.Pos, want)
		}
	}

	// 1000 requests: the axis ends at 99.9 %, three decades of 1/(1-p).
	wantX := []struct {
		label string
		x     float64
	}{{"0 %", 0}, {"50 %", math.Log10(2)}, {"90 %", 1}, {"99 %", 2}, {"99.9 %", 3}}
	if len(c.XTicks) != len(wantX) {
		t.Fatalf("x ticks %+v, want %v", c.XTicks, wantX)
	}
	for i, w := range wantX {
		want := c.Left + (c.Right-c.Left)*w.x/3
		if got := c.XTicks[i]; got.Label != w.label || math.Abs(got.Pos-want) > 0.1 {
			t.Errorf("x tick %d: %+v, want %s at %v", i, got, w.label, want)
		}
	}
	// The p99 point sits on the 99 % tick, at its latency's height.
	p99, _ := data.Percentiles[2].Percentile, data.Percentiles[2].Value
	var pt *pointTip
	for i := range c.Points {
		if c.Points[i].X == c.XTicks[3].Pos {
			pt = &c.Points[i]
		}
	}
	if pt == nil {
		t.Fatalf("no point on the 99 %% tick (x %v): %+v", c.XTicks[3].Pos, c.Points)
	}
	if want := c.Bottom - (c.Bottom-c.Top)*(math.Log10(data.Percentiles[2].Value)-math.Log10(0.002))/span; math.Abs(pt.Y-want) > 0.1 {
		t.Errorf("p%v point at y %v, want %v", p99, pt.Y, want)
	}

	// The run page's histogram: bars as wide as their buckets on the log
	// axis, 2 ms to 50 ms.
	hc := newHistogramChart(data)
	for i, b := range data.Data {
		start := max(b.Start, 0.002)
		want := (hc.Right - hc.Left) * (math.Log10(b.End) - math.Log10(start)) / span
		if got := hc.Bars[i].W + 0.6; math.Abs(got-want) > 0.3 && hc.Bars[i].W > 0.6 {
			t.Errorf("bar %d (%v-%v) is %v wide, want %v", i, b.Start, b.End, got, want)
		}
	}
}

func TestNiceLogBounds(t *testing.T) {
	for _, tc := range []struct{ v, down, up float64 }{
		{0.0032, 0.002, 0.005}, {0.002, 0.002, 0.002}, {0.011, 0.01, 0.02}, {0.6, 0.5, 1}, {1, 1, 1},
	} {
		if d, u := niceDown(tc.v), niceUp(tc.v); math.Abs(d-tc.down) > 1e-12 || math.Abs(u-tc.up) > 1e-12 {
			t.Errorf("%v: down %v up %v, want %v %v", tc.v, d, u, tc.down, tc.up)
		}
	}
}
