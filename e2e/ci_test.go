package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/perf-exporter/perf-exporter/dashboards"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

// daemonOnly are the Overview board's series a CI run cannot have: they
// describe the daemon (its config, build, Prometheus sources) or a
// scheduled profile's settings.
var daemonOnly = map[string]bool{
	"perf_profile_max_success_age_seconds":                       true,
	"perf_profile_schedule_interval_seconds":                     true,
	"perf_exporter_config_last_reload_successful":                true,
	"perf_exporter_config_last_reload_success_timestamp_seconds": true,
	"perf_exporter_build_info":                                   true,
	"perf_prometheus_up":                                         true,
}

// TestRunPushesToPrometheus runs `perf-exporter run` twice against the
// built-in target: once remote-writing into a real Prometheus, once pushing
// to a real Pushgateway that the same Prometheus scrapes with honor_labels.
// Each run's series are queried back with PromQL: the request count is the
// document's exactly, the percentiles are the document's, and every query
// of the bundled Overview board returns the CI run.
func TestRunPushesToPrometheus(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	pgw := testutil.StartPushgateway(t)
	promURL := testutil.StartPrometheus(t, testutil.PrometheusOptions{
		ScrapeConfigs: "- job_name: pushgateway\n  honor_labels: true\n  static_configs: [{targets: ['" +
			strings.TrimPrefix(pgw, "http://") + "']}]\n",
		Flags: []string{"--web.enable-remote-write-receiver"},
	})
	prom := promAPI(t, promURL)
	dir := t.TempDir()

	run := func(profile string, push ...string) *result.Document {
		t.Helper()
		jsonFile := filepath.Join(dir, profile+".json")
		args := append([]string{"run", "--url", target + "/echo?delay=2ms&status=503:5", "--qps", "100", "--duration", "3s",
			"--max-latency", "p99=1s", "--max-error-ratio", "0.2", "--profile", profile, "--label", "branch=main",
			"--json", jsonFile}, push...)
		if out, err := exec.Command(bin, args...).CombinedOutput(); exitCode(err) != 0 {
			t.Fatalf("run %s: exit %d\n%s", profile, exitCode(err), out)
		}
		return readDocument(t, jsonFile)
	}
	rw := run("ci-rw", "--remote-write.url", promURL+"/api/v1/write", "--remote-write.interval", "1s")
	pg := run("ci-pgw", "--pushgateway.url", pgw)
	// Remote write sent the series before the run, at least once during
	// it (every second of a 3 s run) and at the end.
	if n := query(t, prom, `count_over_time(perf_run_request_duration_seconds_count{profile="ci-rw"}[5m])`)["ci-rw"]; n < 3 {
		t.Errorf("remote write sent %v samples of the request count, want the one before the run, live ones and the final", n)
	}

	for _, doc := range []*result.Document{rw, pg} {
		profile := doc.PerfExporter.Profile
		labels := `profile="` + profile + `",branch="main",job="perf-exporter"`
		sel := "{" + labels + "}"
		requests := float64(doc.PerfExporter.Requests)
		// Waits for the Pushgateway's final push to be scraped.
		waitQuery(t, prom, `perf_runs_total{result="success",`+labels+`}`, []string{profile},
			func(_ string, v float64) bool { return v == 1 })
		if got := query(t, prom, `sum by (profile) (perf_run_requests_total`+sel+`)`)[profile]; got != requests {
			t.Errorf("%s: perf_run_requests_total sums to %v, the document counts %v", profile, got, requests)
		}
		if got := query(t, prom, `perf_run_request_duration_seconds_count`+sel)[profile]; got != requests {
			t.Errorf("%s: perf_run_request_duration_seconds_count = %v, the document counts %v", profile, got, requests)
		}
		if got := query(t, prom, `perf_run_requests_total{code="503",`+labels+`}`)[profile]; got != float64(doc.PerfExporter.Codes["503"]) || got == 0 {
			t.Errorf("%s: 503s = %v, the document counts %d", profile, got, doc.PerfExporter.Codes["503"])
		}
		latency := queryLabel(t, prom, `perf_run_latency_seconds`+sel, "percentile")
		if len(latency) != len(doc.DurationHistogram.Percentiles) {
			t.Errorf("%s: percentiles in Prometheus %v, the document has %d", profile, latency, len(doc.DurationHistogram.Percentiles))
		}
		for _, pc := range doc.DurationHistogram.Percentiles {
			if got := latency[result.PercentileLabel(pc.Percentile)]; got != pc.Value {
				t.Errorf("%s: p%v = %v in Prometheus, %v in the document", profile, pc.Percentile, got, pc.Value)
			}
		}
		testOverviewShowsRun(t, prom, profile)
	}
}

