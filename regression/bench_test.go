package regression

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/store"
)

// memStore is a history in memory: the benchmark measures the detector's
// replay, not the store (store.BenchmarkOpen and the serve start-up
// benchmark have that part).
type memStore map[string][]store.Summary

func (m memStore) Series(_ context.Context, profile string) ([]store.Summary, error) {
	return m[profile], nil
}
func (m memStore) Acceptances(context.Context, string) ([]store.Acceptance, error) { return nil, nil }
func (m memStore) Accept(context.Context, string, store.Acceptance) error          { return nil }

// BenchmarkReplayAtStart is the tracker's part of a daemon's start: every
// profile's change points, baseline window and series restored from its
// stored runs (the recorded p99 noise of changepoint's 1 s corpus, each
// profile from another offset, with a +30 % latency step half-way).
// PERF_BENCH_PROFILES overrides the 1 000 profiles.
func BenchmarkReplayAtStart(b *testing.B) {
	profiles := 1000
	if v := os.Getenv("PERF_BENCH_PROFILES"); v != "" {
		var err error
		if profiles, err = strconv.Atoi(v); err != nil {
			b.Fatalf("PERF_BENCH_PROFILES=%q: %v", v, err)
		}
	}
	docs := corpusDocs(b, "x")
	for _, runs := range []int{200, 1000} {
		b.Run(fmt.Sprintf("profiles=%d/runs=%d", profiles, runs), func(b *testing.B) {
			st := memStore{}
			cfg := &config.Config{}
			for p := range profiles {
				name := fmt.Sprintf("p%04d", p)
				cfg.Profiles = append(cfg.Profiles, config.Profile{Name: name})
				sums := make([]store.Summary, runs)
				for i := range sums {
					d := docs[(p*7+i)%len(docs)]
					lat := 1.0
					if i >= runs/2 {
						lat = 1.3
					}
					sums[i] = store.Summary{
						RunID: fmt.Sprintf("%s-%d", name, i), Profile: name, StartTime: t0.Add(time.Duration(i) * time.Minute),
						Outcome: d.PerfExporter.Outcome, ActualQPS: d.ActualQPS, ErrorRatio: d.PerfExporter.ErrorRatio,
						Latency: map[string]float64{"50": d.DurationHistogram.Percentiles[0].Value * lat,
							"90": d.DurationHistogram.Percentiles[1].Value * lat, "99": d.DurationHistogram.Percentiles[2].Value * lat},
					}
				}
				st[name] = sums
			}
			b.ResetTimer()
			for range b.N {
				tr := New(st, nil, nil)
				if err := tr.ApplyConfig(cfg); err != nil {
					b.Fatal(err)
				}
				for _, p := range cfg.Profiles {
					if _, _, err := tr.BaselineWindow(context.Background(), p.Name); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
