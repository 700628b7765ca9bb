package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/perf-exporter/perf-exporter/result"
)

// A run the exporter died during keeps what it was asked: a 20 qps profile
// must not read "max" on its run page.
func TestRecoveredRunKeepsRequestedFigures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BeginRun(ctx, pending("crashed", "p", base)); err != nil {
		t.Fatal(err)
	}
	s.Close() // as after kill -9: the mark is on disk, the result never came

	s = openStore(t, dir, Options{})
	if _, err := s.RecoverInFlight(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	doc, err := s.Get(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	if doc.RequestedQPS != "20" || doc.RequestedDuration != "30s" || doc.NumThreads != 2 || doc.NumConnections != 2 {
		t.Errorf("recovered run asked %s qps for %s on %d/%d connections, want 20 for 30s on 2",
			doc.RequestedQPS, doc.RequestedDuration, doc.NumThreads, doc.NumConnections)
	}
	if x := doc.PerfExporter; x.Outcome != result.OutcomeAborted || x.Error != AbortedByCrash || len(x.Notes) != 1 || doc.URL == "" {
		t.Errorf("recovered run: outcome %q, error %q, notes %q, URL %q", x.Outcome, x.Error, x.Notes, doc.URL)
	}
}

// Marks written before they carried the pending document still recover.
func TestRecoverMarkWithoutPendingDocument(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	mark, _ := json.Marshal(struct {
		Profile   string
		StartTime time.Time
	}{"p", base})
	if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketInFlight).Put([]byte("old"), mark) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecoverInFlight(ctx, base.Add(time.Hour))
	if err != nil || len(got) != 1 {
		t.Fatalf("RecoverInFlight = %v, %v", got, err)
	}
	if x := got[0].PerfExporter; x.RunID != "old" || x.Profile != "p" || x.Outcome != result.OutcomeAborted || !got[0].StartTime.Equal(base) {
		t.Errorf("recovered old mark: %+v at %v", x, got[0].StartTime)
	}
}

// Latest passes over aborted runs: after a kill -9 during a run, the
// last-run gauges come back from the run before it, not from the abort.
func TestLatestPassesOverAbortedRuns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	save(t, s,
		run{id: "p1", profile: "p", start: base},
		run{id: "p2", profile: "p", start: base.Add(time.Minute), outcome: result.OutcomeSLOMissed},
		run{id: "p3", profile: "p", start: base.Add(2 * time.Minute), outcome: result.OutcomeAborted}, // SIGTERM
		run{id: "q1", profile: "q", start: base, outcome: result.OutcomeAborted},
	)
	if err := s.BeginRun(ctx, pending("p4", "p", base.Add(3*time.Minute))); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openStore(t, dir, Options{})
	if _, err := s.RecoverInFlight(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := latest["p"]
	if p.Run == nil || p.Run.PerfExporter.RunID != "p2" {
		t.Errorf("Latest run of p: %v, want p2 (the newest completed run)", p.Run)
	}
	if p.Success == nil || p.Success.RunID != "p1" {
		t.Errorf("Latest success of p: %+v, want p1", p.Success)
	}
	if q, ok := latest["q"]; !ok || q.Run != nil || q.Success != nil {
		t.Errorf("Latest of q, which only has an aborted run: %+v (listed %v), want no run", q, ok)
	}
}
