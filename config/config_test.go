package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadGoodConfig(t *testing.T) {
	cfg, err := LoadFile("testdata/good.yaml")
	if err != nil {
		t.Fatalf("good config rejected:\n%v", err)
	}
	if got := len(cfg.Profiles); got != 2 {
		t.Fatalf("profiles = %d, want 2", got)
	}
	checkout := cfg.Profiles[0]
	// Defaults fill what the file left out.
	if checkout.Engine != EngineFortio || checkout.Target.Protocol != ProtocolHTTP1 || checkout.Target.Method != "GET" {
		t.Errorf("defaults not applied: engine=%q protocol=%q method=%q", checkout.Engine, checkout.Target.Protocol, checkout.Target.Method)
	}
	if checkout.Load.Connections != DefaultConnections || checkout.Target.Timeout.D() != DefaultTimeout {
		t.Errorf("defaults not applied: connections=%d timeout=%s", checkout.Load.Connections, checkout.Target.Timeout)
	}
	if got := checkout.SLO.Latency["99"].D(); got != 250*time.Millisecond {
		t.Errorf("slo 99 = %s, want 250ms", got)
	}
	search := cfg.Profiles[1]
	if search.Target.Method != "POST" || search.Load.Warmup.D() != 5*time.Second || len(search.Load.Percentiles) != 2 {
		t.Errorf("explicit values lost: %+v", search)
	}
	if cfg.Global.MaxConcurrentRuns != 1 || cfg.Engines.Nighthawk.Path != "nighthawk_client" {
		t.Errorf("global defaults not applied: %+v %+v", cfg.Global, cfg.Engines)
	}
	src := cfg.Prometheus[0]
	if src.HTTPClientConfig.BasicAuth == nil || string(src.HTTPClientConfig.BasicAuth.Password) != "hunter2" {
		t.Errorf("prometheus source client config not decoded: %+v", src.HTTPClientConfig)
	}
	if !src.HTTPClientConfig.FollowRedirects {
		t.Errorf("prometheus/common defaults not applied to the source's client config")
	}
	if h := checkout.Target.PublicHeaders(); h["Authorization"] != "<secret>" || h["X-Test"] != "1" {
		t.Errorf("PublicHeaders = %v", h)
	}
}

