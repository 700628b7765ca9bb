package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/result"
)

// WriteSummary prints what a person wants to see after a run: throughput,
// status codes, percentiles, a latency histogram and the objectives.
func WriteSummary(w io.Writer, doc *result.Document) {
	x := &doc.PerfExporter
	fmt.Fprintf(w, "%s %s (%s, %s)\n", x.Method, doc.URL, x.Engine, x.Protocol)
	fmt.Fprintf(w, "%d requests in %s, %.1f req/s answered (requested: %s), %d connections\n",
		x.Requests, doc.ActualDuration.Round(1e6), doc.ActualQPS, doc.RequestedQPS, doc.NumConnections)
	if len(x.Codes) > 0 {
		codes := slices.Sorted(maps.Keys(x.Codes))
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%s: %d", c, x.Codes[c])
		}
		fmt.Fprintf(w, "codes: %s (error ratio %.4f)\n", strings.Join(parts, ", "), x.ErrorRatio)
	}
	if len(x.ErrorReasons) > 0 {
		fmt.Fprintf(w, "no response: %s\n", countsByName(x.ErrorReasons))
	}
	if h := doc.DurationHistogram; h != nil && h.Count > 0 {
		fmt.Fprintln(w)
		writePercentiles(w, h, x.CorrectedDurationHistogram, x.SendLateness)
		fmt.Fprintln(w)
		writeHistogram(w, h)
	} else if x.Requests > 0 {
		fmt.Fprintln(w, "latency: no response, nothing to measure")
	}
	if len(x.SLO) > 0 {
		fmt.Fprintln(w)
		for _, v := range x.SLO {
			mark := "ok    "
			if !v.Met {
				mark = "MISSED"
			}
			fmt.Fprintf(w, "%s %-14s %s (objective %s)\n", mark, v.Objective, formatObjective(v.Objective, v.Actual), formatObjective(v.Objective, v.Target))
		}
	}
	for _, n := range x.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if x.Error != "" {
		fmt.Fprintf(w, "error: %s\n", x.Error)
	}
	fmt.Fprintf(w, "result: %s\n", x.Outcome)
}

// countsByName lists counts, largest first: "connection refused: 998, i/o timeout: 2".
func countsByName(counts map[string]int64) string {
	names := result.ByCount(counts)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s: %d", n, counts[n])
	}
	return strings.Join(parts, ", ")
}

func writePercentiles(w io.Writer, h, corrected, lateness *stats.HistogramData) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "percentile\tlatency\t"
	if corrected != nil {
		header += "corrected\tsend lateness\t"
	}
	fmt.Fprintln(tw, header)
	for _, pc := range h.Percentiles {
		line := fmt.Sprintf("p%s\t%s\t", result.PercentileLabel(pc.Percentile), formatSeconds(pc.Value))
		if corrected != nil {
			line += fmt.Sprintf("%s\t%s\t", formatSeconds(valueAt(corrected, pc.Percentile)), formatSeconds(valueAt(lateness, pc.Percentile)))
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if h.Min > 0 { // wrk does not report its minimum
		fmt.Fprintf(w, "min %s, ", formatSeconds(h.Min))
	}
	fmt.Fprintf(w, "avg %s, max %s\n", formatSeconds(h.Avg), formatSeconds(h.Max))
}

func valueAt(h *stats.HistogramData, p float64) float64 {
	v, _ := result.PercentileOf(h, p)
	return v
}

// maxHistogramRows keeps the text histogram on one screen.
const maxHistogramRows = 24

// writeHistogram draws the non-empty latency buckets as bars, merging
// neighbours when there are more than fit on a screen.
func writeHistogram(w io.Writer, h *stats.HistogramData) {
	var rows []stats.Bucket
	for _, b := range h.Data {
		if b.Count > 0 {
			rows = append(rows, b)
		}
	}
	if len(rows) == 0 {
		return
	}
	if per := (len(rows) + maxHistogramRows - 1) / maxHistogramRows; per > 1 {
		merged := make([]stats.Bucket, 0, maxHistogramRows)
		for i := 0; i < len(rows); i += per {
			group := rows[i:min(i+per, len(rows))]
			m := group[0]
			for _, b := range group[1:] {
				m.Count += b.Count
				m.End, m.Percent = b.End, b.Percent
			}
			merged = append(merged, m)
		}
		rows = merged
	}
	const width = 40
	var peak int64
	for _, b := range rows {
		peak = max(peak, b.Count)
	}
	fmt.Fprintln(w, "latency histogram (bucket, requests, cumulative %):")
	for _, b := range rows {
		bar := max(int(float64(b.Count)/float64(peak)*width), 1)
		fmt.Fprintf(w, "%10s - %-10s %7d %5.1f%% %s\n", formatSeconds(b.Start), formatSeconds(b.End), b.Count, b.Percent, strings.Repeat("#", bar))
	}
}

func formatSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3gs", s)
	case s >= 0.001:
		return fmt.Sprintf("%.3gms", s*1e3)
	default:
		return fmt.Sprintf("%.3gµs", s*1e6)
	}
}

func formatObjective(objective string, v float64) string {
	if strings.HasPrefix(objective, "latency") {
		return formatSeconds(v)
	}
	return fmt.Sprintf("%.4f", v)
}
