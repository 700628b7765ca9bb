package changepoint

import (
	"math"
	"slices"
	"time"
)

// History is one profile's runs in order and each metric's series.
type History struct {
	params Params
	runs   []Run // without their values, kept for ids, times and rates
	series map[string]*metricSeries
}

type metricSeries struct {
	*Series
	// run is, for each value of the series, its run's position in the
	// history.
	run []int
}

// NewHistory starts an empty history; the parameters must be valid.
func NewHistory(p Params) *History {
	return &History{params: p, series: map[string]*metricSeries{}}
}

// Params are the parameters the history detects with.
func (h *History) Params() Params { return h.params }

// Len is the number of runs added, counted or not.
func (h *History) Len() int { return len(h.runs) }

// Has tells whether the run of that id and start time was added; it looks
// only at the runs from that start time on, at the end of the history.
func (h *History) Has(id string, start time.Time) bool {
	for i := len(h.runs) - 1; i >= 0 && !h.runs[i].Time.Before(start); i-- {
		if h.runs[i].ID == id {
			return true
		}
	}
	return false
}

// Add appends the next run and updates every metric it measured.
func (h *History) Add(r Run) {
	for _, s := range h.add(r) {
		s.changes = s.merge()
	}
}

// AddAll appends runs as Add would one by one, with the same change points
// after (Series.AppendAll): the replay of a stored history at start.
func (h *History) AddAll(runs []Run) {
	touched := map[*metricSeries]bool{}
	for _, r := range runs {
		for _, s := range h.add(r) {
			touched[s] = true
		}
	}
	for _, metric := range Metrics() { // in a fixed order, as Add merges
		if s := h.series[metric]; s != nil && touched[s] {
			s.changes = s.merge()
		}
	}
}

// add appends a run, and each of its values without merging; it returns
// the series it added to.
func (h *History) add(r Run) []*metricSeries {
	pos := len(h.runs)
	values := r.Values
	r.Values = nil
	h.runs = append(h.runs, r)
	if !r.Counts {
		return nil
	}
	var touched []*metricSeries
	for _, metric := range Metrics() {
		v, ok := values[metric]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		s := h.series[metric]
		if s == nil {
			s = &metricSeries{Series: NewSeries(h.params, scaleOf(metric))}
			h.series[metric] = s
		}
		s.push(v)
		s.run = append(s.run, pos)
		touched = append(touched, s)
	}
	return touched
}

// ChangePoint is a change point of one metric of a profile.
type ChangePoint struct {
	Metric string
	// Index is the position in the history of the first run of the new
	// level.
	Index     int
	RunID     string
	Time      time.Time
	Direction string // Regression or Improvement
	// Status is StatusOpen for a regression not recovered yet,
	// StatusRecovered for one a later change brought back, StatusAccepted
	// for improvements (and, in a store, regressions someone accepted).
	Status string
	Before float64
	After  float64
	Ratio  float64
	PValue float64
}

// Changes lists every change point, ordered by run and then metric, with
// the statuses the history alone gives (no regression is accepted here).
func (h *History) Changes() []ChangePoint {
	var out []ChangePoint
	for _, metric := range Metrics() {
		s := h.series[metric]
		if s == nil {
			continue
		}
		out = append(out, h.metricChanges(metric, s)...)
	}
	sortChanges(out)
	return out
}

func (h *History) metricChanges(metric string, s *metricSeries) []ChangePoint {
	var out []ChangePoint
	var open []int // indexes into out of open regressions
	for _, c := range s.Changes() {
		pos := s.run[c.Index]
		run := h.runs[pos]
		if metric == AchievedRPS && !h.rpsJudged(run, c.Before) {
			continue
		}
		cp := ChangePoint{
			Metric: metric, Index: pos, RunID: run.ID, Time: run.Time,
			Direction: direction(metric, c.Before, c.After), Before: c.Before, After: c.After,
			Ratio: c.Ratio(), PValue: c.PValue,
		}
		if cp.Direction == Regression {
			cp.Status = StatusOpen
			out = append(out, cp)
			open = append(open, len(out)-1)
			continue
		}
		cp.Status = StatusAccepted
		// An improvement back to an open regression's former level closes it.
		kept := open[:0]
		for _, i := range open {
			if h.recovers(metric, out[i].Before, cp.After) {
				out[i].Status = StatusRecovered
			} else {
				kept = append(kept, i)
			}
		}
		open = kept
		out = append(out, cp)
	}
	return out
}

// rpsJudged tells whether throughput counts: only when the run asks for no
// rate (as fast as possible) or for one the target could not reach; a
// profile that gets the rate it asks for measures nothing by its throughput.
func (h *History) rpsJudged(run Run, before float64) bool { return rpsCounts(run.RequestedQPS, before) }

func rpsCounts(requested, before float64) bool {
	return requested == 0 || before < 0.95*requested
}

// recovers tells whether a level after is back at (or better than) the level
// before a regression, within the minimum magnitude.
func (h *History) recovers(metric string, before, after float64) bool {
	slack := h.params.MinMagnitude
	if HigherIsBetter(metric) {
		return after >= before*(1-slack)
	}
	return after <= before*(1+slack)+scaleOf(metric).MinAbsolute
}

func direction(metric string, before, after float64) string {
	if (after > before) != HigherIsBetter(metric) {
		return Regression
	}
	return Improvement
}

// metricOrder is a metric's place in Metrics.
func metricOrder(metric string) int {
	for i, m := range Metrics() {
		if m == metric {
			return i
		}
	}
	return len(Metrics())
}

func sortChanges(cps []ChangePoint) {
	slices.SortStableFunc(cps, func(a, b ChangePoint) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return metricOrder(a.Metric) - metricOrder(b.Metric)
	})
}
