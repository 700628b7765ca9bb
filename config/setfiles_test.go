package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Sets from environment_set_files join environment_sets, with their
// aggregate wrapped around the query as it runs.
func TestEnvironmentSetFilesAreIncluded(t *testing.T) {
	cfg, err := LoadFile("testdata/good-set-files.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set := cfg.EnvironmentSets["board"]
	if len(set) != 3 {
		t.Fatalf("set board = %+v, want the file's 3 queries", set)
	}
	want := []string{
		`sum(rate(http_requests_total{job="checkout"}[${rate_interval}]))`,
		`max(histogram_quantile(0.99, sum by (le) (rate(h_bucket[${rate_interval}]))))`,
		`increase(x[${range}]) / ${range_s}`,
	}
	for i, q := range set {
		if q.Expr() != want[i] {
			t.Errorf("query %s runs as %s, want %s", q.Name, q.Expr(), want[i])
		}
	}
}

// A reload reads the set files again: a changed set file is a changed
// config even when the config file is the same bytes; unchanged files are
// not reloaded; a broken set file keeps the previous config.
func TestReloadReadsEnvironmentSetFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yaml", `prometheus: [{name: cluster, url: "http://127.0.0.1:9090"}]
environment_set_files: [sets-*.yaml]
`)
	write("sets-board.yaml", "board: [{name: a, query: up, aggregate: sum}]\n")
	f, err := OpenFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := f.Reload(); err != nil || changed {
		t.Fatalf("reload of unchanged files: changed %v, err %v", changed, err)
	}
	write("sets-board.yaml", "board: [{name: a, query: up, aggregate: max}, {name: b, query: up}]\n")
	cfg, changed, err := f.Reload()
	if err != nil || !changed {
		t.Fatalf("reload after the set file changed: changed %v, err %v", changed, err)
	}
	if got := cfg.EnvironmentSets["board"]; len(got) != 2 || got[0].Aggregate != "max" {
		t.Errorf("reloaded set = %+v", got)
	}
	write("sets-other.yaml", "other: [{name: c, query: up}]\n")
	if cfg, changed, err = f.Reload(); err != nil || !changed || len(cfg.EnvironmentSets["other"]) != 1 {
		t.Fatalf("reload after a set file was added: changed %v, err %v, sets %v", changed, err, cfg.EnvironmentSets)
	}
	write("sets-other.yaml", "other: [{name: c, query: 'up{'}]\n")
	cfg, _, err = f.Reload()
	if err == nil {
		t.Fatal("a broken set file was accepted")
	}
	if want := filepath.Join(dir, "sets-other.yaml") + ":1: "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if len(cfg.EnvironmentSets["other"]) != 1 || cfg.EnvironmentSets["other"][0].Query != "up" {
		t.Errorf("the previous config is not kept: %v", cfg.EnvironmentSets)
	}
}

func TestGrafanaAnnotationsSettings(t *testing.T) {
	cfg, err := Parse([]byte(`grafana:
  url: http://grafana:3000
  annotations: {enabled: true, dashboards: [team-a], external_url: "https://perf.example/"}
`), "ok.yaml")
	if err != nil || !cfg.Grafana.Annotations.Enabled || cfg.Grafana.Annotations.Dashboards[0] != "team-a" {
		t.Fatalf("cfg %+v, err %v", cfg, err)
	}
	_, err = Parse([]byte(`grafana:
  url: http://grafana:3000
  annotations:
    enabled: true
    dashboards: ["team a"]
    external_url: perf.example
    tags: [x]
`), "bad.yaml")
	want := `bad.yaml:5: grafana.annotations.dashboards: "team a" is not a board uid (1 to 40 letters, digits, '-' or '_')
bad.yaml:6: grafana.annotations.external_url "perf.example" must be an absolute http:// or https:// URL without credentials
bad.yaml:7: unknown key "tags" in grafana.annotations`
	if err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}
