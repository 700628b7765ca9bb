package web

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

var screenshots = flag.String("screenshots", "", "also save screenshots of the pages the browser test loads into this directory")

// browserRuns are a day of a profile's runs, one failed and one that
// missed its objective, and a second profile.
var browserRuns = func() []testRun {
	var runs []testRun
	scales := []float64{1, 1.1, 0.95, 1.05, 1.8, 0, 1, 0.9, 1.15, 1.05, 1.6, 1}
	for i, scale := range scales {
		r := testRun{id: fmt.Sprintf("checkout-%02d", i), profile: "checkout", start: t0.Add(time.Duration(i) * 2 * time.Hour), scale: scale, corrected: true,
			environment: []result.EnvironmentValue{
				{Set: "node", Name: "cpu_busy_ratio", Prometheus: "cluster", Query: `avg(1 - rate(node_cpu_seconds_total{mode="idle"}[1m]))`, Avg: 0.31 * scale, Max: 0.52 * scale},
				{Set: "mesh", Name: "sidecar_cpu_cores", Prometheus: "cluster", Query: `sum(rate(container_cpu_usage_seconds_total{container="istio-proxy"}[1m]))`, Avg: 0.12 * scale, Max: 0.2 * scale},
			}}
		switch {
		case scale == 0:
			r.outcome = result.OutcomeFailure
		case scale > 1.5:
			r.outcome = result.OutcomeSLOMissed
		}
		runs = append(runs, r)
	}
	for i := range 3 {
		runs = append(runs, testRun{id: fmt.Sprintf("search-%d", i), profile: "search", start: t0.Add(time.Duration(i)*7*time.Hour + time.Hour), scale: 0.5, qps: 200})
	}
	return runs
}()

// browserNow is the browser test's clock: the day after its first run.
var browserNow = t0.Add(25 * time.Hour)

// browserChanges are the change points of browserRuns: checkout's p99
// regressed at its 10th run, and the regression is open.
var browserChanges = staticChanges{"checkout": {{
	ID: "latency_p99@checkout-10", Metric: "latency_p99", RunID: "checkout-10", Time: t0.Add(20 * time.Hour),
	Direction: "regression", Status: "open", Before: 0.037, After: 0.059, Ratio: 1.6,
}, {
	ID: "achieved_rps@checkout-04", Metric: "achieved_rps", RunID: "checkout-04", Time: t0.Add(8 * time.Hour),
	Direction: "regression", Status: "recovered", Before: 99.9, After: 55.5, Ratio: 0.556,
}}}

