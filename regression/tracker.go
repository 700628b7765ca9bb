// Package regression follows each profile's change points as runs land: it
// feeds every completed run to the change-point detector, keeps who
// accepted which new level (in the store, so it survives restarts), tells
// the scheduler which runs make the baseline, and exports the regression
// metrics of DESIGN §8.
package regression

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// Store is what the tracker reads and writes of the run history.
type Store interface {
	Series(ctx context.Context, profile string) ([]store.Summary, error)
	Acceptances(ctx context.Context, profile string) ([]store.Acceptance, error)
	Accept(ctx context.Context, profile string, a store.Acceptance) error
}

// MaxHistory is how many of a profile's latest runs the detector follows:
// change points further back are forgotten (acceptances are kept).
const MaxHistory = 1000

// Errors of Accept and Changes.
var (
	ErrUnknownProfile = errors.New("no such profile")
	ErrUnknownChange  = errors.New("no such change point")
)

// Change is a change point as the API shows it.
type Change struct {
	// ID is metric@run_id: stable while the change point stays at its run.
	ID        string    `json:"id"`
	Metric    string    `json:"metric"`
	RunID     string    `json:"run_id"`
	Time      time.Time `json:"time"`
	Direction string    `json:"direction"`
	Status    string    `json:"status"`
	Before    float64   `json:"before"`
	After     float64   `json:"after"`
	Ratio     float64   `json:"ratio"`
	PValue    float64   `json:"p_value"`
	// index is the run's position in the history.
	index int
}

// Tracker follows the change points of every profile. It is safe for
// concurrent use.
type Tracker struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	// maxHistory is MaxHistory but in tests.
	maxHistory int

	mu sync.Mutex
	// params are each configured profile's detector parameters.
	params   map[string]changepoint.Params
	profiles map[string]*profileState
	// found counts change points that appeared since start, by profile,
	// metric and direction (perf_change_points_total).
	found map[[3]string]float64
	// onChange hears of each change point when it is found (OnChange).
	onChange func(profile string, c Change)
	// versions change with each profile's series, so /metrics encodes a
	// profile's series again only when they changed (ProfileVersions).
	versions map[string]uint64
	gen      uint64
}

// OnChange sets a function told of each change point when Observe finds
// it (once, as perf_change_points_total counts it), e.g. to annotate it on
// Grafana boards. It is called with the tracker locked: it must not block
// or call the tracker. Set it before the first Observe.
func (t *Tracker) OnChange(f func(profile string, c Change)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onChange = f
}

type profileState struct {
	params   changepoint.Params
	hist     *changepoint.History
	accepted []store.Acceptance
	// seen are the positions of every change point shown so far, by metric
	// and direction: a new one is counted once, and one that moves by a run
	// as more runs come in is not new.
	seen    map[[2]string][]int
	changes []Change
}

// New returns a tracker over the store. now is the clock of acceptances
// (nil = time.Now).
func New(st Store, now func() time.Time, logger *slog.Logger) *Tracker {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Tracker{store: st, now: now, log: logger, maxHistory: MaxHistory, params: map[string]changepoint.Params{}, profiles: map[string]*profileState{}, found: map[[3]string]float64{}, versions: map[string]uint64{}}
}

// ApplyConfig sets each profile's detector parameters; a profile whose
// parameters changed is detected again from its history, and a removed
// profile is forgotten (its metrics go).
func (t *Tracker) ApplyConfig(cfg *config.Config) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.params = make(map[string]changepoint.Params, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		t.params[p.Name] = changepoint.ParamsFrom(cfg.RegressionsFor(p))
	}
	for name, st := range t.profiles {
		if params, ok := t.params[name]; !ok || params != st.params {
			delete(t.profiles, name)
		}
	}
	return nil
}

// BaselineWindow loads a profile's change points from the store (at start,
// so the metrics are there before the next run) and returns the window of
// the runs of its accepted latency level, as Observe does.
func (t *Tracker) BaselineWindow(ctx context.Context, profile string) (from, until time.Time, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.state(ctx, profile)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from, until = st.baselineWindow()
	return from, until, nil
}

