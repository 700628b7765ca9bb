package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// History is what the results API and the pages need of the run history
// (the store).
type History interface {
	// List returns runs newest first and the cursor of the next page; the
	// error wraps store.ErrBadCursor for a cursor it did not hand out.
	List(ctx context.Context, q store.Query) ([]store.Summary, string, error)
	// Get returns a run's document; the error wraps store.ErrNotFound for
	// a run the history does not hold.
	Get(ctx context.Context, id string) (*result.Document, error)
	// BaselineWithin returns the median latency per percentile label of
	// the profile's last n successful runs that started in [from, until)
	// (zero: no bound), and how many runs that was.
	BaselineWithin(ctx context.Context, profile string, n int, from, until time.Time) (map[string]float64, int, error)
}

// recentRuns is how many runs of each profile the landing page shows
// without since=; tableRuns how many of them its table lists.
const (
	recentRuns = 20
	tableRuns  = 50
)

// historyRange is the landing page's choice of runs: the last recentRuns
// runs, or those since a time (at most MaxResultsLimit).
type historyRange struct {
	// Since is the since= parameter as given, "" for the last runs.
	Since string
	from  time.Time
}

// rangeChoice is a since= the landing page offers, and its label.
type rangeChoice struct{ Since, Label string }

// historyRanges are the choices the landing page offers.
var historyRanges = []rangeChoice{
	{"", "last 20 runs"}, {"24h", "last day"}, {"7d", "last week"}, {"30d", "last 30 days"},
}

func (r historyRange) query(profile string) store.Query {
	if r.Since == "" {
		return store.Query{Profile: profile, Limit: recentRuns}
	}
	return store.Query{Profile: profile, Since: r.from, Limit: MaxResultsLimit}
}

// profileHistory is a profile's part of the landing page.
type profileHistory struct {
	Name string
	Runs []ResultView // newest first
	// Table are the newest of Runs, for the table.
	Table  []ResultView
	Charts historyCharts
	// Error says why the history could not be read; ChangesError why its
	// change points could not.
	Error, ChangesError string
}

// Chart is the latency chart.
func (p profileHistory) Chart() *latencyChart { return p.Charts.Latency }

// profileHistories reads the runs, baseline and change points of each
// profile. A profile whose history cannot be read says so on the page
// rather than taking the whole page down.
func profileHistories(ctx context.Context, h History, changes Changes, profiles []ProfileView, baselineRuns int, rng historyRange) []profileHistory {
	out := make([]profileHistory, 0, len(profiles))
	for _, p := range profiles {
		ph := profileHistory{Name: p.Name}
		sums, _, err := h.List(ctx, rng.query(p.Name))
		if err == nil {
			var baseline map[string]float64
			var n int
			// The baseline of the accepted level, as the daemon's gauge:
			// never the runs of an open regression.
			var from, until time.Time
			if changes != nil {
				if f, u, werr := changes.BaselineWindow(ctx, p.Name); werr == nil {
					from, until = f, u
				}
			}
			baseline, n, err = h.BaselineWithin(ctx, p.Name, baselineRuns, from, until)
			for _, s := range sums {
				ph.Runs = append(ph.Runs, summaryView(s))
			}
			ph.Table = ph.Runs[:min(len(ph.Runs), tableRuns)]
			var cps []regression.Change
			if changes != nil {
				var cerr error
				if cps, cerr = changes.Changes(ctx, p.Name); cerr != nil {
					ph.ChangesError = cerr.Error()
				}
			}
			ph.Charts = newHistoryCharts(ph.Runs, baseline, n, cps)
		}
		if err != nil {
			ph.Error = err.Error()
		}
		out = append(out, ph)
	}
	return out
}

// runPage is a run's page: its latency distribution and everything the
// document says about it.
type runPage struct {
	Run       ResultView
	Doc       *result.Document
	Histogram *histogramChart
	// Percentiles lines up measured and corrected latency.
	Percentiles []percentileRow
	Codes       []codeCount
	// NoResponse is set when requests were sent and none was answered.
	NoResponse bool
	// Reasons counts the requests that got no response by reason.
	Reasons []codeCount
	// PercentilePlot is latency by percentile, corrected dashed.
	PercentilePlot *percentilePlot
	// Lateness is how late requests left, by percentile.
	Lateness *stats.HistogramData
	// NotMeasured lists what the run's engine does not measure.
	NotMeasured []string
}

type percentileRow struct {
	Label     string
	Value     float64
	Corrected *float64 // nil when not measured
}

type codeCount struct {
	Code  string
	Count int64
	Share float64
	OK    bool
}

func newRunPage(d *result.Document) runPage {
	p := runPage{Run: documentView(d), Doc: d, Histogram: newHistogramChart(d.DurationHistogram),
		PercentilePlot: runPercentilePlot(d), NotMeasured: notMeasured(d)}
	if l := d.PerfExporter.SendLateness; l != nil && l.Count > 0 {
		p.Lateness = l
	}
	if h := d.DurationHistogram; h != nil {
		for _, pc := range h.Percentiles {
			row := percentileRow{Label: result.PercentileLabel(pc.Percentile), Value: pc.Value}
			if c := d.PerfExporter.CorrectedDurationHistogram; c != nil {
				for _, cp := range c.Percentiles {
					if cp.Percentile == pc.Percentile {
						v := cp.Value
						row.Corrected = &v
					}
				}
			}
			p.Percentiles = append(p.Percentiles, row)
		}
	}
	codes := d.PerfExporter.Codes
	if len(codes) == 0 {
		codes = d.RetCodes // a document from elsewhere, fortio's keys
	}
	var total int64
	for _, n := range codes {
		total += n
	}
	for _, code := range result.ByCount(codes) {
		c := codeCount{Code: code, Count: codes[code], OK: result.CodeOK(code)}
		if total > 0 {
			c.Share = float64(c.Count) / float64(total)
		}
		p.Codes = append(p.Codes, c)
	}
	p.NoResponse = total > 0 && codes[result.CodeError]+codes["-1"] == total
	reasons := d.PerfExporter.ErrorReasons
	for _, reason := range result.ByCount(reasons) {
		p.Reasons = append(p.Reasons, codeCount{Code: reason, Count: reasons[reason]})
	}
	return p
}

// runPage serves GET /runs/{id}.
func (h *Handler) runPage(w http.ResponseWriter, r *http.Request) {
	if doc, ok := h.pageRun(w, r, "run page", r.PathValue("id")); ok {
		h.renderPage(w, http.StatusOK, "run.html", newRunPage(doc))
	}
}

// pageRun reads a run's document for a page; without it, it has served
// the error page (404 for an unknown run) and returns false.
func (h *Handler) pageRun(w http.ResponseWriter, r *http.Request, page, id string) (*result.Document, bool) {
	doc, err := h.opts.History.Get(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.renderPage(w, http.StatusNotFound, "error.html", errorPage{Title: "No such run", Message: err.Error()})
		return nil, false
	case err != nil:
		h.opts.Logger.Error(page+": reading the run history", "err", err)
		h.renderPage(w, http.StatusInternalServerError, "error.html", errorPage{Title: "Cannot read the run history", Message: err.Error()})
		return nil, false
	}
	return doc, true
}

type errorPage struct{ Title, Message string }

// currentBaselineRuns is how many runs the config in force asks
// baselines over.
func (h *Handler) currentBaselineRuns() int {
	if n := int(h.baselineRuns.Load()); n > 0 {
		return n
	}
	return config.DefaultBaselineRuns
}
