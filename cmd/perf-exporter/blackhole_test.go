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
