package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/result"
)

// writeSeries writes one result document per p99 value, a minute apart, under
// names that sort in the reverse of their start times, so only ordering by
// StartTime gives the series back.
func writeSeries(t *testing.T, dir, profile string, p99s []float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, p99 := range p99s {
		m := &result.Measurement{
			Engine: "fortio", Protocol: "http1", StartTime: start.Add(time.Duration(i) * time.Minute),
			ActualDuration: 10 * time.Second, RequestedQPS: 100, ActualQPS: 100, Codes: map[string]int64{"200": 1000},
			Latency: &stats.HistogramData{Count: 1000, Percentiles: []stats.Percentile{{Percentile: 50, Value: 0.005}, {Percentile: 99, Value: p99}}},
		}
		doc := result.NewDocument(m, result.DocumentInfo{RunID: fmt.Sprintf("%s-%d", profile, i), Profile: profile, Outcome: result.OutcomeSuccess})
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("run-%03d.json", len(p99s)-i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// level is n values around v, alternating ±1 %: noise, but deterministic.
func level(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v * (1 + 0.01*float64(i%3-1))
	}
	return out
}

func runRegressions(t *testing.T, format string, paths ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := regressions(context.Background(), paths, changepoint.DefaultParams(), format, &out)
	if err != nil {
		t.Fatalf("regressions %v: %v", paths, err)
	}
	return code, out.String()
}

func TestRegressionsOpenAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	writeSeries(t, filepath.Join(dir, "a"), "checkout", append(level(20, 0.0051), level(10, 0.0059)...))
	writeSeries(t, filepath.Join(dir, "b"), "search", level(30, 0.010))
	code, out := runRegressions(t, "json", dir)
	if code != exitOpenRegression {
		t.Errorf("exit %d, want %d", code, exitOpenRegression)
	}
	var report struct {
		Profiles []struct {
			Profile string
			Runs    int
			Changes []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(report.Profiles) != 2 || report.Profiles[0].Profile != "checkout" || report.Profiles[1].Profile != "search" {
		t.Fatalf("profiles: %s", out)
	}
	checkout := report.Profiles[0]
	if checkout.Runs != 30 || len(checkout.Changes) != 1 {
		t.Fatalf("checkout: %s", out)
	}
	c := checkout.Changes[0]
	want := map[string]any{
		"metric": "latency_p99", "index": 20.0, "run_id": "checkout-20", "time": "2026-11-01T00:20:00Z",
		"direction": "regression", "status": "open",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	for _, k := range []string{"before", "after", "ratio", "p_value"} {
		if _, ok := c[k].(float64); !ok {
			t.Errorf("%s missing or not a number: %v", k, c[k])
		}
	}
	if r := c["ratio"].(float64); r < 1.14 || r > 1.18 {
		t.Errorf("ratio %v, want about 1.16", r)
	}
	if len(report.Profiles[1].Changes) != 0 || report.Profiles[1].Runs != 30 {
		t.Errorf("search: %+v", report.Profiles[1])
	}

	code, text := runRegressions(t, "text", dir)
	if code != exitOpenRegression || !strings.Contains(text, "latency_p99") || !strings.Contains(text, "regression") || !strings.Contains(text, "+15.7%") {
		t.Errorf("text, exit %d:\n%s", code, text)
	}
}

func TestRegressionsRecoveredExitsZero(t *testing.T) {
	dir := t.TempDir()
	writeSeries(t, dir, "checkout", append(append(level(20, 0.0051), level(10, 0.0059)...), level(10, 0.0051)...))
	code, out := runRegressions(t, "json", dir)
	if code != exitNoRegression {
		t.Errorf("exit %d, want 0:\n%s", code, out)
	}
	if !strings.Contains(out, `"status": "recovered"`) || !strings.Contains(out, `"direction": "improvement"`) {
		t.Errorf("want a recovered regression and the improvement that closed it:\n%s", out)
	}
}

// Plain Fortio results group by their Labels, else by their folder's name.
func TestRegressionsPlainFortio(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "loadgen", "testdata", "fortio", "local-fortio-1.75.3-http-2s.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(sub, name, labels string) {
		var v map[string]any
		if err := json.Unmarshal(src, &v); err != nil {
			t.Fatal(err)
		}
		v["Labels"] = labels
		data, _ := json.Marshal(v)
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nightly", "1.json", "")
	write("nightly", "2.json", "")
	write("other", "3.json", "api smoke")
	if err := os.WriteFile(filepath.Join(dir, "nightly", "notes.txt"), []byte("not a result"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runRegressions(t, "json", dir)
	if code != exitNoRegression {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{`"profile": "api smoke",` + "\n      \"runs\": 1", `"profile": "nightly",` + "\n      \"runs\": 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestRegressionsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{dir}, "broken.json"},
		{[]string{filepath.Join(dir, "missing")}, "missing"},
		{[]string{t.TempDir()}, "no result files"},
	} {
		_, err := regressions(context.Background(), tc.paths, changepoint.DefaultParams(), "json", &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %q", tc.paths, err, tc.want)
		}
	}
	if code := run([]string{"regressions", "--significance", "2", dir}); code != exitError {
		t.Errorf("--significance 2: exit %d, want 1", code)
	}
}
