// Package scheduler runs each profile's load test on its cron schedule:
// runs of one profile never overlap, runs of different profiles are limited
// by global.max_concurrent_runs, and a reload changes the schedule without
// killing runs in flight.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// Recorder is where run results go: the collector.
type Recorder interface {
	Observer(profile string) result.Observer
	RecordBulk(profile string, r *result.Measurement)
	CountOutcome(profile, outcome string)
	SetScheduleLateness(profile string, late time.Duration)
	SetLastRun(doc *result.Document)
	SetBaseline(profile string, percentiles map[string]float64)
	SetProfiles(profiles []config.Profile, intervals map[string]time.Duration)
}

// History keeps every run's document: the store. A run is marked in flight
// with its pending document (what was asked) before it starts, so a crash
// leaves a trace, and saved before its metrics are published.
type History interface {
	BeginRun(ctx context.Context, pending *result.Document) error
	Save(ctx context.Context, doc *result.Document) error
	// BaselineWithin is the median latency per percentile label of the
	// last n successful runs that started in [from, until) (zero: no
	// bound), and how many runs that was.
	BaselineWithin(ctx context.Context, profile string, n int, from, until time.Time) (map[string]float64, int, error)
}

// Regressions follows each profile's change points (package regression).
// Observe takes every completed run, after it is saved, and returns the
// window of the runs of the accepted latency level, which the baseline is
// the median of: never the runs of an open regression.
type Regressions interface {
	Observe(ctx context.Context, doc *result.Document) (from, until time.Time, err error)
}

// Environment evaluates a profile's environment queries over a run's window.
type Environment interface {
	Evaluate(ctx context.Context, p config.Profile, start, end time.Time) []result.EnvironmentValue
}

// Engines returns the engine for a profile's engine name.
type Engines func(cfg *config.Config, name string) (loadgen.Engine, error)

// Options wire a Scheduler.
type Options struct {
	Engines     Engines
	Recorder    Recorder
	History     History     // optional
	Environment Environment // optional
	Regressions Regressions // optional; needs History
	// Finished is told of every run's document once it is saved and
	// published (optional; e.g. the Grafana annotations).
	Finished RunListener
	Logger   *slog.Logger
	// Split makes this replica send 1/Split of every profile's load
	// (--load.split), so N replicas together send the profile's load.
	Split int
	Now   func() time.Time
}

// RunListener hears of each run that took place, completed or not. It
// must not block: the next run waits for it.
type RunListener interface {
	RunFinished(doc *result.Document)
}

// Errors of RunNow.
var (
	ErrUnknownProfile = errors.New("no such profile")
	ErrRunning        = errors.New("the profile is already running")
	ErrStopping       = errors.New("the scheduler is stopping")
)

// errShutdown is why Stop aborts the runs in flight: their documents say
// "aborted: shutdown".
var errShutdown = errors.New("shutdown")

// Scheduler owns the cron schedule and the runs in flight.
type Scheduler struct {
	opts Options
	cron *cron.Cron
	log  *slog.Logger

	// ctx is cancelled at shutdown: it aborts every run in flight.
	ctx    context.Context
	cancel context.CancelCauseFunc
	runs   sync.WaitGroup

	mu      sync.Mutex
	cfg     *config.Config
	entries map[string]*entry
	// running survives reloads: a changed profile's new schedule must not
	// start while the old definition's run is still going.
	running map[string]bool
	last    map[string]*result.Document
	// gen counts each profile name's removals. A run remembers the
	// generation it was launched in; one launched before a removal
	// publishes nothing, even if the name is configured again.
	gen   map[string]uint64
	slots *slots // max_concurrent_runs
}

type entry struct {
	id       cron.EntryID
	profile  config.Profile
	schedule cron.Schedule
	expected time.Time // the tick the next firing stands for
}

