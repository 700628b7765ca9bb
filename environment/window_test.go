package environment

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

// TestEvaluateRunWindow runs the whole path against real servers: Debian's
// prometheus scrapes Debian's node exporter and a fake meshed cluster every
// second; a "run" makes the cluster busy (and burns some CPU) for a few
// seconds; Evaluate then reads every built-in set over exactly that window.
func TestEvaluateRunWindow(t *testing.T) {
	cluster, _, cfg := startCluster(t)
	logger, logs := newLogger()
	env := New(cfg, logger, Options{})

	cluster.setBusy(true)
	start := time.Now()
	burnCPU(6 * time.Second)
	end := time.Now()
	cluster.setBusy(false)

	values := env.Evaluate(context.Background(), cfg.Profiles[0], start, end)
	t.Logf("Evaluate returned %s after the run's end (a 1s scrape wait, then %d queries)", time.Since(end).Round(time.Millisecond), len(values))
	logValues(t, start, end, values)

	got := map[string]result.EnvironmentValue{}
	for _, v := range values {
		got[v.Set+"/"+v.Name] = v
		if v.Error != "" {
			t.Errorf("%s/%s: %s", v.Set, v.Name, v.Error)
		}
		if v.Prometheus != "cluster" || v.Query == "" || strings.Contains(v.Query, "${") {
			t.Errorf("%s/%s: source %q, query %q: want the source and the query as run", v.Set, v.Name, v.Prometheus, v.Query)
		}
		if v.Max < v.Avg {
			t.Errorf("%s/%s: max %g below avg %g", v.Set, v.Name, v.Max, v.Avg)
		}
	}
	if len(values) != 5+2+6+6 {
		t.Errorf("got %d values, want 19 (every query of the four sets)", len(values))
	}

	// The real node: busy but not beyond full.
	if v := got["nodes/cpu_utilisation_ratio"]; !(v.Avg > 0 && v.Max <= 1) {
		t.Errorf("cpu_utilisation_ratio avg %g max %g, want in (0, 1]", v.Avg, v.Max)
	}
	if v := got["nodes/memory_utilisation_ratio"]; !(v.Avg > 0 && v.Avg < 1) {
		t.Errorf("memory_utilisation_ratio avg %g, want in (0, 1)", v.Avg)
	}

	// Rates of the fake cluster: its busy rates, from inside the window
	// only (the idle rates are at most a tenth of them). On a loaded
	// machine a scrape comes late now and then, and rate() extrapolates
	// less over the gap, hence the tolerance; a wrong selector (sidecars
	// or the pod cgroup counted as the target, the client-side reporter
	// counted too) is off by 50% or more.
	near := func(name string, want float64) {
		t.Helper()
		if v := got[name].Avg; math.Abs(v-want) > 0.25*want {
			t.Errorf("%s avg = %g, want %g ±25%%", name, v, want)
		}
	}
	near("istio/dataplane_cpu_cores", fakeIstioProxyCores)
	near("linkerd/dataplane_cpu_cores", fakeLinkerdProxyCores)
	near("kubernetes/target_cpu_cores", 2*fakeAppCores) // not the sidecars, POD or the pod's cgroup
	near("istio/controlplane_cpu_cores", fakeIstiodCores)
	near("linkerd/controlplane_cpu_cores", fakeLinkerdCPCores)
	near("istio/mesh_request_rate", fakeIstioRPS) // not reporter="source"
	near("linkerd/mesh_request_rate", fakeLinkerdRPS)
	// Quantiles of bucket rates that grow together do not depend on the
	// scrape timing.
	exact := func(name string, want, got float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	exact("istio/mesh_p99_latency_seconds avg", fakeIstioP99, got["istio/mesh_p99_latency_seconds"].Avg)
	exact("linkerd/mesh_p99_latency_seconds avg", fakeLinkerdP99, got["linkerd/mesh_p99_latency_seconds"].Avg)
	// A gauge that holds its busy value for the whole run averages to
	// exactly that value only if no point of the window saw the idle
	// value before the run.
	exact("istio/dataplane_memory_bytes avg", fakeIstioProxyBytes, got["istio/dataplane_memory_bytes"].Avg)
	// A gauge that grows during the run is read at the window's end
	// only: a 6s run is shorter than the 30s that cAdvisor's figures need
	// (their samples can be 15s old, so an earlier point could show the
	// idle value from before the run); the value is the grown one.
	if v := got["istio/controlplane_memory_bytes"]; !(v.Max == v.Avg && v.Avg > fakeIstiodBytes) {
		t.Errorf("istiod memory avg %g max %g, want max = avg > %d (one point, at the end)", v.Avg, v.Max, fakeIstiodBytes)
	}

	if up := upValues(t, env); up["cluster"] != 1 {
		t.Errorf("perf_prometheus_up = %v, want cluster 1", up)
	}
	if strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a clean evaluation logged problems:\n%s", logs)
	}
}

