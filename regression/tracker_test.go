package regression

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// runDoc is run i of profile p with the given p99 (p50 and p90 follow it),
// deterministic ±1 % noise.
func runDoc(p string, i int, p99 float64) *result.Document {
	v := p99 * (1 + 0.01*float64(i%3-1))
	m := &result.Measurement{
		Engine: "fortio", Protocol: "http1", StartTime: t0.Add(time.Duration(i) * time.Minute),
		ActualDuration: 10 * time.Second, RequestedQPS: 100, ActualQPS: 100, Codes: map[string]int64{"200": 1000},
		Latency: &stats.HistogramData{Count: 1000, Percentiles: []stats.Percentile{
			{Percentile: 50, Value: v / 2}, {Percentile: 90, Value: v * 0.8}, {Percentile: 99, Value: v}}},
	}
	return result.NewDocument(m, result.DocumentInfo{RunID: fmt.Sprintf("%s-%03d", p, i), Profile: p, Outcome: result.OutcomeSuccess})
}

type fixture struct {
	t     *testing.T
	dir   string
	st    *store.Store
	tr    *Tracker
	clock time.Time
	n     int
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, dir: t.TempDir()}
	f.open()
	return f
}

func (f *fixture) open() {
	st, err := store.Open(f.dir, store.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { st.Close() })
	f.st = st
	f.tr = New(st, func() time.Time { return f.clock }, nil)
	cfg := &config.Config{Profiles: []config.Profile{{Name: "checkout"}}}
	if err := f.tr.ApplyConfig(cfg); err != nil {
		f.t.Fatal(err)
	}
}

// add saves and observes runs at a level; it returns the last baseline
// window.
func (f *fixture) add(n int, p99 float64) (from, until time.Time) {
	f.t.Helper()
	ctx := context.Background()
	for range n {
		doc := runDoc("checkout", f.n, p99)
		f.n++
		f.clock = doc.StartTime.Add(time.Minute / 2)
		if err := f.st.Save(ctx, doc); err != nil {
			f.t.Fatal(err)
		}
		var err error
		if from, until, err = f.tr.Observe(ctx, doc); err != nil {
			f.t.Fatal(err)
		}
	}
	return from, until
}

func (f *fixture) changes() []Change {
	f.t.Helper()
	cs, err := f.tr.Changes(context.Background(), "checkout")
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

func (f *fixture) gauge(name, metric string) string {
	f.t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f.tr)
	mfs, err := reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["metric"] == metric && labels["direction"] != changepoint.Improvement {
				if m.GetGauge() != nil {
					return fmt.Sprint(m.GetGauge().GetValue())
				}
				return fmt.Sprint(m.GetCounter().GetValue())
			}
		}
	}
	return "absent"
}

