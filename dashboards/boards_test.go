package dashboards

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/environment"
)

// exporterMetrics are the series perf-exporter exposes that the boards
// show (README's metrics table). e2e/boards_test.go checks the
// boards against the exposition of a real run as well, so a metric renamed
// in the collector fails there even if this list is not updated.
var exporterMetrics = []string{
	"perf_run_request_duration_seconds_bucket",
	"perf_run_request_duration_seconds_sum",
	"perf_run_request_duration_seconds_count",
	"perf_run_requests_total",
	"perf_run_latency_seconds",
	"perf_run_achieved_rps",
	"perf_run_requested_rps",
	"perf_run_error_ratio",
	"perf_run_duration_seconds",
	"perf_run_connections",
	"perf_run_success",
	"perf_run_last_timestamp_seconds",
	"perf_run_last_success_timestamp_seconds",
	"perf_runs_total",
	"perf_run_schedule_lateness_seconds",
	"perf_run_send_lateness_seconds",
	"perf_run_corrected_latency_seconds",
	"perf_run_latency_baseline_seconds",
	"perf_regression_open",
	"perf_regression_change_ratio",
	"perf_regression_started_timestamp_seconds",
	"perf_change_points_total",
	"perf_profile_info",
	"perf_profile_slo_latency_seconds",
	"perf_profile_slo_error_ratio",
	"perf_profile_schedule_interval_seconds",
	"perf_profile_max_success_age_seconds",
	"perf_environment_value",
	"perf_prometheus_up",
	"perf_exporter_config_last_reload_successful",
	"perf_exporter_config_last_reload_success_timestamp_seconds",
	"perf_exporter_build_info",
}

// prometheusMetrics are series Prometheus itself makes from our alert rules.
var prometheusMetrics = []string{"ALERTS"}

// lintValues stand in for Grafana's variables when a query is parsed.
var lintValues = map[string]string{"profile": "checkout", "__rate_interval": "1m", "__interval": "30s", "__range": "1h"}

// metricNames returns the metric names an expression selects.
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					names = append(names, m.Value)
				}
			}
		}
		return nil
	})
	return names
}

// lintQueries checks every query of the boards: it parses as PromQL once
// Grafana's variables are filled in, and selects only metrics perf-exporter
// (or Prometheus, for ALERTS) exposes. It returns the problems and the
// metrics used.
func lintQueries(boards []Board) (problems []string, used map[string]bool, total int) {
	known := append(slices.Clone(exporterMetrics), prometheusMetrics...)
	p := parser.NewParser(parser.Options{})
	used = map[string]bool{}
	var envNames []string
	for _, set := range environment.BuiltinSets() {
		for _, q := range set.Queries {
			envNames = append(envNames, q.Name)
		}
	}
	for _, b := range boards {
		qs := b.Queries()
		if len(qs) == 0 {
			problems = append(problems, b.Name+": no queries")
		}
		for _, q := range qs {
			total++
			if strings.TrimSpace(q.Expr) == "" {
				problems = append(problems, q.Where+": empty expr")
				continue
			}
			filled, err := ExpandVariables(q.Expr, lintValues)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", q.Where, err))
			}
			expr, err := p.ParseExpr(filled)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: does not parse: %v", q.Where, err))
				continue
			}
			for _, n := range environmentNames(expr) {
				if !slices.Contains(envNames, n) {
					problems = append(problems, fmt.Sprintf("%s: no built-in environment set has a query named %s", q.Where, n))
				}
			}
			names := metricNames(expr)
			if len(names) == 0 {
				problems = append(problems, q.Where+": selects no metric by name")
			}
			for _, n := range names {
				used[n] = true
				if !slices.Contains(known, n) {
					problems = append(problems, fmt.Sprintf("%s: metric %s is not exposed", q.Where, n))
				}
			}
		}
	}
	return problems, used, total
}

// environmentNames returns the query names an expression selects from
// perf_environment_value{name="..."}.
func environmentNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || vs.Name != "perf_environment_value" {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == "name" && m.Type == labels.MatchEqual {
				names = append(names, m.Value)
			}
		}
		return nil
	})
	return names
}

// TestBoardQueries is the board lint, so no panel is empty by a typo.
func TestBoardQueries(t *testing.T) {
	boards, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	problems, used, total := lintQueries(boards)
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d queries over %d boards", total, len(boards))
	// Every series of DESIGN §4 is shown somewhere (the histogram through
	// its buckets): "make every series readable at a glance".
	for _, m := range exporterMetrics {
		if strings.HasSuffix(m, "_sum") || strings.HasSuffix(m, "_count") {
			continue
		}
		if !used[m] {
			t.Errorf("metric %s is on no board", m)
		}
	}
}

// TestLintCatchesMistakes shows the lint fails on the mistakes it exists for.
func TestLintCatchesMistakes(t *testing.T) {
	bad := Board{Name: "bad", Model: map[string]any{"panels": []any{
		map[string]any{"title": "typo", "targets": []any{map[string]any{"refId": "A", "expr": `perf_run_latency_secnods{profile=~"$profile"}`}}},
		map[string]any{"title": "syntax", "targets": []any{map[string]any{"refId": "A", "expr": `sum by (profile (perf_run_success)`}}},
		map[string]any{"title": "environment", "targets": []any{map[string]any{"refId": "A", "expr": `perf_environment_value{name="cpu_utilization_ratio"}`}}},
		map[string]any{"title": "variable", "targets": []any{map[string]any{"refId": "A", "expr": `perf_run_success{profile="$profle"}`}}},
		map[string]any{"type": "row", "title": "row", "panels": []any{
			map[string]any{"title": "nested", "targets": []any{map[string]any{"refId": "B", "expr": `rate(perf_requests_total[$__rate_interval])`}}},
		}},
	}}}
	problems, _, _ := lintQueries([]Board{bad})
	want := []string{
		`bad: panel "typo" target A: metric perf_run_latency_secnods is not exposed`,
		`bad: panel "syntax" target A: does not parse`,
		`bad: panel "environment" target A: no built-in environment set has a query named cpu_utilization_ratio`,
		`bad: panel "variable" target A: unknown template variable $profle`,
		`bad: panel "nested" target B: metric perf_requests_total is not exposed`,
	}
	if len(problems) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(problems, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, problems[i], w)
		}
	}
}

