package loadgen

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"fortio.org/fortio/periodic"
)

// BenchmarkRequestHook is the engine's own share of every request's cost:
// fortio calls Report once per request from each connection's goroutine.
// "max" is a run without a rate (latency only), "rate" a rate-limited one
// (latency, send lateness and corrected latency).
func BenchmarkRequestHook(b *testing.B) {
	for _, bc := range []struct {
		name  string
		calls int64
	}{{"max", 0}, {"rate", 10000 * 60 / 16}} {
		b.Run(bc.name, func(b *testing.B) {
			const connections = 16
			// No observer: its cost is the collector's BenchmarkObserveRequest.
			h := newRequestHook(discardObserver{}, connections).group(0, connGroup{connections: connections, calls: bc.calls}, time.Minute, nil)
			var thread atomic.Int64
			start := time.Now()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				id := periodic.ThreadID(thread.Add(1) % connections)
				ctx := context.Background()
				var iter int64
				for pb.Next() {
					h.Report(ctx, id, iter, start.Add(time.Duration(iter)*time.Millisecond), 0.0002+float64(iter%1000)*1e-6, true, "200")
					iter++
				}
			})
		})
	}
}
