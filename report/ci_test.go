package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	junit "github.com/joshdk/go-junit"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

// ciDocument is a completed run with a missed objective, a met one and odd
// characters in its URL and notes (XML and Markdown must escape them).
func ciDocument(outcome string) *result.Document {
	h := stats.NewHistogram(0, 0.0001)
	for i := range 1000 {
		h.Record(0.001 + 0.00001*float64(i))
	}
	r := &result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://t/echo|<&>", ActualDuration: 2 * time.Second,
		ActualQPS: 500, Connections: 4, Codes: map[string]int64{"200": 990, "503": 10},
		Latency: h.Export().CalcPercentiles([]float64{50, 90, 99}), StartTime: time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC),
		Notes: []string{"a note with | pipe"}}
	return result.NewDocument(r, result.DocumentInfo{RunID: "ci-1", Profile: "ci", Outcome: outcome, Method: "GET",
		Verdicts: []result.Verdict{
			{Objective: "latency p99", Target: 0.005, Actual: 0.0109, Met: false},
			{Objective: "error_ratio", Target: 0.05, Actual: 0.01, Met: true},
		}})
}

var ciComparisons = []result.Comparison{
	{Metric: "latency_p99", Baseline: 0.008, Runs: 10, Measured: 0.0109, Ratio: 1.3625, PValue: 1e-5, Method: "t-test", Regression: true},
	{Metric: "achieved_rps", Baseline: 498, Runs: 10, Measured: 500, Ratio: 1.004, PValue: 0.6, Method: "t-test"},
}

// TestJUnitReadByAParserAndSchema writes the JUnit report of a run with a
// missed objective and a regression, and reads it back with go-junit (the
// parser of a JUnit consumer) and xmllint against the format's schema.
func TestJUnitReadByAParserAndSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, ciDocument(result.OutcomeSLOMissed), ciComparisons); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(buf.Bytes())
	if err != nil {
		t.Fatalf("go-junit: %v\n%s", err, buf.String())
	}
	if len(suites) != 1 {
		t.Fatalf("%d suites, want 1:\n%s", len(suites), buf.String())
	}
	s := suites[0]
	s.Aggregate()
	if s.Properties["run_id"] != "ci-1" || s.Properties["target"] != "http://t/echo|<&>" {
		t.Errorf("properties %v", s.Properties)
	}
	if s.Totals.Tests != 5 || s.Totals.Failed != 2 || s.Totals.Passed != 3 || s.Totals.Error != 0 {
		t.Errorf("totals %+v, want 5 tests: 2 failed, 3 passed", s.Totals)
	}
	want := map[string]string{
		"run completes":         "passed",
		"objective latency p99": "failed: latency p99: measured 10.9ms, objective 5ms",
		"objective error_ratio": "passed",
		"baseline latency_p99":  "failed: REGRESSION latency_p99: measured 10.9ms, baseline 8ms (10 runs), ratio 1.363, p-value 1e-05",
		"baseline achieved_rps": "passed",
	}
	for _, tc := range s.Tests {
		got := string(tc.Status)
		if tc.Status == junit.StatusFailed {
			got += ": " + tc.Message
		}
		if got != want[tc.Name] {
			t.Errorf("test case %q: %s, want %s", tc.Name, got, want[tc.Name])
		}
		delete(want, tc.Name)
	}
	if len(want) > 0 {
		t.Errorf("test cases missing: %v", want)
	}
	validateJUnit(t, buf.Bytes())
}

// TestJUnitFailedRunIsAnError: a run that did not complete is an error
// test case carrying the reason, and still a valid report.
func TestJUnitFailedRunIsAnError(t *testing.T) {
	doc := ciDocument(result.OutcomeFailure)
	doc.PerfExporter.Error = "connection refused"
	doc.PerfExporter.SLO = nil
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, doc, nil); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	s := suites[0]
	if len(s.Tests) != 1 || s.Tests[0].Status != junit.StatusError || !strings.Contains(s.Tests[0].Message, "connection refused") {
		t.Errorf("tests %+v, want one error saying connection refused", s.Tests)
	}
	validateJUnit(t, buf.Bytes())
}

func validateJUnit(t *testing.T, data []byte) {
	t.Helper()
	xmllint := testutil.Tool(t, "xmllint")
	file := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", file).CombinedOutput(); err != nil {
		t.Errorf("xmllint --schema junit.xsd: %v\n%s\n%s", err, out, data)
	}
}

// TestMarkdownRendersTables renders the Markdown summary with goldmark's
// GitHub tables, as a CI job summary does: every section is a table, and
// values with a pipe stay in their cell.
func TestMarkdownRendersTables(t *testing.T) {
	var md bytes.Buffer
	if err := WriteMarkdown(&md, ciDocument(result.OutcomeSLOMissed), ciComparisons); err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.Table)).Convert(md.Bytes(), &html); err != nil {
		t.Fatal(err)
	}
	out := html.String()
	// Run figures, codes, percentiles, objectives, baseline.
	if n := strings.Count(out, "<table>"); n != 5 {
		t.Errorf("%d tables, want 5:\n%s\n%s", n, md.String(), out)
	}
	for _, want := range []string{
		"<td>latency p99</td>", "❌ missed", "<td>latency_p99</td>", "❌ regression", `right">1e-05</td>`,
		`right">p99</td>`, "<td>503</td>", "<td>200</td>", "http://t/echo|&lt;&amp;&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered summary lacks %s:\n%s", want, out)
		}
	}
	// Each row of the baseline table has all its cells.
	if n := strings.Count(out, "<tr>"); n != 2+3+4+3+3 {
		t.Errorf("%d rows, want 15:\n%s", n, out)
	}
}
