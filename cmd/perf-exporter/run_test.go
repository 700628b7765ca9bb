package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/scheduler"
)

// savedDocs is a scheduler.History that hands over every saved document.
type savedDocs chan *result.Document

func (savedDocs) BeginRun(context.Context, *result.Document) error { return nil }
func (s savedDocs) Save(_ context.Context, doc *result.Document) error {
	s <- doc
	return nil
}
func (savedDocs) BaselineWithin(context.Context, string, int, time.Time, time.Time) (map[string]float64, int, error) {
	return nil, 0, nil
}

// TestCLIAndScheduledRunsFillTheSameFields runs one profile through `run`
// and through the daemon's scheduler: both documents must carry the same
// fields, for a completed run and for one the engine returned nothing for
// (a name that does not resolve). Times, ids and measured values differ.
func TestCLIAndScheduledRunsFillTheSameFields(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	for _, tc := range []struct{ name, url, outcome string }{
		{"completed", target.URL + "/ok", result.OutcomeSuccess},
		{"engine error", "http://no-such-host.invalid/", result.OutcomeFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := cliDocument(t, tc.url)
			scheduled := scheduledDocument(t, tc.url)
			for name, doc := range map[string]*result.Document{"run": cli, "scheduled": scheduled} {
				if doc.PerfExporter.Outcome != tc.outcome {
					t.Fatalf("%s: outcome %q (%s), want %q", name, doc.PerfExporter.Outcome, doc.PerfExporter.Error, tc.outcome)
				}
			}
			cliFields, schedFields := filledFields(t, cli), filledFields(t, scheduled)
			if !slices.Equal(cliFields, schedFields) {
				t.Errorf("fields filled differ:\nrun:       %v\nscheduled: %v", cliFields, schedFields)
			}
			if cli.RequestedQPS != "20" || cli.RequestedDuration != "300ms" || cli.NumThreads != 2 {
				t.Errorf("run document asked %s for %s on %d connections, want 20 for 300ms on 2",
					cli.RequestedQPS, cli.RequestedDuration, cli.NumThreads)
			}
		})
	}
}

func cliDocument(t *testing.T, url string) *result.Document {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run.json")
	f := &runFlags{url: url, engine: config.EngineFortio, protocol: "http1", jsonOut: out,
		qps: 20, connections: 2, duration: 300 * time.Millisecond, timeout: 3 * time.Second, maxErrorRatio: 0.5, maxErrorRatioSet: true}
	runOnce(t.Context(), slog.New(slog.DiscardHandler), f)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := new(result.Document)
	if err := json.Unmarshal(data, doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func scheduledDocument(t *testing.T, url string) *result.Document {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
profiles:
  - name: run
    schedule: "@every 1h"
    run_on_start: true
    target: {url: %q}
    load: {qps: 20, connections: 2, duration: 300ms}
    slo: {error_ratio: 0.5}
`, url)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	saved := make(savedDocs, 1)
	sched := scheduler.New(scheduler.Options{
		Engines: func(cfg *config.Config, name string) (loadgen.Engine, error) {
			return loadgen.New(name, cfg.Engines, nil)
		},
		Recorder: collector.NewRuns(),
		History:  saved,
	})
	if err := sched.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sched.Stop(context.Background()) }()
	select {
	case doc := <-saved:
		return doc
	case <-time.After(30 * time.Second):
		t.Fatal("the scheduled run saved no document")
		return nil
	}
}

// filledFields lists the paths of a document's non-zero JSON values,
// objects walked into, arrays and maps of codes taken whole; times, ids
// and durations, which differ between any two runs, are left out.
func filledFields(t *testing.T, doc *result.Document) []string {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(data, &tree); err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"StartTime": true, "ID": true, "PerfExporter.RunID": true, "ActualDuration": true}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if skip[prefix] {
			return
		}
		switch v := v.(type) {
		case map[string]any:
			if prefix == "RetCodes" || prefix == "PerfExporter.Codes" || prefix == "PerfExporter.Headers" {
				if len(v) > 0 {
					out = append(out, prefix)
				}
				return
			}
			for k, x := range v {
				walk(join(prefix, k), x)
			}
		case []any:
			if len(v) > 0 {
				out = append(out, prefix)
			}
		case string:
			if v != "" {
				out = append(out, prefix)
			}
		case float64:
			if v != 0 {
				out = append(out, prefix)
			}
		case bool:
			if v {
				out = append(out, prefix)
			}
		}
	}
	walk("", tree)
	slices.Sort(out)
	return out
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