// New creates a Scheduler; Apply gives it profiles and Start starts it.
func New(opts Options) *Scheduler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Split < 1 {
		opts.Split = 1
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Scheduler{
		opts:    opts,
		log:     opts.Logger,
		cron:    cron.New(cron.WithParser(config.CronParser), cron.WithLogger(cronLogger{opts.Logger})),
		ctx:     ctx,
		cancel:  cancel,
		entries: map[string]*entry{},
		running: map[string]bool{},
		last:    map[string]*result.Document{},
		gen:     map[string]uint64{},
	}
}

// Apply reconciles the schedule with a (new) config: added profiles are
// scheduled, removed ones unscheduled, changed ones rescheduled. Runs in
// flight finish with the definition they started with. Profiles that are
// new and set run_on_start run now.
func (s *Scheduler) Apply(cfg *config.Config) error {
	if err := checkShares(cfg, s.opts.Split); err != nil {
		return err
	}
	startNow, err := s.reconcile(cfg)
	for _, p := range startNow {
		s.launchOrSkip(p, s.opts.Now(), "start")
	}
	return err
}

func (s *Scheduler) reconcile(cfg *config.Config) ([]config.Profile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots == nil || s.slots.size != cfg.Global.MaxConcurrentRuns {
		// Runs holding a slot of the old semaphore release it there.
		s.slots = newSlots(cfg.Global.MaxConcurrentRuns)
	}
	s.cfg = cfg
	wanted := map[string]config.Profile{}
	for _, p := range cfg.Profiles {
		wanted[p.Name] = p
	}
	for name, e := range s.entries {
		if p, ok := wanted[name]; !ok || !reflect.DeepEqual(p, e.profile) {
			s.cron.Remove(e.id)
			delete(s.entries, name)
			if !ok {
				s.gen[name]++
				delete(s.last, name)
			}
			s.log.Info("profile unscheduled", "profile", name, "reason", map[bool]string{true: "changed", false: "removed"}[ok])
		}
	}
	intervals := map[string]time.Duration{}
	var startNow []config.Profile
	for _, p := range cfg.Profiles {
		// The longest gap of the schedule, not the next one: alerts wait a
		// multiple of it, and an irregular cron has short and long gaps.
		iv, err := config.ScheduleInterval(p.Schedule)
		if err != nil { // validated already; a mismatch is a bug worth seeing
			return startNow, fmt.Errorf("profile %q: schedule %q: %w", p.Name, p.Schedule, err)
		}
		intervals[p.Name] = iv
		if _, ok := s.entries[p.Name]; ok {
			continue
		}
		sched, err := parseSchedule(p.Schedule)
		if err != nil { // validated already; a mismatch is a bug worth seeing
			return startNow, fmt.Errorf("profile %q: schedule %q: %w", p.Name, p.Schedule, err)
		}
		e := &entry{profile: p, schedule: sched, expected: sched.Next(s.opts.Now())}
		e.id = s.cron.Schedule(sched, cron.FuncJob(func() { s.tick(e) }))
		s.entries[p.Name] = e
		if p.RunOnStart {
			startNow = append(startNow, p)
		}
	}
	s.opts.Recorder.SetProfiles(cfg.Profiles, intervals)
	return startNow, nil
}

// Start starts the cron clock.
func (s *Scheduler) Start() { s.cron.Start() }

// tick is a cron firing of a profile's entry.
func (s *Scheduler) tick(e *entry) {
	s.mu.Lock()
	tick := e.expected
	e.expected = e.schedule.Next(s.opts.Now())
	current := s.entries[e.profile.Name] == e
	s.mu.Unlock()
	if current {
		s.launchOrSkip(e.profile, tick, "schedule")
	}
}

// RunNow starts a run of a profile outside its schedule. It is refused
// (ErrRunning) while the profile's previous run is going: of simultaneous
// calls exactly one starts a run.
func (s *Scheduler) RunNow(name string) error {
	now := s.opts.Now()
	s.mu.Lock()
	e, ok := s.entries[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownProfile, name)
	}
	if err := s.launch(e.profile, now, "api"); err != nil {
		return fmt.Errorf("%w: %q", err, name)
	}
	return nil
}

