package web

import (
	"testing"
	"time"
)

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct {
		max       float64
		n         int
		top, step float64
	}{
		{0.0386, 5, 0.04, 0.01},
		{1500, 4, 1500, 500},
		{1501, 4, 2000, 500},
		{0.0001, 5, 0.0001, 0.00002},
		{0, 5, 1, 0.2}, // nothing to show: an axis all the same
	} {
		top, step := niceScale(tc.max, tc.n)
		if !approxEqual(top, tc.top) || !approxEqual(step, tc.step) {
			t.Errorf("niceScale(%v, %d) = %v, %v; want %v, %v", tc.max, tc.n, top, step, tc.top, tc.step)
		}
		if top < tc.max {
			t.Errorf("niceScale(%v, %d): top %v does not show the maximum", tc.max, tc.n, top)
		}
	}
}

func approxEqual(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

func TestFormatLatency(t *testing.T) {
	for seconds, want := range map[float64]string{
		0:        "0 ms",
		0.000412: "0.412 ms",
		0.0253:   "25.3 ms",
		0.04:     "40 ms",
		0.25:     "250 ms",
		0.9996:   "1 s",
		1.254:    "1.25 s",
		12.5:     "12.5 s",
		1234:     "1230 s",
	} {
		if got := formatLatency(seconds); got != want {
			t.Errorf("formatLatency(%v) = %q, want %q", seconds, got, want)
		}
	}
}

func TestLatencyChart(t *testing.T) {
	run := func(id string, at time.Duration, p50, p99 float64) ResultView {
		v := ResultView{RunView: RunView{RunID: id, Start: t0.Add(at), Outcome: "success", Latency: map[string]float64{}}}
		if p50 > 0 {
			v.Latency["50"], v.Latency["99"] = p50, p99
		} else {
			v.Outcome = "failure"
		}
		return v
	}
	// Newest first, as the store lists them.
	runs := []ResultView{run("c", 3*time.Hour, 0.002, 0.030), run("b", 2*time.Hour, 0, 0), run("a", 0, 0.001, 0.010)}
	c := newLatencyChart(runs, map[string]float64{"50": 0.0015, "99": 0.020}, 2)

	if len(c.Points) != 3 || c.Points[0].RunID != "a" || c.Points[2].RunID != "c" {
		t.Fatalf("points %+v, want a, b, c: oldest first", c.Points)
	}
	a, b, cc := c.Points[0], c.Points[1], c.Points[2]
	if !(a.X < b.X && b.X < cc.X) || a.X <= c.Left || cc.X >= c.Right {
		t.Errorf("x %v, %v, %v: not in time order inside the plot (%v to %v)", a.X, b.X, cc.X, c.Left, c.Right)
	}
	// b is 2/3 of the way from a to c.
	if want := a.X + (cc.X-a.X)*2/3; b.X-want > 0.1 || want-b.X > 0.1 {
		t.Errorf("b at x %v, want %v: not on a time scale", b.X, want)
	}
	if b.Cross == "" || len(b.Marks) != 0 {
		t.Errorf("the failed run has marks %v and cross %q, want only a cross", b.Marks, b.Cross)
	}
	if len(a.Marks) != 2 || a.Marks[1].Y >= a.Marks[0].Y {
		t.Errorf("run a's marks %v: want p50 below p99", a.Marks)
	}
	if cc.Marks[1].Y >= a.Marks[1].Y {
		t.Errorf("c's p99 (30 ms) is drawn at y %v, not above a's (10 ms) at %v", cc.Marks[1].Y, a.Marks[1].Y)
	}
	if len(c.Lines) != 2 || len(c.Baselines) != 2 || c.BaselineRuns != 2 {
		t.Errorf("%d lines, %d baselines over %d runs; want 2, 2, 2", len(c.Lines), len(c.Baselines), c.BaselineRuns)
	}
	if top := c.YTicks[len(c.YTicks)-1]; top.Label != "40 ms" || top.Pos != c.Top {
		t.Errorf("top tick %+v, want 40 ms at the top of the plot (%v)", top, c.Top)
	}

	// Without a successful run there is no baseline to draw.
	c = newLatencyChart(runs, map[string]float64{}, 0)
	if len(c.Baselines) != 0 || c.BaselineRuns != 0 {
		t.Errorf("baselines %v over %d runs, want none", c.Baselines, c.BaselineRuns)
	}
	// One run sits in the middle, with one time label.
	c = newLatencyChart(runs[2:], nil, 0)
	if len(c.Points) != 1 || c.Points[0].X != (c.Left+c.Right)/2 || len(c.XTicks) != 1 {
		t.Errorf("a single run: points %+v, ticks %+v", c.Points, c.XTicks)
	}
	if newLatencyChart(nil, nil, 0) != nil {
		t.Error("a chart without runs")
	}
}