func TestLoadBadConfigs(t *testing.T) {
	tests := []struct {
		file string
		want []string // every error, in order
	}{
		{"bad-unknown-key.yaml", []string{
			`testdata/bad-unknown-key.yaml:5: unknown key "laod" in a profile`,
		}},
		{"bad-syntax.yaml", []string{
			`testdata/bad-syntax.yaml:3: found unexpected end of stream`,
		}},
		{"bad-duration.yaml", []string{
			`testdata/bad-duration.yaml:2: invalid duration "soon" (use e.g. 250ms, 30s, 5m)`,
			`testdata/bad-duration.yaml:6: invalid duration "3 seconds" (use e.g. 250ms, 30s, 5m)`,
		}},
		{"bad-prometheus.yaml", []string{
			`testdata/bad-prometheus.yaml:2: prometheus source "cluster": field basic_auht not found in the HTTP client settings`,
		}},
		{"bad-profile.yaml", []string{
			`testdata/bad-profile.yaml:2: profile name "Checkout" must match [a-z0-9_-]+ (it becomes the profile label)`,
			`testdata/bad-profile.yaml:3: profile "Checkout": schedule "*/61 * * * *": step 61 is larger than the minute field's range of 60 values`,
			`testdata/bad-profile.yaml:4: profile "Checkout": unknown engine "jmeter" (fortio, wrk, wrk2 or nighthawk)`,
			`testdata/bad-profile.yaml:5: profile "Checkout": target.url "localhost:8080" must be an absolute http:// or https:// URL`,
			`testdata/bad-profile.yaml:5: profile "Checkout": unknown protocol "http3" (http1, http2 or grpc)`,
			`testdata/bad-profile.yaml:6: profile "Checkout": load.qps 60000 is above global.limits.max_qps 50000`,
			`testdata/bad-profile.yaml:6: profile "Checkout": load.duration must be positive, got -5s`,
			`testdata/bad-profile.yaml:10: profile "dup" is defined twice (names must be unique: they are the profile label)`,
		}},
		{"bad-headers.yaml", []string{
			`testdata/bad-headers.yaml:8: profile "auth": header Authorization is set in both headers and header_files`,
			`testdata/bad-headers.yaml:8: profile "auth": target.header_files: stat /nonexistent/token: no such file or directory`,
			`testdata/bad-headers.yaml:9: profile "auth": "Bad Header" is not a valid header name`,
			`testdata/bad-headers.yaml:9: profile "auth": target.header_files: stat /nonexistent/other: no such file or directory`,
		}},
		{"bad-engines.yaml", []string{
			`testdata/bad-engines.yaml:6: profile "a": engine wrk has no rate control, so load.qps must be 0; use engine wrk2 or fortio for a fixed rate`,
			`testdata/bad-engines.yaml:7: profile "b": engine wrk2 needs a rate: set load.qps above 0 (or use wrk for maximum throughput)`,
			`testdata/bad-engines.yaml:10: profile "b": protocol grpc needs engine fortio (wrk2 cannot send gRPC)`,
			`testdata/bad-engines.yaml:11: profile "b": slo.latency percentile 95 is not in load.percentiles [50 75 90 99 99.9], so it is never measured`,
			`testdata/bad-engines.yaml:11: profile "b": slo.error_ratio must be between 0 and 1, got 2`,
			`testdata/bad-engines.yaml:12: profile "b": unknown environment set "nodez" (built in: nodes, kubernetes, istio, linkerd; or define it under environment_sets)`,
			`testdata/bad-engines.yaml:17: profile "c": engine wrk reports only percentiles [50 75 90 99], not 99.9 (use wrk2 or fortio)`,
		}},
		{"bad-numbers.yaml", []string{
			`testdata/bad-numbers.yaml:2: global.limits.max_qps must be a finite number, got +Inf`,
			`testdata/bad-numbers.yaml:3: global.retention.max_runs must be a whole number, got 0.5`,
			`testdata/bad-numbers.yaml:9: profile "nan": load.qps must be a finite number, got NaN`,
			`testdata/bad-numbers.yaml:10: profile "nan": load.connections must be a whole number, got 2.9`,
			`testdata/bad-numbers.yaml:11: profile "nan": percentile NaN must be a finite number`,
			`testdata/bad-numbers.yaml:13: profile "nan": slo.latency key "NaN" must be a percentile such as "99"`,
			`testdata/bad-numbers.yaml:14: profile "nan": slo.error_ratio must be between 0 and 1, got NaN`,
			`testdata/bad-numbers.yaml:18: profile "whole": load.qps must be a finite number, got -Inf`,
		}},
		{"bad-second-document.yaml", []string{
			`testdata/bad-second-document.yaml:6: a second YAML document (after ---) is not read: put the whole config in one document`,
		}},
		{"bad-schedules.yaml", []string{
			`testdata/bad-schedules.yaml:2: profile "zero": schedule "@every 0s": the period must be at least 1s, got 0s`,
			`testdata/bad-schedules.yaml:3: profile "negative": schedule "@every -5s": the period must be at least 1s, got -5s`,
			`testdata/bad-schedules.yaml:4: profile "subsecond": schedule "@every 500ms": the period must be at least 1s, got 500ms`,
			`testdata/bad-schedules.yaml:5: profile "fraction": schedule "@every 1500ms": the period must be a whole number of seconds, got 1.5s`,
			`testdata/bad-schedules.yaml:6: profile "never": schedule "0 0 30 2 *": it never fires: no date matches its day of month, month and day of week`,
		}},
		{"bad-deferred.yaml", []string{
			`testdata/bad-deferred.yaml:5: profile "wrk-h2": protocol http2 needs engine fortio or nighthawk (wrk speaks HTTP/1.1 only)`,
			`testdata/bad-deferred.yaml:9: profile "no-source": environment set "nodes" needs a prometheus source to query: define one under prometheus`,
			`testdata/bad-deferred.yaml:13: profile "short": load.duration must be at least 10ms, got 1ns`,
		}},
		{"bad-environment-queries.yaml", []string{
			`testdata/bad-environment-queries.yaml:5: environment set "custom": query "team_cpu": unknown template variable ${team} for profile "without-team" (set it in its environment_vars; built in: interval, interval_ms, istio_namespace, kube_pod_label, linkerd_admin_port, linkerd_namespace, namespace, node, pod_label, range, range_ms, range_s, rate_interval, workload)`,
			`testdata/bad-environment-queries.yaml:6: environment set "custom": query "broken": not valid PromQL: 1:16: parse error: unclosed left parenthesis`,
			`testdata/bad-environment-queries.yaml:9: environment set "unused": query "broken_too": not valid PromQL: 1:14: parse error: unexpected end of input`,
		}},
		{"bad-set-files.yaml", []string{
			`testdata/bad-set-files.yaml:3: environment_set_files: testdata/sets/missing.yaml does not exist`,
			`testdata/bad-set-files.yaml:6: environment set "mine": query "a": aggregate "median" must be one of sum, avg, max, min`,
			`testdata/sets/board.yaml:5: environment set "board": query "rate": unknown prometheus source "nowhere"`,
			`testdata/sets/board.yaml:7: environment set "board": query "broken": not valid PromQL: 1:16: parse error: unclosed left parenthesis`,
			`testdata/sets/board.yaml:8: environment set "board": query 3 needs both name and query`,
			`testdata/sets/board.yaml:9: unknown key "qeury" in an environment query`,
			`testdata/sets/board.yaml:10: environment set "mine" is also defined under environment_sets in testdata/bad-set-files.yaml`,
		}},
		{"bad-zeros.yaml", []string{
			`testdata/bad-zeros.yaml:2: global.max_concurrent_runs must not be 0: leave it out for the default, 1`,
			`testdata/bad-zeros.yaml:3: global.limits.max_qps must not be 0: leave it out for the default, 50000`,
			`testdata/bad-zeros.yaml:3: global.limits.max_connections must not be 0: leave it out for the default, 1024`,
			`testdata/bad-zeros.yaml:3: global.limits.max_duration must not be 0s: leave it out for the default, 15m0s`,
			`testdata/bad-zeros.yaml:4: global.retention.max_runs must not be 0: leave it out for the default, 1000`,
			`testdata/bad-zeros.yaml:5: global.baseline_runs must not be 0: leave it out for the default, 10`,
			`testdata/bad-zeros.yaml:9: profile "zero": target.timeout must not be 0s: leave it out for the default, 3s`,
			`testdata/bad-zeros.yaml:10: profile "zero": load.connections must not be 0: leave it out for the default, 8`,
			`testdata/bad-zeros.yaml:10: profile "zero": load.duration must not be 0s: leave it out for the default, 10s`,
		}},
		{"bad-names.yaml", []string{
			`testdata/bad-names.yaml:2: prometheus source name "` + strings.Repeat("s", 40) + `"... is 129 characters long, more than 128 (it becomes the prometheus label)`,
			`testdata/bad-names.yaml:4: profile name "` + strings.Repeat("p", 40) + `"... is 200 characters long, more than 128 (it becomes the profile label and the key of its run history)`,
			`testdata/bad-names.yaml:11: environment set name "` + strings.Repeat("e", 40) + `"... is 129 characters long, more than 128 (it becomes the set label)`,
			`testdata/bad-names.yaml:12: environment set "` + strings.Repeat("e", 40) + `"...: query name "` + strings.Repeat("n", 40) + `"... is 129 characters long, more than 128 (it becomes the name label)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := LoadFile("testdata/" + tc.file)
			if err == nil {
				t.Fatalf("accepted a bad config: %+v", cfg)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestEmptyConfigIsValid(t *testing.T) {
	cfg, err := Parse(nil, "empty.yaml")
	if err != nil {
		t.Fatalf("empty config rejected: %v", err)
	}
	if len(cfg.Profiles) != 0 || cfg.Global.MaxConcurrentRuns != 1 {
		t.Errorf("empty config = %+v", cfg)
	}
}

func TestSchedules(t *testing.T) {
	for spec, ok := range map[string]bool{
		"@every 10m": true, "@hourly": true, "*/5 * * * *": true, "*/10 * * * * *": true,
		"* * *": false, "@every": false, "*/61 * * * *": false, "*/0 * * * *": false, "0 0 32 * *": false,
		"@every 1s": true, "@every 0s": false, "@every -1m": false, "@every 999ms": false, "@every 2.5s": false,
		"0 0 30 2 *": false, "0 0 29 2 *": true, "CRON_TZ=UTC */61 * * * *": false,
		"CRON_TZ=UTC @every 100ms": false, "TZ=Europe/Paris @every 1m": true, " @every 0s": false,
	} {
		if err := checkSchedule(spec); (err == nil) != ok {
			t.Errorf("checkSchedule(%q) = %v, want ok=%v", spec, err, ok)
		}
	}
}

func TestPublicURLDropsCredentialsAndQuery(t *testing.T) {
	got := PublicURL("https://user:pw@api.shop:8443/cart/add?token=abc#x")
	if want := "https://api.shop:8443/cart/add"; got != want {
		t.Errorf("PublicURL = %q, want %q", got, want)
	}
}

func TestRedactTarget(t *testing.T) {
	tg := Target{URL: "https://bob:hunter2@api.shop/cart?token=abc", Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Trace": "visible"}}
	msg := tg.Redact(`Get "https://bob:hunter2@api.shop/cart?token=abc": x509 (auth Bearer s3cret, password hunter2, token=abc, X-Trace visible)`)
	for _, secret := range []string{"hunter2", "token=abc", "s3cret"} {
		if strings.Contains(msg, secret) {
			t.Errorf("redacted message still has %q: %s", secret, msg)
		}
	}
	if !strings.Contains(msg, "https://api.shop/cart") || !strings.Contains(msg, "visible") {
		t.Errorf("redaction removed too much: %s", msg)
	}
}

func TestHeaderFilesAreReadAndSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("Bearer rotated-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := Target{URL: "http://a/", Headers: map[string]string{"X-Test": "1"}, HeaderFiles: map[string]string{"X-Api-Key": file}}
	resolved, err := tg.WithHeaderFiles()
	if err != nil {
		t.Fatal(err)
	}
	if resolved.Headers["X-Api-Key"] != "Bearer rotated-123" || resolved.Headers["X-Test"] != "1" {
		t.Errorf("headers = %v", resolved.Headers)
	}
	if !resolved.IsSecretHeader("X-Api-Key") || resolved.PublicHeaders()["X-Api-Key"] != "<secret>" {
		t.Errorf("a header from a file is not secret: %v", resolved.PublicHeaders())
	}
	if tg.Headers["X-Api-Key"] != "" {
		t.Errorf("WithHeaderFiles changed the configured target")
	}
	if _, err := (Target{HeaderFiles: map[string]string{"X": filepath.Join(t.TempDir(), "missing")}}).WithHeaderFiles(); err == nil || !strings.Contains(err.Error(), "header X") {
		t.Errorf("missing file: %v", err)
	}
}

// Whole numbers written as floats decode exactly, and an empty document
// after a trailing --- holds nothing to ignore: both stay accepted.
func TestWholeFloatsAndTrailingSeparatorAccepted(t *testing.T) {
	cfg, err := Parse([]byte(`
global: {retention: {max_runs: 1e3}}
profiles:
  - {name: a, schedule: "@every 1s", target: {url: "http://127.0.0.1:1/"}, load: {connections: 4.0, duration: 10ms}}
---
`), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.Retention.MaxRuns != 1000 || cfg.Profiles[0].Load.Connections != 4 {
		t.Errorf("max_runs = %d, connections = %d", cfg.Global.Retention.MaxRuns, cfg.Profiles[0].Load.Connections)
	}
}
