package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// compareRunsFixture: two checkout runs (the second twice as slow, with
// a corrected latency) and a search run at another rate.
var compareRunsFixture = []testRun{
	{id: "checkout-1", profile: "checkout", start: t0},
	{id: "checkout-2", profile: "checkout", start: t0.Add(time.Hour), scale: 2, corrected: true},
	{id: "search-1", profile: "search", start: t0.Add(2 * time.Hour), qps: 50},
	{id: "checkout-3", profile: "checkout", start: t0.Add(3 * time.Hour), outcome: "failure"},
}

func TestComparePage(t *testing.T) {
	srv := newServer(t, openHistory(t, compareRunsFixture...), profileStatus("checkout", nil))
	status, body, header := get(t, srv.URL+"/compare?ids=checkout-1,checkout-2,search-1,checkout-3")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if csp := header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	page := parsePage(t, body)

	// One curve per run with a latency, plus the corrected one, on both
	// the log and the linear plot.
	for _, plot := range []string{"plot-log", "plot-lin"} {
		div := findAll(page, hasClass(plot))
		if len(div) != 1 {
			t.Fatalf("%d %s panels, want 1", len(div), plot)
		}
		var got []string
		for _, c := range findAll(div[0], hasClass("curve")) {
			id, _ := attr(c, "data-run")
			if hasClass("corrected")(c) {
				id += " corrected"
			}
			got = append(got, id)
		}
		if want := "checkout-1 checkout-2 checkout-2 corrected search-1"; strings.Join(got, " ") != want {
			t.Errorf("%s: curves %q, want %q", plot, got, want)
		}
		// A focusable point per reported percentile of each curve: 5 each.
		if n := len(findAll(div[0], hasClass("pt"))); n != 4*5 {
			t.Errorf("%s: %d percentile points, want 20", plot, n)
		}
	}
	// Fortio's bars: 6 statistics of 3 runs with latency; rates: 4
	// achieved, 4 requested.
	bars := findAll(page, func(n *html.Node) bool { return n.Data == "rect" && hasClass("bar")(n) })
	if len(bars) != 6*3+4+4 {
		t.Errorf("%d bars, want %d", len(bars), 6*3+8)
	}

	s := text(page)
	for _, want := range []string{
		"Profiles differ: #1 checkout, #2 checkout, #3 search, #4 checkout",
		"Requested rates differ: #1 100 req/s, #2 100 req/s, #3 50 req/s, #4 100 req/s",
		"failure (no response)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page does not say %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Connections differ") {
		t.Error("the note says connections differ; they do not")
	}

	// The change table: checkout-2 is twice as slow (worse, red) and
	// half as fast (worse).
	table := byID(page, "changes")
	if table == nil {
		t.Fatal("no change table")
	}
	row := func(label string) []*html.Node {
		for _, tr := range findAll(table, func(n *html.Node) bool { return n.Data == "tr" }) {
			if cells := findAll(tr, func(n *html.Node) bool { return n.Data == "td" }); len(cells) > 0 && text(cells[0]) == label {
				return cells[1:]
			}
		}
		t.Fatalf("no row %q in the change table", label)
		return nil
	}
	p50 := row("latency p50")
	if got := text(p50[1]); !strings.Contains(got, "+9") || !hasClass("worse")(p50[1]) { // about +100 %, bucketed
		t.Errorf("checkout-2's p50 cell %q (class worse expected)", got)
	}
	if hasClass("worse")(p50[2]) || hasClass("better")(p50[2]) {
		t.Errorf("search-1's p50, equal to the base, is coloured: %q", text(p50[2]))
	}
	rate := row("achieved rate")
	if got := text(rate[1]); !strings.Contains(got, "-50.0 %") || !hasClass("worse")(rate[1]) {
		t.Errorf("checkout-2's halved rate %q is not worse", got)
	}
	errs := row("error ratio")
	if !hasClass("worse")(errs[3]) {
		t.Errorf("the failed run's error ratio %q is not worse", text(errs[3]))
	}
}

func TestComparePageBadRequests(t *testing.T) {
	srv := newServer(t, openHistory(t, compareRunsFixture...), profileStatus("checkout", nil))
	var eleven []string
	for range 11 {
		eleven = append(eleven, "x"+strings.Repeat("y", len(eleven)))
	}
	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"ids=checkout-1", http.StatusBadRequest, "got 1 run ids, want 2 to 20"},
		{"ids=" + url.QueryEscape(strings.Join(eleven, ",")), http.StatusBadRequest, "the page draws at most 10"},
		{"ids=checkout-1,checkout-1", http.StatusBadRequest, `run "checkout-1" is listed twice`},
		{"ids=checkout-1&x=1", http.StatusBadRequest, `unknown parameter "x"`},
		{"ids=checkout-1,nope", http.StatusNotFound, `run "nope": no such run`},
		// As the landing page's form sends it.
		{"ids=checkout-1&ids=checkout-2", http.StatusOK, "Compare 2 runs"},
	} {
		status, body, _ := get(t, srv.URL+"/compare?"+tc.query)
		if status != tc.status || !strings.Contains(text(parsePage(t, body)), tc.want) {
			t.Errorf("%s: status %d, want %d saying %q:\n%s", tc.query, status, tc.status, tc.want, text(parsePage(t, body)))
		}
	}
}

// An external engine's run says what the engine did not measure; a
// fortio run says nothing of the kind.
func TestRunPageSaysWhatTheEngineDidNotMeasure(t *testing.T) {
	wrk := testRun{id: "wrk-1", profile: "checkout", start: t0}.doc()
	wrk.PerfExporter.Engine = "wrk"
	wrk.PerfExporter.Codes = map[string]int64{"2xx": 2990, "4xx_5xx": 9, "error": 1}
	wrk.PerfExporter.ErrorReasons = nil
	st := openHistory(t, testRun{id: "fortio-1", profile: "checkout", start: t0.Add(time.Hour), corrected: true})
	if err := st.Save(t.Context(), wrk); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, st, profileStatus("checkout", nil))

	_, body, _ := get(t, srv.URL+"/runs/wrk-1")
	note := byID(parsePage(t, body), "not-measured")
	if note == nil {
		t.Fatalf("the wrk run's page has no note of what wrk did not measure:\n%s", body)
	}
	s := text(note)
	for _, want := range []string{"What wrk does not measure", "coordinated omission", "send lateness", "only below 400 (2xx) or not (4xx_5xx)", "why requests got no response"} {
		if !strings.Contains(s, want) {
			t.Errorf("the note %q does not say %q", s, want)
		}
	}

	_, body, _ = get(t, srv.URL+"/runs/fortio-1")
	page := parsePage(t, body)
	if byID(page, "not-measured") != nil {
		t.Error("a fortio run's page says something was not measured")
	}
	// The fortio run has send lateness and a corrected curve.
	if byID(page, "lateness") == nil {
		t.Error("no send lateness on the fortio run's page")
	}
	if n := len(findAll(page, func(n *html.Node) bool { return n.Data == "polyline" && hasClass("corrected")(n) })); n != 1 {
		t.Errorf("%d corrected curves on the fortio run's page, want 1", n)
	}
}
