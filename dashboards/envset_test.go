package dashboards

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// teamFake is a Grafana holding a team's own service board (rates,
// histogram_quantile with $__rate_interval, a multi-value variable set to
// All, a stat panel, a collapsed row with nested panels, Loki, SQL, a
// library panel) and its datasources.
func teamFake(t *testing.T) *grafanatest.Server {
	t.Helper()
	s := editorFake(t, grafanatest.Grafana11)
	data, err := os.ReadFile("testdata/team-board.json")
	if err != nil {
		t.Fatal(err)
	}
	var model map[string]any
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatal(err)
	}
	s.AddDashboard(1, grafanatest.Dashboard{Model: model, Version: 7})
	s.AddDatasource(1, grafanatest.Datasource{UID: "prom-main", Name: "Main", URL: "http://prometheus.monitoring:9090/", JSONData: map[string]any{"timeInterval": "15s"}})
	s.AddDatasource(1, grafanatest.Datasource{UID: "loki-main", Name: "Logs", Type: "loki", URL: "http://loki:3100"})
	return s
}

var teamSources = []config.PrometheusSource{
	{Name: "local", URL: "http://127.0.0.1:9090"},
	{Name: "cluster", URL: "http://Prometheus.monitoring:9090"},
}

// The team board becomes the environment set in the golden file, byte for
// byte: variables resolved as Grafana would for the saved state, interval
// variables left for each run, every skipped panel listed with its reason.
func TestImportEnvironmentSetGolden(t *testing.T) {
	s := teamFake(t)
	imp, err := testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc",
		SetImportOptions{Set: "checkout", Sources: teamSources})
	if err != nil {
		t.Fatal(err)
	}
	got, err := imp.YAML()
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/team-board.set.yaml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("set file differs from %s (go test -run %s -update rewrites it):\n%s", golden, t.Name(), got)
	}
	// The file is what the config includes: it loads, and each query is
	// valid PromQL once the run's variables are filled.
	dir := t.TempDir()
	writeFile(t, dir+"/checkout.yaml", string(got))
	writeFile(t, dir+"/config.yaml", `prometheus:
  - {name: local, url: "http://127.0.0.1:9090"}
  - {name: cluster, url: "http://prometheus.monitoring:9090"}
environment_set_files: [checkout.yaml]
profiles:
  - name: checkout
    schedule: "@every 10m"
    target: {url: "http://checkout:8080/"}
    environment: [checkout]
`)
	cfg, err := config.LoadFile(dir + "/config.yaml")
	if err != nil {
		t.Fatalf("the imported set does not load:\n%v", err)
	}
	if n := len(cfg.EnvironmentSets["checkout"]); n != len(imp.Queries) || n == 0 {
		t.Errorf("config has %d queries of the set, the import %d", n, len(imp.Queries))
	}
	if summary := imp.Summary("checkout.yaml"); !strings.HasPrefix(summary, `imported 6 queries of 5 panels of board "checkout-svc" into environment set "checkout" (checkout.yaml)`) {
		t.Errorf("summary:\n%s", summary)
	}
}

// Panel preferences: the panels chosen, in the order given (the run page's
// order), renamed where asked: a renamed panel's one query takes the name,
// several take name_<refId>.
func TestImportEnvironmentSetPanelPreferences(t *testing.T) {
	s := teamFake(t)
	choices := ParsePanelChoices("Latency p99 = p99_seconds, Checkout DB connections, Request rate=rps")
	if len(choices) != 3 || choices[0] != (PanelChoice{Title: "Latency p99", Name: "p99_seconds"}) || choices[1] != (PanelChoice{Title: "Checkout DB connections"}) {
		t.Fatalf("choices = %+v", choices)
	}
	imp, err := testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc",
		SetImportOptions{Set: "checkout", Sources: teamSources, Panels: choices})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, q := range imp.Queries {
		names = append(names, q.Name)
	}
	if want := "p99_seconds checkout_db_connections_a rps_a rps_b"; strings.Join(names, " ") != want {
		t.Errorf("queries %v, want %s", names, want)
	}
	if len(imp.Skipped) != 0 {
		t.Errorf("skipped %v", imp.Skipped)
	}
	_, err = testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc",
		SetImportOptions{Set: "checkout", Panels: ParsePanelChoices("Request rates")})
	if err == nil || !strings.Contains(err.Error(), `no panel titled "Request rates" (its panels: "Request rate", "Latency p99"`) {
		t.Errorf("unknown title: %v", err)
	}
}

// Which source the queries run on: the one named, else the one with the
// datasource's URL; a datasource of no source's URL, or one the token may
// not read, is skipped with what to do.
func TestImportEnvironmentSetSources(t *testing.T) {
	s := teamFake(t)
	panels := ParsePanelChoices("Latency p99")
	imp, err := testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc",
		SetImportOptions{Set: "x", Panels: panels, Sources: []config.PrometheusSource{{Name: "other", URL: "http://elsewhere:9090"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Queries) != 0 || len(imp.Skipped) != 1 || !strings.Contains(imp.Skipped[0].Reason, `datasource "Main" (http://prometheus.monitoring:9090/) has the URL of none of the prometheus sources (other): pass --prometheus NAME`) {
		t.Errorf("no source of that URL: %+v", imp)
	}
	imp, err = testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc",
		SetImportOptions{Set: "x", Panels: panels, Prometheus: "other", Sources: []config.PrometheusSource{{Name: "other", URL: "http://elsewhere:9090"}}})
	if err != nil || len(imp.Queries) != 1 || imp.Queries[0].Prometheus != "other" {
		t.Errorf("--prometheus other: %+v, %v", imp, err)
	}
	if _, err := testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc",
		SetImportOptions{Set: "x", Panels: panels, Prometheus: "nope", Sources: teamSources}); err == nil || !strings.Contains(err.Error(), `--prometheus "nope" is none of the config's prometheus sources (local, cluster)`) {
		t.Errorf("--prometheus nope: %v", err)
	}
	imp, err = testClient(t, s).ImportEnvironmentSet(context.Background(), "checkout-svc", SetImportOptions{Set: "x", Panels: panels})
	if err != nil || len(imp.Queries) != 1 || imp.Queries[0].Prometheus != "" || !strings.Contains(strings.Join(imp.Notes, "\n"), "run on the config's first") {
		t.Errorf("no sources: %+v, %v", imp, err)
	}
	// A Viewer token may read the board but not the datasource.
	viewer := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{testToken: {Role: grafanatest.Viewer}}})
	data, _ := os.ReadFile("testdata/team-board.json")
	var model map[string]any
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatal(err)
	}
	viewer.AddDashboard(1, grafanatest.Dashboard{Model: model})
	viewer.AddDatasource(1, grafanatest.Datasource{UID: "prom-main", Name: "Main", URL: "http://prometheus.monitoring:9090/"})
	imp, err = testClient(t, viewer).ImportEnvironmentSet(context.Background(), "checkout-svc", SetImportOptions{Set: "x", Panels: panels, Sources: teamSources})
	if err != nil || len(imp.Skipped) != 1 || !strings.Contains(imp.Skipped[0].Reason, "403") || !strings.Contains(imp.Skipped[0].Reason, "pass --prometheus NAME") {
		t.Errorf("viewer: %+v, %v", imp, err)
	}
	imp, err = testClient(t, viewer).ImportEnvironmentSet(context.Background(), "checkout-svc", SetImportOptions{Set: "x", Panels: panels, Prometheus: "cluster", Sources: teamSources})
	if err != nil || len(imp.Queries) != 1 {
		t.Errorf("viewer with --prometheus: %+v, %v", imp, err)
	}
}
