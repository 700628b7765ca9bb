package environment

import (
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
)

// Grafana's interval variables, as imported queries use them, are filled
// from the source's step and the run's window.
func TestWindowVarsOfAnImportedQuery(t *testing.T) {
	src := newSource(config.PrometheusSource{Name: "cluster", URL: "http://127.0.0.1:9090", ScrapeInterval: config.Duration(15 * time.Second)})
	sets := map[string]Set{"board": {Name: "board", Queries: []Query{{Name: "q",
		Template: `sum(increase(x[${range}])) / ${range_s} + sum(rate(x[${interval}])) * ${interval_ms} + ${range_ms}`}}}}
	p := config.Profile{Name: "p", Environment: []string{"board"}}
	plan := planQueries(p, []*source{src}, sets, 0, 90*time.Second+400*time.Millisecond)
	if len(plan) != 1 || plan[0].err != "" {
		t.Fatalf("plan = %+v", plan)
	}
	want := `sum(increase(x[1m30s])) / 90 + sum(rate(x[15s])) * 15000 + 90400`
	if plan[0].query != want {
		t.Errorf("query = %s\nwant    %s", plan[0].query, want)
	}
}
