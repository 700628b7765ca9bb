package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

func TestSummaryShowsVerdictsAndFitsHistogram(t *testing.T) {
	h := stats.NewHistogram(0, 0.0001)
	for i := range 5000 {
		h.Record(0.0001 * float64(i%900)) // spread over many buckets
	}
	r := &result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://t/echo", ActualDuration: time.Second,
		ActualQPS: 5000, Connections: 4, Codes: map[string]int64{"200": 4990, "503": 10},
		Latency: h.Export().CalcPercentiles([]float64{50, 99})}
	doc := result.NewDocument(r, result.DocumentInfo{Profile: "run", Outcome: result.OutcomeSLOMissed, Method: "GET",
		Verdicts: []result.Verdict{{Objective: "latency p99", Target: 0.01, Actual: 0.089, Met: false}}})
	var buf bytes.Buffer
	WriteSummary(&buf, doc)
	out := buf.String()
	for _, want := range []string{"GET http://t/echo (fortio, http1)", "codes: 200: 4990, 503: 10", "MISSED latency p99", "result: slo_missed"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	_, hist, _ := strings.Cut(out, "latency histogram")
	hist, _, _ = strings.Cut(hist, "\n\n")
	if rows := strings.Count(hist, "\n") - 1; rows > maxHistogramRows || rows < 10 {
		t.Errorf("histogram has %d rows, want 10..%d:\n%s", rows, maxHistogramRows, hist)
	}
}

func TestProgressPrintsPlainLinesOffTerminal(t *testing.T) {
	var buf testutil.SyncBuffer
	p := NewProgress(context.Background(), &buf, false, time.Second)
	p.ObserveRequest(time.Millisecond, "200")
	p.ObserveRequest(time.Millisecond, "503")
	time.Sleep(2100 * time.Millisecond)
	p.Stop()
	out := buf.String()
	if !strings.Contains(out, "progress:") || !strings.Contains(out, "2 requests") || !strings.Contains(out, "1 errors") || strings.Contains(out, "\r") {
		t.Errorf("progress output %q", out)
	}
}

// A run where nothing answered shows no latency figures, and says why the
// requests failed (issue 18, items 1 and 11).
func TestSummaryOfARunWithNoResponse(t *testing.T) {
	r := &result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://t/", ActualDuration: 2 * time.Second,
		RequestedQPS: 500, Connections: 8, Codes: map[string]int64{result.CodeError: 1000},
		ErrorReasons: map[string]int64{"connection refused": 998, "i/o timeout": 2}}
	doc := result.NewDocument(r, result.DocumentInfo{Profile: "run", Outcome: result.OutcomeFailure, Method: "GET"})
	var buf bytes.Buffer
	WriteSummary(&buf, doc)
	out := buf.String()
	for _, want := range []string{"1000 requests in 2s, 0.0 req/s answered", "no response: connection refused: 998, i/o timeout: 2", "latency: no response"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"p50", "avg", "latency histogram"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("summary shows %q for a run with no response:\n%s", unwanted, out)
		}
	}
}
