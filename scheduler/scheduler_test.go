package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// fakeRecorder counts what the scheduler publishes.
type fakeRecorder struct {
	mu        sync.Mutex
	outcomes  map[string]map[string]int
	docs      []*result.Document
	profiles  []string
	intervals map[string]time.Duration
}

func newFakeRecorder() *fakeRecorder {
	return &fakeRecorder{outcomes: map[string]map[string]int{}}
}

func (f *fakeRecorder) Observer(string) result.Observer           { return nopObserver{} }
func (f *fakeRecorder) RecordBulk(string, *result.Measurement)    {}
func (f *fakeRecorder) SetScheduleLateness(string, time.Duration) {}
func (f *fakeRecorder) SetBaseline(string, map[string]float64)    {}
func (f *fakeRecorder) CountOutcome(profile, outcome string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outcomes[profile] == nil {
		f.outcomes[profile] = map[string]int{}
	}
	f.outcomes[profile][outcome]++
}
func (f *fakeRecorder) SetLastRun(doc *result.Document) {
	f.mu.Lock()
	f.docs = append(f.docs, doc)
	f.mu.Unlock()
}
func (f *fakeRecorder) SetProfiles(ps []config.Profile, intervals map[string]time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intervals = intervals
	f.profiles = nil
	for _, p := range ps {
		f.profiles = append(f.profiles, p.Name)
	}
}
func (f *fakeRecorder) count(profile, outcome string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outcomes[profile][outcome]
}

type nopObserver struct{}

func (nopObserver) ObserveRequest(time.Duration, string) {}

// sleepEngine "runs" for the profile's duration, or until cancelled, and
// notes how many runs overlap.
type sleepEngine struct {
	mu        sync.Mutex
	active    int
	maxActive int
	started   chan string
}

func (e *sleepEngine) Run(ctx context.Context, p config.Profile, _ result.Observer) (*result.Measurement, error) {
	e.mu.Lock()
	e.active++
	e.maxActive = max(e.maxActive, e.active)
	e.mu.Unlock()
	defer func() { e.mu.Lock(); e.active--; e.mu.Unlock() }()
	if e.started != nil {
		e.started <- p.Name
	}
	start := time.Now()
	aborted := false
	select {
	case <-time.After(p.Load.Duration.D()):
	case <-ctx.Done():
		aborted = true
	}
	return &result.Measurement{Engine: "sleep", StartTime: start, ActualDuration: time.Since(start),
		Codes: map[string]int64{"200": 10}, Aborted: aborted}, nil
}

func testConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestScheduler(rec *fakeRecorder, engine loadgen.Engine) *Scheduler {
	return New(Options{
		Engines:  func(*config.Config, string) (loadgen.Engine, error) { return engine, nil },
		Recorder: rec,
	})
}

func TestOverlappingTickIsSkipped(t *testing.T) {
	rec := newFakeRecorder()
	s := newTestScheduler(rec, &sleepEngine{})
	cfg := testConfig(t, `
profiles:
  - name: slow
    schedule: "@every 1s"
    target: {url: "http://127.0.0.1:1/"}
    load: {duration: 2500ms}
`)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer func() { _ = s.Stop(context.Background()) }()
	testutil.WaitFor(t, 15*time.Second, "a skipped tick", func() bool { return rec.count("slow", result.OutcomeSkipped) >= 1 })
	testutil.WaitFor(t, 15*time.Second, "a completed run", func() bool { return rec.count("slow", result.OutcomeSuccess) >= 1 })
}

func TestMaxConcurrentRunsSerialisesProfiles(t *testing.T) {
	rec := newFakeRecorder()
	engine := &sleepEngine{}
	s := newTestScheduler(rec, engine)
	cfg := testConfig(t, `
profiles:
  - {name: a, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 300ms}}
  - {name: b, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 300ms}}
  - {name: c, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 300ms}}
`)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "three runs", func() bool {
		return rec.count("a", result.OutcomeSuccess)+rec.count("b", result.OutcomeSuccess)+rec.count("c", result.OutcomeSuccess) == 3
	})
	if engine.maxActive != 1 {
		t.Errorf("%d runs overlapped with max_concurrent_runs 1", engine.maxActive)
	}
	_ = s.Stop(context.Background())
}

func TestShutdownAbortsRunsInFlight(t *testing.T) {
	rec := newFakeRecorder()
	engine := &sleepEngine{started: make(chan string, 1)}
	s := newTestScheduler(rec, engine)
	cfg := testConfig(t, `
profiles:
  - {name: long, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 10m}}
`)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.count("long", result.OutcomeAborted); got != 1 {
		t.Errorf("aborted runs = %d, want 1", got)
	}
	if len(rec.docs) != 1 || rec.docs[0].PerfExporter.Outcome != result.OutcomeAborted {
		t.Errorf("the aborted run's document was not published: %+v", rec.docs)
	}
}

