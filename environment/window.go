package environment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// queriesPerSource bounds the queries in flight to one server.
const queriesPerSource = 4

// valueKey names one value of an evaluation.
type valueKey struct{ set, name string }

// planned is one query of an evaluation, ready to run.
type planned struct {
	key    valueKey
	src    *source
	query  string        // the template expanded
	ri     time.Duration // its rate interval
	reason Reason        // set with err when the query cannot run at all
	err    string
}

// Evaluate reads the profile's environment sets over a run's window and
// returns one value per query, in set and query order, Avg and Max over
// the window or Error (never both).
//
// The window is [start+margin, end-margin]. Each source is read once its
// last samples of the window are in: one scrape interval after the window
// ends, plus the time a scrape takes (lastScrapeWait); Evaluate sleeps
// until then. The queries of a source then run within the query timeout,
// so Evaluate returns at most that wait + query timeout after end (or
// when ctx ends). Call it after the run's own result is published, off
// the run's path.
//
// How avg and max are computed, exactly: each query is an instantaneous
// PromQL expression whose rate() ranges are ${rate_interval} (four scrape
// intervals, at least 30s for cAdvisor's series, never longer than the
// window: see rateInterval). It is evaluated as a range query at every
// scrape interval, with points placed backwards from the window's end and
// the first point no earlier than start+margin+rate_interval, so that
// every point's range lies inside the window: nothing from before the run
// is averaged in. Avg is the mean of the points and Max the
// largest, which is what avg_over_time and max_over_time of the same
// subquery would give, in one round trip. A query must return a single
// series (aggregate it with sum, avg or max).
func (e *Environment) Evaluate(ctx context.Context, p config.Profile, start, end time.Time) []result.EnvironmentValue {
	sources, sets, margin := e.snapshot()
	from, to := start.Add(margin), end.Add(-margin)
	plan := planQueries(p, sources, sets, margin, to.Sub(from))

	values := make([]result.EnvironmentValue, len(plan))
	bySource := map[*source][]int{}
	for i, q := range plan {
		values[i] = result.EnvironmentValue{Set: q.key.set, Name: q.key.name, Query: q.query}
		if q.src != nil {
			values[i].Prometheus = q.src.name
		}
		if q.err != "" {
			values[i].Error = q.err
			continue
		}
		bySource[q.src] = append(bySource[q.src], i)
	}

	var wg sync.WaitGroup
	for src, idx := range bySource {
		wg.Go(func() {
			e.evaluateSource(ctx, src, plan, idx, values, from, to)
		})
	}
	wg.Wait()

	// Server failures were logged per source; log what is wrong with a
	// query itself, once until it changes.
	for i, q := range plan {
		switch {
		case values[i].Error == "":
			e.logQueryError(p.Name, q.key, "", "")
		case q.reason == ReasonQuery || q.reason == ReasonNoData:
			e.logQueryError(p.Name, q.key, q.reason, values[i].Error)
		}
	}
	return values
}

// planQueries expands every query of the profile's sets for its source. Problems
// that need no server (unknown set or source, bad template) become the
// value's error.
func planQueries(p config.Profile, sources []*source, sets map[string]Set, margin, window time.Duration) []planned {
	var plan []planned
	for _, setName := range p.Environment {
		set, ok := sets[setName]
		if !ok {
			plan = append(plan, planned{key: valueKey{setName, ""}, reason: ReasonQuery,
				err: fmt.Sprintf("unknown environment set %q", setName)})
			continue
		}
		for _, q := range set.Queries {
			pq := planned{key: valueKey{setName, q.Name}}
			pq.src, pq.err = pickSource(sources, q.Prometheus)
			if pq.err == "" && window <= 0 {
				pq.err = fmt.Sprintf("the window is empty: the run (%s) is not longer than twice global.environment_window.margin", window+2*margin)
			}
			if pq.err == "" {
				pq.ri = rateInterval(pq.src.scrapeInterval, q.SampleSpacing, window)
				vars := templateVars(p.EnvironmentVars, pq.ri)
				addWindowVars(vars, pq.src.scrapeInterval, window)
				template := q.Template
				if vars[VarPodLabel] != "" && q.ByLabelTemplate != "" {
					template = q.ByLabelTemplate
				}
				query, err := Expand(template, vars)
				if err != nil {
					pq.err = err.Error()
				}
				pq.query = query
			}
			if pq.err != "" {
				pq.reason = ReasonQuery
			}
			plan = append(plan, pq)
		}
	}
	return plan
}