// TestPagesInBrowser loads the pages in a real headless Chromium: they
// must load without a console message (script errors, and resources the
// Content-Security-Policy refused: anything from the network), every
// request must succeed, and the chart must have one point per stored run.
func TestPagesInBrowser(t *testing.T) {
	chromium := testutil.Tool(t, "chromium")
	st := openHistory(t, browserRuns...)
	last, err := st.Get(context.Background(), "checkout-11")
	if err != nil {
		t.Fatal(err)
	}
	pages := New(Options{
		Gatherer: prometheus.NewRegistry(), Version: "test",
		Profiles: staticProfiles{profileStatus("checkout", last), profileStatus("search", nil)},
		History:  st, Now: func() time.Time { return browserNow },
		Changes: browserChanges,
	})
	log := &requestLog{}
	mux := http.NewServeMux()
	mux.Handle("/", pages)
	// The control page breaks the rules the way a bad page would: it
	// loads an image from a CDN, which the policy of our pages refuses.
	mux.HandleFunc("GET /control", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		fmt.Fprint(w, `<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><img src="https://cdn.example.invalid/chart.png"></body></html>`)
	})
	// The focus page is a page of ours with a script added that focuses
	// its first point the way the Tab key would and writes down whether
	// the point's values show (our pages run no script; this one may).
	mux.HandleFunc("GET /focus", func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		pages.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, r.URL.Query().Get("page"), nil))
		click := ""
		if c := r.URL.Query().Get("click"); c != "" {
			click = `document.querySelector(` + strconv.Quote(c) + `).click();`
		}
		script := `<script>` + click + `
const pt = document.querySelector(` + strconv.Quote(r.URL.Query().Get("point")) + `);
const tip = pt.querySelector(".tip");
const before = getComputedStyle(tip).visibility;
pt.focus();
document.body.dataset.focus = before + " " + getComputedStyle(tip).visibility + " " + (document.activeElement === pt) + ": " + tip.textContent;
document.body.dataset.hasFocus = document.hasFocus();
</script></body>`
		w.Header().Set("Content-Security-Policy", strings.Replace(pageCSP, "default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'", 1))
		fmt.Fprint(w, strings.Replace(rec.Body.String(), "</body>", script, 1))
	})
	srv := httptest.NewServer(log.wrap(mux))
	// Cleanups, not defers: the parallel subtests run after this function
	// returns. The log is checked once they are done, before the server
	// closes.
	t.Cleanup(srv.Close)

	t.Run("control page", func(t *testing.T) {
		t.Parallel()
		_, console := loadInChromium(t, chromium, srv.URL+"/control")
		if !slices.ContainsFunc(console, func(l string) bool { return strings.Contains(l, "Content Security Policy") }) {
			t.Errorf("the console check sees nothing of the control page's refused image; console: %q", console)
		}
	})
	t.Run("landing page", func(t *testing.T) {
		t.Parallel()
		page := loadCleanly(t, chromium, srv.URL+"/")
		for _, profile := range []string{"checkout", "search"} {
			section := byID(page, "profile-"+profile)
			if section == nil {
				t.Fatalf("no section of profile %s in the DOM", profile)
			}
			var want []string
			for _, r := range browserRuns {
				if r.profile == profile {
					want = append(want, r.id)
				}
			}
			if got := chartRuns(section); !slices.Equal(got, want) {
				t.Errorf("%s's chart has %d points %q, want one per stored run, oldest first: %q", profile, len(got), got, want)
			}
		}
		screenshot(t, chromium, srv.URL+"/", "history.png")
	})
	t.Run("run page", func(t *testing.T) {
		t.Parallel()
		page := loadCleanly(t, chromium, srv.URL+"/runs/checkout-10")
		if got, want := len(findAll(page, hasClass("bar"))), len(browserRuns[10].doc().DurationHistogram.Data); got != want {
			t.Errorf("%d histogram bars, want %d", got, want)
		}
		screenshot(t, chromium, srv.URL+"/runs/checkout-10", "run.png")
	})
	t.Run("compare page", func(t *testing.T) {
		t.Parallel()
		url := srv.URL + "/compare?ids=checkout-00,checkout-04,search-1"
		page := loadCleanly(t, chromium, url)
		var curves []string
		for _, c := range findAll(byClass(t, page, "plot-log"), hasClass("curve")) {
			id, _ := attr(c, "data-run")
			curves = append(curves, id)
		}
		if want := "checkout-00 checkout-00 checkout-04 checkout-04 search-1"; strings.Join(curves, " ") != want {
			t.Errorf("curves of runs %q, want %q (one per run, and the corrected ones)", curves, want)
		}
		screenshot(t, chromium, url, "compare.png")
		screenshot(t, chromium, url, "compare-dark.png", "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
	})
	for _, tc := range []struct{ name, page, click, point, want string }{
		{"compare point", "/compare?ids=checkout-00,checkout-04", "", "svg.percentiles .pt", "hidden visible true: #1 checkout Nov 27 03:00 · p50"},
		// The linear plot is hidden (not focusable) until its toggle is on.
		{"hidden linear plot's point", "/compare?ids=checkout-00,checkout-04", "", ".plot-lin .pt", "hidden hidden false: "},
		{"linear plot's point", "/compare?ids=checkout-00,checkout-04", "#ylin", ".plot-lin .pt", "hidden visible true: #1 checkout Nov 27 03:00 · p50"},
		{"history point", "/", "", "#profile-checkout a.pt:not(.change)", "hidden visible true: Nov 27 03:00:00 · success · p50"},
		{"change point", "/", "", "#profile-checkout a.change", "hidden visible true: latency_p99 regression ×1.6"},
		{"histogram bar", "/runs/checkout-10", "", "svg .pt", "hidden visible true: "},
	} {
		t.Run("focus on a "+tc.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{"page": {tc.page}, "point": {tc.point}, "click": {tc.click}}
			page := loadCleanly(t, chromium, srv.URL+"/focus?"+q.Encode())
			body := findAll(page, func(n *html.Node) bool { return n.Data == "body" })[0]
			got, _ := attr(body, "data-focus")
			// :focus matches only while the document has the window's
			// focus, which headless Chromium hands over at some point of
			// the load (in about half the loads here, before the script
			// runs). Without it the tip cannot show, so only the rest is
			// judged: the point took the focus and holds the values.
			if hasFocus, _ := attr(body, "data-has-focus"); hasFocus != "true" {
				t.Logf("the document had no focus: the tip's visibility is not judged (%q)", got)
				got = strings.Replace(got, "hidden hidden true", "hidden visible true", 1)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("before and after focus, focused, values: %q, want %q...", got, tc.want)
			}
		})
	}
	t.Cleanup(func() {
		for _, r := range log.requests() {
			if r.status >= 400 {
				t.Errorf("the browser's request for %s got %d", r.path, r.status)
			}
		}
	})
}

