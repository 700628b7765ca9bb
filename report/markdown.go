package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/perf-exporter/perf-exporter/result"
)

// WriteMarkdown writes the run's summary as GitHub-flavoured Markdown, for
// a CI job summary: throughput and errors, percentiles, objectives and
// baseline verdicts in tables.
func WriteMarkdown(w io.Writer, doc *result.Document, comparisons []result.Comparison) error {
	x := &doc.PerfExporter
	var b strings.Builder
	fmt.Fprintf(&b, "## perf-exporter run %s: %s\n\n", mdCode(x.Profile), mdOutcome(x.Outcome))
	fmt.Fprintf(&b, "%s %s with %s (%s), run %s\n\n", mdCode(cmp.Or(x.Method, "GET")), mdCode(doc.URL), mdCode(x.Engine), mdCode(x.Protocol), mdCode(x.RunID))
	if x.Error != "" {
		fmt.Fprintf(&b, "**Error:** %s\n\n", mdCell(x.Error))
	}

	b.WriteString("| requests | duration | achieved | requested | connections | error ratio |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| %d | %s | %.1f req/s | %s | %d | %.4f |\n\n", x.Requests, doc.ActualDuration.Round(1e6),
		doc.ActualQPS, mdCell(doc.RequestedQPS), doc.NumConnections, x.ErrorRatio)

	if len(x.Codes) > 0 {
		codes := slices.Sorted(maps.Keys(x.Codes))
		b.WriteString("| code | requests |\n| --- | ---: |\n")
		for _, c := range codes {
			fmt.Fprintf(&b, "| %s | %d |\n", mdCell(c), x.Codes[c])
		}
		b.WriteString("\n")
	}

	if h := doc.DurationHistogram; h != nil && h.Count > 0 && len(h.Percentiles) > 0 {
		corrected := x.CorrectedDurationHistogram
		if corrected != nil {
			b.WriteString("| percentile | latency | corrected | send lateness |\n| ---: | ---: | ---: | ---: |\n")
		} else {
			b.WriteString("| percentile | latency |\n| ---: | ---: |\n")
		}
		for _, pc := range h.Percentiles {
			fmt.Fprintf(&b, "| p%s | %s |", result.PercentileLabel(pc.Percentile), formatSeconds(pc.Value))
			if corrected != nil {
				fmt.Fprintf(&b, " %s | %s |", formatSeconds(valueAt(corrected, pc.Percentile)), formatSeconds(valueAt(x.SendLateness, pc.Percentile)))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}

	if len(x.SLO) > 0 {
		b.WriteString("### Objectives\n\n| objective | measured | target | verdict |\n| --- | ---: | ---: | --- |\n")
		for _, v := range x.SLO {
			verdict := "✅ met"
			if !v.Met {
				verdict = "❌ missed"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(v.Objective), formatObjective(v.Objective, v.Actual),
				formatObjective(v.Objective, v.Target), verdict)
		}
		b.WriteString("\n")
	}

	if len(comparisons) > 0 {
		b.WriteString("### Baseline\n\n| metric | measured | baseline | runs | ratio | p-value | verdict |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
		for _, c := range comparisons {
			verdict := "✅ ok"
			if c.Regression {
				verdict = "❌ regression"
			}
			p := "n/a (tolerance)"
			if c.Method != "tolerance" {
				p = fmt.Sprintf("%.2g", c.PValue)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %.3f | %s | %s |\n", mdCell(c.Metric), formatMetric(c.Metric, c.Measured),
				formatMetric(c.Metric, c.Baseline), c.Runs, c.Ratio, p, verdict)
		}
		b.WriteString("\n")
	}
	for _, n := range x.Notes {
		fmt.Fprintf(&b, "> note: %s\n", mdCell(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdOutcome(outcome string) string {
	if outcome == result.OutcomeSuccess {
		return "✅ " + outcome
	}
	return "❌ " + outcome
}

// mdCell keeps a value from breaking the table it is in.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "`", "'")
	return strings.Join(strings.Fields(s), " ")
}

// mdCode writes a value as a code span outside tables: taken literally,
// whatever it holds.
func mdCode(s string) string {
	return "`" + strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'") + "`"
}
