package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

// nodeBoard is a team's board of node_exporter panels, on a datasource
// whose URL is the real Prometheus: a multi-series rate with
// $__rate_interval, a gauge filtered by a variable set to All, a stat.
func nodeBoard() map[string]any {
	ds := map[string]any{"type": "prometheus", "uid": "${datasource}"}
	return map[string]any{
		"uid": "node-board", "title": "Node", "version": 3,
		"templating": map[string]any{"list": []any{
			map[string]any{"type": "datasource", "name": "datasource", "query": "prometheus", "current": map[string]any{"value": "local-prom", "text": "Local"}},
			map[string]any{"type": "custom", "name": "job", "query": "node", "current": map[string]any{"value": "node", "text": "node"}},
			map[string]any{"type": "query", "name": "instance", "multi": true, "includeAll": true, "current": map[string]any{"value": []any{"$__all"}, "text": []any{"All"}}},
		}},
		"panels": []any{
			map[string]any{"type": "timeseries", "title": "CPU busy", "datasource": ds, "targets": []any{
				map[string]any{"refId": "A", "expr": `sum by (mode) (rate(node_cpu_seconds_total{job="$job", mode!="idle"}[$__rate_interval]))`}}},
			map[string]any{"type": "stat", "title": "Memory available", "datasource": ds, "targets": []any{
				map[string]any{"refId": "A", "expr": `node_memory_MemAvailable_bytes{job="$job", instance=~"$instance"}`}}},
			map[string]any{"type": "row", "title": "More", "collapsed": true, "panels": []any{
				map[string]any{"type": "timeseries", "title": "Idle CPUs per node", "datasource": ds, "targets": []any{
					map[string]any{"refId": "A", "expr": `sum(rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval])) / count(up{job="$job"})`}}},
			}},
			map[string]any{"type": "logs", "title": "Logs", "datasource": map[string]any{"type": "loki", "uid": "loki"}, "targets": []any{
				map[string]any{"refId": "A", "expr": `{job="node"}`}}},
		},
	}
}

