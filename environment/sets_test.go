package environment

import (
	"reflect"
	"regexp"
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
		// kube_pod_labels (kube-state-metrics) only with pod_label.
		"kubernetes": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "kube_pod_labels"},
		"istio": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
			"istio_request_duration_milliseconds_bucket", "istio_requests_total", "kube_pod_labels"},
		"linkerd": {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
			"kube_pod_labels", "request_total", "response_latency_ms_bucket"},
	}
	profiles := map[string]map[string]string{
		"defaults": nil,
		"escaped":  {VarNamespace: `shop\d+|"quoted"`, VarWorkload: `check.*`, VarNode: `10\.0\.0\.\d+:9100`},
		"by label": {VarNamespace: "shop", VarWorkload: "checkout", VarPodLabel: "app.kubernetes.io/name"},
	}
	p := parser.NewParser(parser.Options{})
	for _, s := range BuiltinSets() {
		used := map[string]bool{}
		for _, q := range s.Queries {
			for pname, pvars := range profiles {
				vars := templateVars(pvars, rateInterval(30*time.Second, q.SampleSpacing, 90*time.Second))
				template := q.Template
				if pvars[VarPodLabel] != "" && q.ByLabelTemplate != "" {
					template = q.ByLabelTemplate
				}
				expr, err := Expand(template, vars)
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
						if vs.Name == "kube_pod_labels" && !strings.Contains(vs.String(), `label_app_kubernetes_io_name=~"checkout"`) {
							t.Errorf("%s/%s (%s): %s, want the pod label as kube-state-metrics names it", s.Name, q.Name, pname, vs)
						}
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
	for _, tc := range []struct{ scrape, spacing, window, want time.Duration }{
		{30 * time.Second, 0, 10 * time.Minute, 2 * time.Minute},  // four scrapes
		{30 * time.Second, 0, 45 * time.Second, 45 * time.Second}, // never longer than the window
		{time.Second, 0, 6*time.Second + 1234567*time.Nanosecond, 4 * time.Second},
		{time.Second, 0, 3*time.Second + 1234567*time.Nanosecond, 3*time.Second + time.Millisecond}, // whole milliseconds
		// cAdvisor's own timestamps, 10-15s apart whatever the scrape
		// interval: two of them, not four scrapes.
		{time.Second, cadvisorSpacing, 10 * time.Minute, 30 * time.Second},
		{10 * time.Second, cadvisorSpacing, 10 * time.Minute, 40 * time.Second},
		{time.Second, cadvisorSpacing, 20 * time.Second, 20 * time.Second}, // still within the window
	} {
		if got := rateInterval(tc.scrape, tc.spacing, tc.window); got != tc.want {
			t.Errorf("rateInterval(%s, %s, %s) = %s, want %s", tc.scrape, tc.spacing, tc.window, got, tc.want)
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
		ri := rateInterval(tc.step, 0, tc.window)
		r := windowRange(from, to, tc.step, ri)
		n := int(r.End.Sub(r.Start)/r.Step) + 1
		if !r.End.Equal(to) || r.Step != tc.step || r.Start.Before(from.Add(ri)) || r.End.Sub(r.Start)%r.Step != 0 || n != tc.points {
			t.Errorf("window %s step %s: range %s..%s step %s (%d points), want %d points ending at the window's end, none before start+%s",
				tc.window, tc.step, r.Start.Sub(from), r.End.Sub(from), r.Step, n, tc.points, ri)
		}
	}
}

// The target's pods are the names Kubernetes generates for the workload
// (k8s.io/apimachinery/pkg/util/rand's alphabet; see targetPodName), not
// every name that starts with it.
func TestTargetPodNames(t *testing.T) {
	pattern, err := Expand(targetPodName, templateVars(map[string]string{VarWorkload: "checkout|cart"}, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("^(?:" + pattern + ")$") // PromQL anchors =~
	for name, want := range map[string]bool{
		"checkout-7d9f8b6c5-x2x4z":        true, // Deployment: template hash, random suffix
		"checkout-5c6d7b8f9-q7k2m":        true,
		"checkout-5-x2x4z":                true, // a one-digit FNV hash
		"cart-6b7c8d9f5-p4q5r":            true,
		"checkout-0":                      true, // StatefulSet ordinals
		"checkout-12":                     true,
		"checkout-x2x4z":                  true,  // DaemonSet, Job
		"checkout-db-0":                   false, // the StatefulSet checkout-db
		"checkout-db-7d9f8b6c5-x2x4z":     false,
		"checkout-canary-7d9f8b6c5-x2x4z": false,
		"checkout-01":                     false, // ordinals have no leading zero
		"checkout-7d9f8b6c5-x2x4":         false, // the suffix is five characters
		"checkout-aeiou":                  false, // no vowels in the alphabet
		"checkout-7d9f8b6c5d5-x2x4z":      false, // hashes are at most ten
		"checkout":                        false,
		"checkouts-7d9f8b6c5-x2x4z":       false,
	} {
		if got := re.MatchString(name); got != want {
			t.Errorf("pod %s matched %v, want %v (pattern %s)", name, got, want, pattern)
		}
	}
}

func TestKubePodLabel(t *testing.T) {
	for key, want := range map[string]string{
		"app":                    "label_app",
		"app.kubernetes.io/name": "label_app_kubernetes_io_name",
		"example.com/team-name":  "label_example_com_team_name",
		"":                       "",
	} {
		if got := kubePodLabel(key); got != want {
			t.Errorf("kubePodLabel(%q) = %q, want %q", key, got, want)
		}
	}
}