func TestBoardStructure(t *testing.T) {
	boards, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Boards()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	want := slices.Sorted(slices.Values(config.GrafanaBoardNames))
	if !slices.Equal(names, want) {
		t.Fatalf("embedded boards %v, config.GrafanaBoardNames %v: they must match", names, want)
	}
	uids := map[string]bool{}
	for _, b := range boards {
		t.Run(b.Name, func(t *testing.T) {
			m := b.Model
			if got := m["schemaVersion"]; got != float64(39) {
				t.Errorf("schemaVersion = %v, want 39 (the oldest Grafana we support)", got)
			}
			if uid := b.UID(); uid != "perf-exporter-"+b.Name || len(uid) > 40 {
				t.Errorf("uid = %q, want perf-exporter-%s", uid, b.Name)
			}
			if uids[b.UID()] {
				t.Errorf("uid %q used twice", b.UID())
			}
			uids[b.UID()] = true
			if !strings.HasPrefix(b.Title(), "perf-exporter / ") {
				t.Errorf("title %q should start with \"perf-exporter / \"", b.Title())
			}
			if !slices.Contains(stringsOf(m["tags"]), Tag) {
				t.Errorf("tags %v lack %q", m["tags"], Tag)
			}
			if m["id"] != nil {
				t.Errorf("id = %v, want null: ids belong to one Grafana", m["id"])
			}
			if _, ok := m["version"]; ok {
				t.Errorf("a bundled board carries no version")
			}
			checkVariables(t, m)
			checkPanels(t, b)
		})
	}
}

func checkVariables(t *testing.T, m map[string]any) {
	t.Helper()
	templating, _ := m["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	vars := map[string]map[string]any{}
	for _, v := range list {
		variable, _ := v.(map[string]any)
		vars[stringField(variable, "name")] = variable
	}
	ds := vars["datasource"]
	if ds == nil || ds["type"] != "datasource" || ds["query"] != "prometheus" {
		t.Errorf("datasource variable = %v, want type datasource, query prometheus", ds)
	}
	profile := vars["profile"]
	if profile == nil || profile["type"] != "query" || profile["definition"] != "label_values(perf_profile_info, profile)" {
		t.Fatalf("profile variable = %v, want a query of label_values(perf_profile_info, profile)", profile)
	}
	query, _ := profile["query"].(map[string]any)
	if query["query"] != "label_values(perf_profile_info, profile)" {
		t.Errorf("profile variable query = %v", profile["query"])
	}
	checkDatasource(t, "profile variable", profile["datasource"])
}

func checkDatasource(t *testing.T, where string, v any) {
	t.Helper()
	ds, _ := v.(map[string]any)
	if ds["type"] != "prometheus" || ds["uid"] != "${datasource}" {
		t.Errorf("%s: datasource = %v, want {type: prometheus, uid: ${datasource}}", where, v)
	}
}

func checkPanels(t *testing.T, b Board) {
	t.Helper()
	panels, _ := b.Model["panels"].([]any)
	ids := map[float64]bool{}
	titles := map[string]bool{}
	type rect struct {
		title      string
		x, y, w, h float64
	}
	var rects []rect
	for _, p := range panels {
		panel, _ := p.(map[string]any)
		title := stringField(panel, "title")
		id, _ := panel["id"].(float64)
		if ids[id] || id == 0 {
			t.Errorf("panel %q: id %v missing or used twice", title, panel["id"])
		}
		ids[id] = true
		if title == "" || titles[titleKey(title)] {
			t.Errorf("panel title %q empty or used twice: preferences select panels by title", title)
		}
		titles[titleKey(title)] = true
		g, _ := panel["gridPos"].(map[string]any)
		r := rect{title, num(g["x"]), num(g["y"]), num(g["w"]), num(g["h"])}
		if r.w <= 0 || r.h <= 0 || r.x < 0 || r.x+r.w > 24 {
			t.Errorf("panel %q: gridPos %v outside the 24-column grid", title, g)
		}
		for _, o := range rects {
			if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
				t.Errorf("panels %q and %q overlap", title, o.title)
			}
		}
		rects = append(rects, r)
		if panel["type"] == "row" {
			continue
		}
		if stringField(panel, "description") == "" {
			t.Errorf("panel %q has no description (say what question it answers)", title)
		}
		checkDatasource(t, fmt.Sprintf("panel %q", title), panel["datasource"])
		targets, _ := panel["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		refs := map[string]bool{}
		for _, tg := range targets {
			target, _ := tg.(map[string]any)
			checkDatasource(t, fmt.Sprintf("panel %q target %v", title, target["refId"]), target["datasource"])
			if ref := stringField(target, "refId"); ref == "" || refs[ref] {
				t.Errorf("panel %q: refId %q empty or repeated", title, ref)
			}
			refs[stringField(target, "refId")] = true
		}
	}
}

func num(v any) float64 { f, _ := v.(float64); return f }

func stringsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func TestBoardsAreTheEmbeddedBytes(t *testing.T) {
	raw, err := Boards()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range raw {
		if !strings.Contains(string(data), `"uid": "perf-exporter-`+name+`"`) {
			t.Errorf("Boards()[%q] is not that board's file", name)
		}
	}
}