// testOverviewShowsRun runs every query of the bundled Overview board for
// one profile: each must return data, except those on daemon-only series.
func testOverviewShowsRun(t *testing.T, prom v1.API, profile string) {
	t.Helper()
	boards, err := dashboards.Select(nil, "overview")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"profile": profile, "datasource": "prometheus",
		"__rate_interval": "1m", "__interval": "30s", "__range": "5m"}
	p := parser.NewParser(parser.Options{})
	checked := 0
	for _, b := range boards {
		for _, q := range b.Queries() {
			filled, err := dashboards.ExpandVariables(q.Expr, vars)
			if err != nil {
				t.Fatalf("%s: %v", q.Where, err)
			}
			expr, err := p.ParseExpr(filled)
			if err != nil {
				t.Fatalf("%s: %v", q.Where, err)
			}
			skip := false
			for _, name := range metricNames(expr) {
				skip = skip || daemonOnly[name]
			}
			if skip {
				continue
			}
			checked++
			got := query(t, prom, filled)
			if len(got) == 0 {
				t.Errorf("%s: no data for the CI run %s: %s", q.Where, profile, filled)
			}
			for k, v := range got {
				if math.IsNaN(v) {
					t.Errorf("%s: NaN for %q for the CI run %s: %s", q.Where, k, profile, filled)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d Overview queries checked", checked)
	}
}

func readDocument(t *testing.T, path string) *result.Document {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc result.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &doc
}

// TestRunPushFailureKeepsTheResult: a push that fails exits 1 with one
// line saying why, after the document, the JUnit report and the summary
// are written. A gRPC target is given as host:port, as grpcurl takes it.
func TestRunPushFailureKeepsTheResult(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	dir := t.TempDir()
	files := map[string]string{"--json": "run.json", "--junit": "junit.xml", "--summary": "summary.md"}
	args := []string{"run", "--protocol", "grpc", "--url", strings.TrimPrefix(target, "http://"), "--qps", "50", "--duration", "500ms",
		"--remote-write.url", "http://127.0.0.1:1/api/v1/write", "--remote-write.interval", "0"}
	for flag, name := range files {
		args = append(args, flag, filepath.Join(dir, name))
	}
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	var why []string
	for line := range strings.SplitSeq(stderr.String(), "\n") {
		if strings.HasPrefix(line, "perf-exporter run: ") && strings.Contains(line, "remote write to http://127.0.0.1:1/api/v1/write: dial tcp") {
			why = append(why, line)
		}
	}
	// One warning for the push before the run, one error for the final push.
	if len(why) != 2 || !strings.Contains(why[1], "connection refused") {
		t.Errorf("want the push failure said in one line; stderr:\n%s", stderr.String())
	}
	for _, name := range files {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	doc := readDocument(t, filepath.Join(dir, "run.json"))
	if doc.PerfExporter.Outcome != result.OutcomeSuccess || doc.PerfExporter.Codes["OK"] == 0 {
		t.Errorf("gRPC run at host:port: outcome %s, codes %v (%s)", doc.PerfExporter.Outcome, doc.PerfExporter.Codes, doc.PerfExporter.Error)
	}
}

// TestRunBaselineVerdicts records a folder of real runs as the baseline,
// then judges runs against it: a slower target exits 2 naming the metric,
// the same target exits 0. The same-target run is repeated: noise alone
// must (almost) never fail a build. The false-failure count is logged.
func TestRunBaselineVerdicts(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	dir := t.TempDir()
	history := filepath.Join(dir, "history")
	if err := os.Mkdir(history, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(delay string, extra ...string) (int, string) {
		t.Helper()
		args := append([]string{"run", "--url", target + "/echo?delay=" + delay, "--qps", "100", "--connections", "4",
			"--duration", "1s", "--profile", "checkout"}, extra...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		return exitCode(err), string(out)
	}
	const baselineRuns = 8
	for i := range baselineRuns {
		if code, out := run("20ms", "--json", filepath.Join(history, fmt.Sprintf("run-%02d.json", i))); code != 0 {
			t.Fatalf("baseline run %d: exit %d\n%s", i, code, out)
		}
	}

	// Twice the delay: p50 and p90 regress beyond any noise.
	junitFile := filepath.Join(dir, "junit.xml")
	code, out := run("40ms", "--baseline", history, "--junit", junitFile)
	if code != 2 || !strings.Contains(out, "REGRESSION latency_p50") || !strings.Contains(out, "baseline") {
		t.Errorf("slower target: exit %d, want 2 naming latency_p50:\n%s", code, out)
	}
	if data, err := os.ReadFile(junitFile); err != nil || !strings.Contains(string(data), `type="regression"`) {
		t.Errorf("JUnit report of the regression: %v\n%s", err, data)
	}

	const repeats = 15
	falseFailures := 0
	for i := range repeats {
		code, out := run("20ms", "--baseline", history)
		switch code {
		case 0:
		case 2:
			falseFailures++
			t.Logf("same target, run %d: exit 2 (noise):\n%s", i, grepLines(out, "REGRESSION"))
		default:
			t.Fatalf("same target, run %d: exit %d\n%s", i, code, out)
		}
	}
	t.Logf("false failures against the same target: %d of %d", falseFailures, repeats)
	if falseFailures > 1 {
		t.Errorf("noise alone failed %d of %d runs against the same target", falseFailures, repeats)
	}

	// A single document as the baseline: the tolerance decides.
	code, out = run("40ms", "--baseline", filepath.Join(history, "run-00.json"), "--baseline.tolerance", "20%")
	if code != 2 || !strings.Contains(out, "(tolerance)") {
		t.Errorf("one baseline run, slower target: exit %d, want 2 by tolerance:\n%s", code, out)
	}
	// A folder without runs of the profile says so before running.
	raw, err := exec.Command(bin, "run", "--url", target+"/echo", "--duration", "1s", "--profile", "other", "--baseline", history).CombinedOutput()
	if code, out = exitCode(err), string(raw); code != 1 || !strings.Contains(out, `no runs of profile "other" (the folder has checkout; set --profile)`) {
		t.Errorf("baseline of another profile: exit %d:\n%s", code, out)
	}
}

// TestRunBaselineFromDaemon judges a run against a profile's history in a
// running daemon, read through its API (http://host:port/profiles/NAME).
func TestRunBaselineFromDaemon(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	dir := t.TempDir()
	cfgFile := writeConfig(t, dir, `
profiles:
  - name: checkout
    schedule: "@every 1s"
    run_on_start: true
    target: {url: "%[1]s/echo?delay=20ms"}
    load: {qps: 100, connections: 4, duration: 500ms}
`, target)
	addr := testutil.FreeAddr(t)
	testutil.StartProcess(t, bin, "--config.file", cfgFile, "--web.listen-address", addr, "--storage.path", filepath.Join(dir, "data"))
	base := "http://" + addr
	testutil.WaitHTTP(t, base+"/-/ready", 10*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for len(listRunIDs(t, base, "checkout")) < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not record 5 runs within 60s")
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Four times the delay: a regression whatever the daemon's own runs do
	// to the target meanwhile.
	out, err := exec.Command(bin, "run", "--url", target+"/echo?delay=80ms", "--qps", "40", "--connections", "8", "--duration", "1s",
		"--profile", "checkout", "--baseline", base+"/profiles/checkout").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "REGRESSION latency_p50") || strings.Contains(string(out), "(tolerance)") {
		t.Errorf("slower target against the daemon's baseline: exit %d, want 2 by t-test naming latency_p50:\n%s", code, out)
	}
	// An unknown profile fails before the run, saying what the daemon said.
	out, err = exec.Command(bin, "run", "--url", target+"/echo", "--duration", "1s", "--profile", "checkout",
		"--baseline", base+"/profiles/nosuch").CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), `--baseline `+base+`/profiles/nosuch: the daemon has no runs of profile "nosuch"`) {
		t.Errorf("unknown profile: exit %d:\n%s", code, out)
	}
}
