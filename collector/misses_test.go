package collector

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/perf-exporter/perf-exporter/result"
)

// missDocument is a run of testProfiles' checkout (objectives: p99 250ms,
// error ratio 1%) with the given p99 (0: no response, no latency) and
// requests failed out of sent.
func missDocument(id, outcome string, p99 time.Duration, failed, sent int64) *result.Document {
	r := &result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://shop:8080/cart",
		StartTime: time.Unix(1700000000, 0), ActualDuration: time.Second, Codes: map[string]int64{}}
	if sent-failed > 0 {
		r.Codes["200"] = sent - failed
	}
	if failed > 0 {
		r.Codes["error"] = failed
	}
	if p99 > 0 {
		r.Latency = &stats.HistogramData{Count: sent - failed, Percentiles: []stats.Percentile{{Percentile: 99, Value: p99.Seconds()}}}
	}
	return result.NewDocument(r, result.DocumentInfo{RunID: id, Profile: "checkout", Outcome: outcome})
}

func wantMisses(t *testing.T, c *Runs, latency, errorRatio int) {
	t.Helper()
	want := `
# HELP perf_run_slo_error_ratio_consecutive_misses Consecutive runs, up to the last one, whose error ratio was above its objective.
# TYPE perf_run_slo_error_ratio_consecutive_misses gauge
perf_run_slo_error_ratio_consecutive_misses{profile="checkout"} ` + strconv.Itoa(errorRatio) + `
# HELP perf_run_slo_latency_consecutive_misses Consecutive runs, up to the last one, whose latency percentile was above its objective.
# TYPE perf_run_slo_latency_consecutive_misses gauge
perf_run_slo_latency_consecutive_misses{percentile="99",profile="checkout"} ` + strconv.Itoa(latency) + `
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"perf_run_slo_latency_consecutive_misses", "perf_run_slo_error_ratio_consecutive_misses"); err != nil {
		t.Error(err)
	}
}

func TestConsecutiveMisses(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), nil)
	wantMisses(t, c, 0, 0) // exported from the start, for every objective

	steps := []struct {
		doc               *result.Document
		latency, errRatio int
		why               string
	}{
		{missDocument("r1", result.OutcomeSLOMissed, 300*time.Millisecond, 5, 100), 1, 1, "one slow run with 5% errors"},
		{missDocument("r2", result.OutcomeSLOMissed, 300*time.Millisecond, 0, 100), 2, 0, "a second slow run, no errors"},
		{missDocument("r3", result.OutcomeSuccess, 100*time.Millisecond, 0, 100), 0, 0, "a good run ends both streaks"},
		{missDocument("r4", result.OutcomeSLOMissed, 300*time.Millisecond, 2, 100), 1, 1, "bad again: one miss, not three"},
		{missDocument("r4", result.OutcomeSLOMissed, 300*time.Millisecond, 2, 100), 1, 1, "the same run published again (environment values) counts once"},
		{missDocument("r5", result.OutcomeAborted, 900*time.Millisecond, 50, 100), 1, 1, "an aborted run says nothing"},
		{missDocument("r6", result.OutcomeFailure, 0, 100, 100), 1, 2, "every request failed: an error ratio miss, no latency measured"},
		{missDocument("r7", result.OutcomeFailure, 0, 0, 0), 1, 2, "nothing sent (DNS failure): neither figure measured"},
		{missDocument("r8", result.OutcomeSLOMissed, 260*time.Millisecond, 0, 100), 2, 0, "slow again: the latency streak resumes"},
	}
	for _, s := range steps {
		c.SetLastRun(s.doc)
		t.Run(s.why, func(t *testing.T) { wantMisses(t, c, s.latency, s.errRatio) })
	}

	// A reload that keeps the objectives keeps the counts; a new target
	// starts its streak afresh.
	c.SetProfiles(testProfiles(), nil)
	wantMisses(t, c, 2, 0)
	changed := testProfiles()
	changed[0].SLO.Latency["99"] = changed[0].SLO.Latency["99"] * 2
	c.SetProfiles(changed, nil)
	wantMisses(t, c, 0, 0)
}

func TestRestoreMisses(t *testing.T) {
	p := testProfiles()[0]
	newestFirst := []RunFigures{
		FiguresOf(missDocument("r5", result.OutcomeSLOMissed, 300*time.Millisecond, 0, 100)),
		FiguresOf(missDocument("r4", result.OutcomeAborted, 0, 0, 0)),
		FiguresOf(missDocument("r3", result.OutcomeSLOMissed, 300*time.Millisecond, 3, 100)),
		FiguresOf(missDocument("r2", result.OutcomeSuccess, 100*time.Millisecond, 0, 100)),
		FiguresOf(missDocument("r1", result.OutcomeSLOMissed, 300*time.Millisecond, 3, 100)),
	}
	// The order serve uses at start: the last run's gauges, the streaks,
	// then the scheduler publishes the profiles.
	c := NewRuns()
	c.SetLastRun(missDocument("r5", result.OutcomeSLOMissed, 300*time.Millisecond, 0, 100))
	c.RestoreMisses(p, newestFirst)
	c.SetProfiles(testProfiles(), nil)
	wantMisses(t, c, 2, 0)
	// The restored last run is not counted a second time, the next one is.
	c.SetLastRun(missDocument("r5", result.OutcomeSLOMissed, 300*time.Millisecond, 0, 100))
	wantMisses(t, c, 2, 0)
	c.SetLastRun(missDocument("r6", result.OutcomeSLOMissed, 300*time.Millisecond, 0, 100))
	wantMisses(t, c, 3, 0)

	// Profiles published before the restore: the restore still wins.
	c = NewRuns()
	c.SetProfiles(testProfiles(), nil)
	c.RestoreMisses(p, newestFirst)
	wantMisses(t, c, 2, 0)
}
