package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// node helpers over a parsed page.

func parsePage(t testing.TB, body []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// findAll returns the elements under n that match.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func byID(n *html.Node, id string) *html.Node {
	found := findAll(n, func(c *html.Node) bool { v, _ := attr(c, "id"); return v == id })
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

func hasAttr(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { _, ok := attr(n, name); return ok }
}

func hasClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		v, _ := attr(n, "class")
		return slices.Contains(strings.Fields(v), class)
	}
}

// text is what n shows, words separated by single spaces (also between
// table cells).
func text(n *html.Node) string {
	var words []string
	for c := range n.Descendants() {
		if c.Type == html.TextNode && c.Parent.Data != "style" {
			words = append(words, strings.Fields(c.Data)...)
		}
	}
	return strings.Join(words, " ")
}

// chartRuns are the run ids of the points in a section's chart.
func chartRuns(section *html.Node) []string {
	var ids []string
	for _, svg := range findAll(section, func(n *html.Node) bool { return n.Data == "svg" }) {
		for _, g := range findAll(svg, hasAttr("data-run")) {
			id, _ := attr(g, "data-run")
			ids = append(ids, id)
		}
	}
	return ids
}

// oddRun has an id that needs escaping in a URL.
var oddRun = testRun{id: "search/nightly #2", profile: "search", start: t0.Add(4 * time.Hour)}

func TestLandingPageHistory(t *testing.T) {
	st := openHistory(t, append(apiRuns, oddRun)...)
	last, err := st.Get(context.Background(), "checkout-4")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, st, profileStatus("checkout", last), profileStatus("fresh", nil), profileStatus("search", nil))
	status, body, header := get(t, srv.URL+"/")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if csp := header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not keep the page offline", csp)
	}
	page := parsePage(t, body)

	checkout := byID(page, "profile-checkout")
	if checkout == nil {
		t.Fatalf("no section of profile checkout:\n%s", body)
	}
	// Oldest first, left to right.
	if got, want := strings.Join(chartRuns(checkout), " "), "checkout-1 checkout-2 checkout-3 checkout-4"; got != want {
		t.Errorf("checkout's chart has points %q, want %q", got, want)
	}
	failed := findAll(checkout, func(n *html.Node) bool { v, _ := attr(n, "data-run"); return v == "checkout-3" })[0]
	if len(findAll(failed, hasClass("missing"))) != 1 || len(findAll(failed, func(n *html.Node) bool { return n.Data == "circle" })) != 0 {
		t.Error("the failed run is not drawn as a cross on the time axis")
	}
	ok := findAll(checkout, func(n *html.Node) bool { v, _ := attr(n, "data-run"); return v == "checkout-4" })[0]
	if n := len(findAll(ok, func(n *html.Node) bool { return n.Data == "circle" })); n != 2 {
		t.Errorf("a successful run has %d marks, want 2 (p50, p99)", n)
	}
	if n := len(findAll(checkout, hasClass("baseline"))); n != 2 {
		t.Errorf("%d baseline lines, want 2 (p50, p99)", n)
	}
	if s := text(checkout); !strings.Contains(s, "median of the last 3 successful runs") {
		t.Errorf("the legend does not say what the baseline is: %s", s)
	}
	rows := findAll(checkout, func(n *html.Node) bool { return n.Data == "tr" })
	if len(rows) != 5 {
		t.Errorf("checkout's table has %d rows, want a header and 4 runs", len(rows))
	}
	if s := text(rows[2]); !strings.Contains(s, "failure") || !strings.Contains(s, "connection refused") {
		t.Errorf("the failed run's row %q does not show its outcome and error", s)
	}

	search := byID(page, "profile-search")
	if got := chartRuns(search); len(got) != 2 {
		t.Errorf("search's chart has points %q, want 2", got)
	}
	if s := text(byID(page, "profile-fresh")); !strings.Contains(s, "No runs stored yet") {
		t.Errorf("a profile without runs shows %q", s)
	}

	// Every run link leads to the run's page, whatever its id.
	links := findAll(search, func(n *html.Node) bool { v, _ := attr(n, "href"); return strings.HasPrefix(v, "runs/") })
	if len(links) == 0 {
		t.Fatal("no links to run pages")
	}
	for _, a := range links {
		href, _ := attr(a, "href")
		status, body, _ := get(t, srv.URL+"/"+href)
		if status != http.StatusOK {
			t.Errorf("link %s: status %d: %s", href, status, body)
		}
	}
}

func TestLandingPageWithoutHistory(t *testing.T) {
	doc := apiRuns[4].doc()
	srv := newServer(t, nil, profileStatus("checkout", doc))
	status, body, _ := get(t, srv.URL+"/")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	page := parsePage(t, body)
	if byID(page, "profile-checkout") != nil {
		t.Error("a history section without a history")
	}
	s := text(page)
	p99, _ := documentPercentile(doc, 99)
	for _, want := range []string{"checkout", "GET http://127.0.0.1:8080/echo", "@every 10m", "success", formatLatency(p99), "2026-11-27 12:00:00 UTC"} {
		if !strings.Contains(s, want) {
			t.Errorf("the profile table does not show %q: %s", want, s)
		}
	}
	if status, _, _ := get(t, srv.URL+"/runs/checkout-4"); status != http.StatusNotFound {
		t.Errorf("run pages without a history: status %d, want 404", status)
	}
}

// brokenHistory fails every read.
type brokenHistory struct{}

var errBroken = errors.New("store /data/runs.db is corrupt: page 7")

