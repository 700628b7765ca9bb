package environment

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/config"
)

// Expand fills the ${name} placeholders of a query template. vars are the
// profile's environment_vars over DefaultVars, plus rate_interval. A
// placeholder without a value is an error naming it, never an empty string
// that would silently match nothing.
func Expand(template string, vars map[string]string) (string, error) {
	var missing []string
	out := config.ReplacePlaceholders(template, func(name string) string {
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return "${" + name + "}"
		}
		return config.EscapePromQLString(v)
	})
	if len(missing) > 0 {
		known := slices.Sorted(maps.Keys(vars))
		return "", fmt.Errorf("unknown template variable ${%s} (set it in the profile's environment_vars; known: %s)",
			strings.Join(missing, "}, ${"), strings.Join(known, ", "))
	}
	return out, nil
}

// templateVars merges a profile's variables over the defaults and adds the
// derived ones: the rate interval for one query, source and window, and
// the kube-state-metrics name of the pod label.
func templateVars(profileVars map[string]string, rateInterval time.Duration) map[string]string {
	vars := DefaultVars()
	maps.Copy(vars, profileVars)
	vars[VarRateInterval] = model.Duration(rateInterval).String()
	vars[VarKubePodLabel] = kubePodLabel(vars[VarPodLabel])
	return vars
}

// kubePodLabel is the name kube-state-metrics gives a pod label in
// kube_pod_labels: "label_" and the key with every character outside
// [a-zA-Z0-9_] replaced by "_" (its SanitizeLabelName), so
// app.kubernetes.io/name is label_app_kubernetes_io_name. Empty for no
// label.
func kubePodLabel(key string) string {
	if key == "" {
		return ""
	}
	return "label_" + strings.Map(func(r rune) rune {
		if r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, key)
}

// rateInterval is the range of rate() in one query's template: four
// scrape intervals, as Grafana's $__rate_interval, so one late or missed
// scrape still leaves two samples; and at least twice the spacing of
// samples that carry their own timestamps (spacing, see
// Query.SampleSpacing: cAdvisor's 10-15s whatever the scrape interval),
// for the same reason. Never longer than the window, so that no point's
// range reaches before the run (see Environment.Evaluate): a window
// shorter than that leaves such a query without data, and the error says
// so. It is whole milliseconds, PromQL's resolution.
func rateInterval(scrape, spacing, window time.Duration) time.Duration {
	ri := min(window, max(4*scrape, 2*spacing))
	return ri.Truncate(time.Millisecond)
}