func pickSource(sources []*source, name string) (*source, string) {
	if len(sources) == 0 {
		return nil, "no prometheus source is configured"
	}
	if name == "" {
		return sources[0], ""
	}
	for _, s := range sources {
		if s.name == name {
			return s, ""
		}
	}
	return nil, fmt.Sprintf("unknown prometheus source %q", name)
}

// evaluateSource waits for the window's last scrape of one source, runs its
// queries and records the source's health from their outcome.
func (e *Environment) evaluateSource(ctx context.Context, src *source, plan []planned, idx []int, values []result.EnvironmentValue, from, to time.Time) {
	wait := time.NewTimer(time.Until(to.Add(lastScrapeWait(src.scrapeInterval))))
	defer wait.Stop()
	select {
	case <-wait.C:
	case <-ctx.Done():
		for _, i := range idx {
			values[i].Error = "not evaluated: " + ctx.Err().Error()
		}
		return
	}

	qctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var wg sync.WaitGroup
	limit := make(chan struct{}, queriesPerSource)
	for _, i := range idx {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			avg, peak, reason, err := e.queryWindow(qctx, src, plan[i].query, from, to, plan[i].ri)
			if err != nil {
				values[i].Error = fmt.Sprintf("prometheus %q: %s", src.name, err)
				plan[i].reason = reason
				return
			}
			values[i].Avg, values[i].Max = avg, peak
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // shutting down: says nothing about the server
	}
	// One outcome per source and evaluation: the first server failure, or
	// up when every query was answered (even with no data).
	for _, i := range idx {
		if plan[i].reason.ServerDown() {
			e.record(src.name, plan[i].reason, values[i].Error)
			return
		}
	}
	e.record(src.name, "", "")
}

// lastScrapeWait is how long after a window's end its last samples are
// surely in Prometheus: the next scrape starts within one interval, and
// its samples are stored once it has been read; that is allowed another
// interval, at most 5s. Without it the last point of a window could miss
// its newest sample: rate() then extrapolates less over the gap, most of
// all over samples with their own, older, timestamps (cAdvisor's).
func lastScrapeWait(scrape time.Duration) time.Duration {
	return scrape + min(scrape, 5*time.Second)
}

// windowRange places the points of a window's range query: one per scrape
// interval, the last at the window's end, the first no earlier than ri
// (the query's rate interval) after its start, so no point's rate range
// reaches before the window.
func windowRange(from, to time.Time, step, ri time.Duration) v1.Range {
	span := to.Sub(from) - ri
	return v1.Range{Start: to.Add(-step * (span / step)), End: to, Step: step}
}

// queryWindow runs one range query over [from, to] and reduces its single
// series to the mean and the maximum of its points.
func (e *Environment) queryWindow(ctx context.Context, src *source, query string, from, to time.Time, ri time.Duration) (avg, peak float64, _ Reason, _ error) {
	r := windowRange(from, to, src.scrapeInterval, ri)
	rec := &statusRecorder{}
	api, err := src.api(rec)
	if err != nil {
		return 0, 0, ReasonConfig, err
	}
	val, _, _, err := api.QueryRange(ctx, query, r)
	if err != nil {
		reason := classify(err, rec.lastStatus())
		return 0, 0, reason, fmt.Errorf("%s: %s", reason, src.describe(err, rec.lastStatus()))
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		return 0, 0, ReasonQuery, fmt.Errorf("the query returned a %s, not a range of samples", val.Type())
	}
	switch len(matrix) {
	case 0:
		return 0, 0, ReasonNoData, errors.New("no data in the window: " + explainNoData(ctx, api, query, from, to))
	case 1:
	default:
		return 0, 0, ReasonQuery, fmt.Errorf("the query returned %d series; it must return one: aggregate it with sum, avg or max", len(matrix))
	}
	n, sum, lo, hi := 0, 0.0, math.Inf(1), math.Inf(-1)
	for _, sp := range matrix[0].Values {
		v := float64(sp.Value)
		// NaN (a quantile of no requests) and infinities are not values
		// to average, and JSON cannot carry them.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		n++
		sum += v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if n == 0 {
		return 0, 0, ReasonNoData, errors.New("no data in the window: every point was NaN or infinite (e.g. a quantile with no requests)")
	}
	// The mean of equal points can differ from them in the last bit;
	// keep it between the smallest and the largest, where it belongs.
	return math.Min(math.Max(sum/float64(n), lo), hi), hi, "", nil
}
