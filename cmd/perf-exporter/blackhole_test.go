package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// TestBlackholedPrometheusDelaysNothing: with the environment's Prometheus
// accepting connections and never answering, each run's result is
// published as soon as the run ends (the environment queries wait in the
// background, bounded by their timeout), and the next runs start on
// schedule. Measured: 8-55 ms between a run's end and its series, the
// poll's 10 ms included.
func TestBlackholedPrometheusDelaysNothing(t *testing.T) {
	blackhole := testutil.Blackhole(t)
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	d := startServe(t, fmt.Sprintf(`
prometheus:
  - {name: blackhole, url: %q, scrape_interval: 1s}
profiles:
  - name: p
    schedule: "@every 2s"
    run_on_start: true
    target: {url: %q}
    load: {qps: 20, connections: 2, duration: 500ms}
    environment: [nodes]
`, blackhole, target.URL))

	// Poll /metrics: how long after each run's end is it published?
	var delays []time.Duration
	seen := 0
	deadline := time.Now().Add(20 * time.Second)
	for seen < 3 && time.Now().Before(deadline) {
		metrics := get(t, d.url+"/metrics")
		n := metricValue(metrics, `perf_runs_total{profile="p",result="success"}`)
		if int(n) > seen {
			seen = int(n)
			end := metricValue(metrics, `perf_run_last_timestamp_seconds{profile="p"}`)
			delays = append(delays, time.Since(time.Unix(0, int64(end*1e9))))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("published %v after each run's end", delays)
	if seen < 3 {
		t.Fatalf("%d runs in 20s with a blackholed Prometheus, want 3 (every 2s)\n%s", seen, d.logs)
	}
	for i, delay := range delays {
		// The poll runs every 10ms; a second is far from the 30s query timeout.
		if delay > time.Second {
			t.Errorf("run %d was published %v after it ended", i+1, delay)
		}
	}
	// perf_prometheus_up goes to 0 when the check's 30s query timeout ends:
	// environment.TestWrongPrometheusAnswers shows it with a short one.
}

// metricValue reads one sample of a text exposition, NaN-free: 0 when
// absent.
func metricValue(metrics, series string) float64 {
	for line := range strings.SplitSeq(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestNeverAnsweringTargetKeepsTheSchedule: runs against a target that
// accepts connections and never answers end within their duration plus
// twice the timeout, so a schedule longer than that runs every tick: none
// is skipped, each run fails with its requests counted as errors.
func TestNeverAnsweringTargetKeepsTheSchedule(t *testing.T) {
	blackhole := testutil.Blackhole(t)
	// A run lasts at most 500ms + 2 x 500ms: well inside the 2s schedule.
	// (No run_on_start: it could overlap the first wall-clock-aligned tick.)
	d := startServe(t, fmt.Sprintf(`
profiles:
  - name: p
    schedule: "@every 2s"
    target: {url: "%s/", timeout: 500ms}
    load: {qps: 0, connections: 2, duration: 500ms}
`, blackhole))
	waitMetric(t, d, `perf_runs_total{profile="p",result="failure"} 3`)
	metrics := get(t, d.url+"/metrics")
	t.Logf("last run %vs, %v requests counted as errors in 3 runs", metricValue(metrics, `perf_run_duration_seconds{profile="p"}`),
		metricValue(metrics, `perf_run_requests_total{code="error",profile="p"}`))
	if v := metricValue(metrics, `perf_runs_total{profile="p",result="skipped"}`); v != 0 {
		t.Errorf("%v ticks skipped: a run outlasted the schedule", v)
	}
	if v := metricValue(metrics, `perf_run_requests_total{code="error",profile="p"}`); v < 3*2 {
		t.Errorf("%v requests counted as errors after 3 runs of 2 connections, want at least 6", v)
	}
	if v := metricValue(metrics, `perf_run_schedule_lateness_seconds{profile="p"}`); v > 0.5 {
		t.Errorf("the third run started %vs after its tick", v)
	}
	if v := metricValue(metrics, `perf_run_duration_seconds{profile="p"}`); v > 1.5 {
		t.Errorf("the last run lasted %vs, more than duration + 2 x timeout (1.5s)", v)
	}
}
