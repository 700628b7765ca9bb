package collector

import (
	"bytes"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/perf-exporter/perf-exporter/config"
	tools "github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

func testProfiles() []config.Profile {
	ratio := 0.01
	p := config.Profile{Name: "checkout", Schedule: "@every 1m",
		Target: config.Target{URL: "http://user:pw@shop:8080/cart?token=secret"},
		SLO:    config.SLO{Latency: map[string]config.Duration{"99": config.Duration(250 * time.Millisecond)}, ErrorRatio: &ratio}}
	p.ApplyDefaults()
	return []config.Profile{p}
}

func testDocument(outcome string) *result.Document {
	h := stats.NewHistogram(0, 0.0001)
	for i := range 100 {
		h.Record(0.010 + float64(i)*0.0001)
	}
	r := &result.Measurement{
		Engine: "fortio", Protocol: "http1", URL: "http://shop:8080/cart",
		StartTime: time.Unix(1700000000, 0), ActualDuration: 2 * time.Second, RequestedDuration: 2 * time.Second,
		RequestedQPS: 50, ActualQPS: 49.5, Connections: 4,
		Codes:   map[string]int64{"200": 99, "error": 1},
		Latency: h.Export().CalcPercentiles(config.DefaultPercentiles),
	}
	return result.NewDocument(r, result.DocumentInfo{RunID: "checkout-1", Profile: "checkout", Outcome: outcome})
}

func TestLastRunGauges(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), map[string]time.Duration{"checkout": time.Minute})
	c.SetLastRun(testDocument(result.OutcomeSuccess))
	want := `
# HELP perf_run_achieved_rps Requests per second achieved by the last completed run.
# TYPE perf_run_achieved_rps gauge
perf_run_achieved_rps{profile="checkout"} 49.5
# HELP perf_run_error_ratio Share of requests of the last completed run that failed (non-2xx or transport error).
# TYPE perf_run_error_ratio gauge
perf_run_error_ratio{profile="checkout"} 0.01
# HELP perf_run_last_success_timestamp_seconds End time of the last successful run.
# TYPE perf_run_last_success_timestamp_seconds gauge
perf_run_last_success_timestamp_seconds{profile="checkout"} 1.700000002e+09
# HELP perf_profile_info Configured profiles; the target is scheme://host/path; shard is the INDEX/COUNT of the replica that runs the profile (--profiles.shard), empty without sharding.
# TYPE perf_profile_info gauge
perf_profile_info{engine="fortio",profile="checkout",protocol="http1",shard="",target="http://shop:8080/cart"} 1
# HELP perf_profile_slo_latency_seconds Configured latency objective per percentile.
# TYPE perf_profile_slo_latency_seconds gauge
perf_profile_slo_latency_seconds{percentile="99",profile="checkout"} 0.25
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "perf_run_achieved_rps", "perf_run_error_ratio",
		"perf_run_last_success_timestamp_seconds", "perf_profile_info", "perf_profile_slo_latency_seconds"); err != nil {
		t.Error(err)
	}
	// The percentiles are fortio's, exactly as computed for the run.
	doc := testDocument(result.OutcomeSuccess)
	var exp strings.Builder
	exp.WriteString("# HELP perf_run_latency_seconds Latency percentiles of the last completed run.\n# TYPE perf_run_latency_seconds gauge\n")
	for _, pc := range doc.DurationHistogram.Percentiles {
		fmt.Fprintf(&exp, "perf_run_latency_seconds{percentile=%q,profile=\"checkout\"} %s\n",
			result.PercentileLabel(pc.Percentile), strconv.FormatFloat(pc.Value, 'g', -1, 64))
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(exp.String()), "perf_run_latency_seconds"); err != nil {
		t.Error(err)
	}
}

func TestFailedRunKeepsLastSuccess(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), nil)
	c.SetLastRun(testDocument(result.OutcomeSuccess))
	failed := testDocument(result.OutcomeFailure)
	failed.StartTime = failed.StartTime.Add(time.Hour)
	c.SetLastRun(failed)
	want := `
