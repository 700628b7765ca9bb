package environment

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/perf-exporter/perf-exporter/config"
)

// selectorUse is one series selector of a query, and the range it is read
// over when it is (rate's range), else 0.
type selectorUse struct {
	vs  *parser.VectorSelector
	rng time.Duration
}

// explainNoData says why a query that ran returned nothing in the window
// [from, to], from what Prometheus holds there for each of its series
// selectors, in the query's order: no series of the name (the metric is
// not scraped, or is named otherwise), none with the labels (no pod of
// the workload in the namespace, a label not exported), too few samples
// for the rate window (samples further apart than the scrape interval,
// as cAdvisor's), or, when every selector finds enough, the expression
// itself (a join that matched nothing). It asks Prometheus a few instant
// queries; when those fail too it says only what it could not tell.
func explainNoData(ctx context.Context, api v1.API, query string, from, to time.Time) string {
	const generic = "the query matched no series (is the metric scraped, and do namespace, workload and node match?)"
	expr, err := config.ParsePromQL(query) // as the config check parsed it
	if err != nil {
		return generic
	}
	var uses []selectorUse
	seen := map[string]bool{}
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		u := selectorUse{vs: vs}
		if len(path) > 0 {
			if ms, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
				u.rng = ms.Range
			}
		}
		if key := fmt.Sprint(vs.String(), u.rng); !seen[key] {
			seen[key] = true
			uses = append(uses, u)
		}
		return nil
	})

	window := to.Sub(from)
	// count asks for one number at the window's end; ok is false when
	// Prometheus could not answer, and an empty answer is 0.
	count := func(q string) (float64, bool) {
		val, _, _, err := api.Query(ctx, q, to)
		if err != nil {
			return 0, false
		}
		vec, isVec := val.(model.Vector)
		if !isVec {
			return 0, false
		}
		if len(vec) == 0 {
			return 0, true
		}
		return float64(vec[0].Value), true
	}
	over := func(sel string, d time.Duration) string {
		return sel + "[" + model.Duration(d).String() + "]"
	}
	for _, u := range uses {
		name := u.vs.Name
		if name != "" {
			n, ok := count(`count(last_over_time({__name__="` + name + `"}` + over("", window) + `))`)
			if !ok {
				return generic
			}
			if n == 0 {
				return fmt.Sprintf("wrong names? Prometheus holds no series named %s in the window (is it scraped, and under this name?)", name)
			}
		}
		sel := selectorString(u.vs)
		n, ok := count(`count(last_over_time(` + over(sel, window) + `))`)
		if !ok {
			return generic
		}
		if n == 0 {
			hint := "does the workload run there? check the profile's namespace, workload and pod_label"
			if name == "kube_pod_labels" {
				hint = "is the pod label exported by kube-state-metrics (--metric-labels-allowlist=pods=[...]), and does its value match workload?"
			}
			return fmt.Sprintf("no matching workload? %s has series in the window, but none match %s: %s", name, sel, hint)
		}
		if u.rng > 0 {
			// The densest series' samples in the window: fewer than two per
			// rate window leave rate() nothing.
			most, ok := count(`max(count_over_time(` + over(sel, window) + `))`)
			if !ok {
				return generic
			}
			perRange := most * u.rng.Seconds() / window.Seconds()
			if perRange < 2 {
				spacing := window.Seconds() / math.Max(most, 1)
				return fmt.Sprintf("sparse samples: %s has about one sample every %.0fs (%g in the %s window), fewer than two in the %s rate window: is the source's scrape_interval longer than configured, or do the samples carry their own timestamps (cAdvisor's: every 10-15s)? The run is too short for a rate window of twice their spacing",
					name, spacing, most, model.Duration(window.Round(time.Second)), model.Duration(u.rng))
			}
		}
	}
	return "every series selector finds samples in the window, but the expression as a whole returned nothing: a join matched nothing (with pod_label: are kube_pod_labels' namespace and pod those of the cAdvisor series, i.e. is kube-state-metrics scraped with honor_labels?) or a filter removed every series"
}

// selectorString writes a selector without its offset or @ modifier.
func selectorString(vs *parser.VectorSelector) string {
	var ms []string
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && vs.Name != "" {
			continue
		}
		ms = append(ms, m.String())
	}
	return vs.Name + "{" + strings.Join(ms, ", ") + "}"
}
