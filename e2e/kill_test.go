package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const killConfig = `
profiles:
  - name: p
    schedule: "@every 1h"
    run_on_start: %t
    target: {url: "%s/echo"}
    load: {qps: 20, connections: 2, duration: %s}
`

// kill -9 during a run: after the restart the last-run gauges are those of
// the run completed before, not zeros from the run the kill cut short, and
// that run's page says what it was asked (20 req/s, not "max").
func TestKill9DuringRunRestoresLastCompletedRun(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	dir := t.TempDir()
	var cfgFile string
	write := func(runOnStart bool, duration string) {
		cfgFile = writeConfig(t, dir, fmt.Sprintf(killConfig, runOnStart, "%s", duration), target)
	}
	write(true, "1s")
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	args := []string{"--config.file", cfgFile, "--web.listen-address", addr, "--storage.path", filepath.Join(dir, "data")}
	first := testutil.StartProcess(t, bin, args...)
	testutil.WaitHTTP(t, base+"/-/ready", 10*time.Second)
	testutil.WaitFor(t, 30*time.Second, "the first run", func() bool {
		return strings.Contains(scrape(t, base), `perf_runs_total{profile="p",result="success"} 1`)
	})
	completed := scrape(t, base)
	sent := sample(t, completed, `perf_run_requests_total{code="200",profile="p"}`)

	// A changed profile with run_on_start runs at once: a long run to kill.
	write(true, "1m")
	if err := first.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the long run to send", func() bool {
		return sample(t, scrape(t, base), `perf_run_requests_total{code="200",profile="p"}`) > sent
	})
	if err := first.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.Exited()

	write(false, "1m")
	testutil.StartProcess(t, bin, args...)
	testutil.WaitHTTP(t, base+"/-/ready", 10*time.Second)
	restored := scrape(t, base)
	for _, series := range []string{
		`perf_run_requested_rps{profile="p"}`,
		`perf_run_achieved_rps{profile="p"}`,
		`perf_run_connections{profile="p"}`,
		`perf_run_duration_seconds{profile="p"}`,
		`perf_run_success{profile="p"}`,
		`perf_run_latency_seconds{percentile="50",profile="p"}`,
		`perf_run_last_timestamp_seconds{profile="p"}`,
	} {
		if got, want := sample(t, restored, series), sample(t, completed, series); got != want {
			t.Errorf("%s after kill -9 and restart = %g, want %g (the completed run's)", series, got, want)
		}
	}
	if got := sample(t, restored, `perf_runs_total{profile="p",result="aborted"}`); got != 1 {
		t.Errorf(`perf_runs_total{result="aborted"} = %g, want 1 (the killed run)`, got)
	}

	ids := listRunIDs(t, base, "p")
	if len(ids) != 2 {
		t.Fatalf("history of p: %v, want the completed and the killed run", ids)
	}
	page := get(t, base+"/runs/"+ids[0]) // newest first: the killed run
	if !strings.Contains(page, "aborted") || strings.Contains(page, "asked max") || !strings.Contains(page, "(asked 20") {
		t.Errorf("page of the killed run does not say it was aborted while asked 20 req/s:\n%s", page)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

// listRunIDs lists a profile's runs through the results API, newest first.
func listRunIDs(t *testing.T, base, profile string) []string {
	t.Helper()
	var list struct {
		Results []struct {
			RunID string `json:"run_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/api/v1/results?profile="+profile)), &list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range list.Results {
		ids = append(ids, r.RunID)
	}
	return ids
}
