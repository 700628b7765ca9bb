package collector

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Codes first seen by several connections at once must each get one
// counter, and no request may be lost while the list is copied.
func TestObserverCountsEveryCodeFromConcurrentConnections(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), nil)
	obs := c.Observer("checkout")
	codes := []string{"200", "503", "error", "404"}
	const connections, perConnection = 8, 1000
	var wg sync.WaitGroup
	for conn := range connections {
		wg.Go(func() {
			for i := range perConnection {
				obs.ObserveRequest(time.Millisecond, codes[(conn+i)%len(codes)])
			}
		})
	}
	wg.Wait()
	for _, code := range codes {
		got := requestCount(t, c, "checkout", code)
		if want := float64(connections * perConnection / len(codes)); got != want {
			t.Errorf("code %s: %v requests counted, want %v", code, got, want)
		}
	}
	if got := testutil.CollectAndCount(c, "perf_run_requests_total"); got != len(codes) {
		t.Errorf("%d code series, want %d", got, len(codes))
	}
}