func TestReloadKeepsRunsInFlight(t *testing.T) {
	rec := newFakeRecorder()
	engine := &sleepEngine{started: make(chan string, 4)}
	s := newTestScheduler(rec, engine)
	first := testConfig(t, `
profiles:
  - {name: keep, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 1s}}
  - {name: gone, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)
	if err := s.Apply(first); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	second := testConfig(t, `
global: {max_concurrent_runs: 2}
profiles:
  - {name: keep, schedule: "@every 2h", target: {url: "http://127.0.0.1:1/"}, load: {duration: 1s}}
  - {name: new, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)
	if err := s.Apply(second); err != nil {
		t.Fatal(err)
	}
	// The run that started before the reload completes normally.
	testutil.WaitFor(t, 15*time.Second, "the in-flight run", func() bool { return rec.count("keep", result.OutcomeSuccess) == 1 })
	var names []string
	for _, st := range s.Statuses() {
		names = append(names, st.Profile.Name)
	}
	if len(names) != 2 || names[0] != "keep" || names[1] != "new" {
		t.Errorf("scheduled after reload: %v, want [keep new]", names)
	}
	if st := s.Statuses()[0]; st.Profile.Schedule != "@every 2h" {
		t.Errorf("changed profile keeps its old schedule %q", st.Profile.Schedule)
	}
	_ = s.Stop(context.Background())
}

func TestRunNow(t *testing.T) {
	rec := newFakeRecorder()
	engine := &sleepEngine{started: make(chan string, 1)}
	s := newTestScheduler(rec, engine)
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: manual, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}, load: {duration: 500ms}}
`)); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("nope"); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("RunNow(unknown) = %v", err)
	}
	if err := s.RunNow("manual"); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	if err := s.RunNow("manual"); !errors.Is(err, ErrRunning) {
		t.Errorf("RunNow while running = %v, want ErrRunning", err)
	}
	testutil.WaitFor(t, 15*time.Second, "the run", func() bool { return rec.count("manual", result.OutcomeSuccess) == 1 })
	_ = s.Stop(context.Background())
}

func TestSplitProfile(t *testing.T) {
	p := config.Profile{Load: config.Load{QPS: 300, Connections: 8, Threads: 8}}
	got := SplitProfile(p, 3)
	if got.Load.QPS != 100 || got.Load.Connections != 3 || got.Load.Threads != 3 {
		t.Errorf("SplitProfile(300 qps, 8 conns, 3) = %+v", got.Load)
	}
	if one := SplitProfile(p, 1).Load; one.QPS != 300 || one.Connections != 8 {
		t.Errorf("split 1 changed the load")
	}
}

func TestEveryIsAlignedAcrossProcesses(t *testing.T) {
	s, err := parseSchedule("@every 10s")
	if err != nil {
		t.Fatal(err)
	}
	a := s.Next(time.Unix(1000, 3e8))
	b := s.Next(time.Unix(1007, 0))
	if !a.Equal(time.Unix(1010, 0)) || !b.Equal(a) {
		t.Errorf("@every 10s after 1000.3 and 1007: %v and %v, want both at 1010", a.Unix(), b.Unix())
	}
}

// The exported interval is the schedule's longest gap, whenever the config
// is loaded: the gap to the next firing made PerfNoRecentSuccess fire every
// day for "0 0,1 * * *" (3600 s when loaded before midnight).
func TestPublishedIntervalIsTheLongestGap(t *testing.T) {
	cfg := testConfig(t, `
profiles:
  - {name: twice, schedule: "0 0,1 * * *", target: {url: "http://127.0.0.1:1/"}}
  - {name: office, schedule: "*/15 9-17 * * *", target: {url: "http://127.0.0.1:1/"}}
  - {name: every, schedule: "@every 10s", target: {url: "http://127.0.0.1:1/"}}
