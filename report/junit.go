package report

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/perf-exporter/perf-exporter/result"
)

// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub actions that
// publish test reports): one test suite for the run, one test case for the
// run itself, one per objective and one per baseline comparison.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the run's JUnit report: the run (an error when it did
// not complete), each objective and each baseline comparison (a failure
// when missed, with measured and target in the message).
func WriteJUnit(w io.Writer, doc *result.Document, comparisons []result.Comparison) error {
	x := &doc.PerfExporter
	seconds := fmt.Sprintf("%.3f", doc.ActualDuration.Seconds())
	class := "perf-exporter." + x.Profile
	suite := junitSuite{
		Name:      "perf-exporter run " + x.Profile,
		Time:      seconds,
		Timestamp: doc.StartTime.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"run_id", x.RunID}, {"profile", x.Profile}, {"target", doc.URL},
			{"engine", x.Engine}, {"protocol", x.Protocol}, {"outcome", x.Outcome},
			{"requests", fmt.Sprint(x.Requests)}, {"achieved_rps", fmt.Sprintf("%.2f", doc.ActualQPS)},
		},
	}
	run := junitCase{Name: "run completes", Classname: class, Time: seconds}
	if x.Outcome == result.OutcomeFailure || x.Outcome == result.OutcomeAborted {
		msg := "the run did not complete: " + x.Outcome
		if x.Error != "" {
			msg += ": " + x.Error
		}
		run.Error = &junitProblem{Message: msg, Type: x.Outcome, Text: msg}
		suite.Errors++
	}
	suite.Cases = append(suite.Cases, run)
	for _, v := range x.SLO {
		c := junitCase{Name: "objective " + v.Objective, Classname: class, Time: "0"}
		if !v.Met {
			msg := fmt.Sprintf("%s: measured %s, objective %s", v.Objective,
				formatObjective(v.Objective, v.Actual), formatObjective(v.Objective, v.Target))
			c.Failure = &junitProblem{Message: msg, Type: "objective", Text: msg}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, cmp := range comparisons {
		c := junitCase{Name: "baseline " + cmp.Metric, Classname: class, Time: "0"}
		if cmp.Regression {
			msg := DescribeComparison(cmp)
			c.Failure = &junitProblem{Message: msg, Type: "regression", Text: msg}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	all := junitSuites{Name: "perf-exporter", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: seconds, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// DescribeComparison says in one line what a baseline comparison found:
// metric, baseline, measured value, ratio and p-value.
func DescribeComparison(c result.Comparison) string {
	verdict := "ok"
	if c.Regression {
		verdict = "REGRESSION"
	}
	s := fmt.Sprintf("%s %s: measured %s, baseline %s (%d runs), ratio %.3f", verdict, c.Metric,
		formatMetric(c.Metric, c.Measured), formatMetric(c.Metric, c.Baseline), c.Runs, c.Ratio)
	if c.Method == "tolerance" {
		return s + " (tolerance)"
	}
	return s + fmt.Sprintf(", p-value %.2g", c.PValue)
}

// formatMetric writes a change-point metric's value in its unit.
func formatMetric(metric string, v float64) string {
	switch metric {
	case "achieved_rps":
		return fmt.Sprintf("%.1f req/s", v)
	case "error_ratio":
		return fmt.Sprintf("%.4f", v)
	default:
		return formatSeconds(v)
	}
}
