package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The pages are rendered on the server; their charts are inline SVG. They
// load nothing else, so they work offline, and the Content-Security-Policy
// makes sure of it: a stray external resource would be refused (and
// reported on the browser console) rather than fetched.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

//go:embed templates/*.html
var templateFiles embed.FS

var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"ms":      formatLatency,
	"percent": formatPercent,
	"rps":     func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"seconds": func(s float64) string { return strconv.FormatFloat(s, 'f', 1, 64) + " s" },
	"number":  func(v float64) string { return strconv.FormatFloat(roundSignificant(v, 4), 'f', -1, 64) },
	"when":    formatTime,
	"runURL":  url.PathEscape,
	"objective": func(objective string, v float64) string {
		if strings.HasPrefix(objective, "latency") {
			return formatLatency(v)
		}
		return formatPercent(v)
	},
	"add":  func(a, b float64) float64 { return a + b },
	"add1": func(i int) int { return i + 1 },
	// inRanges says whether a since= is one of the landing page's choices.
	"inRanges": func(since string) bool {
		return slices.ContainsFunc(historyRanges, func(r rangeChoice) bool { return r.Since == since })
	},
	"sub": func(a, b float64) float64 { return a - b },
	// markerOffset staggers the labels of neighbouring percentile markers.
	"markerOffset": func(i int) float64 { return float64(4 + 11*(i%2)) },
}).ParseFS(templateFiles, "templates/*.html"))

// landingPage serves GET /.
func (h *Handler) landingPage(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Version  string
		Profiles []ProfileView
		History  []profileHistory
		// The write buttons show only where the endpoint is enabled: a
		// button that can only get a 403 is noise.
		RunNow, Reload bool
		// Range is the runs charted; Ranges the choices.
		Range  historyRange
		Ranges []rangeChoice
		// StoreDown says why the run history is not written, "" when it is.
		StoreDown string
	}{Version: h.opts.Version, Profiles: profileViews(h.opts.Profiles.Statuses()),
		RunNow: h.opts.EnableAdminAPI, Reload: h.opts.EnableLifecycle && h.opts.Reload != nil, Ranges: historyRanges}
	if h.opts.StoreStatus != nil {
		if st := h.opts.StoreStatus(); !st.Available {
			data.StoreDown = st.Reason
		}
	}
	if h.opts.History != nil {
		rng, err := parseHistoryRange(r.URL.RawQuery, h.opts.Now())
		if err != nil {
			h.renderPage(w, http.StatusBadRequest, "error.html", errorPage{Title: "Bad request", Message: err.Error()})
			return
		}
		data.Range = rng
		data.History = profileHistories(r.Context(), h.opts.History, h.opts.Changes, data.Profiles, h.currentBaselineRuns(), rng)
	}
	h.renderPage(w, http.StatusOK, "landing.html", data)
}

// renderPage renders a whole page before writing it, so a template error
// is a clean 500 rather than half a page.
func (h *Handler) renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		h.opts.Logger.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "rendering the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// formatLatency shows seconds as milliseconds (seconds from 1 s on) with
// three significant digits: "0.412 ms", "25.3 ms", "1.25 s".
func formatLatency(seconds float64) string {
	// Rounded first, so 0.9996 s shows as 1 s rather than 1000 ms.
	if ms := roundSignificant(seconds*1000, 3); ms < 1000 {
		return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(roundSignificant(seconds, 3), 'f', -1, 64) + " s"
}

// latencyOf formats a percentile of a run, "–" when it was not measured.
func latencyOf(latency map[string]float64, label string) string {
	v, ok := latency[label]
	if !ok {
		return "–"
	}
	return formatLatency(v)
}

// formatPercent shows a ratio as a percentage: "0.25 %".
func formatPercent(ratio float64) string {
	return fmt.Sprintf("%.2f %%", ratio*100)
}

// roundSignificant rounds v to n significant digits.
func roundSignificant(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	// Dividing by a power of ten, or multiplying by one, is exact where
	// the other way round (x / 0.01) is not.
	e := float64(n) - math.Ceil(math.Log10(math.Abs(v)))
	if e >= 0 {
		scale := math.Pow(10, e)
		return math.Round(v*scale) / scale
	}
	scale := math.Pow(10, -e)
	return math.Round(v/scale) * scale
}
