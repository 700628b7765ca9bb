package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/result"
)

// FuzzResultDocument: no file that `regressions` or `--baseline` reads
// makes the reader panic, and every error names the file. Seeds: a result
// document, every Fortio JSON sample, plus the corpus in
// testdata/fuzz/FuzzResultDocument.
func FuzzResultDocument(f *testing.F) {
	start := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	doc := result.NewDocument(&result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://shop/cart",
		StartTime: start, ActualDuration: time.Second, RequestedDuration: time.Second, RequestedQPS: 20, ActualQPS: 19.9,
		Connections: 2, Codes: map[string]int64{"200": 20},
		Latency: &stats.HistogramData{Count: 20, Percentiles: []stats.Percentile{{Percentile: 50, Value: 0.002}, {Percentile: 99, Value: 0.009}}}},
		result.DocumentInfo{RunID: "checkout-1", Profile: "checkout", Outcome: result.OutcomeSuccess, Split: 1})
	b, err := json.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	samples, _ := filepath.Glob(filepath.Join("..", "..", "loadgen", "testdata", "fortio", "*.json"))
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"PerfExporter": null}`))
	f.Add([]byte(`{"PerfExporter": {}, "DurationHistogram": null}`))
	const path = "results/checkout/run.json"
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := decodeResult(path, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("the error does not name the file: %v", err)
			}
			return
		}
		if run.profile == "" || run.run.ID == "" {
			t.Errorf("a run without a profile or an id: %+v", run)
		}
	})
}