// launchOrSkip launches a run for a tick; a tick that finds the profile's
// previous run still going is counted as skipped.
func (s *Scheduler) launchOrSkip(p config.Profile, tick time.Time, trigger string) {
	if err := s.launch(p, tick, trigger); errors.Is(err, ErrRunning) {
		s.opts.Recorder.CountOutcome(p.Name, result.OutcomeSkipped)
		s.log.Warn("run skipped: the previous run is still going", "profile", p.Name, "trigger", trigger)
	}
}

// launch starts a run in the background. It refuses with ErrRunning while
// the profile's previous run is going, and with ErrStopping once Stop was
// called. The check and the start are one step under the lock, so two
// launches never both start.
func (s *Scheduler) launch(p config.Profile, tick time.Time, trigger string) error {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return ErrStopping
	}
	if s.running[p.Name] {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running[p.Name] = true
	cfg, slots, gen := s.cfg, s.slots, s.gen[p.Name]
	s.runs.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.runs.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, p.Name)
			s.mu.Unlock()
		}()
		// A panic in one run must not take the daemon, or the profile's
		// overlap guard, down with it.
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("run panicked", "profile", p.Name, "panic", v)
				s.ifCurrent(p.Name, gen, func() { s.opts.Recorder.CountOutcome(p.Name, result.OutcomeFailure) })
			}
		}()
		s.run(cfg, slots, p, gen, tick, trigger)
	}()
	return nil
}

// Status is what the landing page and API show of a profile.
type Status struct {
	Profile config.Profile
	Running bool
	Next    time.Time
	Last    *result.Document
}

// Statuses lists every scheduled profile, by name.
func (s *Scheduler) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.entries))
	for name, e := range s.entries {
		out = append(out, Status{Profile: e.profile, Running: s.running[name], Next: s.cron.Entry(e.id).Next, Last: s.last[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Profile.Name < out[j].Profile.Name })
	return out
}

// Restore gives the scheduler the last documents read from the store at
// start, so status pages are not blank after a restart.
func (s *Scheduler) Restore(docs []*result.Document) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		s.last[d.PerfExporter.Profile] = d
	}
}

// Stop stops scheduling, aborts the runs in flight (they are recorded as
// aborted) and waits for them, at most until ctx is done.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.cancel(errShutdown)
	s.mu.Unlock()
	<-s.cron.Stop().Done()
	done := make(chan struct{})
	go func() { s.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runs still going at shutdown: %w", ctx.Err())
	}
}

// cronLogger sends robfig/cron's messages to slog at debug level.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// jitter waits a random time up to upTo, or until ctx is done.
func jitter(ctx context.Context, upTo time.Duration) {
	if upTo <= 0 {
		return
	}
	t := time.NewTimer(rand.N(upTo))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// checkShares refuses a config with a profile whose share of the load this
// replica sends (--load.split) cannot be sent as asked: config validation
// checks the whole profile, but 1/N of its rate over 1/N of its
// connections may hold fewer than two requests per connection.
func checkShares(cfg *config.Config, split int) error {
	if split <= 1 {
		return nil
	}
	var errs []error
	for _, p := range cfg.Profiles {
		if p.Engine != config.EngineFortio && p.Engine != "" {
			continue
		}
		share := SplitProfile(p, split).Load
		for _, d := range []struct {
			fields config.RateFields
			d      time.Duration
		}{{config.ProfileRate, share.Duration.D()}, {config.ProfileWarmupRate, share.Warmup.D()}} {
			if d.d <= 0 {
				continue
			}
			if err := config.CheckRateShape(share.QPS, share.Connections, d.d, d.fields); err != nil {
				errs = append(errs, fmt.Errorf("profile %q with --load.split=%d: this replica's share is %g qps on %d connections: %w",
					p.Name, split, share.QPS, share.Connections, err))
			}
		}
	}
	return errors.Join(errs...)
}
