package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/scheduler"
	"github.com/perf-exporter/perf-exporter/store"
)

// After a kill -9 during a run, a restart brings the last-run gauges and
// the landing page's last run back from the run completed before it: the
// aborted run does not zero them (requested 0 would read "as fast as
// possible"). The aborted run is counted and keeps what it was asked.
func TestRestartAfterKillRestoresTheLastCompletedRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`
profiles:
  - name: p
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    load: {qps: 20, connections: 2, duration: 1s}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles[0]
	start := time.Now().Add(-time.Hour)

	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	latency := &stats.HistogramData{Count: 20, Percentiles: []stats.Percentile{{Percentile: 50, Value: 0.002}, {Percentile: 99, Value: 0.009}}}
	completed := result.NewDocument(&result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://127.0.0.1:1/",
		StartTime: start, ActualDuration: time.Second, RequestedDuration: time.Second, RequestedQPS: 20, ActualQPS: 19.9,
		Connections: 2, Codes: map[string]int64{"200": 20}, Latency: latency},
		result.DocumentInfo{RunID: loadgen.RunID("p", start), Profile: "p", Outcome: result.OutcomeSuccess, Split: 1})
	if err := st.Save(ctx, completed); err != nil {
		t.Fatal(err)
	}
	for _, profile := range []config.Profile{p, {Name: "removed", Target: p.Target, Load: p.Load}} {
		killed := &loadgen.Run{Profile: profile, Split: 1, ID: loadgen.RunID(profile.Name, start.Add(time.Minute)), Start: start.Add(time.Minute)}
		if err := st.BeginRun(ctx, killed.Pending()); err != nil {
			t.Fatal(err)
		}
	}
	st.Close() // the process dies here: the marks are on disk, no result

	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs := collector.NewRuns()
	reg := prometheus.NewRegistry()
	reg.MustRegister(runs)
	sched := scheduler.New(scheduler.Options{Recorder: runs})
	changes := regression.New(st, nil, nil)
	if err := changes.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := restoreHistory(ctx, slog.New(slog.DiscardHandler), st, runs, sched, cfg); err != nil {
		t.Fatal(err)
	}
	// The baseline comes back with the change points, in the background
	// once the daemon is ready.
	const baseline = `perf_run_latency_baseline_seconds{percentile="99",profile="p"}`
	if v, ok := gaugeValues(t, reg)[baseline]; ok {
		t.Errorf("%s = %v before the change points are replayed", baseline, v)
	}
	if err := (changeReplay{changes: changes, st: st, runs: runs, cfg: cfg, logger: slog.New(slog.DiscardHandler)}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if v := gaugeValues(t, reg)[baseline]; v != 0.009 {
		t.Errorf("%s = %v after the replay, want 0.009", baseline, v)
	}
	if err := sched.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sched.Stop(ctx) }()

	got := gaugeValues(t, reg)
	for name, want := range map[string]float64{
		`perf_run_requested_rps{profile="p"}`:                   20,
		`perf_run_achieved_rps{profile="p"}`:                    19.9,
		`perf_run_connections{profile="p"}`:                     2,
		`perf_run_duration_seconds{profile="p"}`:                1,
		`perf_run_success{profile="p"}`:                         1,
		`perf_run_latency_seconds{percentile="99",profile="p"}`: 0.009,
		`perf_runs_total{profile="p",result="aborted"}`:         1,
		`perf_run_last_success_timestamp_seconds{profile="p"}`:  float64(start.Add(time.Second).UnixNano()) / 1e9,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (exported %v), want %v", name, v, ok, want)
		}
	}
	for name := range got {
		if strings.Contains(name, `profile="removed"`) {
			t.Errorf("%s exported for a profile no longer configured", name)
		}
	}
	if sts := sched.Statuses(); len(sts) != 1 || sts[0].Last == nil || sts[0].Last.PerfExporter.RunID != completed.PerfExporter.RunID {
		t.Errorf("landing page's last run of p: %+v, want %s", sts, completed.PerfExporter.RunID)
	}
	aborted, err := st.Get(ctx, loadgen.RunID("p", start.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if aborted.PerfExporter.Outcome != result.OutcomeAborted || aborted.RequestedQPS != "20" || aborted.NumThreads != 2 || aborted.RequestedDuration != "1s" {
		t.Errorf("the killed run's document: outcome %q, asked %s for %s on %d connections; want aborted, 20 for 1s on 2",
			aborted.PerfExporter.Outcome, aborted.RequestedQPS, aborted.RequestedDuration, aborted.NumThreads)
	}
}

// gaugeValues maps `name{label="value",...}` (labels sorted) to the value
// of every gauge and counter a registry exports.
func gaugeValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, l := range m.GetLabel() { // Gather sorts labels by name
				if i > 0 {
					key += ","
				}
				key += l.GetName() + `="` + l.GetValue() + `"`
			}
			key += "}"
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			default:
				out[key] = 0
			}
		}
	}
	return out
}
