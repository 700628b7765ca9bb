package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// heldEngine runs until release is closed. A live engine reports one
// request before it is released and one of a new code after; a bulk one
// reports only in its result, as wrk does.
type heldEngine struct {
	live    bool
	started chan struct{}
	release chan struct{}
}

func (e heldEngine) Run(_ context.Context, _ config.Profile, obs result.Observer) (*result.Measurement, error) {
	if e.live {
		obs.ObserveRequest(time.Millisecond, "200")
	}
	e.started <- struct{}{}
	<-e.release
	if e.live {
		obs.ObserveRequest(time.Millisecond, "503")
	}
	return &result.Measurement{Engine: "held", StartTime: time.Now(), ActualDuration: time.Second, ActualQPS: 2,
		Codes: map[string]int64{"200": 1, "503": 1}, Latency: latencyWithP50(0.001)}, nil
}

// historyRecorder keeps the ids of saved runs.
type historyRecorder struct {
	mu    sync.Mutex
	saved []*result.Document
}

func (h *historyRecorder) BeginRun(context.Context, *result.Document) error { return nil }
func (h *historyRecorder) Save(_ context.Context, doc *result.Document) error {
	h.mu.Lock()
	h.saved = append(h.saved, doc)
	h.mu.Unlock()
	return nil
}
func (h *historyRecorder) BaselineWithin(context.Context, string, int, time.Time, time.Time) (map[string]float64, int, error) {
	return map[string]float64{"50": 0.001}, 1, nil
}

// seriesOf gathers the registry and returns "name" for every series with
// profile=name, and the value of perf_runs_total by result.
func seriesOf(t *testing.T, reg *prometheus.Registry, profile string) ([]string, map[string]float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	runs := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			if labelOf(m, "profile") != profile {
				continue
			}
			names = append(names, mf.GetName())
			if mf.GetName() == "perf_runs_total" {
				runs[labelOf(m, "result")] = m.GetCounter().GetValue()
			}
		}
	}
	return names, runs
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// A profile removed while its run is in flight leaves no series behind
// when the run ends; the run is saved to the history all the same.
func TestRemovedProfileInFlightLeavesNoSeries(t *testing.T) {
	for _, live := range []bool{true, false} {
		t.Run(map[bool]string{true: "live", false: "bulk"}[live], func(t *testing.T) {
			engine := heldEngine{live: live, started: make(chan struct{}, 1), release: make(chan struct{})}
			runs := collector.NewRuns()
			reg := prometheus.NewRegistry()
			reg.MustRegister(runs)
			history := &historyRecorder{}
			s := New(Options{Engines: func(*config.Config, string) (loadgen.Engine, error) { return engine, nil },
				Recorder: runs, History: history})
			if err := s.Apply(testConfig(t, `
profiles:
  - {name: gone, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
  - {name: keep, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)); err != nil {
				t.Fatal(err)
			}
			if err := s.RunNow("gone"); err != nil {
				t.Fatal(err)
			}
			<-engine.started
			if err := s.Apply(testConfig(t, `
profiles:
  - {name: keep, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)); err != nil {
				t.Fatal(err)
			}
			close(engine.release)
			if err := s.Stop(context.Background()); err != nil { // waits for the run
				t.Fatal(err)
			}
			if names, _ := seriesOf(t, reg, "gone"); len(names) > 0 {
				t.Errorf("series of the removed profile after its run ended: %v", names)
			}
			if len(history.saved) != 1 || history.saved[0].PerfExporter.Profile != "gone" {
				t.Errorf("the removed profile's run was not saved to the history: %v", history.saved)
			}
			if names, _ := seriesOf(t, reg, "keep"); len(names) == 0 {
				t.Error("the kept profile lost its series")
			}
		})
	}
}

// A profile removed and added again under the same name while the old
// definition's run is in flight: the old run is saved but publishes
// nothing over the new definition (no gauges, no outcome counted, no
// requests), because its figures describe a definition no longer
// configured.
func TestReAddedProfileIsNotPublishedOverByTheOldRun(t *testing.T) {
	engine := heldEngine{live: true, started: make(chan struct{}, 1), release: make(chan struct{})}
	runs := collector.NewRuns()
	reg := prometheus.NewRegistry()
	reg.MustRegister(runs)
	history := &historyRecorder{}
	s := New(Options{Engines: func(*config.Config, string) (loadgen.Engine, error) { return engine, nil },
		Recorder: runs, History: history})
	old := testConfig(t, `
profiles:
  - {name: p, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/old"}, load: {qps: 10}}
`)
	if err := s.Apply(old); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("p"); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	if err := s.Apply(testConfig(t, "profiles: []\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: p, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/new"}, load: {qps: 20}}
`)); err != nil {
		t.Fatal(err)
	}
	close(engine.release)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	names, outcomes := seriesOf(t, reg, "p")
	for _, n := range names {
		switch n {
		case "perf_profile_info", "perf_profile_schedule_interval_seconds", "perf_runs_total":
		default:
			t.Errorf("series %s of the old definition's run published over the new definition", n)
		}
	}
	for outcome, n := range outcomes {
		if n != 0 {
			t.Errorf("perf_runs_total{result=%q} = %g for the new definition, which has not run", outcome, n)
		}
	}
	if len(history.saved) != 1 {
		t.Errorf("the old definition's run was not saved: %d documents", len(history.saved))
	}
	for _, st := range s.Statuses() {
		if st.Last != nil {
			t.Errorf("the landing page shows the old definition's run %s as p's last", st.Last.PerfExporter.RunID)
		}
	}
}

func latencyWithP50(seconds float64) *stats.HistogramData {
	return &stats.HistogramData{Count: 2, Min: seconds, Max: seconds, Sum: 2 * seconds, Avg: seconds,
		Data:        []stats.Bucket{{Interval: stats.Interval{Start: seconds, End: seconds}, Count: 2}},
		Percentiles: []stats.Percentile{{Percentile: 50, Value: seconds}}}
}
