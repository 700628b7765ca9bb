package loadgen

import (
	"context"
	"testing"
	"time"

	"fortio.org/fortio/periodic"
	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/result"
)

// Each connection records into its own histograms; the run's percentiles,
// count, min and max must be those of every request together.
func TestHookMergesConnections(t *testing.T) {
	const connections = 4
	hook := newRequestHook(nil, connections)
	h := hook.group(0, connGroup{connections: connections}, time.Second, nil)
	all := newLatencyHistogram()
	start := time.Now()
	for i := range 1000 {
		thread := periodic.ThreadID(i % connections)
		// Each connection sees a different range, so a merge that drops
		// one moves the percentiles.
		d := time.Duration(int(thread)+1)*time.Millisecond + time.Duration(i)*time.Microsecond
		h.Report(context.Background(), thread, int64(i/connections), start, d.Seconds(), true, "200")
		all.Record(time.Duration(d.Seconds() * float64(time.Second)))
	}
	r := &result.Measurement{Latency: &stats.HistogramData{}}
	percentiles := []float64{50, 90, 99}
	hook.finish(r, percentiles, nil)
	want := all.Summary(percentiles)
	if len(r.Latency.Percentiles) != len(percentiles) {
		t.Fatalf("percentiles %v", r.Latency.Percentiles)
	}
	for i, p := range r.Latency.Percentiles {
		if p != want.Percentiles[i] {
			t.Errorf("p%g = %v, want %v", p.Percentile, p.Value, want.Percentiles[i].Value)
		}
	}
	merged := newLatencyHistogram()
	for i := range hook.conns {
		merged.Merge(&hook.conns[i].latency)
	}
	if merged.Count() != 1000 || merged.minNs != all.minNs || merged.maxNs != all.maxNs || merged.sumNs != all.sumNs {
		t.Errorf("merged count %d min %d max %d sum %d, want %d %d %d %d",
			merged.Count(), merged.minNs, merged.maxNs, merged.sumNs, all.Count(), all.minNs, all.maxNs, all.sumNs)
	}
}