// Load brings a profile's change points back from the store at start, as
// BaselineWindow does, but replays its history with the tracker unlocked:
// the other profiles' series are served meanwhile, and this profile's
// appear whole, once its replay is done. then is called with the profile's
// baseline window once its state is in (this replay's, or that of an
// Observe or API call that loaded it first), with the tracker locked: a
// run that ends meanwhile sets its baseline after then's, never before.
func (t *Tracker) Load(ctx context.Context, profile string, then func(from, until time.Time) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.profiles[profile]
	if st == nil {
		var err error
		if st, err = t.reload(ctx, profile, nil); err != nil {
			return err
		}
	}
	return then(st.baselineWindow())
}

// reload replays a profile's history from the store to replace old (nil:
// none) and returns the profile's state. t.mu is held on entry and return
// but released during the replay, which takes milliseconds to tens of
// milliseconds for a long history: scrapes and other profiles' runs do not
// wait for it, and old stays published until the new state is whole.
func (t *Tracker) reload(ctx context.Context, profile string, old *profileState) (*profileState, error) {
	params, ok := t.params[profile]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownProfile, profile)
	}
	t.mu.Unlock()
	built, err := t.build(ctx, profile, params)
	t.mu.Lock()
	if err != nil {
		return nil, err
	}
	switch cur := t.profiles[profile]; {
	case cur != nil && cur != old:
		return cur, nil // replayed by another meanwhile
	case t.params[profile] != params:
		// Forgotten or detected with new parameters since (a reload).
		return t.state(ctx, profile)
	}
	t.publish(profile, built)
	return built, nil
}

// state returns the profile's state, replaying its history from the store
// when it is not loaded yet. Called with t.mu held.
func (t *Tracker) state(ctx context.Context, profile string) (*profileState, error) {
	params, ok := t.params[profile]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownProfile, profile)
	}
	if st := t.profiles[profile]; st != nil {
		return st, nil
	}
	st, err := t.build(ctx, profile, params)
	if err != nil {
		return nil, err
	}
	t.publish(profile, st)
	return st, nil
}

// build replays a profile's history from the store. It reads only the
// store and the tracker's fixed fields: it needs no lock.
func (t *Tracker) build(ctx context.Context, profile string, params changepoint.Params) (*profileState, error) {
	runs, err := t.store.Series(ctx, profile)
	if err != nil {
		return nil, fmt.Errorf("change points of profile %s: %w", profile, err)
	}
	accepted, err := t.store.Acceptances(ctx, profile)
	if err != nil {
		return nil, fmt.Errorf("change points of profile %s: %w", profile, err)
	}
	st := &profileState{params: params, hist: changepoint.NewHistory(params), accepted: accepted, seen: map[[2]string][]int{}}
	// The detector's work per run grows with the weak change points of the
	// history: it follows the last MaxHistory runs (the store's default
	// retention). AddAll leaves the detector as adding the runs one by one
	// did, at a fraction of the cost (it merges once).
	runs = runs[max(0, len(runs)-t.maxHistory):]
	replay := make([]changepoint.Run, len(runs))
	for i, s := range runs {
		replay[i] = runFromSummary(s)
	}
	st.hist.AddAll(replay)
	st.refresh()
	return st, nil
}

// publish makes a replayed profile's state the tracker's; t.mu is held.
func (t *Tracker) publish(profile string, st *profileState) {
	for _, c := range st.changes {
		st.isNew(c) // found before this start: not counted again
	}
	t.profiles[profile] = st
	t.changed(profile)
}

// Observe adds a completed run (already saved in the store) and returns the
// window of the runs that make the latency baseline: those of the accepted
// level, from its first run (zero: the beginning) up to the first run of an
// open latency regression (zero: none open).
func (t *Tracker) Observe(ctx context.Context, doc *result.Document) (from, until time.Time, err error) {
	profile := doc.PerfExporter.Profile
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.profiles[profile]
	// Past 2 × MaxHistory runs, start again from the last MaxHistory runs,
	// so a daemon that runs for months keeps its per-run work and memory
	// bounded.
	if st == nil || st.hist.Len() >= 2*t.maxHistory {
		// Replaying the store includes this run: it was saved first.
		if st, err = t.reload(ctx, profile, st); err != nil {
			return time.Time{}, time.Time{}, err
		}
	} else if !st.hist.Has(doc.PerfExporter.RunID, doc.StartTime) {
		// A replay that read the store after this run was saved has it
		// already (Load at start, while runs go on).
		st.hist.Add(changepoint.RunFromDocument(doc))
		st.refresh()
	}
	t.changed(profile)
	for _, c := range st.changes {
		if st.isNew(c) {
			t.found[[3]string{profile, c.Metric, c.Direction}]++
			t.log.Info("change point", "profile", profile, "metric", c.Metric, "run", c.RunID, "direction", c.Direction,
				"before", c.Before, "after", c.After, "p_value", c.PValue)
			if t.onChange != nil {
				t.onChange(profile, c)
			}
		}
	}
	from, until = st.baselineWindow()
	return from, until, nil
}

