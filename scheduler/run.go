package scheduler

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// environmentTimeout bounds the environment queries of one run; they run
// after the run's own metrics are published, so a slow Prometheus only
// delays the environment values.
const environmentTimeout = 2 * time.Minute

// run performs one run of a profile, from waiting for a slot to publishing.
// The environment queries follow in the background: they wait for
// Prometheus's next scrape, and neither the next run nor other profiles'
// runs should wait for them.
func (s *Scheduler) run(cfg *config.Config, slots *slots, p config.Profile, gen uint64, tick time.Time, trigger string) {
	doc := s.measure(cfg, slots, p, gen, tick, trigger)
	if doc != nil && s.opts.Finished != nil {
		s.opts.Finished.RunFinished(doc)
	}
	if doc == nil || doc.PerfExporter.Outcome == result.OutcomeAborted || len(p.Environment) == 0 || s.opts.Environment == nil {
		return
	}
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.runs.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.runs.Done()
		s.addEnvironment(p, doc)
	}()
}

// measure runs the load test while holding a concurrency slot, then saves
// and publishes its document. It returns nil when no run took place. gen
// is the profile's generation when the run was launched: a profile removed
// since gets nothing published (see publish).
func (s *Scheduler) measure(cfg *config.Config, slots *slots, p config.Profile, gen uint64, tick time.Time, trigger string) *result.Document {
	ctx := s.ctx
	jitter(ctx, cfg.Global.StartJitter.D())
	if err := slots.acquire(ctx, tick); err != nil {
		s.ifCurrent(p.Name, gen, func() { s.opts.Recorder.CountOutcome(p.Name, result.OutcomeAborted) })
		return nil
	}
	defer slots.release()
	start := s.opts.Now()
	late := max(start.Sub(tick), 0)
	// A profile removed while its run waited for a slot does not run; the
	// observer is taken under the same lock, as it creates series.
	var live result.Observer
	s.ifCurrent(p.Name, gen, func() {
		s.opts.Recorder.SetScheduleLateness(p.Name, late)
		live = s.opts.Recorder.Observer(p.Name)
	})
	if live == nil {
		s.log.Info("run not started: the profile was removed", "profile", p.Name, "trigger", trigger)
		return nil
	}
	runID := loadgen.RunID(p.Name, start)
	log := s.log.With("profile", p.Name, "run", runID)
	split := SplitProfile(p, s.opts.Split)
	engine, err := s.opts.Engines(cfg, p.Engine)
	if err != nil {
		engine = unavailable{err}
	}
	obs := &countingObserver{next: live}
	run := &loadgen.Run{Profile: split, Split: s.opts.Split, ID: runID, Start: start, Engine: engine, Observer: obs, Now: s.opts.Now}
	if h := s.opts.History; h != nil {
		if err := h.BeginRun(ctx, run.Pending()); err != nil {
			log.Error("cannot record the run's start in the store", "err", err)
		}
	}
	log.Info("run starting", "trigger", trigger, "schedule_lateness", late, "qps", split.Load.QPS, "connections", split.Load.Connections)

	finished := run.Execute(ctx)
	doc := finished.Doc
	if doc.PerfExporter.Error != "" {
		log.Error("run failed", "err", doc.PerfExporter.Error)
	} else {
		log.Info("run finished", "outcome", doc.PerfExporter.Outcome, "summary", finished.Measured.Describe())
	}
	if reasons := doc.PerfExporter.ErrorReasons; len(reasons) > 0 {
		// Once per run, however many requests failed: the engine's own
		// per-request lines are silenced.
		log.Warn("requests got no response", "failed", doc.PerfExporter.Codes[result.CodeError], "reasons", reasons)
	}
	var bulk *result.Measurement
	if obs.n.Load() == 0 {
		// The engine reported at the end only: its requests are recorded
		// in bulk when the run is published.
		bulk = finished.Measured
	}

	// Persist first (a detached context: an aborted run is still recorded),
	// then publish, so a crash never shows metrics the history lacks.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.save(saveCtx, log, doc)
	s.publish(saveCtx, cfg, p.Name, gen, doc, bulk)
	return doc
}

