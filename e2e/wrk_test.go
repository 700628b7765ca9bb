package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const wrkProfile = `
profiles:
  - name: wrk
    schedule: "@every 1h"
    run_on_start: true
    engine: wrk
    target: {url: "%[1]s/echo?delay=1ms&status=503:5"}
    load: {connections: 4, threads: 2, duration: 2s}
`

// The real wrk runs through the daemon, and its result lands in the same
// series as the Fortio engine's.
func TestWrkEngineThroughDaemon(t *testing.T) {
	testutil.Tool(t, "wrk")
	base, _, _ := exporter(t, wrkProfile)
	var exposition string
	deadline := time.Now().Add(30 * time.Second)
	for {
		exposition = scrape(t, base)
		if strings.Contains(exposition, `perf_runs_total{profile="wrk",result="slo_missed"} 1`) ||
			strings.Contains(exposition, `perf_runs_total{profile="wrk",result="success"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completed wrk run within 30s:\n%s", grepLines(exposition, "perf_runs_total"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	total := sample(t, exposition, `perf_run_request_duration_seconds_count{profile="wrk"}`)
	ok := sample(t, exposition, `perf_run_requests_total{code="2xx",profile="wrk"}`)
	rps := sample(t, exposition, `perf_run_achieved_rps{profile="wrk"}`)
	p50 := sample(t, exposition, `perf_run_latency_seconds{percentile="50",profile="wrk"}`)
	if total < 100 || ok == 0 || rps < 50 || p50 < 0.001 || p50 > 0.1 {
		t.Errorf("wrk run: %g requests in the histogram, %g 2xx, %g req/s, p50 %gs\n%s", total, ok, rps, p50, grepLines(exposition, `profile="wrk"`))
	}
	if !strings.Contains(exposition, `perf_profile_info{engine="wrk",profile="wrk",protocol="http1"`) {
		t.Errorf("profile info does not name the wrk engine:\n%s", grepLines(exposition, "perf_profile_info"))
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// sample returns the value of one series line of an exposition.
func sample(t *testing.T, exposition, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		t.Errorf("no %s in the exposition", series)
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func grepLines(text, substr string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
