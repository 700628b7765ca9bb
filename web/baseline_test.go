package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The landing page's baselines are the accepted level's, as the daemon's
// gauge: the runs of an open regression are not in them.
func TestLandingBaselineIsTheAcceptedLevels(t *testing.T) {
	st := openHistory(t, apiRuns...)
	last, err := st.Get(context.Background(), "checkout-4")
	if err != nil {
		t.Fatal(err)
	}
	page := func(changes Changes) string {
		srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{profileStatus("checkout", last)},
			History: st, Changes: changes, BaselineRuns: 10, Now: func() time.Time { return now }}))
		defer srv.Close()
		status, body, _ := get(t, srv.URL+"/")
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		return string(body)
	}
	// checkout-1, -2 and -4 succeeded; a regression opened at checkout-2.
	if p := page(staticChanges{}); !strings.Contains(p, "median of the last 3 successful runs") {
		t.Fatal("without change points the baseline is not over the 3 successful runs")
	}
	open := staticChanges{"checkout": {{ID: "latency_p99@checkout-2", Metric: "latency_p99", RunID: "checkout-2",
		Time: t0.Add(2 * time.Hour), Direction: "regression", Status: "open", Ratio: 1.5}}}
	if p := page(open); !strings.Contains(p, "median of the last 1 successful runs") {
		t.Error("with a regression open since checkout-2 the baseline is not checkout-1's alone")
	}
}
