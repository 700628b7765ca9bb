package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// Paging and comparison limits of the results API.
const (
	DefaultResultsLimit = 50
	MaxResultsLimit     = 1000
	MinCompareRuns      = 2
	MaxCompareRuns      = 20
)

// resultsAPI serves the run history as JSON: listing, one run's document
// (ours or fortio's shape) and comparisons.
type resultsAPI struct {
	history History
	// now is the clock that since=24h counts back from.
	now func() time.Time
	// logger gets errors of the history itself (the caller gets them too).
	logger *slog.Logger
}

// ResultView is a run as lists and comparisons show it.
type ResultView struct {
	RunView
	Profile string `json:"profile"`
	Engine  string `json:"engine"`
	// RequestedRPS is the rate asked for; 0 = as fast as possible.
	RequestedRPS float64 `json:"requested_rps"`
	// CorrectedP99 is the corrected p99 (seconds, 0 = not measured), for
	// the history chart; not part of the API.
	CorrectedP99 float64 `json:"-"`
}

// ResultList is a page of GET /api/v1/results.
type ResultList struct {
	Results []ResultView `json:"results"`
	// NextCursor fetches the next page (same parameters plus cursor=); it
	// is left out after the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

func (a resultsAPI) list(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.RawQuery, a.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	sums, next, err := a.history.List(r.Context(), q)
	switch {
	case errors.Is(err, store.ErrBadCursor):
		writeError(w, http.StatusBadRequest, err)
		return
	case err != nil:
		a.internalError(w, r, err)
		return
	}
	out := ResultList{Results: make([]ResultView, 0, len(sums)), NextCursor: next}
	for _, s := range sums {
		out.Results = append(out.Results, summaryView(s))
	}
	writeJSON(w, http.StatusOK, out)
}

// parseListQuery reads profile, since, limit and cursor.
func parseListQuery(raw string, now time.Time) (store.Query, error) {
	params, err := queryParams(raw, []string{"profile", "since", "limit", "cursor"})
	if err != nil {
		return store.Query{}, err
	}
	// A profile the history does not hold lists nothing, like one whose
	// runs all fell out of retention.
	q := store.Query{Profile: params.get("profile"), Limit: DefaultResultsLimit, Cursor: params.get("cursor")}
	if s := params.get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxResultsLimit {
			return store.Query{}, fmt.Errorf("limit %q: want a whole number from 1 to %d", s, MaxResultsLimit)
		}
		q.Limit = n
	}
	if s := params.get("since"); s != "" {
		if q.Since, err = parseSince(s, now); err != nil {
			return store.Query{}, err
		}
	}
	return q, nil
}

// parseSince reads a time (RFC 3339) or how long ago (a duration: 90m,
// 24h, or Prometheus' 7d).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		md, merr := model.ParseDuration(s)
		if merr != nil {
			return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time (2026-11-27T03:00:00Z) or how long ago (24h, 7d)", s)
		}
		d = time.Duration(md)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("since %q: how long ago must be positive", s)
	}
	return now.Add(-d), nil
}

func (a resultsAPI) get(w http.ResponseWriter, r *http.Request) {
	params, err := queryParams(r.URL.RawQuery, []string{"format"})
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	format := params.get("format")
	if format != "" && format != "json" && format != "fortio" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("format %q: want json (our document, the default) or fortio (what fortio report reads)", format))
		return
	}
	doc, ok := a.getDoc(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	if format == "fortio" {
		writeJSON(w, http.StatusOK, result.FortioShaped(doc))
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// getDoc fetches a run, answering 404 or 500 itself when it cannot.
func (a resultsAPI) getDoc(w http.ResponseWriter, r *http.Request, id string) (*result.Document, bool) {
	doc, err := a.history.Get(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
		return nil, false
	case err != nil:
		a.internalError(w, r, err)
		return nil, false
	}
	return doc, true
}

func (a resultsAPI) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client left; nobody reads the answer
	}
	if errors.Is(err, store.ErrUnavailable) {
		// Nothing to read (a corrupt or missing store): the exporter runs
		// on without history, and the reason is on the landing page.
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	a.logger.Error("reading the run history", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err)
}

func summaryView(s store.Summary) ResultView {
	latency := s.Latency
	if latency == nil {
		latency = map[string]float64{}
	}
	return ResultView{
		RunView: RunView{
			RunID: s.RunID, Outcome: s.Outcome, Error: s.Error, Start: s.StartTime,
			Duration: s.Duration.Seconds(), Requests: s.Requests, AchievedRPS: s.ActualQPS,
			ErrorRatio: s.ErrorRatio, Latency: latency,
		},
		Profile: s.Profile, Engine: s.Engine, RequestedRPS: requestedRPS(s.RequestedQPS), CorrectedP99: s.CorrectedP99,
	}
}

func documentView(d *result.Document) ResultView {
	return ResultView{
		RunView: *runView(d),
		Profile: d.PerfExporter.Profile, Engine: d.PerfExporter.Engine, RequestedRPS: requestedRPS(d.RequestedQPS),
	}
}

// requestedRPS reads a document's RequestedQPS: a number, or "max" (0).
func requestedRPS(s string) float64 {
	q, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return q
}

// params are a request's query parameters.
type params map[string][]string

func (p params) get(name string) string {
	if v := p[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// queryParams parses a query string, refusing parameters not in allowed
// (a misspelt one would otherwise be silently ignored) and parameters given
// twice, unless they are repeatable.
func queryParams(raw string, allowed []string, repeatable ...string) (params, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("query string: %w", err)
	}
	for name, vs := range values {
		switch {
		case !slices.Contains(allowed, name) && !slices.Contains(repeatable, name):
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", name, strings.Join(slices.Concat(allowed, repeatable), ", "))
		case len(vs) > 1 && !slices.Contains(repeatable, name):
			return nil, fmt.Errorf("parameter %q given %d times", name, len(vs))
		}
	}
	return params(values), nil
}
