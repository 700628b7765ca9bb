package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// Ctrl-C (or shutdown) during the warm-up: nothing was measured, and the
// document still says what was asked, not "max" on 0 connections for 0s.
func TestRunStoppedInWarmupKeepsRequestedFigures(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { once.Do(cancel) }))
	t.Cleanup(srv.Close)
	p := testProfile(srv.URL, 20, 2, time.Second)
	p.Load.Warmup = config.Duration(time.Minute)
	start := time.Now()
	run := &Run{Profile: p, Split: 1, ID: RunID(p.Name, start), Start: start, Engine: NewFortio()}
	got := run.Execute(ctx)
	doc := got.Doc
	if doc.PerfExporter.Outcome != result.OutcomeAborted {
		t.Errorf("outcome %q (%s), want aborted", doc.PerfExporter.Outcome, doc.PerfExporter.Error)
	}
	if doc.RequestedQPS != "20" || doc.RequestedDuration != "1s" || doc.NumThreads != 2 || doc.NumConnections != 2 {
		t.Errorf("document of a run stopped in warm-up asked %s qps for %s on %d/%d connections, want 20 for 1s on 2",
			doc.RequestedQPS, doc.RequestedDuration, doc.NumThreads, doc.NumConnections)
	}
	if got.Measured == nil || got.Measured.RequestedQPS != 0 {
		t.Errorf("the engine's measurement was changed: %+v", got.Measured)
	}
}

type failingEngine struct{ err error }

func (e failingEngine) Run(context.Context, config.Profile, result.Observer) (*result.Measurement, error) {
	return nil, e.err
}

// A run the engine returns nothing for (name not resolved, binary missing)
// gets a stand-in with the requested figures, and its pending document (what
// a crash leaves) says the same.
func TestRunWithoutMeasurementKeepsRequestedFigures(t *testing.T) {
	start := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	p := testProfile("http://user:hunter2@example.invalid/x", 20, 2, 30*time.Second)
	now := start.Add(5 * time.Millisecond)
	run := &Run{Profile: p, Split: 3, ID: RunID(p.Name, start), Start: start,
		Engine: failingEngine{errors.New("dial example.invalid: no such host (user:hunter2)")}, Now: func() time.Time { return now }}
	if run.ID != "test-20261130T040000.000Z" {
		t.Errorf("run id %q", run.ID)
	}
	got := run.Execute(t.Context())
	if got.Measured != nil {
		t.Errorf("Measured = %+v, want nil when the engine failed", got.Measured)
	}
	pending := run.Pending()
	for name, doc := range map[string]*result.Document{"finished": got.Doc, "pending": pending} {
		if doc.RequestedQPS != "20" || doc.RequestedDuration != "30s" || doc.NumThreads != 2 || doc.PerfExporter.Split != 3 ||
			doc.PerfExporter.RunID != run.ID || !doc.StartTime.Equal(start) {
			t.Errorf("%s document: asked %s for %s on %d connections, split %d, id %s, start %v",
				name, doc.RequestedQPS, doc.RequestedDuration, doc.NumThreads, doc.PerfExporter.Split, doc.PerfExporter.RunID, doc.StartTime)
		}
	}
	if got.Doc.PerfExporter.Outcome != result.OutcomeFailure || got.Doc.ActualDuration != 5*time.Millisecond {
		t.Errorf("finished: outcome %q, duration %v", got.Doc.PerfExporter.Outcome, got.Doc.ActualDuration)
	}
	if pending.PerfExporter.Outcome != result.OutcomeAborted || pending.ActualDuration != 0 {
		t.Errorf("pending: outcome %q, duration %v", pending.PerfExporter.Outcome, pending.ActualDuration)
	}
	if e := got.Doc.PerfExporter.Error; e == "" || strings.Contains(e, "hunter2") {
		t.Errorf("error %q: want it, with the URL's password redacted", e)
	}
}
