package web

import (
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/target"
)

// TestLogAxesOfARealRun runs fortio against the built-in target, which
// answers every request after 10 ms, and checks in Chromium that the run
// page's log axes put the measured latencies where their ticks say: the
// histogram's p50 marker and the percentile plot's p50 point fall between
// the 10 ms tick and where 15 ms is on the log scale, and no bar starts
// left of 10 ms.
func TestLogAxesOfARealRun(t *testing.T) {
	chromium := testutil.Tool(t, "chromium")
	ctx := t.Context()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = target.New(target.Options{}).Serve(ctx, l) }() // ends with the test

	p := config.Profile{Name: "real", Schedule: "@every 1m", Target: config.Target{URL: "http://" + l.Addr().String() + "/echo?delay=10ms"}}
	p.Load.QPS, p.Load.Connections, p.Load.Duration = 40, 2, config.Duration(2*time.Second)
	p.ApplyDefaults()
	m, err := loadgen.NewFortio().Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := result.NewDocument(m, result.DocumentInfo{RunID: "real-1", Profile: "real", Outcome: result.OutcomeSuccess, Method: "GET"})
	st := openHistory(t)
	if err := st.Save(ctx, doc); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, st, profileStatus("real", nil))
	page := loadCleanly(t, chromium, srv.URL+"/runs/real-1")

	num := func(n *html.Node, name string) float64 {
		t.Helper()
		v, _ := attr(n, name)
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("<%s %s=%q>: %v", n.Data, name, v, err)
		}
		return f
	}
	chart := func(label string) *html.Node {
		t.Helper()
		for _, svg := range findAll(page, func(n *html.Node) bool { return n.Data == "svg" }) {
			if v, _ := attr(svg, "aria-label"); strings.HasPrefix(v, label) {
				return svg
			}
		}
		t.Fatalf("no chart %q", label)
		return nil
	}
	// tickAt is where the axis' tick labelled label is (attribute x or y).
	tickAt := func(svg *html.Node, class, label, coord string) float64 {
		t.Helper()
		for _, n := range findAll(svg, func(n *html.Node) bool { return n.Data == "text" }) {
			if text(n) == label && (class == "" || hasClass(class)(n)) {
				return num(n, coord)
			}
		}
		t.Fatalf("no tick %q", label)
		return 0
	}
	// at15 is 15 ms between the 10 and 20 ms ticks of a log axis.
	at15 := func(at10, at20 float64) float64 { return at10 + (at20-at10)*math.Log10(1.5)/math.Log10(2) }

	hist := chart("latency histogram")
	x10, x20 := tickAt(hist, "xtick", "10 ms", "x"), tickAt(hist, "xtick", "20 ms", "x")
	var p50 float64
	for _, n := range findAll(hist, hasClass("marker-label")) {
		if text(n) == "p50" {
			p50 = num(n, "x")
		}
	}
	if !(p50 >= x10 && p50 <= at15(x10, x20)) {
		t.Errorf("histogram: p50 (%v) at x %v, want between the 10 ms tick (%v) and 15 ms (%v)", doc.DurationHistogram.Percentiles, p50, x10, at15(x10, x20))
	}
	for _, b := range findAll(hist, hasClass("bar")) {
		if x := num(b, "x"); x < x10-0.5 {
			t.Errorf("a bar starts at x %v, left of the 10 ms tick (%v); nothing answered faster", x, x10)
		}
	}

	plot := chart("latency by percentile")
	y10, y20 := tickAt(plot, "", "10 ms", "y")-4, tickAt(plot, "", "20 ms", "y")-4 // labels sit 4 below their line
	var y50 float64
	for _, g := range findAll(plot, hasClass("pt")) {
		if strings.HasPrefix(text(g), "measured · p50 ") {
			y50 = num(findAll(g, func(n *html.Node) bool { return n.Data == "circle" })[0], "cy")
		}
	}
	if !(y50 <= y10 && y50 >= at15(y10, y20)) {
		t.Errorf("percentile plot: p50 at y %v, want between the 10 ms tick (%v) and 15 ms (%v)", y50, y10, at15(y10, y20))
	}
	// The 50 % tick is at log10(2) of the axis' decades of 1/(1-p).
	x0, x90 := tickAt(plot, "xtick", "0 %", "x"), tickAt(plot, "xtick", "90 %", "x")
	if got, want := tickAt(plot, "xtick", "50 %", "x"), x0+(x90-x0)*math.Log10(2); math.Abs(got-want) > 0.2 {
		t.Errorf("the 50 %% tick at x %v, want %v", got, want)
	}
}
