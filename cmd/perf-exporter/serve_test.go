package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/store"
)

// daemon is serve running in the test, on its own port and storage.
type daemon struct {
	url     string
	storage string
	logs    *testutil.SyncBuffer
	stop    context.CancelFunc
	done    chan error
}

// serveFlagsFor are serve's flags for a config, a listen address and a
// storage directory, as kingpin would fill them.
func serveFlagsFor(t *testing.T, configYAML, addr string) *serveFlags {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	addrs, systemd, webConfig := []string{addr}, false, ""
	return &serveFlags{configFile: file, storagePath: filepath.Join(t.TempDir(), "data"), split: 1,
		web: &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}}
}

// withAdminAPI is --web.enable-admin-api; withLifecycle is
// --web.enable-lifecycle.
func withAdminAPI(f *serveFlags)  { f.enableAdminAPI = true }
func withLifecycle(f *serveFlags) { f.enableLifecycle = true }

// startServe runs serve until the test ends, and waits until it is ready.
// flags change serve's flags from their defaults.
func startServe(t *testing.T, configYAML string, flags ...func(*serveFlags)) *daemon {
	t.Helper()
	addr := testutil.FreeAddr(t)
	f := serveFlagsFor(t, configYAML, addr)
	for _, set := range flags {
		set(f)
	}
	return startServeFlags(t, f, addr)
}

// startServeFlags runs serve with the given flags listening on addr.
func startServeFlags(t *testing.T, f *serveFlags, addr string) *daemon {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	d := &daemon{url: "http://" + addr, storage: f.storagePath, logs: logs, stop: stop, done: make(chan error, 1)}
	go func() { d.done <- serve(ctx, slog.New(slog.NewTextHandler(logs, nil)), f) }()
	t.Cleanup(func() {
		stop()
		if err := <-d.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	testutil.WaitFor(t, 20*time.Second, "serve to be ready", func() bool {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("serve stopped: %v\n%s", err, logs)
		default:
		}
		resp, err := http.Get(d.url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return d
}

// fakePrometheus answers the two calls of the connection check as
// Prometheus 2.42 would.
func fakePrometheus(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/status/buildinfo", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{"version":"2.42.0","revision":"x","branch":"HEAD","buildUser":"u","buildDate":"d","goVersion":"go1.20"}}`)
	})
	mux.HandleFunc("/api/v1/query", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"1"]}]}}`, time.Now().Unix())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPrometheusCheckAPI: GET /api/v1/prometheus, as serve wires it,
// answers the environment's connection check of every source as JSON, in
// config order and with each failure's reason; other methods get 405.
func TestPrometheusCheckAPI(t *testing.T) {
	forbidding := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "RBAC: access denied", http.StatusForbidden)
	}))
	t.Cleanup(forbidding.Close)
	d := startServe(t, fmt.Sprintf(`
prometheus:
  - {name: working, url: %q}
  - {name: closed-port, url: "http://%s"}
  - {name: forbidden, url: %q}
`, fakePrometheus(t), testutil.FreeAddr(t), forbidding.URL))

	resp, err := http.Get(d.url + "/api/v1/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fromAPI []struct {
		Prometheus, Reason, Version string
		Up                          bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&fromAPI); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("API: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	want := []struct{ name, reason string }{{"working", ""}, {"closed-port", "refused"}, {"forbidden", "forbidden"}}
	if len(fromAPI) != len(want) {
		t.Fatalf("API: %d results for %d sources: %+v", len(fromAPI), len(want), fromAPI)
	}
	for i, w := range want {
		if r := fromAPI[i]; r.Prometheus != w.name || r.Reason != w.reason || r.Up != (w.reason == "") {
			t.Errorf("API result %d: %+v, want %s with reason %q", i, r, w.name, w.reason)
		}
	}
	if fromAPI[0].Version != "2.42.0" {
		t.Errorf("working source: version %q", fromAPI[0].Version)
	}

	post, err := http.Post(d.url+"/api/v1/prometheus", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, post.Body) // drained only to reuse the connection
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", post.Status)
	}
}

// listRuns reads every run a stopped daemon's store holds.
func listRuns(t *testing.T, dir string) []store.Summary {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sums, _, err := st.List(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// TestConcurrentRunNowThroughTheAPI: of many simultaneous
// POST /api/v1/profiles/{name}/run, exactly one is accepted (202); the
// others are refused with 409, and none is counted as skipped.
func TestConcurrentRunNowThroughTheAPI(t *testing.T) {
	const callers = 32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	d := startServe(t, fmt.Sprintf(`
