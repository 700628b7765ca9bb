package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// TestRestoreMissesFromHistory: the streaks of consecutive objective misses
// the SLO alerts wait on survive a restart, so the run after a restart is
// judged with the one before it.
func TestRestoreMissesFromHistory(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := config.Profile{Name: "hourly", Schedule: "@every 1h", Target: config.Target{URL: "http://shop:8080/"},
		SLO: config.SLO{Latency: map[string]config.Duration{"99": config.Duration(250 * time.Millisecond)}}}
	p.ApplyDefaults()
	start := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	doc := func(i int, p99 time.Duration) *result.Document {
		r := &result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://shop:8080/",
			StartTime: start.Add(time.Duration(i) * time.Hour), ActualDuration: time.Second, RequestedDuration: time.Second,
			Codes:   map[string]int64{"200": 100},
			Latency: &stats.HistogramData{Count: 100, Percentiles: []stats.Percentile{{Percentile: 99, Value: p99.Seconds()}}}}
		outcome := result.OutcomeSuccess
		if p99 > 250*time.Millisecond {
			outcome = result.OutcomeSLOMissed
		}
		return result.NewDocument(r, result.DocumentInfo{RunID: "hourly-" + string(rune('a'+i)), Profile: "hourly", Outcome: outcome})
	}
	// Slow, fine, slow: one miss in a row when the exporter restarts.
	for i, p99 := range []time.Duration{300 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond} {
		if err := st.Save(ctx, doc(i, p99)); err != nil {
			t.Fatal(err)
		}
	}
	runs := collector.NewRuns()
	if err := restoreMisses(ctx, st, runs, p); err != nil {
		t.Fatal(err)
	}
	want := func(n string) {
		t.Helper()
		exp := `
# HELP perf_run_slo_latency_consecutive_misses Consecutive runs, up to the last one, whose latency percentile was above its objective.
# TYPE perf_run_slo_latency_consecutive_misses gauge
perf_run_slo_latency_consecutive_misses{percentile="99",profile="hourly"} ` + n + "\n"
		if err := testutil.CollectAndCompare(runs, strings.NewReader(exp), "perf_run_slo_latency_consecutive_misses"); err != nil {
			t.Error(err)
		}
	}
	want("1")
	// The first slow run after the restart is the second in a row.
	runs.SetLastRun(doc(3, 400*time.Millisecond))
	want("2")
}
