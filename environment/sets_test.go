package environment

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/perf-exporter/perf-exporter/config"
)

// The config package validates profiles against its own list of built-in
// set names; it must name exactly the sets this package ships.
func TestBuiltinSetNamesMatchConfig(t *testing.T) {
	var names []string
	for _, s := range BuiltinSets() {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, config.BuiltinEnvironmentSets) {
		t.Errorf("built-in sets %v, config.BuiltinEnvironmentSets %v", names, config.BuiltinEnvironmentSets)
	}
}

// The query names are a public contract: boards and users select
// perf_environment_value by name.
func TestBuiltinQueryNames(t *testing.T) {
	mesh := []string{"dataplane_cpu_cores", "dataplane_memory_bytes", "controlplane_cpu_cores", "controlplane_memory_bytes", "mesh_request_rate", "mesh_p99_latency_seconds"}
	want := map[string][]string{
		"nodes":      {"cpu_utilisation_ratio", "memory_utilisation_ratio", "load1", "network_receive_bytes_per_second", "network_transmit_bytes_per_second"},
		"kubernetes": {"target_cpu_cores", "target_memory_bytes"},
		"istio":      mesh,
		"linkerd":    mesh,
	}
	for _, s := range BuiltinSets() {
		var got []string
		for _, q := range s.Queries {
			got = append(got, q.Name)
		}
		if !reflect.DeepEqual(got, want[s.Name]) {
			t.Errorf("set %s has queries %v, want %v", s.Name, got, want[s.Name])
		}
	}
}

// Every built-in query parses once its variables are filled, with the
// defaults and with values that need escaping, and reads only the metric
// names its exporter really exposes (cited in sets.go).
func TestBuiltinQueriesParseAndUseRealMetricNames(t *testing.T) {
	realNames := map[string][]string{
		"nodes": {"node_cpu_seconds_total", "node_load1", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
			"node_network_receive_bytes_total", "node_network_transmit_bytes_total"},
		"kubernetes": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes"},
		"istio": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
			"istio_request_duration_milliseconds_bucket", "istio_requests_total"},
		"linkerd": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
			"request_total", "response_latency_ms_bucket"},
	}
	profiles := map[string]map[string]string{
		"defaults": nil,
		"escaped":  {VarNamespace: `shop\d+|"quoted"`, VarWorkload: `check.*`, VarNode: `10\.0\.0\.\d+:9100`},
	}
	p := parser.NewParser(parser.Options{})
	for _, s := range BuiltinSets() {
		used := map[string]bool{}
		for _, q := range s.Queries {
			for pname, pvars := range profiles {
				vars := templateVars(pvars, rateInterval(30*time.Second, 90*time.Second))
				expr, err := Expand(q.Template, vars)
				if err != nil {
					t.Fatalf("%s/%s (%s): %v", s.Name, q.Name, pname, err)
				}
				ast, err := p.ParseExpr(expr)
				if err != nil {
					t.Errorf("%s/%s (%s) does not parse: %v\n%s", s.Name, q.Name, pname, err, expr)
					continue
				}
				parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
					if vs, ok := n.(*parser.VectorSelector); ok {
						used[vs.Name] = true
						for _, m := range vs.LabelMatchers {
							if pvars != nil && m.Name == "namespace" && strings.Contains(m.Value, "shop") && m.Value != pvars[VarNamespace] {
								t.Errorf("%s/%s: namespace matcher %q, want the variable unchanged %q", s.Name, q.Name, m.Value, pvars[VarNamespace])
							}
						}
					}
					return nil
				})
			}
		}
		var got []string
		for name := range used {
			got = append(got, name)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, realNames[s.Name]) {
			t.Errorf("set %s reads %v, want %v", s.Name, got, realNames[s.Name])
		}
	}
}

func TestExpandNamesAMissingVariable(t *testing.T) {
	_, err := Expand(`sum(up{job="${job}", ns="${namespace}"})`, templateVars(nil, time.Minute))
	if err == nil || !strings.Contains(err.Error(), "${job}") || !strings.Contains(err.Error(), "environment_vars") {
		t.Errorf("err = %v, want it to name ${job} and environment_vars", err)
	}
}

func TestExpandProfileVariablesOverDefaults(t *testing.T) {
	got, err := Expand(`x{a="${namespace}", b="${node}", c="${team}"}[${rate_interval}]`,
		templateVars(map[string]string{VarNamespace: "shop", "team": "payments"}, 1500*time.Millisecond))
	want := `x{a="shop", b=".+", c="payments"}[1s500ms]`
	if err != nil || got != want {
		t.Errorf("Expand = %q, %v; want %q", got, err, want)
	}
}

func TestRateInterval(t *testing.T) {
	for _, tc := range []struct{ scrape, window, want time.Duration }{
		{30 * time.Second, 10 * time.Minute, 2 * time.Minute},  // four scrapes
		{30 * time.Second, 45 * time.Second, 45 * time.Second}, // never longer than the window
		{time.Second, 6*time.Second + 1234567*time.Nanosecond, 4 * time.Second},
		{time.Second, 3*time.Second + 1234567*time.Nanosecond, 3*time.Second + time.Millisecond}, // whole milliseconds
	} {
		if got := rateInterval(tc.scrape, tc.window); got != tc.want {
			t.Errorf("rateInterval(%s, %s) = %s, want %s", tc.scrape, tc.window, got, tc.want)
		}
	}
}

func TestWindowRange(t *testing.T) {
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		window, step time.Duration
		points       int
	}{
		{10 * time.Minute, 30 * time.Second, 17},  // (600s - 120s) / 30s + 1
		{6500 * time.Millisecond, time.Second, 3}, // first at 4.5s: 4.5, 5.5, 6.5
		{20 * time.Second, 30 * time.Second, 1},   // shorter than a scrape: the end only
	} {
		to := from.Add(tc.window)
		r := windowRange(from, to, tc.step)
		ri := rateInterval(tc.step, tc.window)
		n := int(r.End.Sub(r.Start)/r.Step) + 1
		if !r.End.Equal(to) || r.Step != tc.step || r.Start.Before(from.Add(ri)) || r.End.Sub(r.Start)%r.Step != 0 || n != tc.points {
			t.Errorf("window %s step %s: range %s..%s step %s (%d points), want %d points ending at the window's end, none before start+%s",
				tc.window, tc.step, r.Start.Sub(from), r.End.Sub(from), r.Step, n, tc.points, ri)
		}
	}
}
