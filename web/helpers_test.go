package web

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// t0 is the start of the first test run; now is the tests' clock.
var (
	t0  = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	now = t0.Add(10 * time.Hour)
)

// testRun describes a stored run; doc turns it into the document a fortio
// run would give.
type testRun struct {
	id, profile string
	start       time.Time
	outcome     string
	scale       float64 // multiplies every latency
	environment []result.EnvironmentValue
	// qps is the requested rate; 0 = 100.
	qps float64
	// corrected adds a corrected latency (1.5 times the latency) and a
	// send lateness, as a rate-limited fortio run has.
	corrected bool
}

func (r testRun) doc() *result.Document {
	if r.outcome == "" {
		r.outcome = result.OutcomeSuccess
	}
	if r.scale == 0 {
		r.scale = 1
	}
	res := &result.Measurement{
		Engine: "fortio", Protocol: "http1", URL: "http://127.0.0.1:8080/echo",
		StartTime: r.start, ActualDuration: 30 * time.Second, RequestedDuration: 30 * time.Second,
		RequestedQPS: cmp.Or(r.qps, 100), ActualQPS: 99.9 / r.scale, Connections: 8,
	}
	var verdicts []result.Verdict
	if r.outcome == result.OutcomeFailure {
		res.Codes = map[string]int64{result.CodeError: 12}
		res.ErrorReasons = map[string]int64{"connection refused": 12}
		res.ActualQPS = 0
	} else {
		// A long-tailed latency from 2 ms to 40 ms (times scale), over
		// about 25 histogram buckets.
		h := stats.NewHistogram(0, 0.001)
		for i := range 3000 {
			x := float64(i) / 3000
			h.Record(r.scale * 0.002 * math.Exp(3*x*x*x))
		}
		res.Latency = h.Export().CalcPercentiles([]float64{50, 75, 90, 99, 99.9})
		if r.corrected {
			c, late := stats.NewHistogram(0, 0.001), stats.NewHistogram(0, 0.0001)
			for i := range 3000 {
				x := float64(i) / 3000
				c.Record(1.5 * r.scale * 0.002 * math.Exp(3*x*x*x))
				late.Record(0.0005 * x * x)
			}
			res.Corrected = c.Export().CalcPercentiles([]float64{50, 75, 90, 99, 99.9})
			res.SendLateness = late.Export().CalcPercentiles([]float64{50, 90, 99})
		}
		res.Codes = map[string]int64{"200": 2990, "503": 9, result.CodeError: 1}
		p99, _ := res.Percentile(99)
		verdicts = []result.Verdict{
			{Objective: "latency p99", Target: 1, Actual: p99, Met: p99 <= 1},
			{Objective: "error_ratio", Target: 0.01, Actual: res.ErrorRatio(), Met: true},
		}
	}
	doc := result.NewDocument(res, result.DocumentInfo{
		RunID: r.id, Profile: r.profile, Outcome: r.outcome, Method: "GET", Verdicts: verdicts,
	})
	if r.outcome == result.OutcomeFailure {
		doc.PerfExporter.Error = "dial tcp 127.0.0.1:8080: connect: connection refused"
	}
	doc.PerfExporter.Environment = r.environment
	return doc
}

// openHistory is a real store in a temporary directory holding runs.
func openHistory(t testing.TB, runs ...testRun) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, r := range runs {
		if err := st.Save(context.Background(), r.doc()); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// staticProfiles stands in for the scheduler.
type staticProfiles []ProfileStatus

func (p staticProfiles) Statuses() []ProfileStatus { return p }
func (p staticProfiles) RunNow(string) error       { return nil }

func profileStatus(name string, last *result.Document) ProfileStatus {
	p := config.Profile{
		Name: name, Schedule: "@every 10m",
		Target: config.Target{URL: "http://127.0.0.1:8080/echo?delay=2ms"},
		Load:   config.Load{QPS: 100, Duration: config.Duration(30 * time.Second)},
	}
	p.ApplyDefaults()
	return ProfileStatus{Profile: p, Next: now.Add(5 * time.Minute), Last: last}
}

// newServer serves web.New over history, as serve wires it.
func newServer(t testing.TB, history History, profiles ...ProfileStatus) *httptest.Server {
	t.Helper()
	o := Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles(profiles), Version: "test", History: history,
		Now: func() time.Time { return now }}
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches a URL and returns its status, body and headers.
func get(t testing.TB, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

// staticChanges stands in for the change-point tracker.
type staticChanges map[string][]regression.Change

func (c staticChanges) Changes(_ context.Context, profile string) ([]regression.Change, error) {
	return c[profile], nil
}

func (c staticChanges) Accept(context.Context, string, string) (regression.Change, error) {
	return regression.Change{}, errors.New("not in these tests")
}

// BaselineWindow ends at the first open regression, as the tracker's.
func (c staticChanges) BaselineWindow(_ context.Context, profile string) (from, until time.Time, err error) {
	for _, ch := range c[profile] {
		if ch.Status == "open" && (until.IsZero() || ch.Time.Before(until)) {
			until = ch.Time
		}
	}
	return from, until, nil
}
