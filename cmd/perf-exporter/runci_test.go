package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
