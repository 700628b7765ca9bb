package web

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/perf-exporter/perf-exporter/result"
)

// MaxComparePageRuns is how many runs the compare page draws: more
// curves than that, in as many colours, cannot be told apart (the API
// compares up to MaxCompareRuns).
const MaxComparePageRuns = 10

// noiseChange is the relative change the compare page leaves uncoloured:
// run-to-run noise of a load test, not a better or a worse result.
const noiseChange = 0.05

// comparePage is GET /compare?ids=a,b,...: the runs' latency by
// percentile, their summary statistics side by side and the relative
// changes against the first run.
type comparePage struct {
	Runs []compareRun
	IDs  string
	// LogPlot and LinearPlot are the same curves on a log and a linear
	// latency axis; the page toggles between them.
	LogPlot, LinearPlot *percentilePlot
	Stats               *barChart
	Rates               *barChart
	// Differences says how the runs' set-ups differ (targets, rates,
	// connections ...), empty when they are alike.
	Differences []string
	Changes     []changeRow
	NoiseChange float64
}

type compareRun struct {
	ResultView
	Color int
	// Corrected says the run has a corrected latency curve.
	Corrected bool
	// NoLatency says why the run has no curve.
	NoLatency string
}

// changeRow is a line of the relative-change table.
type changeRow struct {
	Label string
	Cells []changeCell
}

type changeCell struct {
	Value  string
	Change string
	// Class is better, worse or "" (the base, or within noise).
	Class string
}

// comparePage serves GET /compare.
func (h *Handler) comparePage(w http.ResponseWriter, r *http.Request) {
	bad := func(err error) {
		h.renderPage(w, http.StatusBadRequest, "error.html", errorPage{Title: "Cannot compare these runs", Message: err.Error()})
	}
	params, err := queryParams(r.URL.RawQuery, nil, "ids")
	if err != nil {
		bad(err)
		return
	}
	ids, err := compareIDs(params["ids"])
	if err != nil {
		bad(err)
		return
	}
	if len(ids) > MaxComparePageRuns {
		bad(fmt.Errorf("ids: got %d runs, the page draws at most %d (the API, /api/v1/results/compare, compares up to %d)", len(ids), MaxComparePageRuns, MaxCompareRuns))
		return
	}
	docs := make([]*result.Document, 0, len(ids))
	for _, id := range ids {
		doc, ok := h.pageRun(w, r, "compare page", id)
		if !ok {
			return
		}
		docs = append(docs, doc)
	}
	h.renderPage(w, http.StatusOK, "compare.html", newComparePage(docs))
}

func newComparePage(docs []*result.Document) comparePage {
	p := comparePage{NoiseChange: noiseChange}
	var series []plotSeries
	for i, d := range docs {
		run := compareRun{ResultView: documentView(d), Color: i}
		label := runLabel(i, run.ResultView)
		if h := d.DurationHistogram; h != nil && h.Count > 0 {
			series = append(series, plotSeries{Label: label, RunID: run.RunID, Color: i, Hist: h})
		} else {
			run.NoLatency = "no latency measured"
			if run.Requests > 0 {
				run.NoLatency = "no response"
			}
		}
		if c := d.PerfExporter.CorrectedDurationHistogram; c != nil && c.Count > 0 {
			run.Corrected = true
			series = append(series, plotSeries{Label: label + " corrected", RunID: run.RunID, Color: i, Dashed: true, Hist: c})
		}
		p.Runs = append(p.Runs, run)
	}
	ids := make([]string, len(p.Runs))
	for i, r := range p.Runs {
		ids[i] = r.RunID
	}
	p.IDs = strings.Join(ids, ",")
	p.LogPlot = newPercentilePlot(series, true)
	p.LinearPlot = newPercentilePlot(series, false)
	p.Stats = newStatsBars(docs)
	p.Rates = newRateBars(p.Runs)
	p.Differences = setupDifferences(docs)
	p.Changes = changeRows(compareRuns(docs))
	return p
}

// runLabel names a run on the compare page: its number, profile and
// start time.
func runLabel(i int, r ResultView) string {
	return fmt.Sprintf("#%d %s %s", i+1, r.Profile, r.Start.UTC().Format("Jan 2 15:04"))
}

// setupDifferences says what the runs were asked to do differently: a
// mesh vs no-mesh comparison differs in its target on purpose, but a
// different rate or connection count explains a latency change too.
func setupDifferences(docs []*result.Document) []string {
	var out []string
	differ := func(what string, value func(*result.Document) string) {
		vals := make([]string, len(docs))
		for i, d := range docs {
			vals[i] = value(d)
		}
		if slices.ContainsFunc(vals, func(v string) bool { return v != vals[0] }) {
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "#%d %s", i+1, v)
			}
			out = append(out, what+" differ: "+b.String())
		}
	}
	differ("Profiles", func(d *result.Document) string { return d.PerfExporter.Profile })
	differ("Targets", func(d *result.Document) string { return strings.TrimSpace(d.PerfExporter.Method + " " + d.URL) })
	differ("Engines", func(d *result.Document) string { return d.PerfExporter.Engine + "/" + d.PerfExporter.Protocol })
	differ("Requested rates", func(d *result.Document) string {
		if d.RequestedQPS == "max" || d.RequestedQPS == "0" {
			return "max"
		}
		return d.RequestedQPS + " req/s"
	})
	differ("Connections", func(d *result.Document) string { return strconv.Itoa(d.NumThreads) })
	differ("Durations", func(d *result.Document) string { return d.RequestedDuration })
	return out
}

// changeRows turns the compare API's values into the table: each value
// with its change against the first run, coloured when it is beyond
// noise, by whether more is better (rates) or worse (latency, errors,
// environment costs).
func changeRows(c Comparison) []changeRow {
	rows := make([]changeRow, 0, len(c.Values))
	for _, v := range c.Values {
		row := changeRow{Label: comparedLabel(v)}
		for i, x := range v.Values {
			cell := changeCell{Value: "–"}
			if x != nil {
				cell.Value = comparedValue(v, *x)
			}
			if i > 0 {
				cell.Change = "–"
				if ch := v.Change[i]; ch != nil {
					cell.Change = fmt.Sprintf("%+.1f %%", *ch*100)
					cell.Class = changeClass(v.Metric, *ch)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	return rows
}

// changeClass is a change's colour: "" within noise, else better or worse
// (more is better for the achieved rate, worse for everything else).
func changeClass(metric string, change float64) string {
	if math.Abs(change) < noiseChange {
		return ""
	}
	if (change > 0) == (metric == "achieved_rps") {
		return "better"
	}
	return "worse"
}

func comparedLabel(v ComparedValue) string {
	switch v.Metric {
	case "latency_seconds":
		return "latency p" + v.Percentile
	case "achieved_rps":
		return "achieved rate"
	case "error_ratio":
		return "error ratio"
	case "environment_value":
		return v.Set + " / " + v.Name + " (avg)"
	}
	return v.Metric
}

func comparedValue(v ComparedValue, x float64) string {
	switch v.Metric {
	case "latency_seconds":
		return formatLatency(x)
	case "achieved_rps":
		return strconv.FormatFloat(x, 'f', 1, 64) + " req/s"
	case "error_ratio":
		return formatPercent(x)
	}
	return strconv.FormatFloat(roundSignificant(x, 4), 'f', -1, 64)
}
