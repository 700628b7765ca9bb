package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

func withStorage(dir string) func(*serveFlags) {
	return func(f *serveFlags) { f.storagePath = dir }
}

// waitMetric waits until /metrics has the exact line.
func waitMetric(t *testing.T, d *daemon, line string) {
	t.Helper()
	var metrics string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		metrics = get(t, d.url+"/metrics")
		if strings.Contains(metrics, "\n"+line+"\n") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	name, _, _ := strings.Cut(line, " ")
	name, _, _ = strings.Cut(name, "{")
	t.Fatalf("/metrics lacks %q:\n%s\n%s", line, grepLines(metrics, name), d.logs)
}

// storedHistory writes a store holding one completed run of profile p and
// a run a kill interrupted (an in-flight mark), as a crash leaves it.
func storedHistory(t *testing.T, dir string, start time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	latency := &stats.HistogramData{Count: 20, Percentiles: []stats.Percentile{{Percentile: 50, Value: 0.002}, {Percentile: 99, Value: 0.009}}}
	completed := result.NewDocument(&result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://127.0.0.1:1/",
		StartTime: start, ActualDuration: time.Second, RequestedDuration: time.Second, RequestedQPS: 20, ActualQPS: 19.9,
		Connections: 2, Codes: map[string]int64{"200": 20}, Latency: latency},
		result.DocumentInfo{RunID: loadgen.RunID("p", start), Profile: "p", Outcome: result.OutcomeSuccess, Split: 1})
	if err := st.Save(ctx, completed); err != nil {
		t.Fatal(err)
	}
	killed := &loadgen.Run{Profile: config.Profile{Name: "p"}, Split: 1, ID: loadgen.RunID("p", start.Add(time.Minute)), Start: start.Add(time.Minute)}
	if err := st.BeginRun(ctx, killed.Pending()); err != nil {
		t.Fatal(err)
	}
}

// TestServeOnAReadOnlyVolume: with the history on a volume that is
// read-only (remounted so, for real) serve starts, restores the last run's
// gauges from what it can read, runs its schedule and says the history is
// not written: perf_exporter_store_available 0, every failed write counted,
// a line on the landing page. Once the volume is writable again the next
// run is saved without a restart.
func TestServeOnAReadOnlyVolume(t *testing.T) {
	vol := testutil.SmallFilesystem(t, 8<<20)
	data := filepath.Join(vol, "data")
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	storedHistory(t, data, start)
	testutil.Remount(t, vol, true)

	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	d := startServe(t, fmt.Sprintf(`
profiles:
  - name: p
    schedule: "@every 1h"
    run_on_start: true
    target: {url: %q}
    load: {qps: 20, connections: 2, duration: 300ms}
`, target.URL), withStorage(data), withAdminAPI)

	waitMetric(t, d, `perf_runs_total{profile="p",result="success"} 1`)
	// Written and failed: recovering the interrupted run, pruning, the
	// run's start and its result.
	waitMetric(t, d, `perf_exporter_store_write_failures_total 4`)
	waitMetric(t, d, `perf_exporter_store_available 0`)
	if !strings.Contains(d.logs.String(), "read-only file system") {
		t.Errorf("the log does not say why the history is not written:\n%s", d.logs)
	}
	page := get(t, d.url+"/")
	if !strings.Contains(page, `id="store-down"`) || !strings.Contains(page, "read-only file system") {
		t.Errorf("the landing page does not say the history is not written:\n%s", grepLines(page, "store"))
	}
	// What was on the volume is still shown.
	if results := get(t, d.url+"/api/v1/results?profile=p"); !strings.Contains(results, loadgen.RunID("p", start)) {
		t.Errorf("the stored run is not listed from the read-only volume:\n%s", results)
	}

	testutil.Remount(t, vol, false)
	resp, err := http.Post(d.url+"/api/v1/profiles/p/run", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run now: %d", resp.StatusCode)
	}
	waitMetric(t, d, `perf_runs_total{profile="p",result="success"} 2`)
	waitMetric(t, d, `perf_exporter_store_available 1`)
	waitMetric(t, d, `perf_exporter_store_write_failures_total 4`)
	results := get(t, d.url+"/api/v1/results?profile=p")
	if n := strings.Count(results, `"run_id"`); n != 2 {
		t.Errorf("after the volume is writable again the history lists %d runs, want the stored one and the new one:\n%s", n, results)
	}
	if strings.Contains(get(t, d.url+"/"), `id="store-down"`) {
		t.Error("the landing page still says the history is not written")
	}
}

// TestServeOnAFullDisk: the start that used to fail ("recovering runs in
// flight: no space left on device") now serves and runs the schedule, with
// the failed write counted and logged.
func TestServeOnAFullDisk(t *testing.T) {
	vol := testutil.SmallFilesystem(t, 1<<20)
	data := filepath.Join(vol, "data")
	storedHistory(t, data, time.Now().Add(-time.Hour).Truncate(time.Second))
	testutil.Fill(t, vol)

	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	d := startServe(t, fmt.Sprintf(`
profiles:
  - name: p
    schedule: "@every 1h"
    run_on_start: true
    target: {url: %q}
    load: {qps: 20, connections: 2, duration: 300ms}
`, target.URL), withStorage(data))
	waitMetric(t, d, `perf_runs_total{profile="p",result="success"} 1`)
	metrics := get(t, d.url+"/metrics")
	if strings.Contains(metrics, "\nperf_exporter_store_write_failures_total 0\n") {
		t.Errorf("no write failure counted on a full disk:\n%s", grepLines(metrics, "perf_exporter_store"))
	}
	if !strings.Contains(d.logs.String(), "no space left on device") {
		t.Errorf("the log does not say the disk is full:\n%s", d.logs)
	}
}