// The regression stays open over 50 further regressed runs, the baseline
// stays on the old level, an accept makes the new level normal, and all of
// it survives a restart.
func TestRegressionLifecycle(t *testing.T) {
	f := newFixture(t)
	f.add(30, 0.010)
	if got := f.changes(); len(got) != 0 {
		t.Fatalf("changes in a flat history: %+v", got)
	}
	_, until := f.add(3, 0.013)
	regressionStart := t0.Add(30 * time.Minute)
	if !until.Equal(regressionStart) {
		t.Errorf("baseline until %v, want the regression's first run %v", until, regressionStart)
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "1" {
		t.Errorf("perf_regression_open = %s after 3 regressed runs", got)
	}
	if got := f.gauge("perf_change_points_total", changepoint.LatencyP99); got != "1" {
		t.Errorf("perf_change_points_total{direction=regression} = %s: %+v", got, f.changes())
	}
	_, until = f.add(50, 0.013)
	if !until.Equal(regressionStart) {
		t.Errorf("after 50 more regressed runs the baseline ends at %v, want %v (the regression must not be swallowed)", until, regressionStart)
	}
	baseline, n, err := f.st.BaselineWithin(context.Background(), "checkout", 10, time.Time{}, until)
	if err != nil || n != 10 || baseline["99"] > 0.0102 {
		t.Errorf("baseline %v over %d runs (%v), want the old level", baseline, n, err)
	}
	if got := f.gauge("perf_regression_started_timestamp_seconds", changepoint.LatencyP99); got != fmt.Sprint(float64(regressionStart.Unix())) {
		t.Errorf("started = %s, want %d", got, regressionStart.Unix())
	}
	if got := f.gauge("perf_regression_change_ratio", changepoint.LatencyP99); !strings.HasPrefix(got, "1.29") && !strings.HasPrefix(got, "1.3") {
		t.Errorf("ratio = %s, want 1.3", got)
	}

	id := changepoint.LatencyP99 + "@checkout-030"
	c, err := f.tr.Accept(context.Background(), "checkout", id)
	if err != nil || c.Status != changepoint.StatusAccepted {
		t.Fatalf("accept: %+v, %v", c, err)
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "0" {
		t.Errorf("perf_regression_open = %s after accept", got)
	}
	if got := f.gauge("perf_regression_change_ratio", changepoint.LatencyP99); got != "absent" {
		t.Errorf("ratio = %s after accept, want absent", got)
	}
	from, until := f.add(1, 0.013)
	if !from.Equal(regressionStart) || !until.IsZero() {
		t.Errorf("baseline window after accept [%v, %v), want from the accepted level on", from, until)
	}
	if _, err := f.tr.Accept(context.Background(), "checkout", "latency_p99@nope"); err == nil {
		t.Error("accepting an unknown change point: no error")
	}

	// Restart: the history is replayed, the acceptance read back.
	before := f.changes()
	f.st.Close()
	f.open()
	after := f.changes()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("after restart:\n%+v\nwant\n%+v", after, before)
	}
	for _, c := range after {
		if c.ID == id && c.Status != changepoint.StatusAccepted {
			t.Errorf("%s is %s after restart, want accepted", id, c.Status)
		}
	}
	if got := f.gauge("perf_change_points_total", changepoint.LatencyP99); got != "0" {
		t.Errorf("change points found before the restart counted again: %s", got)
	}
}

// A recovery closes the regression by itself; an improvement never opens
// anything.
func TestRecoveryAndImprovement(t *testing.T) {
	f := newFixture(t)
	f.add(30, 0.010)
	f.add(10, 0.013)
	from, until := f.add(20, 0.010)
	for _, c := range f.changes() {
		if c.Direction == changepoint.Regression && c.Status != changepoint.StatusRecovered {
			t.Errorf("%s: %s, want recovered", c.ID, c.Status)
		}
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "0" {
		t.Errorf("open after recovery: %s", got)
	}
	if !until.IsZero() || !from.Equal(t0.Add(40*time.Minute)) {
		t.Errorf("baseline window [%v, %v), want from the recovery on", from, until)
	}
	f.add(20, 0.007)
	for _, c := range f.changes() {
		if c.Direction == changepoint.Improvement && c.Status != changepoint.StatusAccepted {
			t.Errorf("improvement %s: %s, want accepted", c.ID, c.Status)
		}
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "0" {
		t.Errorf("open after an improvement: %s", got)
	}
}

// OnChange hears of each change point once, when it is found.
func TestOnChangeHearsEachChangePointOnce(t *testing.T) {
	f := newFixture(t)
	var heard []Change
	f.tr.OnChange(func(profile string, c Change) {
		if profile != "checkout" {
			t.Errorf("change point of profile %q", profile)
		}
		heard = append(heard, c)
	})
	f.add(30, 0.010)
	f.add(20, 0.013)
	var p99 []Change
	for _, c := range heard {
		if c.Metric == changepoint.LatencyP99 {
			p99 = append(p99, c)
		}
	}
	var listed []string
	for _, c := range f.changes() {
		if c.Metric == changepoint.LatencyP99 {
			listed = append(listed, c.ID)
		}
	}
	// Heard where it was first found: as more runs come in, the tracker
	// may move it by a run (not a new change point, not heard again).
	if len(p99) != 1 || p99[0].Direction != changepoint.Regression || len(listed) != 1 || p99[0].index < 29 || p99[0].index > 30 {
		t.Errorf("heard %+v, want once the p99 regression the tracker lists (%v)", heard, listed)
	}
}

// A long-running daemon's history is bounded: past 2 × MaxHistory runs the
// tracker starts again from the store's last MaxHistory runs, and a
// regression in them stays open.
func TestHistoryIsBounded(t *testing.T) {
	f := newFixture(t)
	const limit = 40
	f.tr.maxHistory = limit
	f.add(2*limit-5, 0.010)
	f.add(6, 0.013)
	st := f.tr.profiles["checkout"]
	if n := st.hist.Len(); n < limit || n > limit+1 {
		t.Errorf("history of %d runs after %d, want %d or %d", n, f.n, limit, limit+1)
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "1" {
		t.Errorf("perf_regression_open = %s after the history was cut", got)
	}
}
