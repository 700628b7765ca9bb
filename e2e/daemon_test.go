package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

func startTarget(t *testing.T, bin string) string {
	t.Helper()
	addr := testutil.FreeAddr(t)
	testutil.StartProcess(t, bin, "target", "--listen", addr)
	testutil.WaitHTTP(t, "http://"+addr+"/echo", 10*time.Second)
	return "http://" + addr
}

func exitCode(err error) int {
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestRunCommand(t *testing.T) {
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	url := target + "/echo?delay=5ms&status=503:2"

	out, err := exec.Command(bin, "run", "--url", url, "--qps", "200", "--connections", "4", "--duration", "1s", "--json", "-").Output()
	if code := exitCode(err); code != 0 {
		t.Fatalf("run exited %d: %v", code, err)
	}
	// The document is a valid fortio result...
	var fortio fhttp.HTTPRunnerResults
	if err := json.Unmarshal(out, &fortio); err != nil {
		t.Fatalf("--json output is not a fortio result: %v\n%s", err, out)
	}
	if fortio.DurationHistogram == nil || fortio.DurationHistogram.Count == 0 || fortio.RetCodes[200] == 0 || fortio.ActualQPS < 150 {
		t.Errorf("fortio view of the document: count=%v codes=%v qps=%v", fortio.DurationHistogram, fortio.RetCodes, fortio.ActualQPS)
	}
	// ... plus our part.
	var doc result.Document
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	x := doc.PerfExporter
	if x.Outcome != result.OutcomeSuccess || x.Engine != "fortio" || x.CorrectedDurationHistogram == nil || x.SendLateness == nil {
		t.Errorf("PerfExporter = %+v", x)
	}
	p50, _ := (&result.Measurement{Latency: doc.DurationHistogram}).Percentile(50)
	if p50 < 0.005 || p50 > 0.0075 {
		t.Errorf("p50 %.4fs for a 5 ms target", p50)
	}

	// A missed threshold exits 2 and says which.
	cmd := exec.Command(bin, "run", "--url", url, "--qps", "100", "--duration", "500ms", "--max-latency", "p99=1ms", "--max-error-ratio", "0.5")
	summary, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(summary), "MISSED latency p99") {
		t.Errorf("threshold missed: exit %d, output:\n%s", code, summary)
	}
	// A target that does not answer is a failure: exit 1.
	cmd = exec.Command(bin, "run", "--url", "http://127.0.0.1:1/", "--qps", "10", "--connections", "1", "--duration", "300ms")
	if out, err := cmd.CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "result: failure") {
		t.Errorf("unreachable target: exit %d, output:\n%s", exitCode(err), out)
	}
	// Bad flags get one clear line and exit 1.
	if out, err := exec.Command(bin, "run", "--url", "http://x/", "--max-latency", "99=1s").CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "p99=250ms") {
		t.Errorf("bad --max-latency: exit %d, output:\n%s", exitCode(err), out)
	}
}

func TestWebConfigBasicAuth(t *testing.T) {
	bin := testutil.BuildBinary(t)
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  perf: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreeAddr(t)
	testutil.StartProcess(t, bin, "--web.listen-address", addr, "--web.config.file", webConfig, "--storage.path", filepath.Join(dir, "data"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("without credentials: %d, want 401", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.SetBasicAuth("perf", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with credentials: %d, want 200", resp.StatusCode)
	}
}

const restartConfig = `
profiles:
  - name: kept
    schedule: "@every 1h"
    run_on_start: %t
    target: {url: "%s/echo?delay=3ms"}
    load: {qps: 100, connections: 2, duration: 1s}
`

// SIGHUP reloads the config; a restart brings the last run's gauges back
// from the history without running anything, and the promtool linter
// accepts the real exposition.
func TestReloadRestartAndExposition(t *testing.T) {
	promtool := testutil.Tool(t, "promtool")
	bin := testutil.BuildBinary(t)
	target := startTarget(t, bin)
	dir := t.TempDir()
	var cfgFile string
	write := func(runOnStart bool, extra string) {
		cfgFile = writeConfig(t, dir, fmt.Sprintf(restartConfig, runOnStart, "%s")+extra, target)
	}
	write(true, "")
	addr := testutil.FreeAddr(t)
	args := []string{"--config.file", cfgFile, "--web.listen-address", addr, "--storage.path", filepath.Join(dir, "data")}
	first := testutil.StartProcess(t, bin, args...)
	testutil.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)
	base := "http://" + addr
	testutil.WaitFor(t, 30*time.Second, "the first run", func() bool {
		return strings.Contains(scrape(t, base), `perf_runs_total{profile="kept",result="success"} 1`)
	})
	before := sample(t, scrape(t, base), `perf_run_latency_seconds{percentile="50",profile="kept"}`)

	write(true, `  - {name: added, schedule: "@every 1h", target: {url: "`+target+`/echo"}}`+"\n")
	if err := first.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the SIGHUP reload", func() bool {
		return strings.Contains(scrape(t, base), `perf_profile_info{engine="fortio",profile="added"`)
	})

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, base))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on the real exposition: %v\n%s", err, out)
	}
	if err := first.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}

	write(false, "")
	testutil.StartProcess(t, bin, args...)
	testutil.WaitHTTP(t, base+"/-/ready", 10*time.Second)
	exposition := scrape(t, base)
	if after := sample(t, exposition, `perf_run_latency_seconds{percentile="50",profile="kept"}`); after != before {
		t.Errorf("p50 after restart %g, want %g restored from the history", after, before)
	}
	if !strings.Contains(exposition, `perf_runs_total{profile="kept",result="success"} 0`) {
		t.Errorf("a run happened after the restart, so the restore is not what was checked:\n%s", grepLines(exposition, "perf_runs_total"))
	}
	if strings.Contains(exposition, `profile="added"`) {
		t.Errorf("the removed profile still has series after the restart")
	}
}