`)
	want := map[string]time.Duration{"twice": 23 * time.Hour, "office": 15*time.Hour + 15*time.Minute, "every": 10 * time.Second}
	for _, now := range []time.Time{time.Date(2026, 3, 2, 23, 30, 0, 0, time.Local), time.Date(2026, 3, 3, 12, 0, 0, 0, time.Local)} {
		rec := newFakeRecorder()
		s := New(Options{
			Engines:  func(*config.Config, string) (loadgen.Engine, error) { return &sleepEngine{}, nil },
			Recorder: rec,
			Now:      func() time.Time { return now },
		})
		if err := s.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		for name, iv := range want {
			if got := rec.intervals[name]; got != iv {
				t.Errorf("loaded at %s: interval of %s = %s, want %s", now.Format("15:04"), name, got, iv)
			}
		}
	}
}

// slowEnvironment answers after release is closed.
type slowEnvironment struct{ release chan struct{} }

func (e slowEnvironment) Evaluate(ctx context.Context, _ config.Profile, _, _ time.Time) []result.EnvironmentValue {
	select {
	case <-e.release:
	case <-ctx.Done():
	}
	return []result.EnvironmentValue{{Set: "nodes", Name: "load1", Avg: 1.5, Max: 2}}
}

// Environment queries wait for Prometheus; they must not hold up the next
// runs, and their values reach the run's published document.
func TestEnvironmentDoesNotHoldTheSlot(t *testing.T) {
	rec := newFakeRecorder()
	env := slowEnvironment{release: make(chan struct{})}
	s := New(Options{
		Engines:     func(*config.Config, string) (loadgen.Engine, error) { return &sleepEngine{}, nil },
		Recorder:    rec,
		Environment: env,
	})
	cfg := testConfig(t, `
prometheus: [{name: p, url: "http://127.0.0.1:1"}]
profiles:
  - {name: a, schedule: "@every 1h", run_on_start: true, environment: [nodes], target: {url: "http://127.0.0.1:1/"}, load: {duration: 100ms}}
  - {name: b, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 100ms}}
`)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "both runs while a's environment is pending", func() bool {
		return rec.count("a", result.OutcomeSuccess) == 1 && rec.count("b", result.OutcomeSuccess) == 1
	})
	if err := s.RunNow("a"); err != nil {
		t.Errorf("profile a still counts as running while its environment is evaluated: %v", err)
	}
	close(env.release)
	testutil.WaitFor(t, 15*time.Second, "the environment values", func() bool {
		for _, st := range s.Statuses() {
			if st.Profile.Name == "a" && st.Last != nil && len(st.Last.PerfExporter.Environment) == 1 {
				return true
			}
		}
		return false
	})
	_ = s.Stop(context.Background())
}

// recordingEngine keeps the profile it was asked to run.
type recordingEngine struct{ got chan config.Profile }

func (e recordingEngine) Run(_ context.Context, p config.Profile, _ result.Observer) (*result.Measurement, error) {
	e.got <- p
	return &result.Measurement{Codes: map[string]int64{"200": 1}}, nil
}

func TestHeaderFilesAreReadForEachRun(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	engine := recordingEngine{got: make(chan config.Profile, 2)}
	rec := newFakeRecorder()
	s := New(Options{Engines: func(*config.Config, string) (loadgen.Engine, error) { return engine, nil }, Recorder: rec})
	if err := s.Apply(testConfig(t, fmt.Sprintf(`
profiles:
  - {name: auth, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/", header_files: {X-Api-Key: %q}}}
`, token))); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	for _, want := range []string{"first", "rotated"} {
		if err := os.WriteFile(token, []byte(want+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 15*time.Second, "the profile to be idle", func() bool { return s.RunNow("auth") == nil })
		p := <-engine.got
		if got := p.Target.Headers["X-Api-Key"]; got != want || !p.Target.IsSecretHeader("X-Api-Key") {
			t.Errorf("engine got X-Api-Key %q (secret %v), want %q", got, p.Target.IsSecretHeader("X-Api-Key"), want)
		}
	}
}

// TestConcurrentRunNowStartsOneRun: of many simultaneous RunNow calls for
// one profile, exactly one starts a run; every other one is refused with
// ErrRunning, and none is counted as a skipped tick. The race is narrow, so
// the burst is repeated on fresh schedulers, and the clock yields to other
// goroutines, as a preempted caller would.
func TestConcurrentRunNowStartsOneRun(t *testing.T) {
	const rounds, callers = 100, 32
	cfg := testConfig(t, `
profiles:
  - {name: manual, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}, load: {duration: 10m}}