func (brokenHistory) List(context.Context, store.Query) ([]store.Summary, string, error) {
	return nil, "", errBroken
}
func (brokenHistory) Get(context.Context, string) (*result.Document, error) { return nil, errBroken }
func (brokenHistory) BaselineWithin(context.Context, string, int, time.Time, time.Time) (map[string]float64, int, error) {
	return nil, 0, errBroken
}

func TestPagesWhenTheHistoryFails(t *testing.T) {
	srv := newServer(t, brokenHistory{}, profileStatus("checkout", nil))
	status, body, _ := get(t, srv.URL+"/")
	if status != http.StatusOK {
		t.Fatalf("landing page: status %d: %s", status, body)
	}
	if s := text(byID(parsePage(t, body), "profile-checkout")); !strings.Contains(s, "cannot be read: "+errBroken.Error()) {
		t.Errorf("the section does not say the history failed: %s", s)
	}
	status, body, _ = get(t, srv.URL+"/runs/checkout-1")
	if status != http.StatusInternalServerError || !strings.Contains(string(body), errBroken.Error()) {
		t.Errorf("run page: status %d, want 500 with the reason: %s", status, body)
	}
	status, body, _ = get(t, srv.URL+"/api/v1/results")
	if status != http.StatusInternalServerError || !strings.Contains(string(body), errBroken.Error()) {
		t.Errorf("API: status %d, want 500 with the reason: %s", status, body)
	}
}

func TestRunPage(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...), profileStatus("checkout", nil))
	status, body, header := get(t, srv.URL+"/runs/checkout-4")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if ct := header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	page := parsePage(t, body)
	doc := apiRuns[4].doc()
	h := doc.DurationHistogram
	if got := len(findAll(page, hasClass("bar"))); got != len(h.Data) {
		t.Errorf("%d histogram bars, want one per bucket: %d", got, len(h.Data))
	}
	if got := len(findAll(page, hasClass("marker-label"))); got != len(h.Percentiles) {
		t.Errorf("%d percentile markers, want %d", got, len(h.Percentiles))
	}
	s := text(page)
	p999, _ := documentPercentile(doc, 99.9)
	for _, want := range []string{
		"Run checkout-4", "success", "GET http://127.0.0.1:8080/echo",
		"p99.9 " + formatLatency(p999),                       // percentile table
		"200 2990 99.67 %", "503 9 0.30 %", "error 1 0.03 %", // codes
		"latency p99 1 s", "error_ratio 1.00 %", // objectives
		"nodes load1 cluster 2 0", "avg(node_load1)", // environment
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the run page does not show %q", want)
		}
	}

	status, body, _ = get(t, srv.URL+"/runs/checkout-3")
	if status != http.StatusOK || !strings.Contains(text(parsePage(t, body)), "No response: none of the 12 requests was answered") {
		t.Errorf("failed run's page: status %d, %s", status, body)
	}
	status, body, _ = get(t, srv.URL+"/runs/nope")
	if status != http.StatusNotFound || !strings.Contains(text(parsePage(t, body)), `run "nope": no such run`) {
		t.Errorf("unknown run's page: status %d, %s", status, body)
	}
}

// TestReloadReachesTheLandingPage: the charts' baselines follow
// global.baseline_runs of the config in force, not the one at start.
func TestReloadReachesTheLandingPage(t *testing.T) {
	var runs []testRun
	for i := range 5 {
		runs = append(runs, testRun{id: fmt.Sprintf("checkout-%d", i), profile: "checkout", start: t0.Add(time.Duration(i) * time.Hour)})
	}
	h := New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{profileStatus("checkout", nil)},
		History: openHistory(t, runs...), BaselineRuns: 3})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	baselineLine := func() string {
		t.Helper()
		status, body, _ := get(t, srv.URL+"/")
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		return text(byID(parsePage(t, body), "profile-checkout"))
	}
	if s := baselineLine(); !strings.Contains(s, "median of the last 3 successful runs") {
		t.Errorf("at start (baseline_runs 3): %s", s)
	}
	if err := h.ApplyConfig(&config.Config{Global: config.Global{BaselineRuns: 2}}); err != nil {
		t.Fatal(err)
	}
	if s := baselineLine(); !strings.Contains(s, "median of the last 2 successful runs") {
		t.Errorf("after a reload to baseline_runs 2: %s", s)
	}
}

// A run whose every request failed shows "no response" where a latency
// would be, never a number, and why the requests failed (issue 18, item 1).
func TestPagesSayNoResponse(t *testing.T) {
	st := openHistory(t, apiRuns...)
	last, err := st.Get(context.Background(), "checkout-3")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, st, profileStatus("checkout", last))
	_, body, _ := get(t, srv.URL+"/")
	page := parsePage(t, body)
	rows := findAll(page, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(text(n), "failure") })
	if len(rows) != 2 { // the profile's last run, and its line in the history
		t.Fatalf("%d rows of the failed run, want 2:\n%s", len(rows), body)
	}
	for _, row := range rows {
		if got := strings.Count(text(row), "no response"); got != 2 {
			t.Errorf("row %q: p50 and p99 should each say no response", text(row))
		}
	}
	_, body, _ = get(t, srv.URL+"/runs/checkout-3")
	s := text(parsePage(t, body))
	for _, want := range []string{"0.0 req/s answered", "No response: none of the 12 requests was answered", "connection refused 12"} {
		if !strings.Contains(s, want) {
			t.Errorf("the run page does not show %q:\n%s", want, s)
		}
	}
}