// Changes lists a profile's change points, oldest first.
func (t *Tracker) Changes(ctx context.Context, profile string) ([]Change, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.state(ctx, profile)
	if err != nil {
		return nil, err
	}
	return slices.Clone(st.changes), nil
}

// Accept makes the level a regression started its profile's new normal:
// every regression of that metric (of any latency metric, for a latency
// change) that started up to now is accepted.
// Accepting a change point that is not an open regression changes nothing.
func (t *Tracker) Accept(ctx context.Context, profile, id string) (Change, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.state(ctx, profile)
	if err != nil {
		return Change{}, err
	}
	i := slices.IndexFunc(st.changes, func(c Change) bool { return c.ID == id })
	if i < 0 {
		return Change{}, fmt.Errorf("profile %s: %w: %s", profile, ErrUnknownChange, id)
	}
	if st.changes[i].Status != changepoint.StatusOpen {
		return st.changes[i], nil
	}
	// A latency change shows in every percentile: accepting it accepts
	// the latency level, whichever percentile's change point was named.
	metrics := []string{st.changes[i].Metric}
	if slices.Contains(allLatency, metrics[0]) {
		metrics = allLatency
	}
	now := t.now()
	for _, metric := range metrics {
		a := store.Acceptance{Metric: metric, ChangeID: id, At: now}
		if err := t.store.Accept(ctx, profile, a); err != nil {
			return Change{}, err
		}
		st.accepted = append(st.accepted, a)
	}
	st.refresh()
	t.changed(profile)
	t.log.Info("regression accepted", "profile", profile, "change", id)
	return st.changes[i], nil
}

// isNew tells whether a change point was not seen before (nor one of the
// same metric and direction a run away), and remembers it.
func (st *profileState) isNew(c Change) bool {
	key := [2]string{c.Metric, c.Direction}
	for _, i := range st.seen[key] {
		if i >= c.index-1 && i <= c.index+1 {
			return false
		}
	}
	st.seen[key] = append(st.seen[key], c.index)
	return true
}

// refresh recomputes the change points with their statuses: the detector's
// (open, recovered, accepted improvements), then the acceptances recorded.
func (st *profileState) refresh() {
	cps := st.hist.Changes()
	st.changes = st.changes[:0]
	for _, cp := range cps {
		c := Change{
			ID: cp.Metric + "@" + cp.RunID, Metric: cp.Metric, RunID: cp.RunID, Time: cp.Time,
			Direction: cp.Direction, Status: cp.Status, Before: cp.Before, After: cp.After, Ratio: cp.Ratio, PValue: cp.PValue,
			index: cp.Index,
		}
		if c.Status == changepoint.StatusOpen && st.acceptedAfter(c.Metric, c.Time) {
			c.Status = changepoint.StatusAccepted
		}
		st.changes = append(st.changes, c)
	}
}

// acceptedAfter tells whether someone accepted the metric's level after a
// regression that started at start.
func (st *profileState) acceptedAfter(metric string, start time.Time) bool {
	for _, a := range st.accepted {
		if a.Metric == metric && !a.At.Before(start) {
			return true
		}
	}
	return false
}

// latencyMetrics are the metrics the latency baseline follows.
var latencyMetrics = []string{changepoint.LatencyP50, changepoint.LatencyP90, changepoint.LatencyP99}

// allLatency are the metrics one accept of a latency change accepts.
var allLatency = []string{changepoint.LatencyP50, changepoint.LatencyP90, changepoint.LatencyP99, changepoint.CorrectedLatencyP99}

