package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
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
