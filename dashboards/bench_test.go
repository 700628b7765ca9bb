package dashboards

import (
	"context"
	"testing"

	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

// BenchmarkProvision provisions every bundled board into the fake Grafana:
// "create" into an empty Grafana (folder included), "unchanged" again into
// one that has them (the path of every daemon start).
func BenchmarkProvision(b *testing.B) {
	boards := allBoards(b, nil)
	ctx := context.Background()
	b.Run("create", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s := editorFake(b, grafanatest.Grafana13)
			c := testClient(b, s)
			b.StartTimer()
			if _, err := c.Provision(ctx, boards, defaultOpts); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		s := editorFake(b, grafanatest.Grafana13)
		c := testClient(b, s)
		if _, err := c.Provision(ctx, boards, defaultOpts); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			results, err := c.Provision(ctx, boards, defaultOpts)
			if err != nil || results[0].Outcome != Unchanged {
				b.Fatal(results, err)
			}
		}
	})
	b.Run("select", func(b *testing.B) {
		for b.Loop() {
			if _, err := Select(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
