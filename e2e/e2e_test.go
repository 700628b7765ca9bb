// Package e2e runs the built perf-exporter binary against the built-in
// target, scraped by a real Prometheus, and checks what a user would query.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const twoProfiles = `
profiles:
  - name: fast
    schedule: "@every 2s"
    run_on_start: true
    target: {url: "%[1]s/echo?status=503:1"}
    load: {qps: 200, connections: 4, duration: 2s}
    slo: {latency: {"99": 50ms}, error_ratio: 0.05}
  - name: delayed
    schedule: "@every 2s"
    run_on_start: true
    target: {url: "%[1]s/echo?delay=20ms"}
    load: {qps: 200, connections: 8, duration: 2s}
    slo: {latency: {"99": 100ms}}
    max_success_age: 1m
`

// exporter starts target and serve with the given config template and
// returns the exporter's base URL and the config file path.
func exporter(t *testing.T, configTemplate string) (string, string, *testutil.Process) {
	t.Helper()
	bin := testutil.BuildBinary(t)
	dir := t.TempDir()
	cfgFile := writeConfig(t, dir, configTemplate, startTarget(t, bin))
	addr := testutil.FreeAddr(t)
	proc := testutil.StartProcess(t, bin, "--config.file", cfgFile, "--web.listen-address", addr,
		"--storage.path", filepath.Join(dir, "data"), "--web.enable-lifecycle")
	testutil.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)
	return "http://" + addr, cfgFile, proc
}

// writeConfig writes dir/config.yaml from a template taking the target URL.
func writeConfig(t *testing.T, dir, configTemplate, targetURL string) string {
	t.Helper()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(configTemplate, targetURL)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgFile
}

func promAPI(t *testing.T, url string) v1.API {
	t.Helper()
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(client)
}

// query evaluates PromQL now and returns the samples by profile.
func query(t *testing.T, prom v1.API, q string) map[string]float64 {
	t.Helper()
	return queryLabel(t, prom, q, "profile")
}

// queryLabel evaluates PromQL now and returns the samples by one label.
func queryLabel(t *testing.T, prom v1.API, q, label string) map[string]float64 {
	t.Helper()
	return queryAt(t, prom, q, label, time.Now())
}

// queryAt evaluates PromQL at a given time, so that several queries see the
// same samples.
func queryAt(t *testing.T, prom v1.API, q, label string, at time.Time) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, _, err := prom.Query(ctx, q, at)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	out := map[string]float64{}
	for _, s := range v.(model.Vector) {
		out[string(s.Metric[model.LabelName(label)])] = float64(s.Value)
	}
	return out
}

// waitQuery polls until every profile in want has a sample satisfying ok.
func waitQuery(t *testing.T, prom v1.API, q string, profiles []string, ok func(profile string, v float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := query(t, prom, q)
		all := true
		for _, p := range profiles {
			if v, found := got[p]; !found || !ok(p, v) {
				all = false
			}
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v: not satisfied for %v within 60s", q, got, profiles)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestScrapedByRealPrometheus(t *testing.T) {
	base, cfgFile, proc := exporter(t, twoProfiles)
	promURL := testutil.StartPrometheus(t, testutil.PrometheusOptions{
		Targets: []string{strings.TrimPrefix(base, "http://")}, JobName: "perf-exporter", ScrapeInterval: time.Second,
	})
	prom := promAPI(t, promURL)
	profiles := []string{"fast", "delayed"}

	// Two completed runs per profile, both scraped.
	waitQuery(t, prom, `sum by (profile) (perf_runs_total{result=~"success|slo_missed"})`, profiles, func(_ string, v float64) bool { return v >= 2 })

	// Every request is in the histogram and in the code counters alike:
	// both are fed by the same per-request hook.
	counted := query(t, prom, `sum by (profile) (perf_run_requests_total)`)
	histogram := query(t, prom, `sum by (profile) (perf_run_request_duration_seconds_count)`)
	for _, p := range profiles {
		if counted[p] == 0 || counted[p] != histogram[p] {
			t.Errorf("%s: requests counted %v, histogram count %v", p, counted[p], histogram[p])
		}
	}
	for p, rps := range query(t, prom, `perf_run_achieved_rps`) {
		if rps < 190 || rps > 210 {
			t.Errorf("%s: achieved %.1f req/s, want 200 ± 5%%", p, rps)
		}
	}
	p50 := query(t, prom, `perf_run_latency_seconds{percentile="50"}`)["delayed"]
	if p50 < 0.020 || p50 > 0.025 {
		t.Errorf("delayed: last run p50 %.4fs, want between 20 and 25 ms", p50)
	}
	histP50 := query(t, prom, `histogram_quantile(0.5, sum by (le, profile) (rate(perf_run_request_duration_seconds_bucket{profile="delayed"}[1m])))`)["delayed"]
	if histP50 < 0.020 || histP50 > 0.025 {
		t.Errorf("delayed: p50 from the cumulative histogram %.4fs, want between 20 and 25 ms", histP50)
	}
	if errs := query(t, prom, `sum(perf_run_requests_total{code="error"})`); len(errs) > 0 && errs[""] != 0 {
		t.Errorf("transport errors: %v", errs)
	}
	t.Logf("p50 delayed: last run %.2fms, histogram %.2fms", p50*1e3, histP50*1e3)

	// The schedule fires every 2 s, a run takes 2 s and runs take turns:
	// ticks that find their profile still running are counted as skipped.
	waitQuery(t, prom, `sum by (profile) (perf_runs_total{result="skipped"})`, []string{"delayed"}, func(_ string, v float64) bool { return v >= 1 })

	testBoardQueries(t, base, prom, profiles)
	testBadReloadKeepsProfiles(t, base, cfgFile, prom)

	if err := proc.Stop(30 * time.Second); err != nil {
		t.Errorf("exporter did not stop cleanly on SIGTERM: %v", err)
	}
}

// testBadReloadKeepsProfiles: a bad config via /-/reload is refused with the
// reason, the old profiles keep running and the reload gauge goes to 0.
func testBadReloadKeepsProfiles(t *testing.T, base, cfgFile string, prom v1.API) {
	t.Helper()
	if err := os.WriteFile(cfgFile, []byte("profiles:\n  - name: Bad Name\n    schedule: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "config.yaml:2:") {
		t.Errorf("bad reload: %d %q, want 500 naming config.yaml:2", resp.StatusCode, body)
	}
	before := query(t, prom, `sum by (profile) (perf_runs_total{result=~"success|slo_missed"})`)
	waitQuery(t, prom, `perf_exporter_config_last_reload_successful`, []string{""}, func(_ string, v float64) bool { return v == 0 })
	waitQuery(t, prom, `sum by (profile) (perf_runs_total{result=~"success|slo_missed"})`, []string{"fast", "delayed"},
		func(p string, v float64) bool { return v > before[p] })
}
