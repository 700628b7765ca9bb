package collector

import (
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// Consecutive misses per objective. The last-run gauges say whether the
// last run missed an objective, not whether the one before did too, and
// no PromQL range spans "the last two runs" of a profile whatever its
// schedule: these counters let an alert wait for two consecutive misses,
// be the profile run every minute or every day.
var (
	descLatencyMisses = gaugeDesc("perf_run_slo_latency_consecutive_misses",
		"Consecutive runs, up to the last one, whose latency percentile was above its objective.", "percentile")
	descErrorRatioMisses = gaugeDesc("perf_run_slo_error_ratio_consecutive_misses",
		"Consecutive runs, up to the last one, whose error ratio was above its objective.")
)

// RestoreRuns is how many of a profile's newest runs RestoreMisses needs at
// most: a streak longer than that is restored as RestoreRuns.
const RestoreRuns = 100

// RunFigures are the figures of a run its objectives are judged on; the
// store's run summaries and the result documents both carry them.
type RunFigures struct {
	RunID      string
	Outcome    string
	Requests   int64
	ErrorRatio float64
	Latency    map[string]float64 // percentile label ("99.9") → seconds
}

// FiguresOf takes the figures of a result document.
func FiguresOf(doc *result.Document) RunFigures {
	f := RunFigures{RunID: doc.PerfExporter.RunID, Outcome: doc.PerfExporter.Outcome,
		Requests: doc.PerfExporter.Requests, ErrorRatio: doc.PerfExporter.ErrorRatio}
	if h := doc.DurationHistogram; h != nil {
		f.Latency = make(map[string]float64, len(h.Percentiles))
		for _, pc := range h.Percentiles {
			f.Latency[result.PercentileLabel(pc.Percentile)] = pc.Value
		}
	}
	return f
}

// streak counts the consecutive misses of one objective.
type streak struct {
	target float64
	misses int
}

func (s *streak) observe(missed bool) {
	if missed {
		s.misses++
	} else {
		s.misses = 0
	}
}

// objectiveStreaks are one profile's streaks.
type objectiveStreaks struct {
	profile    string
	lastRunID  string              // the run last counted: a document published twice counts once
	latency    map[string]*streak  // by percentile label
	errorRatio *streak             // nil without an error ratio objective
	ms         []prometheus.Metric // the gauges, rebuilt when a count changes
}

// newStreaks builds a profile's streaks at zero, keeping the counts of old
// for objectives whose target did not change: a new target starts afresh,
// since misses of the old one say nothing about it.
func newStreaks(p config.Profile, old *objectiveStreaks) *objectiveStreaks {
	s := &objectiveStreaks{profile: p.Name, latency: map[string]*streak{}}
	if old != nil {
		s.lastRunID = old.lastRunID
	}
	for key, objective := range p.SLO.Latency {
		label := normalisePercentile(key)
		st := &streak{target: objective.D().Seconds()}
		if old != nil {
			if o, ok := old.latency[label]; ok && o.target == st.target {
				st.misses = o.misses
			}
		}
		s.latency[label] = st
	}
	if p.SLO.ErrorRatio != nil {
		s.errorRatio = &streak{target: *p.SLO.ErrorRatio}
		if old != nil && old.errorRatio != nil && old.errorRatio.target == s.errorRatio.target {
			s.errorRatio.misses = old.errorRatio.misses
		}
	}
	s.build()
	return s
}

// count adds a run to the streaks, once per run. A run changes only the
// streaks of the figures it measured: aborted and skipped runs change
// nothing, a run without responses leaves the latency streaks as they are,
// and one that sent no request the error ratio streak. A run whose every
// request failed (outcome failure) misses the error ratio objective.
func (s *objectiveStreaks) count(f RunFigures) {
	if f.RunID != "" && f.RunID == s.lastRunID {
		return
	}
	s.lastRunID = f.RunID
	if f.Outcome == result.OutcomeAborted || f.Outcome == result.OutcomeSkipped {
		return
	}
	for label, st := range s.latency {
		if v, ok := f.Latency[label]; ok {
			st.observe(v > st.target)
		}
	}
	if s.errorRatio != nil && f.Requests > 0 {
		s.errorRatio.observe(f.ErrorRatio > s.errorRatio.target)
	}
	s.build()
}

func (s *objectiveStreaks) build() {
	labels := make([]string, 0, len(s.latency))
	for label := range s.latency {
		labels = append(labels, label)
	}
	sort.Strings(labels)
	ms := make([]prometheus.Metric, 0, len(labels)+1)
	for _, label := range labels {
		ms = append(ms, gauge(descLatencyMisses, float64(s.latency[label].misses), s.profile, label))
	}
	if s.errorRatio != nil {
		ms = append(ms, gauge(descErrorRatioMisses, float64(s.errorRatio.misses), s.profile))
	}
	s.ms = ms
}

// RestoreMisses rebuilds a profile's streaks at start from its newest runs
// (newest first, at most RestoreRuns are used), so a restart neither
// forgets a miss nor makes one noisy run after it look like a second.
func (c *Runs) RestoreMisses(p config.Profile, newestFirst []RunFigures) {
	s := newStreaks(p, nil)
	runs := newestFirst[:min(len(newestFirst), RestoreRuns)]
	for _, run := range slices.Backward(runs) {
		s.count(run)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.misses[p.Name] = s
	c.touch(p.Name)
}

// countMisses adds a published run to its profile's streaks; c.mu is held.
// Before the profile's objectives are known (SetProfiles or RestoreMisses)
// there is nothing to count against.
func (c *Runs) countMisses(doc *result.Document) {
	if s, ok := c.misses[doc.PerfExporter.Profile]; ok {
		s.count(FiguresOf(doc))
	}
}
