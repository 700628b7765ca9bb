package store

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/result"
)

// base is the start time of the runs the tests make.
var base = time.Date(2026, 11, 27, 3, 50, 12, 123e6, time.UTC)

// run describes a test run; doc turns it into a realistic document.
type run struct {
	id, profile string
	start       time.Time
	outcome     string
	scale       float64 // multiplies every latency
}

// doc builds the document a fortio run would give: 3000 requests with a
// long-tailed latency (about 40 histogram buckets), five percentiles.
func (r run) doc() *result.Document {
	if r.outcome == "" {
		r.outcome = result.OutcomeSuccess
	}
	if r.scale == 0 {
		r.scale = 1
	}
	h := stats.NewHistogram(0, 0.001)
	for i := range 3000 {
		x := float64(i) / 3000
		h.Record(r.scale * 0.0004 * math.Exp(7*x*x*x))
	}
	latency := h.Export().CalcPercentiles([]float64{50, 75, 90, 99, 99.9})
	res := &result.Measurement{
		Engine: "fortio", Protocol: "http1", URL: "http://127.0.0.1:8080/echo",
		StartTime: r.start, ActualDuration: 30 * time.Second, RequestedDuration: 30 * time.Second,
		RequestedQPS: 100, ActualQPS: 99.97, Connections: 8,
		Codes:   map[string]int64{"200": 2990, "503": 9, result.CodeError: 1},
		Latency: latency,
	}
	return result.NewDocument(res, result.DocumentInfo{
		RunID: r.id, Profile: r.profile, Outcome: r.outcome, Method: "GET",
		Headers:  map[string]string{"Authorization": "<secret>"},
		Verdicts: []result.Verdict{{Objective: "latency p99", Target: 0.25, Actual: latency.Percentiles[3].Value, Met: true}},
	})
}

func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func save(t testing.TB, s *Store, runs ...run) {
	t.Helper()
	for _, r := range runs {
		if err := s.Save(context.Background(), r.doc()); err != nil {
			t.Fatal(err)
		}
	}
}

// sameDoc fails unless got encodes exactly like want: what was saved is
// what comes back.
func sameDoc(t testing.TB, got, want *result.Document) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("document of run %s changed in the store:\n got %s\nwant %s", want.PerfExporter.RunID, g, w)
	}
}

func ids(sums []Summary) []string {
	out := make([]string, len(sums))
	for i, s := range sums {
		out[i] = s.RunID
	}
	return out
}

// pending is the document a run begins with: what was asked, nothing
// measured (as loadgen.Run.Pending makes it).
func pending(id, profile string, start time.Time) *result.Document {
	return result.NewDocument(&result.Measurement{
		Engine: "fortio", Protocol: "http1", URL: "http://127.0.0.1:8080/echo",
		StartTime: start, RequestedDuration: 30 * time.Second, RequestedQPS: 20, Connections: 2,
	}, result.DocumentInfo{RunID: id, Profile: profile, Outcome: result.OutcomeAborted, Split: 1, Method: "GET"})
}