profiles:
  - name: manual
    schedule: "@every 1h"
    target: {url: %q}
    load: {qps: 1, connections: 1, duration: 10m}
`, target.URL), withAdminAPI)
	statuses := make([]int, callers)
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-release
			resp, err := http.Post(d.url+"/api/v1/profiles/manual/run", "", nil)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body) // drained only to reuse the connection
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(release)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusAccepted] != 1 || count[http.StatusConflict] != callers-1 {
		t.Errorf("statuses %v, want one 202 and %d 409", count, callers-1)
	}
	metrics := get(t, d.url+"/metrics")
	if !strings.Contains(metrics, `perf_runs_total{profile="manual",result="skipped"} 0`) {
		t.Errorf("refused requests counted as skipped:\n%s", grepLines(metrics, "perf_runs_total"))
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
	return string(body)
}

func grepLines(text, substr string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestTakenPortStartsNothing: with the listen port taken, serve fails
// naming the address before it has started a run: the run_on_start profile
// leaves nothing in the history (a crash loop used to fill it with aborted
// runs that gave no reason).
func TestTakenPortStartsNothing(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	f := serveFlagsFor(t, fmt.Sprintf(`
profiles:
  - name: on-start
    schedule: "@every 1h"
    run_on_start: true
    target: {url: %q}
    load: {qps: 10, duration: 2s}
`, target.URL), taken.Addr().String())
	logs := &testutil.SyncBuffer{}
	err = serve(context.Background(), slog.New(slog.NewTextHandler(logs, nil)), f)
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("serve on a taken port: %v, want an error naming %s", err, taken.Addr())
	}
	if strings.Contains(logs.String(), "run starting") {
		t.Errorf("a run started although the port was taken:\n%s", logs)
	}
	if _, statErr := os.Stat(f.storagePath); statErr == nil {
		if runs := listRuns(t, f.storagePath); len(runs) != 0 {
			t.Errorf("the history holds %d runs after a start on a taken port: %+v", len(runs), runs)
		}
	}
}

// TestShutdownRecordsWhy: a run in flight when the daemon stops is stored
// as aborted, saying why.
func TestShutdownRecordsWhy(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	d := startServe(t, fmt.Sprintf(`
profiles:
  - name: long
    schedule: "@every 1h"
    run_on_start: true
    target: {url: %q}
    load: {qps: 10, duration: 10m}
`, target.URL))
	testutil.WaitFor(t, 10*time.Second, "the run to start", func() bool { return strings.Contains(d.logs.String(), "run starting") })
	d.stop()
	if err := <-d.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	d.done <- nil // for the cleanup
	runs := listRuns(t, d.storage)
	if len(runs) != 1 || runs[0].Outcome != "aborted" || runs[0].Error != "aborted: shutdown" {
		t.Errorf("history after shutdown: %+v, want one aborted run saying \"aborted: shutdown\"", runs)
	}
}

// TestWriteEndpointFlags: serve's write endpoints are off by default and
// answer 403 naming the flag that turns them on; --web.enable-lifecycle and
// --web.enable-admin-api turn them on. SIGHUP needs no flag (e2e).
func TestWriteEndpointFlags(t *testing.T) {
	config := `
profiles:
  - name: manual
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    load: {qps: 2, connections: 1, duration: 1s}
`
	post := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Post(url, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	off := startServe(t, config)
	if status, body := post(off.url + "/-/reload"); status != http.StatusForbidden || !strings.Contains(body, "--web.enable-lifecycle") {
		t.Errorf("POST /-/reload by default: %d %q, want 403 naming --web.enable-lifecycle", status, body)
	}
	if status, body := post(off.url + "/api/v1/profiles/manual/run"); status != http.StatusForbidden || !strings.Contains(body, "--web.enable-admin-api") {
		t.Errorf("POST run by default: %d %q, want 403 naming --web.enable-admin-api", status, body)
	}
	on := startServe(t, config, withLifecycle, withAdminAPI)
	if status, body := post(on.url + "/-/reload"); status != http.StatusOK {
		t.Errorf("POST /-/reload with --web.enable-lifecycle: %d %q", status, body)
	}
	if status, body := post(on.url + "/api/v1/profiles/manual/run"); status != http.StatusAccepted {
		t.Errorf("POST run with --web.enable-admin-api: %d %q", status, body)
	}
}
