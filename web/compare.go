package web

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/perf-exporter/perf-exporter/result"
)

// Comparison is GET /api/v1/results/compare: runs side by side.
type Comparison struct {
	// Base is the run every change is relative to: the first id.
	Base string `json:"base"`
	// Runs are the compared runs, in the order of ids.
	Runs []ResultView `json:"runs"`
	// Values are the compared measurements, one row each.
	Values []ComparedValue `json:"values"`
}

// ComparedValue is one measurement across the compared runs.
type ComparedValue struct {
	// Metric is latency_seconds (with Percentile), achieved_rps,
	// error_ratio or environment_value (with Set and Name; the average over
	// the run's window), as the perf_* series of the same names.
	Metric     string `json:"metric"`
	Percentile string `json:"percentile,omitempty"`
	Set        string `json:"set,omitempty"`
	Name       string `json:"name,omitempty"`
	// Values has one entry per run; null where the run has no such value.
	Values []*float64 `json:"values"`
	// Change is each value's relative change against the base run's:
	// (value - base) / base, so 0.2 is 20 % more; 0 where the two are equal,
	// 0 -> 0 included (no change). Null where either value is missing, or
	// the base is 0 and the value is not (no finite change). The README
	// says the same.
	Change []*float64 `json:"change"`
}

func (a resultsAPI) compare(w http.ResponseWriter, r *http.Request) {
	params, err := queryParams(r.URL.RawQuery, nil, "ids")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ids, err := compareIDs(params["ids"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	docs := make([]*result.Document, 0, len(ids))
	for _, id := range ids {
		doc, ok := a.getDoc(w, r, id)
		if !ok {
			return
		}
		docs = append(docs, doc)
	}
	writeJSON(w, http.StatusOK, compareRuns(docs))
}

// compareIDs reads ids=a,b,c (or ids=a&ids=b, as an HTML form sends it).
func compareIDs(values []string) ([]string, error) {
	var ids []string
	for _, v := range values {
		for id := range strings.SplitSeq(v, ",") {
			id = strings.TrimSpace(id)
			switch {
			case id == "":
				return nil, fmt.Errorf("ids %q: an empty run id", strings.Join(values, ","))
			case slices.Contains(ids, id):
				return nil, fmt.Errorf("ids: run %q is listed twice", id)
			}
			ids = append(ids, id)
		}
	}
	if len(ids) < MinCompareRuns || len(ids) > MaxCompareRuns {
		return nil, fmt.Errorf("ids: got %d run ids, want %d to %d separated by commas (ids=a,b)", len(ids), MinCompareRuns, MaxCompareRuns)
	}
	return ids, nil
}

// compareRuns lines the runs' measurements up, the first run as the base.
func compareRuns(docs []*result.Document) Comparison {
	c := Comparison{Base: docs[0].PerfExporter.RunID}
	for _, d := range docs {
		c.Runs = append(c.Runs, documentView(d))
	}
	row := func(v ComparedValue, value func(*result.Document) (float64, bool)) {
		for _, d := range docs {
			if x, ok := value(d); ok {
				v.Values = append(v.Values, &x)
			} else {
				v.Values = append(v.Values, nil)
			}
		}
		for _, x := range v.Values {
			v.Change = append(v.Change, relativeChange(v.Values[0], x))
		}
		c.Values = append(c.Values, v)
	}

	for _, p := range unionPercentiles(docs) {
		row(ComparedValue{Metric: "latency_seconds", Percentile: result.PercentileLabel(p)}, func(d *result.Document) (float64, bool) {
			return documentPercentile(d, p)
		})
	}
	row(ComparedValue{Metric: "achieved_rps"}, func(d *result.Document) (float64, bool) { return d.ActualQPS, true })
	row(ComparedValue{Metric: "error_ratio"}, func(d *result.Document) (float64, bool) { return d.PerfExporter.ErrorRatio, true })
	for _, key := range unionEnvironment(docs) {
		row(ComparedValue{Metric: "environment_value", Set: key.set, Name: key.name}, func(d *result.Document) (float64, bool) {
			for _, e := range d.PerfExporter.Environment {
				if e.Set == key.set && e.Name == key.name && e.Error == "" {
					return e.Avg, true
				}
			}
			return 0, false
		})
	}
	return c
}

// relativeChange is (x - base) / base, nil when it has no finite value.
func relativeChange(base, x *float64) *float64 {
	if base == nil || x == nil {
		return nil
	}
	var change float64
	switch {
	case *x == *base:
		change = 0
	case *base == 0:
		return nil
	default:
		change = (*x - *base) / *base
	}
	if math.IsNaN(change) || math.IsInf(change, 0) {
		return nil
	}
	return &change
}

// unionPercentiles are the percentiles any of the runs measured, in order.
func unionPercentiles(docs []*result.Document) []float64 {
	var ps []float64
	for _, d := range docs {
		if d.DurationHistogram == nil {
			continue
		}
		for _, p := range d.DurationHistogram.Percentiles {
			if !slices.Contains(ps, p.Percentile) {
				ps = append(ps, p.Percentile)
			}
		}
	}
	slices.Sort(ps)
	return ps
}

func documentPercentile(d *result.Document, p float64) (float64, bool) {
	return result.PercentileOf(d.DurationHistogram, p)
}

type environmentKey struct{ set, name string }

// unionEnvironment are the environment values any of the runs has, by set
// and name.
func unionEnvironment(docs []*result.Document) []environmentKey {
	var keys []environmentKey
	for _, d := range docs {
		for _, e := range d.PerfExporter.Environment {
			if k := (environmentKey{e.Set, e.Name}); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(a, b environmentKey) int {
		return cmp.Or(strings.Compare(a.set, b.set), strings.Compare(a.name, b.name))
	})
	return keys
}
