package loadgen

import (
	"math"
	"strconv"
	"strings"

	"fortio.org/fortio/stats"
)

// spectrumRow is one line of an HdrHistogram percentile spectrum, as wrk2
// ("Detailed Percentile spectrum") and Nighthawk (a statistic's
// "percentiles") print it: count values were at or below value.
type spectrumRow struct {
	value float64 // seconds
	count int64   // cumulative
}

// spectrumHistogram turns a cumulative spectrum into a fortio histogram: one
// bucket per step of the cumulative count, from the previous row's value to
// this row's. An HdrHistogram spectrum has a row at every percentile tick,
// so the buckets are as fine as the tool's own report.
func spectrumHistogram(rows []spectrumRow) *stats.HistogramData {
	h := &stats.HistogramData{}
	if len(rows) == 0 {
		return h
	}
	total := rows[len(rows)-1].count
	h.Count = total
	h.Min = rows[0].value
	h.Max = rows[len(rows)-1].value
	if total <= 0 {
		return h
	}
	var prevCount int64
	prevValue := rows[0].value
	for _, r := range rows {
		if r.count <= prevCount {
			// No value between the previous row and this one: the next
			// bucket starts here.
			prevValue = r.value
			continue
		}
		h.Data = append(h.Data, stats.Bucket{
			Interval: stats.Interval{Start: prevValue, End: r.value},
			Percent:  100 * float64(r.count) / float64(total),
			Count:    r.count - prevCount,
		})
		prevCount, prevValue = r.count, r.value
	}
	return h
}

// spectrumValue is the value at percentile p (0-100) of a spectrum: the
// first row whose cumulative count reaches p% of the total. That is
// HdrHistogram's own definition, so it matches the tool's printed
// percentiles at every row the tool printed.
func spectrumValue(rows []spectrumRow, p float64) (float64, bool) {
	if len(rows) == 0 {
		return 0, false
	}
	total := rows[len(rows)-1].count
	if total <= 0 {
		return 0, false
	}
	need := p / 100 * float64(total)
	for _, r := range rows {
		if r.count > 0 && float64(r.count) >= need {
			return r.value, true
		}
	}
	return rows[len(rows)-1].value, true
}

// pickPercentiles returns the requested percentiles in the order asked:
// the value the tool printed for that percentile when it printed one, else
// the value read from the spectrum. missing lists those neither has.
func pickPercentiles(requested []float64, printed []stats.Percentile, rows []spectrumRow) (out []stats.Percentile, missing []float64) {
	for _, p := range requested {
		if v, ok := printedPercentile(printed, p); ok {
			out = append(out, stats.Percentile{Percentile: p, Value: v})
			continue
		}
		if v, ok := spectrumValue(rows, p); ok {
			out = append(out, stats.Percentile{Percentile: p, Value: v})
			continue
		}
		missing = append(missing, p)
	}
	return out, missing
}

func printedPercentile(printed []stats.Percentile, p float64) (float64, bool) {
	for _, pc := range printed {
		if math.Abs(pc.Percentile-p) < 1e-9 {
			return pc.Value, true
		}
	}
	return 0, false
}

// percentileList formats percentiles for a note: "p99.9, p99.99".
func percentileList(ps []float64) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = "p" + strconv.FormatFloat(p, 'f', -1, 64)
	}
	return strings.Join(s, ", ")
}
