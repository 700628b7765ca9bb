package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAcceptancesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, a := range []Acceptance{
		{Metric: "latency_p99", ChangeID: "latency_p99@r2", At: at.Add(time.Minute)},
		{Metric: "error_ratio", ChangeID: "error_ratio@r1", At: at},
	} {
		if err := s.Accept(ctx, "checkout", a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Acceptances(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Metric != "error_ratio" || got[1].ChangeID != "latency_p99@r2" || !got[1].At.Equal(at.Add(time.Minute)) {
		t.Errorf("acceptances after restart: %+v", got)
	}
	if other, err := s.Acceptances(ctx, "search"); err != nil || len(other) != 0 {
		t.Errorf("another profile: %+v, %v", other, err)
	}
}

func TestSeriesAndBaselineWithin(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	scales := []float64{1, 1, 1, 2, 2, 2}
	for i, scale := range scales {
		r := run{id: fmt.Sprint("r", i), profile: "p", start: base.Add(time.Duration(i) * time.Minute), scale: scale}
		if err := s.Save(ctx, r.doc()); err != nil {
			t.Fatal(err)
		}
	}
	series, err := s.Series(ctx, "p")
	if err != nil || len(series) != 6 || series[0].RunID != "r0" || series[5].RunID != "r5" {
		t.Fatalf("series oldest first: %+v, %v", series, err)
	}
	low, high := series[0].Latency["99"], series[5].Latency["99"]
	// The level before the change at run 3 only, then the one since.
	got, n, err := s.BaselineWithin(ctx, "p", 10, time.Time{}, base.Add(3*time.Minute))
	if err != nil || n != 3 || got["99"] != low {
		t.Errorf("before the change: %v over %d runs, %v; want p99 %v over 3", got, n, err, low)
	}
	got, n, err = s.BaselineWithin(ctx, "p", 10, base.Add(3*time.Minute), time.Time{})
	if err != nil || n != 3 || got["99"] != high {
		t.Errorf("since the change: %v over %d runs, %v; want p99 %v over 3", got, n, err, high)
	}
}
