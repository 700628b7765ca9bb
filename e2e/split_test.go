package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const splitProfile = `
profiles:
  - name: split
    schedule: "@every 4s"
    target: {url: "%s/echo?delay=2ms:50,10ms:10"}
    load: {qps: 400, connections: 8, duration: 3s}
`

// Two replicas with --load.split=2 act as one load generator: each sends
// half the rate on the same tick, and Prometheus sums them into the fleet's
// throughput and exact percentiles.
func TestSplitAcrossTwoReplicas(t *testing.T) {
	bin := testutil.BuildBinary(t)
	dir := t.TempDir()
	cfgFile := writeConfig(t, dir, splitProfile, startTarget(t, bin))
	var replicas []string
	for i := range 2 {
		addr := testutil.FreeAddr(t)
		testutil.StartProcess(t, bin, "--config.file", cfgFile, "--web.listen-address", addr, "--load.split=2",
			"--storage.path", filepath.Join(dir, fmt.Sprintf("data-%d", i)))
		testutil.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)
		replicas = append(replicas, addr)
	}
	prom := promAPI(t, testutil.StartPrometheus(t, testutil.PrometheusOptions{Targets: replicas, JobName: "perf-exporter", ScrapeInterval: time.Second}))

	// Both replicas completed at least two runs, on the same ticks.
	waitQuery(t, prom, `count by (profile) (perf_runs_total{result=~"success|slo_missed"} >= 2)`, []string{"split"},
		func(_ string, v float64) bool { return v == 2 })
	starts := query(t, prom, `max by (profile) (perf_run_last_timestamp_seconds) - min by (profile) (perf_run_last_timestamp_seconds)`)
	if starts["split"] > 1 {
		t.Errorf("replicas' last runs ended %.2fs apart: they do not fire on the same tick", starts["split"])
	}
	fleet := query(t, prom, `sum by (profile) (perf_run_achieved_rps)`)["split"]
	requested := query(t, prom, `sum by (profile) (perf_run_requested_rps)`)["split"]
	if requested != 400 || fleet < 380 || fleet > 420 {
		t.Errorf("fleet achieved %.1f req/s of requested %.0f, want 400 ± 5%%", fleet, requested)
	}
	perReplica := query(t, prom, `perf_run_connections`)
	if perReplica["split"] != 4 {
		t.Errorf("each replica should use 4 of the 8 connections, got %v", perReplica)
	}

	// The fleet's p99 from the summed histogram lies within the replicas'
	// own p99s (it is the quantile of their union).
	window, at := "[1m]", time.Now()
	fleetP99 := queryAt(t, prom, `histogram_quantile(0.99, sum by (le, profile) (rate(perf_run_request_duration_seconds_bucket`+window+`)))`, "profile", at)["split"]
	own := queryAt(t, prom, `histogram_quantile(0.99, sum by (le, instance) (rate(perf_run_request_duration_seconds_bucket`+window+`)))`, "instance", at)
	lo, hi := 1e9, 0.0
	for _, v := range own {
		lo, hi = min(lo, v), max(hi, v)
	}
	if len(own) != 2 || fleetP99 < lo*0.999 || fleetP99 > hi*1.001 {
		t.Errorf("fleet p99 %.5fs not within the replicas' p99s %v", fleetP99, own)
	}
	t.Logf("fleet: %.1f req/s of %.0f requested; p99 fleet %.2fms, per replica %v", fleet, requested, fleetP99*1e3, own)
}