// startCluster starts Debian's prometheus scraping Debian's node exporter
// and a fake meshed cluster every second, and returns once it holds a few
// idle samples of each: a window that reached back before a run would
// average them in.
func startCluster(t testing.TB) (*fakeCluster, string, *config.Config) {
	node := testutil.StartNodeExporter(t, "--collector.disable-defaults",
		"--collector.cpu", "--collector.meminfo", "--collector.loadavg", "--collector.netdev")
	cluster := newFakeCluster()
	fake := httptest.NewServer(cluster)
	t.Cleanup(fake.Close)
	prom := testutil.StartPrometheus(t, testutil.PrometheusOptions{ScrapeConfigs: fmt.Sprintf(`
- job_name: node
  static_configs: [{targets: [%q]}]
- job_name: kubernetes-cadvisor-and-meshes
  static_configs: [{targets: [%q]}]
`, node, strings.TrimPrefix(fake.URL, "http://"))})

	cfg := parseConfig(t, fmt.Sprintf(`
prometheus:
  - {name: cluster, url: %q, scrape_interval: 1s}
profiles:
  - name: checkout
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    load: {duration: 6s}
    environment: [nodes, kubernetes, istio, linkerd]
    environment_vars: {namespace: shop, workload: checkout}
`, prom))
	waitForQuery(t, prom, `count(up == 1)`, 2)
	waitForQuery(t, prom, `count_over_time(container_cpu_usage_seconds_total{container="istio-proxy"}[1m])`, 3)
	return cluster, prom, cfg
}

// BenchmarkEvaluate measures the queries of all four built-in sets (19)
// over a 6s window of a real Prometheus, without the wait for the last
// scrape (the window ended long enough ago).
func BenchmarkEvaluate(b *testing.B) {
	cluster, _, cfg := startCluster(b)
	cluster.setBusy(true)
	time.Sleep(8 * time.Second)
	end := time.Now().Add(-time.Second)
	env := New(cfg, slog.New(slog.DiscardHandler), Options{})
	b.ResetTimer()
	for b.Loop() {
		for _, v := range env.Evaluate(context.Background(), cfg.Profiles[0], end.Add(-6*time.Second), end) {
			if v.Error != "" {
				b.Fatalf("%s/%s: %s", v.Set, v.Name, v.Error)
			}
		}
	}
}

// burnCPU is the stand-in for the load test: it keeps half a core busy,
// enough to show on the node without starving the scrapes.
func burnCPU(d time.Duration) {
	deadline := time.Now().Add(d)
	x := 0
	for time.Now().Before(deadline) {
		busy := time.Now().Add(10 * time.Millisecond)
		for time.Now().Before(busy) {
			x++
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = x
}

func logValues(t *testing.T, start, end time.Time, values []result.EnvironmentValue) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "window %s .. %s (%.1fs)\n", start.Format("15:04:05.000"), end.Format("15:04:05.000"), end.Sub(start).Seconds())
	for _, v := range values {
		fmt.Fprintf(&b, "  %-11s %-34s avg %-14.6g max %-14.6g %s\n", v.Set, v.Name, v.Avg, v.Max, v.Error)
	}
	t.Log(b.String())
}