# HELP perf_run_last_success_timestamp_seconds End time of the last successful run.
# TYPE perf_run_last_success_timestamp_seconds gauge
perf_run_last_success_timestamp_seconds{profile="checkout"} 1.700000002e+09
# HELP perf_run_success 1 if the last completed run's result was success, else 0.
# TYPE perf_run_success gauge
perf_run_success{profile="checkout"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "perf_run_last_success_timestamp_seconds", "perf_run_success"); err != nil {
		t.Error(err)
	}
}

func TestObserverFeedsCumulativeSeries(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), nil)
	obs := c.Observer("checkout")
	obs.ObserveRequest(3*time.Millisecond, "200")
	obs.ObserveRequest(30*time.Millisecond, "200")
	obs.ObserveRequest(time.Second, "error")
	if got := requestCount(t, c, "checkout", "200"); got != 2 {
		t.Errorf("requests 200 = %g, want 2", got)
	}
	if got := requestCount(t, c, "checkout", "error"); got != 1 {
		t.Errorf("requests error = %g, want 1", got)
	}
	if n := testutil.CollectAndCount(c.requestDuration); n != 1 {
		t.Errorf("histogram series = %d, want 1", n)
	}
	// Response latency only: the request that got no response is counted
	// above, not observed (issue 18, item 1).
	if n := histogramCount(t, c.requestDuration); n != 2 {
		t.Errorf("histogram observed %d requests, want the 2 responses", n)
	}
	// Every outcome starts at zero so increase() sees the first one.
	if got := testutil.CollectAndCount(c, "perf_runs_total"); got != len(result.Outcomes) {
		t.Errorf("perf_runs_total series = %d, want %d", got, len(result.Outcomes))
	}
}

func TestRemovedProfileSeriesGoAway(t *testing.T) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), nil)
	c.Observer("checkout").ObserveRequest(time.Millisecond, "200")
	c.SetLastRun(testDocument(result.OutcomeSuccess))
	c.SetProfiles(nil, nil)
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("%d series remain after the profile was removed", n)
	}
}

func TestExpositionPassesPromtool(t *testing.T) {
	promtool := tools.Tool(t, "promtool")
	reg := prometheus.NewPedanticRegistry()
	c := NewRuns()
	reg.MustRegister(c)
	NewReload(reg).Record(true, time.Now())
	c.SetProfiles(testProfiles(), map[string]time.Duration{"checkout": time.Minute})
	c.Observer("checkout").ObserveRequest(time.Millisecond, "200")
	c.SetLastRun(testDocument(result.OutcomeSuccess))
	c.SetBaseline("checkout", map[string]float64{"99": 0.02})
	c.SetScheduleLateness("checkout", 3*time.Millisecond)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// histogramCount is the sample count of a histogram vector's only series.
func histogramCount(t *testing.T, c prometheus.Collector) uint64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	close(ch)
	var m dto.Metric
	for metric := range ch {
		if err := metric.Write(&m); err != nil {
			t.Fatal(err)
		}
	}
	return m.GetHistogram().GetSampleCount()
}

// requestCount is perf_run_requests_total of a profile and code as the Runs
// collect it.
func requestCount(t *testing.T, c *Runs, profile, code string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "perf_run_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["profile"] == profile && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no perf_run_requests_total{profile=%q, code=%q}", profile, code)
	return 0
}

// The Go heap a profile costs, with a last run, a baseline, live series
// and both formats cached: at 1 000 profiles the heap's goal (twice what
// is live) decides most of the anonymous RSS (issue 15, item 2). Here a
// profile cost 32.5 kB while the cache kept its series uncompressed too,
// 21 kB with CounterVec children for its counters, and 18.5 kB since
// (half of it the native histogram's buckets of 100 distinct latencies).
func TestHeapPerProfile(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	const n = 500
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := scrapeFixture(n, true)
	h := c.Handler(prometheus.NewRegistry(), func(err error) { t.Error(err) })
	for _, accept := range []string{acceptText, acceptProto} {
		scrape(t, h, accept, true)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(h)
	perProfile := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes of heap per profile", perProfile)
	if perProfile > 20000 {
		t.Errorf("%d bytes of heap per profile, want at most 20 000", perProfile)
	}
}
