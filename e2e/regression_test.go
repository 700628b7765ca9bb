package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const regressionConfig = `
profiles:
  - name: p
    schedule: "@every 1s"
    run_on_start: true
    target: {url: "%s/echo?delay=%s"}
    load: {qps: 0, connections: 2, duration: 300ms}
`

// The target slows down from 5 to 10 ms: the daemon opens a latency
// regression, keeps the baseline on the old level, `changes accept` makes the
// new level normal, and the acceptance survives a restart.
func TestRegressionOpenedAcceptedAndRestored(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	write := func(delay string) {
		cfgFile = writeConfig(t, dir, fmt.Sprintf(regressionConfig, "%s", delay), target)
	}
	write("5ms")
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	args := []string{"--config.file", cfgFile, "--web.listen-address", addr, "--storage.path", filepath.Join(dir, "data"), "--web.enable-admin-api"}
	daemon := testutil.StartProcess(t, bin, args...)
	testutil.WaitHTTP(t, base+"/-/ready", 10*time.Second)
	runs := func() float64 { return sample(t, scrape(t, base), `perf_runs_total{profile="p",result="success"}`) }
	testutil.WaitFor(t, 90*time.Second, "20 runs at 5 ms", func() bool { return runs() >= 20 })
	oldBaseline := sample(t, scrape(t, base), `perf_run_latency_baseline_seconds{percentile="50",profile="p"}`)

	write("10ms")
	if err := daemon.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	open := `perf_regression_open{metric="latency_p50",profile="p"}`
	testutil.WaitFor(t, 90*time.Second, "the p50 regression to open", func() bool {
		return strings.Contains(scrape(t, base), open+" 1")
	})
	before := runs()
	testutil.WaitFor(t, 90*time.Second, "10 more regressed runs", func() bool { return runs() >= before+10 })
	exposition := scrape(t, base)
	if !strings.Contains(exposition, open+" 1") {
		t.Fatal("the regression closed by itself after 10 regressed runs")
	}
	if got := sample(t, exposition, `perf_run_latency_baseline_seconds{percentile="50",profile="p"}`); got > oldBaseline*1.2 {
		t.Errorf("baseline %g during the open regression, want the old level %g", got, oldBaseline)
	}
	if r := sample(t, exposition, `perf_regression_change_ratio{metric="latency_p50",profile="p"}`); r < 1.3 {
		t.Errorf("change ratio %g, want about 2 (5 -> 10 ms)", r)
	}
	if ts := sample(t, exposition, `perf_regression_started_timestamp_seconds{metric="latency_p50",profile="p"}`); ts <= 0 {
		t.Errorf("perf_regression_started_timestamp_seconds %g while the regression is open, want its start", ts)
	}

	list := exec.Command(bin, "changes", "list", "--url", base, "p")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("changes list: %v\n%s", err, out)
	}
	var id string
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(line, "latency_p50@") && strings.Contains(line, "regression\topen") {
			id = strings.Fields(line)[0]
		}
	}
	if id == "" {
		t.Fatalf("no open latency_p50 regression listed:\n%s", out)
	}
	if out, err := exec.Command(bin, "changes", "accept", "--url", base, "p", id).CombinedOutput(); err != nil || !strings.Contains(string(out), "accepted") {
		t.Fatalf("changes accept %s: %v\n%s", id, err, out)
	}
	if !strings.Contains(scrape(t, base), open+" 0") {
		t.Error("the regression is still open after accept")
	}

	if err := daemon.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-daemon.Exited()
	testutil.StartProcess(t, bin, args...)
	testutil.WaitHTTP(t, base+"/-/ready", 10*time.Second)
	// The change points come back in the background once the daemon is
	// ready: the profile's series appear when its replay is done.
	testutil.WaitFor(t, 30*time.Second, "the p50 regression series back", func() bool {
		return strings.Contains(scrape(t, base), open+" ")
	})
	if !strings.Contains(scrape(t, base), open+" 0") {
		t.Error("the accepted regression is open again after a restart")
	}
	if body := get(t, base+"/api/v1/profiles/p/changes"); !strings.Contains(body, `"id": "`+id+`"`) || !strings.Contains(body, `"status": "accepted"`) {
		t.Errorf("changes after restart:\n%s", body)
	}
}
