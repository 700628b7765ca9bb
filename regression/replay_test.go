package regression

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// corpusDocs are the recorded runs of changepoint's 1 s corpus as stored
// documents, with a latency step of +30 % from run 120 and back at run 260,
// and a throughput drop from run 330: real run-to-run noise, real-shaped
// change points.
func corpusDocs(t testing.TB, profile string) []*result.Document {
	t.Helper()
	f, err := os.Open("../changepoint/testdata/corpus-1s/base.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var docs []*result.Document
	for i, row := range rows[1:] {
		num := make([]float64, 5)
		for j := range num {
			if num[j], err = strconv.ParseFloat(row[2+j], 64); err != nil {
				t.Fatalf("base.csv:%d: %v", i+2, err)
			}
		}
		lat := 1.0
		if i >= 120 && i < 260 {
			lat = 1.3
		}
		if i >= 330 {
			num[3] *= 0.8
		}
		errs := int64(num[4] * 10000)
		m := &result.Measurement{
			Engine: "fortio", Protocol: "http1", StartTime: t0.Add(time.Duration(i) * time.Minute),
			ActualDuration: 10 * time.Second, ActualQPS: num[3], Codes: map[string]int64{"200": 10000 - errs, "503": errs},
			Latency: &stats.HistogramData{Count: 10000, Percentiles: []stats.Percentile{
				{Percentile: 50, Value: num[0] * lat}, {Percentile: 90, Value: num[1] * lat}, {Percentile: 99, Value: num[2] * lat}}},
		}
		outcome := result.OutcomeSuccess
		if row[1] != "success" {
			outcome = row[1]
		}
		docs = append(docs, result.NewDocument(m, result.DocumentInfo{RunID: fmt.Sprintf("%s-%03d", profile, i), Profile: profile, Outcome: outcome}))
	}
	return docs
}

// A restart's replay of the stored history (the batch path) leaves the
// tracker as the process that observed each run left it: the same change
// points at the same runs with the same statuses (an acceptance included),
// the same baseline window and the same regression series.
func TestReplayAtStartIsObserveOneByOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	docs := corpusDocs(t, "checkout")
	var from, until time.Time
	accepted := false
	for i, doc := range docs {
		f.clock = doc.StartTime.Add(time.Minute / 2)
		if err := f.st.Save(ctx, doc); err != nil {
			t.Fatal(err)
		}
		var err error
		if from, until, err = f.tr.Observe(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if i == 200 && !accepted { // someone accepts the open regression
			for _, c := range f.changes() {
				if c.Status == "open" && !accepted {
					if _, err := f.tr.Accept(ctx, "checkout", c.ID); err != nil {
						t.Fatal(err)
					}
					accepted = true
				}
			}
		}
	}
	before := f.changes()
	t.Logf("%d change points: %+v; accepted one: %v", len(before), before, accepted)
	statuses := map[string]int{}
	for _, c := range before {
		statuses[c.Status]++
	}
	if len(before) < 3 || statuses["accepted"] == 0 || statuses["recovered"]+statuses["open"] == 0 {
		t.Fatalf("change points %v (%v): the history tests little", before, statuses)
	}
	var gauges []string
	for _, name := range []string{"perf_regression_open", "perf_regression_change_ratio", "perf_regression_started_timestamp_seconds"} {
		for _, metric := range []string{"latency_p50", "latency_p90", "latency_p99", "achieved_rps", "error_ratio"} {
			gauges = append(gauges, name+" "+metric+" "+f.gauge(name, metric))
		}
	}

	f.st.Close()
	f.open()
	rfrom, runtil, err := f.tr.BaselineWindow(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if !rfrom.Equal(from) || !runtil.Equal(until) {
		t.Errorf("baseline window after restart [%v, %v), want [%v, %v)", rfrom, runtil, from, until)
	}
	after := f.changes()
	if fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
		t.Errorf("change points after restart:\n%+v\nwant\n%+v", after, before)
	}
	for i, name := range []string{"perf_regression_open", "perf_regression_change_ratio", "perf_regression_started_timestamp_seconds"} {
		for j, metric := range []string{"latency_p50", "latency_p90", "latency_p99", "achieved_rps", "error_ratio"} {
			if got := name + " " + metric + " " + f.gauge(name, metric); got != gauges[i*5+j] {
				t.Errorf("after restart %s, want %s", got, gauges[i*5+j])
			}
		}
	}
}

// A run saved before the tracker loaded its profile and observed after
// (a run that ends while the start-up replay goes on) is in the history
// once, not twice.
func TestRunSavedBeforeLoadIsObservedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.add(20, 0.010)
	f.st.Close()
	f.open()
	doc := runDoc("checkout", f.n, 0.010)
	if err := f.st.Save(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.tr.BaselineWindow(ctx, "checkout"); err != nil { // the replay reads the run
		t.Fatal(err)
	}
	if _, _, err := f.tr.Observe(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if n := f.tr.profiles["checkout"].hist.Len(); n != 21 {
		t.Errorf("history of %d runs after 21 saved and observed", n)
	}
}

// blockingStore holds Series until released, as a long replay would.
type blockingStore struct {
	Store
	entered, release chan struct{}
}

func (b blockingStore) Series(ctx context.Context, profile string) ([]store.Summary, error) {
	close(b.entered)
	<-b.release
	return b.Store.Series(ctx, profile)
}

// Load replays with the tracker unlocked and publishes the profile's state
// whole: while the replay goes on, /metrics is served, without the
// profile's series; once it is done they are there, the regression open,
// and then hears the baseline window.
func TestLoadPublishesOnlyWholeState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.add(30, 0.010)
	_, wantUntil := f.add(5, 0.013)
	if wantUntil.IsZero() {
		t.Fatal("no open regression: the test tests little")
	}
	f.st.Close()
	f.open()
	bs := blockingStore{Store: f.st, entered: make(chan struct{}), release: make(chan struct{})}
	f.tr.store = bs
	done := make(chan error)
	var until time.Time
	go func() {
		done <- f.tr.Load(ctx, "checkout", func(_, u time.Time) error { until = u; return nil })
	}()
	<-bs.entered
	if !f.tr.mu.TryLock() {
		t.Fatal("the tracker is locked during the replay")
	}
	f.tr.mu.Unlock()
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "absent" {
		t.Errorf("perf_regression_open = %s during the replay, want absent", got)
	}
	f.tr.ProfileVersions(func(profile string, _ uint64) { t.Errorf("profile %s listed during its replay", profile) })
	close(bs.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !until.Equal(wantUntil) {
		t.Errorf("Load's baseline window until %v, want %v", until, wantUntil)
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "1" {
		t.Errorf("perf_regression_open = %s after the replay, want 1", got)
	}
	if got := f.gauge("perf_change_points_total", changepoint.LatencyP99); got != "0" {
		t.Errorf("change points found before the restart counted again: %s", got)
	}
	if err := f.tr.Load(ctx, "nosuch", func(time.Time, time.Time) error { return nil }); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("Load of an unknown profile: %v", err)
	}
}

// A run that ends before its profile was loaded replays the profile's
// history with the tracker unlocked, as Load does; the run is in it once.
func TestObserveReplaysUnlocked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.add(30, 0.010)
	f.st.Close()
	f.open()
	doc := runDoc("checkout", f.n, 0.010)
	if err := f.st.Save(ctx, doc); err != nil {
		t.Fatal(err)
	}
	bs := blockingStore{Store: f.st, entered: make(chan struct{}), release: make(chan struct{})}
	f.tr.store = bs
	done := make(chan error)
	go func() {
		_, _, err := f.tr.Observe(ctx, doc)
		done <- err
	}()
	<-bs.entered
	if !f.tr.mu.TryLock() {
		t.Fatal("the tracker is locked during the replay")
	}
	f.tr.mu.Unlock()
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "absent" {
		t.Errorf("perf_regression_open = %s during the replay, want absent", got)
	}
	close(bs.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := f.tr.profiles["checkout"].hist.Len(); n != 31 {
		t.Errorf("history of %d runs after 31 saved and observed", n)
	}
	if got := f.gauge("perf_regression_open", changepoint.LatencyP99); got != "0" {
		t.Errorf("perf_regression_open = %s after the replay, want 0", got)
	}
}
