package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/perf-exporter/perf-exporter/result"
)

// A run cut short by a shutdown is published, but the last-run gauges stay
// those of the last completed run: what a restart restores, never the
// zeros of a run that measured nothing whole.
func TestAbortedRunKeepsLastCompletedGauges(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), map[string]time.Duration{"checkout": time.Minute})
	c.SetLastRun(testDocument(result.OutcomeSuccess))
	aborted := result.NewDocument(&result.Measurement{Engine: "fortio", Protocol: "http1", StartTime: time.Unix(1700000100, 0)},
		result.DocumentInfo{RunID: "checkout-2", Profile: "checkout", Outcome: result.OutcomeAborted})
	c.SetLastRun(aborted)
	want := `
# HELP perf_run_achieved_rps Requests per second achieved by the last completed run.
# TYPE perf_run_achieved_rps gauge
perf_run_achieved_rps{profile="checkout"} 49.5
# HELP perf_run_requested_rps Requests per second requested by the last completed run; 0 = as fast as possible.
# TYPE perf_run_requested_rps gauge
perf_run_requested_rps{profile="checkout"} 50
# HELP perf_run_connections Connections used by the last completed run.
# TYPE perf_run_connections gauge
perf_run_connections{profile="checkout"} 4
# HELP perf_run_last_timestamp_seconds End time of the last completed run.
# TYPE perf_run_last_timestamp_seconds gauge
perf_run_last_timestamp_seconds{profile="checkout"} 1.700000002e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "perf_run_achieved_rps", "perf_run_requested_rps",
		"perf_run_connections", "perf_run_last_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}