// addEnvironment evaluates the profile's environment queries over the
// run's window, then stores and publishes the document again with them. A
// copy is changed: the published document may be read concurrently.
func (s *Scheduler) addEnvironment(p config.Profile, doc *result.Document) {
	ctx, cancel := context.WithTimeout(s.ctx, environmentTimeout)
	defer cancel()
	start := doc.StartTime
	values := s.opts.Environment.Evaluate(ctx, p, start, start.Add(doc.ActualDuration))
	withEnv := *doc
	withEnv.PerfExporter.Environment = values
	saveCtx, cancelSave := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelSave()
	s.save(saveCtx, s.log.With("profile", p.Name, "run", doc.PerfExporter.RunID), &withEnv)
	s.mu.Lock()
	current := s.last[p.Name] == doc
	if current {
		s.last[p.Name] = &withEnv
	}
	s.mu.Unlock()
	if current { // a newer run's gauges must not be replaced by an older run's
		s.opts.Recorder.SetLastRun(&withEnv)
	}
}

// unavailable stands for an engine that could not be made: running it
// fails with the reason, so the run is recorded as a failure.
type unavailable struct{ err error }

func (u unavailable) Run(context.Context, config.Profile, result.Observer) (*result.Measurement, error) {
	return nil, u.err
}

func (s *Scheduler) save(ctx context.Context, log *slog.Logger, doc *result.Document) {
	if s.opts.History == nil {
		return
	}
	if err := s.opts.History.Save(ctx, doc); err != nil {
		log.Error("cannot save the run's result", "err", err)
	}
}

// publish makes a completed run's document the profile's last run: its
// requests when the engine reported them only at the end, its gauges, its
// outcome count and, for a success, the new baseline. A run of a profile
// removed since it was launched publishes nothing (it is in the history):
// a removed profile's series must not come back, and if the name was added
// again, its series are the new definition's. The generation is checked
// under the lock reconcile holds while it removes series, so the two do
// not interleave.
func (s *Scheduler) publish(ctx context.Context, cfg *config.Config, profile string, gen uint64, doc *result.Document, bulk *result.Measurement) {
	removed := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.gen[profile] != gen
	}
	notPublished := func() {
		s.log.Info("run of a removed profile saved to the history but not published", "profile", profile, "run", doc.PerfExporter.RunID)
	}
	// Checked before the change points too: they are series of the profile
	// as well, and the tracker has forgotten a removed profile (observing
	// its run would only log an error).
	if removed() {
		notPublished()
		return
	}
	var baseline map[string]float64
	var n int
	var from, until time.Time
	if s.opts.History != nil && s.opts.Regressions != nil {
		var err error
		// A reload may remove the profile meanwhile: then the error is that.
		if from, until, err = s.opts.Regressions.Observe(ctx, doc); err != nil && !removed() {
			s.log.Error("cannot update the change points", "profile", profile, "err", err)
		}
	}
	if s.opts.History != nil && doc.PerfExporter.Outcome == result.OutcomeSuccess {
		var err error
		if baseline, n, err = s.opts.History.BaselineWithin(ctx, profile, cfg.Global.BaselineRuns, from, until); err != nil {
			s.log.Error("cannot compute the baseline", "profile", profile, "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen[profile] != gen {
		notPublished()
		return
	}
	if bulk != nil {
		s.opts.Recorder.RecordBulk(profile, bulk)
	}
	s.last[profile] = doc
	s.opts.Recorder.SetLastRun(doc)
	s.opts.Recorder.CountOutcome(profile, doc.PerfExporter.Outcome)
	if n > 0 {
		s.opts.Recorder.SetBaseline(profile, baseline)
	}
}

// ifCurrent calls f unless the profile was removed since generation gen.
func (s *Scheduler) ifCurrent(profile string, gen uint64, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen[profile] == gen {
		f()
	}
}

// countingObserver tells whether the engine reported requests live.
type countingObserver struct {
	next result.Observer
	n    atomic.Int64
}

func (o *countingObserver) ObserveRequest(latency time.Duration, code string) {
	o.n.Add(1)
	o.next.ObserveRequest(latency, code)
}

// SplitProfile is the share of a profile's load that one of n replicas
// sends: 1/n of the rate and of the connections, rounded up so every
// replica keeps at least one connection.
func SplitProfile(p config.Profile, n int) config.Profile {
	if n <= 1 {
		return p
	}
	p.Load.QPS /= float64(n)
	p.Load.Connections = (p.Load.Connections + n - 1) / n
	p.Load.Threads = min(p.Load.Threads, p.Load.Connections)
	return p
}
