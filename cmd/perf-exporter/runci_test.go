package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/push"
	"github.com/perf-exporter/perf-exporter/result"
)

// The CI flags are checked before anything runs, each error naming its
// flag.
func TestRunCIFlagsChecked(t *testing.T) {
	dir := t.TempDir()
	badHTTPConfig := filepath.Join(dir, "http.yml")
	if err := os.WriteFile(badHTTPConfig, []byte("basic_auth: {username: u}\nbearer_token: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--label", "branch"}, `run: --label "branch": want name=value`},
		{[]string{"--label", "profile=x"}, `run: --label: label "profile" is set by perf-exporter itself`},
		{[]string{"--label", "a=1", "--label", "a=2"}, `run: --label "a=2": label "a" given twice`},
		{[]string{"--remote-write.url", "127.0.0.1:9090/api/v1/write"}, `run: --remote-write.url "127.0.0.1:9090/api/v1/write" must be an absolute http:// or https:// URL`},
		{[]string{"--pushgateway.url", "http://u:p@pgw:9091"}, `run: --pushgateway.url: credentials go in the --push.http-config file, not in the URL`},
		{[]string{"--remote-write.url", "http://p/api/v1/write", "--remote-write.interval=-1s"}, `run: --remote-write.interval must not be negative, got -1s`},
		{[]string{"--remote-write.url", "http://p/api/v1/write", "--remote-write.interval=10ms"}, `run: --remote-write.interval must be 0 or at least 1s, got 10ms`},
		{[]string{"--push.http-config", badHTTPConfig}, `run: --push.http-config needs --remote-write.url, --pushgateway.url or a daemon --baseline`},
		{[]string{"--baseline.tolerance", "ten"}, `run: --baseline.tolerance "ten": want a percentage such as 10%`},
		{[]string{"--baseline.tolerance", ""}, `run: --baseline.tolerance "": want a percentage such as 10%`},
		{[]string{"--profile", ""}, `run: --profile "" must match [a-z0-9_-]+ (it becomes the profile label)`},
		{[]string{"--baseline.tolerance", "0%"}, `run: --baseline.tolerance "0%": must be above 0% and below 1000%`},
		{[]string{"--baseline.tolerance", "NaN%"}, `run: --baseline.tolerance "NaN%": must be above 0% and below 1000%`},
		{[]string{"--junit", filepath.Join(dir, "missing", "j.xml")},
			"run: --junit " + filepath.Join(dir, "missing", "j.xml") + ": open " + filepath.Join(dir, "missing", "j.xml") + ": no such file or directory"},
		{[]string{"--summary", filepath.Join(dir, "missing", "s.md")},
			"run: --summary " + filepath.Join(dir, "missing", "s.md") + ": open " + filepath.Join(dir, "missing", "s.md") + ": no such file or directory"},
		{[]string{"--profile", "Bad Name"}, `run: --profile "Bad Name" must match [a-z0-9_-]+ (it becomes the profile label)`},
	} {
		err := parseRunFlags(t, append([]string{"--url", "http://127.0.0.1:1/"}, tc.args...)...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("run %s: error %v\nwant %s", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	// A bad HTTP client config file is found before the run.
	f := &ciFlags{pushgatewayURL: "http://pgw:9091", httpConfig: badHTTPConfig}
	if _, err := f.httpClient(); err == nil || !strings.Contains(err.Error(), "--push.http-config "+badHTTPConfig) {
		t.Errorf("bad --push.http-config: %v", err)
	}
}

// `--protocol grpc --url host:port` is a plaintext gRPC target, as in
// grpcurl and fortio; anything else is left for validation to judge.
func TestGRPCTargetAsHostPort(t *testing.T) {
	for _, tc := range []struct{ protocol, in, want string }{
		{"grpc", "127.0.0.1:8079", "http://127.0.0.1:8079"},
		{"grpc", "localhost:8079", "http://localhost:8079"},
		{"grpc", "[::1]:8079", "http://[::1]:8079"},
		{"grpc", "https://svc:443", "https://svc:443"},
		{"grpc", "svc", "svc"},
		{"http1", "localhost:8079", "localhost:8079"},
	} {
		if got := grpcTarget(tc.protocol, tc.in); got != tc.want {
			t.Errorf("grpcTarget(%s, %s) = %s, want %s", tc.protocol, tc.in, got, tc.want)
		}
	}
	if err := parseRunFlags(t, "--protocol", "grpc", "--url", "127.0.0.1:8079"); err != nil {
		t.Errorf("--protocol grpc --url host:port: %v", err)
	}
}

func TestRunExitStatus(t *testing.T) {
	regression := []result.Comparison{{Metric: "latency_p99", Regression: true}}
	same := []result.Comparison{{Metric: "latency_p99"}}
	for _, tc := range []struct {
		outcome     string
		comparisons []result.Comparison
		failed      bool
		want        int
	}{
		{result.OutcomeSuccess, nil, false, 0},
		{result.OutcomeSuccess, same, false, 0},
		{result.OutcomeSuccess, regression, false, 2},
		{result.OutcomeSLOMissed, same, false, 2},
		{result.OutcomeFailure, nil, false, 1},
		{result.OutcomeAborted, nil, false, 1},
		{result.OutcomeSuccess, nil, true, 1},        // a push failed
		{result.OutcomeSuccess, regression, true, 1}, // a push failed: that must be seen
	} {
		if got := exitStatus(tc.outcome, tc.comparisons, tc.failed); got != tc.want {
			t.Errorf("exitStatus(%s, %v, failed %v) = %d, want %d", tc.outcome, tc.comparisons, tc.failed, got, tc.want)
		}
	}
}

// The pushes authenticate with the --push.http-config file's settings:
// basic auth with the password read from its file.
func TestPushUsesHTTPConfigCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "push.yml")
	if err := os.WriteFile(cfgFile, []byte("basic_auth: {username: ci, password_file: password}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var users []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		mu.Lock()
		users = append(users, fmt.Sprintf("%s:%s:%v", user, pass, ok))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	f := &ciFlags{remoteWriteURL: srv.URL + "/api/v1/write", httpConfig: cfgFile}
	client, err := f.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	series, err := push.NewSeries(config.Profile{Name: "ci", Engine: "fortio", Target: config.Target{URL: "http://t/", Protocol: "http1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := f.newPushers(series, client)
	if err := p.finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(users) != 1 || users[0] != "ci:s3cret:true" {
		t.Errorf("the receiver saw %v, want basic auth ci:s3cret", users)
	}
}

// The baseline is the accepted level: after the last change point that is
// not open, before an open regression, the newest window runs.
func TestAcceptedLevel(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var runs []changepoint.Run
	for i := range 20 {
		runs = append(runs, changepoint.Run{ID: fmt.Sprint(i), Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	ids := func(rs []changepoint.Run) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		name    string
		changes []levelChange
		window  int
		want    string
	}{
		{"no change: the newest window", nil, 4, "16,17,18,19"},
		{"an accepted change starts the level", []levelChange{{at(15), false}}, 30, "15,16,17,18,19"},
		{"an open regression ends it", []levelChange{{at(10), false}, {at(14), true}}, 30, "10,11,12,13"},
		{"an open regression before the level does not", []levelChange{{at(3), true}, {at(17), false}}, 30, "17,18,19"},
	} {
		if got := ids(acceptedLevel(runs, tc.changes, tc.window)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