// TestEvaluateUserSets: user sets pick their source, fill profile
// variables, and each kind of broken query gets its own error without
// marking a server that answered as down or being logged on every run.
func TestEvaluateUserSets(t *testing.T) {
	prom := testutil.StartPrometheus(t, testutil.PrometheusOptions{})
	closed := testutil.FreeAddr(t)
	cfg := parseConfig(t, fmt.Sprintf(`
global: {environment_window: {margin: 1s}}
prometheus:
  - {name: first, url: "http://%s", scrape_interval: 1s}
  - {name: second, url: %q, scrape_interval: 1s}
environment_sets:
  custom:
    - {name: constant, query: 'vector(2)', prometheus: second}
    - {name: team_var, query: 'count(label_replace(vector(1), "team", "${team}", "", ""))', prometheus: second}
    - {name: two_series, query: 'label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")', prometheus: second}
    - {name: bad_promql, query: 'vector(1)', prometheus: second}
    - {name: no_data, query: 'sum(no_such_metric_anywhere)', prometheus: second}
    - {name: unset_var, query: 'vector(1)', prometheus: second}
    - {name: default_source, query: 'vector(1)'}
profiles:
  - name: checkout
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    environment: [custom]
    environment_vars: {team: payments}
`, closed, prom))
	// Validation rejects these two before anything runs; should one reach a
	// run all the same, it is reported there.
	custom := cfg.EnvironmentSets["custom"]
	custom[3].Query = `sum(rate(x[5m])`
	custom[5].Query = `vector(${nope})`
	logger, logs := newLogger()
	env := New(cfg, logger, Options{})
	end := time.Now().Add(-time.Second)

	want := map[string]struct{ source, err string }{
		"constant":       {"second", ""},
		"team_var":       {"second", ""},
		"two_series":     {"second", "it must return one"},
		"bad_promql":     {"second", "query: bad_data"},
		"no_data":        {"second", "no data in the window"},
		"unset_var":      {"second", "${nope}"},
		"default_source": {"first", "refused"},
	}
	for range 2 {
		values := env.Evaluate(context.Background(), cfg.Profiles[0], end.Add(-5*time.Second), end)
		logValues(t, end.Add(-5*time.Second), end, values)
		if len(values) != len(want) {
			t.Fatalf("%d values, want %d", len(values), len(want))
		}
		for _, v := range values {
			w := want[v.Name]
			if v.Prometheus != w.source || (w.err == "") != (v.Error == "") || !strings.Contains(v.Error, w.err) {
				t.Errorf("%s: source %q error %q, want source %q error containing %q", v.Name, v.Prometheus, v.Error, w.source, w.err)
			}
		}
		if v := values[0]; v.Avg != 2 || v.Max != 2 {
			t.Errorf("vector(2): avg %g max %g, want 2 and 2", v.Avg, v.Max)
		}
		if q := values[1].Query; !strings.Contains(q, `"payments"`) {
			t.Errorf("query as run %q does not hold the profile's team", q)
		}
	}
	if up := upValues(t, env); up["first"] != 0 || up["second"] != 1 {
		t.Errorf("perf_prometheus_up = %v, want first 0 (refused) and second 1 (answered, even with bad queries)", up)
	}
	// Two runs: the down source once, each broken query once.
	if n := strings.Count(logs.String(), "prometheus source failed"); n != 1 {
		t.Errorf("logged %d source failures, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "environment query failed"); n != 4 {
		t.Errorf("logged %d query failures, want 4 (one per broken query):\n%s", n, logs)
	}
}
