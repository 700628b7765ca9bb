package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perf-exporter/perf-exporter/dashboards"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

// A team imports two panels of its board as an environment set next to
// its config, and check config accepts the config that includes it.
func TestDashboardsImportEnvironmentSet(t *testing.T) {
	s := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{cliToken: {Role: grafanatest.Editor}}})
	s.AddDatasource(1, grafanatest.Datasource{UID: "prom", Name: "Prometheus", URL: "http://prometheus.monitoring:9090"})
	ds := map[string]any{"type": "prometheus", "uid": "prom"}
	s.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"uid": "svc", "title": "Service", "panels": []any{
		map[string]any{"type": "timeseries", "title": "CPU", "datasource": ds, "targets": []any{
			map[string]any{"refId": "A", "expr": `rate(process_cpu_seconds_total{job="svc"}[$__rate_interval])`}}},
		map[string]any{"type": "stat", "title": "Memory", "datasource": ds, "targets": []any{
			map[string]any{"refId": "A", "expr": `process_resident_memory_bytes{job="svc"}`}}},
		map[string]any{"type": "logs", "title": "Logs", "datasource": map[string]any{"type": "loki", "uid": "loki"}, "targets": []any{
			map[string]any{"refId": "A", "expr": `{job="svc"}`}}},
	}}})
	t.Setenv(dashboards.TokenEnv, cliToken)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "perf.yaml")
	writeTestFile(t, cfgFile, "grafana: {url: "+s.URL+"}\n"+
		"prometheus: [{name: cluster, url: \"http://prometheus.monitoring:9090/\"}]\n"+
		"environment_set_files: [sets/*.yaml]\n"+
		"profiles: [{name: svc, schedule: \"@every 10m\", target: {url: \"http://svc/\"}, environment: [service]}]\n")
	if err := os.Mkdir(filepath.Join(dir, "sets"), 0o755); err != nil {
		t.Fatal(err)
	}
	setFile := filepath.Join(dir, "sets", "service.yaml")
	flags := &grafanaFlags{configFile: cfgFile, timeout: 5e9}
	imp := &importArgs{grafana: flags, uid: "svc", out: setFile, set: "service", panels: "CPU, Memory", aggregate: "sum"}
	// The config names a set no file holds yet: it cannot load before the
	// import, so the import reads its sources without it.
	var out bytes.Buffer
	err := imp.run(context.Background(), slog.New(slog.DiscardHandler), &out)
	if err == nil || !strings.Contains(err.Error(), `unknown environment set "service"`) {
		t.Fatalf("import with a config that needs the set: %v", err)
	}
	// Set up the way the README says: import first, then name the set.
	writeTestFile(t, cfgFile, "grafana: {url: "+s.URL+"}\n"+
		"prometheus: [{name: cluster, url: \"http://prometheus.monitoring:9090/\"}]\n"+
		"environment_set_files: [sets/*.yaml]\n")
	out.Reset()
	if err := imp.run(context.Background(), slog.New(slog.DiscardHandler), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), `imported 2 queries of 2 panels of board "svc" into environment set "service" (`+setFile+`)`) {
		t.Errorf("import said:\n%s", out.String())
	}
	data, _ := os.ReadFile(setFile)
	for _, want := range []string{"query: rate(process_cpu_seconds_total{job=\"svc\"}[${rate_interval}])", "prometheus: cluster", "aggregate: sum"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("set file lacks %q:\n%s", want, data)
		}
	}
	writeTestFile(t, cfgFile, "prometheus: [{name: cluster, url: \"http://prometheus.monitoring:9090/\"}]\n"+
		"environment_set_files: [sets/*.yaml]\n"+
		"profiles: [{name: svc, schedule: \"@every 10m\", target: {url: \"http://svc/\"}, environment: [service]}]\n")
	var stdout, stderr bytes.Buffer
	if code := checkConfig(cfgFile, &stdout, &stderr); code != 0 {
		t.Errorf("check config of the config including the set: %d\n%s", code, stderr.String())
	}

	// Only the Loki panel: nothing to import is an error, and no file.
	only := &importArgs{grafana: &grafanaFlags{url: s.URL, timeout: 5e9}, uid: "svc", out: filepath.Join(dir, "none.yaml"), set: "logs", panels: "Logs", aggregate: "sum"}
	if err := only.run(context.Background(), slog.New(slog.DiscardHandler), &out); err == nil || !strings.Contains(err.Error(), "no query") {
		t.Errorf("import of a Loki panel: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("a set file was written with no query")
	}
	// The set-mode flags without the set are an error naming the flag.
	if err := (&importArgs{grafana: flags, uid: "svc", panels: "CPU"}).run(context.Background(), slog.New(slog.DiscardHandler), &out); err == nil || !strings.Contains(err.Error(), "--panels") {
		t.Errorf("--panels without --environment-set: %v", err)
	}
}

// dashboards import --annotations: the saved board gains the query of the
// runs' annotations, and provisioning it back puts it on the board.
func TestDashboardsImportAddsAnnotationQuery(t *testing.T) {
	s := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{cliToken: {Role: grafanatest.Editor}}})
	s.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"uid": "svc", "title": "Service", "panels": []any{}}})
	t.Setenv(dashboards.TokenEnv, cliToken)
	file := filepath.Join(t.TempDir(), "svc.yaml")
	flags := &grafanaFlags{url: s.URL, timeout: 5e9}
	var out bytes.Buffer
	if err := (&importArgs{grafana: flags, uid: "svc", out: file, annotations: true}).run(context.Background(), slog.New(slog.DiscardHandler), &out); err != nil {
		t.Fatal(err)
	}
	if err := (&provisionArgs{grafana: flags, overwrite: true, files: []string{file}}).run(context.Background(), slog.New(slog.DiscardHandler), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	board, _ := s.Dashboard(1, "svc")
	annotations, _ := board.Model["annotations"].(map[string]any)
	list, _ := annotations["list"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["name"] != "perf-exporter annotations" {
		t.Errorf("board annotations after the round trip: %v", annotations)
	}
}