// byClass is the one element of a class under n.
func byClass(t *testing.T, n *html.Node, class string) *html.Node {
	t.Helper()
	found := findAll(n, hasClass(class))
	if len(found) != 1 {
		t.Fatalf("%d elements of class %s, want 1", len(found), class)
	}
	return found[0]
}

// chromiumFlags keep Chromium to the page: no sandbox (tests may run as
// root), no GPU, nothing fetched on its own behalf.
func chromiumFlags(t *testing.T) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir=" + t.TempDir(),
	}
}

// loadCleanly loads url in Chromium, fails the test on any console
// message, and returns the DOM after load.
func loadCleanly(t *testing.T, chromium, url string) *html.Node {
	t.Helper()
	dom, console := loadInChromium(t, chromium, url)
	if len(console) > 0 {
		t.Errorf("%s: console messages:\n%s", url, strings.Join(console, "\n"))
	}
	return parsePage(t, dom)
}

// loadInChromium loads url and returns the DOM after load, and the
// messages the page wrote to the console (Chromium logs them, with script
// errors and policy violations, as CONSOLE lines).
func loadInChromium(t *testing.T, chromium, url string) (dom []byte, console []string) {
	t.Helper()
	// A bound on a hung browser, not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append(chromiumFlags(t), "--enable-logging=stderr", "--v=0", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.Bytes())
	}
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), ":CONSOLE") {
			console = append(console, sc.Text())
		}
	}
	if !bytes.Contains(stdout.Bytes(), []byte("</html>")) {
		t.Fatalf("chromium printed no DOM for %s:\n%s\n%s", url, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), console
}

// screenshot saves a picture of url when -screenshots is set.
func screenshot(t *testing.T, chromium, url, name string, flags ...string) {
	if *screenshots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(*screenshots, name)
	args := append(append(chromiumFlags(t), flags...), "--hide-scrollbars", "--window-size=1280,"+strconv.Itoa(screenshotHeight(name)), "--screenshot="+path, url)
	if out, err := exec.CommandContext(ctx, chromium, args...).CombinedOutput(); err != nil {
		t.Errorf("chromium --screenshot: %v\n%s", err, out)
		return
	}
	t.Logf("screenshot of %s: %s", url, path)
}

// requestLog records the status of every request a server answered.
type requestLog struct {
	mu  sync.Mutex
	log []loggedRequest
}

type loggedRequest struct {
	path   string
	status int
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.log = append(l.log, loggedRequest{r.URL.Path, rec.status})
	})
}

func (l *requestLog) requests() []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// screenshotHeight is how tall a page's screenshot is: the whole page.
func screenshotHeight(name string) int {
	switch name {
	case "compare.png", "compare-dark.png":
		return 2500
	case "run.png":
		return 2200
	}
	return 1400
}