// TestImportedBoardInEveryRun is the round trip a team does: import its
// board's panels as an environment set, run, and read in the run's
// document and in perf_environment_value the values of its own queries
// over the run's window, equal to the same PromQL asked of Prometheus
// directly over that window.
func TestImportedBoardInEveryRun(t *testing.T) {
	bin := testutil.BuildBinary(t)
	node := testutil.StartNodeExporter(t, "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo")
	promURL := testutil.StartPrometheus(t, testutil.PrometheusOptions{Targets: []string{node}, JobName: "node", ScrapeInterval: time.Second})
	const token = "glsa_e2e_board_import"
	grafana := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{token: {Role: grafanatest.Editor}}})
	grafana.AddDatasource(1, grafanatest.Datasource{UID: "local-prom", Name: "Local", URL: promURL + "/"})
	grafana.AddDashboard(1, grafanatest.Dashboard{Model: nodeBoard()})

	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	base := fmt.Sprintf(`global: {environment_window: {margin: 1s}}
prometheus: [{name: local, url: %q, scrape_interval: 1s}]
environment_set_files: [sets/*.yaml]
`, promURL)
	if err := os.WriteFile(cfgFile, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sets"), 0o755); err != nil {
		t.Fatal(err)
	}

	// 1. Import the board's panels as the set node_board.
	cmd := exec.Command(bin, "dashboards", "import", "--config.file", cfgFile, "--grafana.url", grafana.URL,
		"--uid", "node-board", "--environment-set", "node_board", "--out", filepath.Join(dir, "sets", "node.yaml"))
	cmd.Env = append(os.Environ(), "GRAFANA_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), `imported 3 queries of 3 panels of board "node-board" into environment set "node_board"`) ||
		!strings.Contains(string(out), `skipped panel "Logs" query A: datasource "loki" is of type loki, not prometheus`) {
		t.Fatalf("import: %v\n%s", err, out)
	}

	// 2. A profile records the set in every run.
	target := startTarget(t, bin)
	profile := fmt.Sprintf(`profiles:
  - name: board
    schedule: "@every 1h"
    run_on_start: true
    target: {url: "%s/echo"}
    load: {qps: 50, connections: 2, duration: 8s}
    environment: [node_board]
`, target)
	if err := os.WriteFile(cfgFile, []byte(base+profile), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreeAddr(t)
	testutil.StartProcess(t, bin, "--config.file", cfgFile, "--web.listen-address", addr, "--storage.path", filepath.Join(dir, "data"))
	exporterURL := "http://" + addr
	testutil.WaitHTTP(t, exporterURL+"/-/ready", 10*time.Second)

	// 3. The run's document gets the values once Prometheus has the
	// window's last scrape.
	var doc result.Document
	testutil.WaitFor(t, 90*time.Second, "the run's environment values", func() bool {
		ids := listRunIDs(t, exporterURL, "board")
		if len(ids) == 0 {
			return false
		}
		if err := json.Unmarshal([]byte(get(t, exporterURL+"/api/v1/results/"+ids[0])), &doc); err != nil {
			t.Fatal(err)
		}
		return len(doc.PerfExporter.Environment) > 0
	})
	values := doc.PerfExporter.Environment
	if len(values) != 3 {
		t.Fatalf("environment values %+v, want the 3 imported queries", values)
	}
	gauges := environmentGauges(t, get(t, exporterURL+"/metrics"))
	prom := promAPI(t, promURL)
	from := doc.StartTime.Add(time.Second)
	to := doc.StartTime.Add(doc.ActualDuration - time.Second)
	for _, v := range values {
		if v.Error != "" || v.Set != "node_board" || v.Prometheus != "local" {
			t.Errorf("%s: %+v", v.Name, v)
			continue
		}
		avg, peak := direct(t, prom, v.Query, from, to, time.Second)
		if !same(v.Avg, avg) || !same(v.Max, peak) {
			t.Errorf("%s = avg %v max %v; asked directly over the window: avg %v max %v\n%s", v.Name, v.Avg, v.Max, avg, peak, v.Query)
		}
		if g, ok := gauges[v.Name]; !ok || !same(g, v.Avg) {
			t.Errorf("perf_environment_value{set=\"node_board\",name=%q} = %v (present %v), want the document's %v", v.Name, g, ok, v.Avg)
		}
		t.Logf("%s: avg %g max %g (%s)", v.Name, v.Avg, v.Max, v.Query)
	}
	if page := get(t, exporterURL+"/runs/"+doc.PerfExporter.RunID); !strings.Contains(page, "cpu_busy_a") || !strings.Contains(page, "memory_available_a") {
		t.Errorf("the run page does not show the imported values")
	}
	if q := values[0].Query; q != `sum(sum by (mode) (rate(node_cpu_seconds_total{job="node", mode!="idle"}[4s])))` {
		t.Errorf("the CPU query ran as %s", q)
	}
}

// direct asks Prometheus for a query over a window the way the
// environment's contract says each run does (environment.Evaluate): a
// range query at every step, points placed backwards from the window's
// end, none earlier than rate_interval (four steps, at most the window)
// after its start; the mean and the maximum of the points.
func direct(t *testing.T, prom v1.API, query string, from, to time.Time, step time.Duration) (avg, peak float64) {
	t.Helper()
	window := to.Sub(from)
	ri := min(4*step, window).Truncate(time.Millisecond)
	span := window - ri
	r := v1.Range{Start: to.Add(-step * (span / step)), End: to, Step: step}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	val, _, _, err := prom.QueryRange(ctx, query, r)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	m, ok := val.(model.Matrix)
	if !ok || len(m) != 1 {
		t.Fatalf("%s: %v, want one series", query, val)
	}
	n, sum, lo, hi := 0, 0.0, math.Inf(1), math.Inf(-1)
	for _, p := range m[0].Values {
		v := float64(p.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		n++
		sum += v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if n == 0 {
		t.Fatalf("%s: no points", query)
	}
	return math.Min(math.Max(sum/float64(n), lo), hi), hi
}

func same(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// environmentGauges reads perf_environment_value of the set node_board by
// query name from an exposition.
func environmentGauges(t *testing.T, exposition string) map[string]float64 {
	t.Helper()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	family := families["perf_environment_value"]
	if family == nil {
		return out
	}
	for _, m := range family.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["set"] == "node_board" && labels["profile"] == "board" {
			out[labels["name"]] = m.GetGauge().GetValue()
		}
	}
	return out
}