`)
	for round := range rounds {
		rec := newFakeRecorder()
		s := New(Options{
			Engines:  func(*config.Config, string) (loadgen.Engine, error) { return &sleepEngine{}, nil },
			Recorder: rec,
			Now:      func() time.Time { runtime.Gosched(); return time.Now() },
		})
		if err := s.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, callers)
		var ready, done sync.WaitGroup
		release := make(chan struct{})
		for i := range callers {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-release
				errs[i] = s.RunNow("manual")
			})
		}
		ready.Wait()
		close(release)
		done.Wait()
		started := 0
		for _, err := range errs {
			switch {
			case err == nil:
				started++
			case !errors.Is(err, ErrRunning):
				t.Errorf("round %d: RunNow: %v, want nil or ErrRunning", round, err)
			}
		}
		if started != 1 {
			t.Errorf("round %d: %d of %d simultaneous RunNow calls started a run, want exactly 1", round, started, callers)
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := rec.count("manual", result.OutcomeSkipped); n != 0 {
			t.Errorf("round %d: %d refused RunNow calls counted as skipped ticks", round, n)
		}
		if t.Failed() {
			return
		}
	}
}

// TestRunNowWhileStopping: once the scheduler stops, RunNow says so rather
// than accepting a run that will never start.
func TestRunNowWhileStopping(t *testing.T) {
	s := newTestScheduler(newFakeRecorder(), &sleepEngine{})
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: manual, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("manual"); !errors.Is(err, ErrStopping) {
		t.Errorf("RunNow after Stop = %v, want ErrStopping", err)
	}
}

// TestShutdownSaysWhyRunsWereAborted: a run aborted by Stop says so in its
// document's Error.
func TestShutdownSaysWhyRunsWereAborted(t *testing.T) {
	rec := newFakeRecorder()
	engine := &sleepEngine{started: make(chan string, 1)}
	s := newTestScheduler(rec, engine)
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: long, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 10m}}
`)); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.docs) != 1 || rec.docs[0].PerfExporter.Error != "aborted: shutdown" {
		for _, d := range rec.docs {
			t.Logf("%s: %s %q", d.PerfExporter.RunID, d.PerfExporter.Outcome, d.PerfExporter.Error)
		}
		t.Errorf("want one document saying \"aborted: shutdown\"")
	}
}

// refusedEngine "runs" against a target that refuses every connection.
type refusedEngine struct{}

func (refusedEngine) Run(_ context.Context, _ config.Profile, _ result.Observer) (*result.Measurement, error) {
	return &result.Measurement{Engine: "refused", StartTime: time.Now(), ActualDuration: time.Second,
		Codes:        map[string]int64{result.CodeError: 1002},
		ErrorReasons: map[string]int64{"connection refused": 1000, "i/o timeout": 2}}, nil
}

// Failed requests are logged once per run, counted by reason, through the
// daemon's logger (issue 18, item 11).
func TestFailureReasonsAreLoggedOncePerRun(t *testing.T) {
	var buf testutil.SyncBuffer
	rec := newFakeRecorder()
	s := New(Options{
		Engines:  func(*config.Config, string) (loadgen.Engine, error) { return refusedEngine{}, nil },
		Recorder: rec,
		Logger:   slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	cfg := testConfig(t, `
profiles:
  - name: down
    schedule: "@every 1h"
    run_on_start: true
    target: {url: "http://127.0.0.1:1/"}
`)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	s.Start()
	testutil.WaitFor(t, 15*time.Second, "the run", func() bool { return rec.count("down", result.OutcomeFailure) >= 1 })
	_ = s.Stop(context.Background())
	var lines []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "requests got no response" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d lines about failed requests, want 1:\n%s", len(lines), buf.String())
	}
	reasons, _ := lines[0]["reasons"].(map[string]any)
	if reasons["connection refused"] != 1000.0 || reasons["i/o timeout"] != 2.0 || lines[0]["failed"] != 1002.0 || lines[0]["profile"] != "down" {
		t.Errorf("log line %v", lines[0])
	}
}

// With --load.split each replica sends a share of every profile: a share
// that cannot keep its connections busy is refused when the config is
// applied, at start or reload, not run short (issue 18, item 3).
func TestSplitShareIsChecked(t *testing.T) {
	s := New(Options{
		Engines:  func(*config.Config, string) (loadgen.Engine, error) { return &sleepEngine{}, nil },
		Recorder: newFakeRecorder(),
		Split:    3,
	})
	defer func() { _ = s.Stop(context.Background()) }()
	cfg := testConfig(t, `
profiles:
  - name: thin
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    load: {qps: 16, connections: 8, duration: 1s}
`)
	err := s.Apply(cfg)
	if err == nil || !strings.Contains(err.Error(), `profile "thin" with --load.split=3: this replica's share is 5.333333333333333 qps on 3 connections: load.qps 5.333333333333333 over load.duration 1s is 5 requests, fewer than 2 for each of the 3 load.connections`) {
		t.Errorf("Apply: %v", err)
	}
	if len(s.Statuses()) != 0 {
		t.Errorf("a refused config was applied: %+v", s.Statuses())
	}
	ok := testConfig(t, `
profiles:
  - name: thick
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    load: {qps: 30, connections: 8, duration: 1s}
`)
	if err := s.Apply(ok); err != nil {
		t.Errorf("Apply: %v", err)
	}
}
