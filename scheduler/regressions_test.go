package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// windowHistory records the window each baseline was asked over.
type windowHistory struct {
	historyRecorder
	mu      sync.Mutex
	windows [][2]time.Time
}

func (h *windowHistory) BaselineWithin(_ context.Context, _ string, _ int, from, until time.Time) (map[string]float64, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.windows = append(h.windows, [2]time.Time{from, until})
	return map[string]float64{"50": 0.001}, 1, nil
}

// regressionsStub says a regression opened at open.
type regressionsStub struct {
	open time.Time
	seen chan string
}

func (r regressionsStub) Observe(_ context.Context, doc *result.Document) (time.Time, time.Time, error) {
	r.seen <- doc.PerfExporter.RunID
	return time.Time{}, r.open, nil
}

// Each completed run is observed by the change-point tracker after it is
// saved, and the baseline covers the window the tracker gives: never the
// runs of an open regression.
func TestBaselineIsTheAcceptedLevels(t *testing.T) {
	engine := heldEngine{started: make(chan struct{}, 1), release: make(chan struct{})}
	close(engine.release)
	open := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	stub := regressionsStub{open: open, seen: make(chan string, 1)}
	history := &windowHistory{}
	s := New(Options{Engines: func(*config.Config, string) (loadgen.Engine, error) { return engine, nil },
		Recorder: collector.NewRuns(), History: history, Regressions: stub})
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: p, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("p"); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-stub.seen:
		if len(history.saved) != 1 || history.saved[0].PerfExporter.RunID != id {
			t.Errorf("observed %s, saved %v", id, history.saved)
		}
	default:
		t.Fatal("the run was not observed")
	}
	if len(history.windows) != 1 || !history.windows[0][1].Equal(open) {
		t.Errorf("baseline windows %v, want one ending at %v", history.windows, open)
	}
}

// trackerStub knows only the configured profiles, as the change-point
// tracker does after a reload: observing another is an error.
type trackerStub struct {
	mu       sync.Mutex
	known    map[string]bool
	observed []string
}

func (r *trackerStub) Observe(_ context.Context, doc *result.Document) (time.Time, time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, doc.PerfExporter.Profile)
	if !r.known[doc.PerfExporter.Profile] {
		return time.Time{}, time.Time{}, fmt.Errorf("no such profile: %s", doc.PerfExporter.Profile)
	}
	return time.Time{}, time.Time{}, nil
}

// The run in flight of a profile removed by a reload is saved, but no
// longer feeds the change points (it publishes nothing): removing a
// profile is routine, not an error to log ("cannot update the change
// points ... no such profile").
func TestRemovedProfileInFlightFeedsNoChangePoints(t *testing.T) {
	engine := heldEngine{started: make(chan struct{}, 1), release: make(chan struct{})}
	var buf testutil.SyncBuffer
	tracker := &trackerStub{known: map[string]bool{"gone": true, "keep": true}}
	history := &historyRecorder{}
	s := New(Options{Engines: func(*config.Config, string) (loadgen.Engine, error) { return engine, nil },
		Recorder: collector.NewRuns(), History: history, Regressions: tracker,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: gone, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
  - {name: keep, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("gone"); err != nil {
		t.Fatal(err)
	}
	<-engine.started
	if err := s.Apply(testConfig(t, `
profiles:
  - {name: keep, schedule: "@every 1h", target: {url: "http://127.0.0.1:1/"}}
`)); err != nil {
		t.Fatal(err)
	}
	tracker.mu.Lock()
	tracker.known = map[string]bool{"keep": true} // the daemon reloads the tracker too
	tracker.mu.Unlock()
	close(engine.release)
	testutil.WaitFor(t, 15*time.Second, "the run saved", func() bool {
		history.mu.Lock()
		defer history.mu.Unlock()
		return len(history.saved) == 1
	})
	if err := s.Stop(context.Background()); err != nil { // waits for the run to publish
		t.Fatal(err)
	}
	tracker.mu.Lock()
	defer tracker.mu.Unlock()
	if len(tracker.observed) != 0 {
		t.Errorf("the removed profile's run fed the change points: %v", tracker.observed)
	}
	if strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("removing a profile logged an error:\n%s", buf.String())
	}
}
