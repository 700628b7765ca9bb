package e2e

import (
	"strings"
	"testing"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/perf-exporter/perf-exporter/dashboards"
)

// needsEnvironment are series that only exist with an environment source
// (covered by the environment package's tests with real servers) or are
// made by Prometheus from alert rules.
var needsEnvironment = map[string]bool{"perf_prometheus_up": true, "perf_environment_value": true, "ALERTS": true}

// whileRegressionOpen are series that exist only while a regression is open
// (DESIGN §8); TestRegressionOpenedAcceptedAndRestored sees them appear.
var whileRegressionOpen = map[string]bool{"perf_regression_change_ratio": true, "perf_regression_started_timestamp_seconds": true}

// testBoardQueries checks the bundled boards against a real run: every
// metric any board uses is in the exposition, and every query of the
// Overview and Profile detail boards returns data from Prometheus.
func testBoardQueries(t *testing.T, base string, prom v1.API, profiles []string) {
	t.Helper()
	exposed := exposedMetrics(t, base)
	boards, err := dashboards.Select(nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"profile": strings.Join(profiles, "|"), "datasource": "prometheus",
		"__rate_interval": "1m", "__interval": "30s", "__range": "5m"}
	p := parser.NewParser(parser.Options{})
	for _, b := range boards {
		for _, q := range b.Queries() {
			filled, err := dashboards.ExpandVariables(q.Expr, vars)
			if err != nil {
				t.Errorf("%s: %v", q.Where, err)
				continue
			}
			expr, err := p.ParseExpr(filled)
			if err != nil {
				t.Errorf("%s: %v", q.Where, err)
				continue
			}
			skip := false
			for _, name := range metricNames(expr) {
				switch {
				case needsEnvironment[name], whileRegressionOpen[name]:
					skip = true
				case !exposed[name]:
					t.Errorf("%s uses %s, which a real run does not expose", q.Where, name)
				}
			}
			if skip || (b.Name != "overview" && b.Name != "profile-detail") {
				continue
			}
			if got := query(t, prom, filled); len(got) == 0 {
				t.Errorf("%s returns no data: %s", q.Where, filled)
			}
		}
	}
}

func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && vs.Name != "" {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// exposedMetrics reads the exporter's exposition: every series name in it.
func exposedMetrics(t *testing.T, base string) map[string]bool {
	t.Helper()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(strings.NewReader(scrape(t, base)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name, f := range families {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[name+suffix] = true
			}
		}
	}
	return names
}
