package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"
)

// TestHistoryPage: the time range selector picks the runs charted; the
// latency chart has p50, p99 and corrected p99, the rate and error charts
// a dot per run; change points are marked on the chart of their metric,
// an open regression shaded.
func TestHistoryPage(t *testing.T) {
	// A run every 12 hours over 40 days, the newest 12 hours before now.
	var runs []testRun
	for i := range 80 {
		runs = append(runs, testRun{id: fmt.Sprintf("checkout-%02d", i), profile: "checkout", start: now.Add(-time.Duration(80-i) * 12 * time.Hour), corrected: true})
	}
	changes := staticChanges{"checkout": {
		{Metric: "latency_p99", RunID: "checkout-78", Time: runs[78].start, Direction: "regression", Status: "open", Before: 0.03, After: 0.05, Ratio: 1.667},
		{Metric: "achieved_rps", RunID: "checkout-77", Time: runs[77].start, Direction: "improvement", Status: "accepted", Before: 90, After: 99, Ratio: 1.1},
		// Before the last day and closed: not on the day's chart.
		{Metric: "latency_p50", RunID: "checkout-10", Time: runs[10].start, Direction: "regression", Status: "recovered", Ratio: 1.3},
	}}
	h := New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{profileStatus("checkout", nil)},
		History: openHistory(t, runs...), Changes: changes, Now: func() time.Time { return now }})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	section := func(query string) *html.Node {
		t.Helper()
		status, body, _ := get(t, srv.URL+"/"+query)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", query, status, body)
		}
		s := byID(parsePage(t, body), "profile-checkout")
		if s == nil {
			t.Fatalf("%s: no section of checkout", query)
		}
		return s
	}
	for _, tc := range []struct {
		query string
		runs  int
	}{{"", 20}, {"?since=24h", 2}, {"?since=7d", 14}, {"?since=30d", 60}, {"?since=2026-01-01T00:00:00Z", 80}} {
		s := section(tc.query)
		if got := len(chartRuns(s)); got != tc.runs {
			t.Errorf("%q: %d runs charted, want %d", tc.query, got, tc.runs)
		}
		for _, chart := range findAll(s, hasClass("series")) {
			if chart.Data != "svg" {
				continue
			}
			if got := len(findAll(chart, hasClass("dot"))); got != tc.runs {
				t.Errorf("%q: a series chart has %d dots, want %d", tc.query, got, tc.runs)
			}
		}
		if rows := len(findAll(s, func(n *html.Node) bool { return n.Data == "tr" })) - 1; rows != min(tc.runs, tableRuns) {
			t.Errorf("%q: %d table rows, want %d", tc.query, rows, min(tc.runs, tableRuns))
		}
	}

	s := section("?since=7d")
	if n := len(findAll(s, func(n *html.Node) bool { return n.Data == "polyline" && hasClass("cp99")(n) })); n != 1 {
		t.Errorf("%d corrected p99 lines, want 1", n)
	}
	if n := len(findAll(s, hasClass("series"))); n < 2 {
		t.Errorf("%d series charts (rate, errors), want 2", n)
	}
	marks := findAll(s, func(n *html.Node) bool { return n.Data == "a" && hasClass("change")(n) })
	var got []string
	for _, m := range marks {
		cls, _ := attr(m, "class")
		got = append(got, cls+": "+text(m))
	}
	want := []string{
		"pt change regression open: p99 ↑×1.67 latency_p99 regression ×1.67 (30 ms → 50 ms), open, from run checkout-78 at Nov 26 13:00",
		"pt change improvement accepted: rate ↑×1.1 achieved_rps improvement ×1.1 (90.0 req/s → 99.0 req/s), accepted, from run checkout-77 at Nov 26 01:00",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("change marks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(findAll(s, hasClass("shade"))); n != 1 {
		t.Errorf("%d shaded open regressions, want 1", n)
	}

	status, body, _ := get(t, srv.URL+"/?since=yesterday")
	if status != http.StatusBadRequest || !strings.Contains(text(parsePage(t, body)), `since "yesterday"`) {
		t.Errorf("a bad since: status %d: %s", status, body)
	}
}

// Without a change-point tracker the chart has no marks, and a tracker
// that fails says so without taking the chart down.
func TestHistoryPageWithoutChanges(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...), profileStatus("checkout", nil))
	_, body, _ := get(t, srv.URL+"/")
	s := byID(parsePage(t, body), "profile-checkout")
	if n := len(findAll(s, func(n *html.Node) bool { return n.Data == "a" && hasClass("change")(n) })); n != 0 {
		t.Errorf("%d change marks without a tracker", n)
	}
	if len(chartRuns(s)) != 4 {
		t.Errorf("chart runs %q", chartRuns(s))
	}
}