// baselineWindow is the accepted latency level: from the last accepted
// latency change point (an improvement, or a regression someone accepted)
// before the first open latency regression, up to that regression.
func (st *profileState) baselineWindow() (from, until time.Time) {
	for _, c := range st.changes {
		if c.Status == changepoint.StatusOpen && slices.Contains(latencyMetrics, c.Metric) {
			if until.IsZero() || c.Time.Before(until) {
				until = c.Time
			}
		}
	}
	for _, c := range st.changes {
		if c.Status != changepoint.StatusAccepted || !slices.Contains(latencyMetrics, c.Metric) {
			continue
		}
		if (until.IsZero() || c.Time.Before(until)) && c.Time.After(from) {
			from = c.Time
		}
	}
	return from, until
}

// runFromSummary reads a stored run as RunFromDocument reads its document,
// so a replay at start finds what detection at each run found.
func runFromSummary(s store.Summary) changepoint.Run {
	requested, _ := strconv.ParseFloat(s.RequestedQPS, 64)
	v := map[string]float64{changepoint.AchievedRPS: s.ActualQPS, changepoint.ErrorRatio: s.ErrorRatio}
	for metric, label := range map[string]string{changepoint.LatencyP50: "50", changepoint.LatencyP90: "90", changepoint.LatencyP99: "99"} {
		if x, ok := s.Latency[label]; ok {
			v[metric] = x
		}
	}
	if s.CorrectedP99 > 0 {
		v[changepoint.CorrectedLatencyP99] = s.CorrectedP99
	}
	return changepoint.Run{
		ID: s.RunID, Time: s.StartTime, RequestedQPS: max(requested, 0),
		Counts: s.Outcome == result.OutcomeSuccess || s.Outcome == result.OutcomeSLOMissed, Values: v,
	}
}

var (
	descOpen = prometheus.NewDesc("perf_regression_open",
		"1 while a regression of the metric is open (not recovered, not accepted), else 0.", []string{"profile", "metric"}, nil)
	descRatio = prometheus.NewDesc("perf_regression_change_ratio",
		"After / before of the open regression of the metric, only while one is open.", []string{"profile", "metric"}, nil)
	descStarted = prometheus.NewDesc("perf_regression_started_timestamp_seconds",
		"Start of the first run of the open regression of the metric, only while one is open.", []string{"profile", "metric"}, nil)
	descFound = prometheus.NewDesc("perf_change_points_total",
		"Change points found since start, by metric and direction.", []string{"profile", "metric", "direction"}, nil)
)

// Describe implements prometheus.Collector.
func (t *Tracker) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descRatio, descStarted, descFound} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: every judged metric of every
// loaded profile has perf_regression_open (0 when none is open, so an alert
// resolves on accept), and the counters start at 0.
func (t *Tracker) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for profile, st := range t.profiles {
		t.collectProfile(profile, st, func(m prometheus.Metric) { ch <- m })
	}
}

// changed marks a profile's series changed; t.mu is held.
func (t *Tracker) changed(profile string) {
	t.gen++
	t.versions[profile] = t.gen
}

// ProfileVersions calls fn with every profile that has series and a number
// that changes whenever they do (for the exposition cache of /metrics).
func (t *Tracker) ProfileVersions(fn func(profile string, version uint64)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for profile := range t.profiles {
		fn(profile, t.versions[profile])
	}
}

// CollectProfile emits one profile's series, as Collect does.
func (t *Tracker) CollectProfile(profile string, emit func(prometheus.Metric)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.profiles[profile]; st != nil {
		t.collectProfile(profile, st, emit)
	}
}

func (t *Tracker) collectProfile(profile string, st *profileState, emit func(prometheus.Metric)) {
	for _, metric := range changepoint.Metrics() {
		var first, last *Change
		for i := range st.changes {
			c := &st.changes[i]
			if c.Metric != metric || c.Status != changepoint.StatusOpen {
				continue
			}
			if first == nil {
				first = c
			}
			last = c
		}
		open := 0.0
		if first != nil {
			open = 1
			ratio := 0.0
			if first.Before != 0 {
				ratio = last.After / first.Before
			}
			emit(prometheus.MustNewConstMetric(descRatio, prometheus.GaugeValue, ratio, profile, metric))
			emit(prometheus.MustNewConstMetric(descStarted, prometheus.GaugeValue, float64(first.Time.UnixNano())/1e9, profile, metric))
		}
		emit(prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, open, profile, metric))
		for _, dir := range []string{changepoint.Regression, changepoint.Improvement} {
			emit(prometheus.MustNewConstMetric(descFound, prometheus.CounterValue, t.found[[3]string{profile, metric, dir}], profile, metric, dir))
		}
	}
}
