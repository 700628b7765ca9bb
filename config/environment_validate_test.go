package config

import (
	"strings"
	"testing"
	"time"
)

func TestEnvironmentSettingsAreRead(t *testing.T) {
	cfg, err := Parse([]byte(`
global:
  environment_window: {margin: 2s}
prometheus:
  - {name: fast, url: "http://127.0.0.1:9090", scrape_interval: 5s, basic_auth: {username: u, password: p}}
  - {name: plain, url: "http://127.0.0.1:9091"}
`), "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Global.EnvironmentWindow.Margin.D(); got != 2*time.Second {
		t.Errorf("margin = %s, want 2s", got)
	}
	if got := cfg.Prometheus[0].ScrapeIntervalOrDefault(); got != 5*time.Second {
		t.Errorf("scrape interval = %s, want 5s", got)
	}
	if cfg.Prometheus[0].HTTPClientConfig.BasicAuth == nil {
		t.Error("scrape_interval next to basic_auth lost the HTTP client settings")
	}
	if got := cfg.Prometheus[1].ScrapeIntervalOrDefault(); got != DefaultScrapeInterval {
		t.Errorf("default scrape interval = %s, want %s", got, DefaultScrapeInterval)
	}
}

func TestBadEnvironmentSettings(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"negative margin": {`
global:
  environment_window: {margin: -1s}
`, `bad.yaml:3: global.environment_window.margin must not be negative, got -1s`},
		"negative scrape interval": {`
prometheus:
  - name: p
    url: http://127.0.0.1:9090
    scrape_interval: -5s
`, `bad.yaml:5: prometheus source "p": scrape_interval must be positive (or left out for 30s), got -5s`},
		"scrape interval not a duration": {`
prometheus:
  - name: p
    url: http://127.0.0.1:9090
    scrape_interval: often
`, `bad.yaml:5: invalid duration "often" (use e.g. 250ms, 30s, 5m)`},
		"margin eats the run": {`
global:
  environment_window: {margin: 5s}
prometheus: [{name: p, url: "http://127.0.0.1:9090"}]
profiles:
  - name: short
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    load: {duration: 10s}
    environment: [nodes]
`, `bad.yaml:10: profile "short": global.environment_window.margin 5s trims both ends of the 10s run, leaving no window to query`},
		"rate_interval set": {`
profiles:
  - name: p
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment_vars:
      rate_interval: 5m
`, `bad.yaml:7: profile "p": environment_vars.rate_interval cannot be set: it follows from the window and the source's scrape_interval`},
		"kube_pod_label set": {`
profiles:
  - name: p
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment_vars:
      kube_pod_label: label_app
`, `bad.yaml:7: profile "p": environment_vars.kube_pod_label cannot be set: it follows from pod_label`},
		"pod_label not a label key": {`
profiles:
  - name: p
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment_vars:
      pod_label: 'app="checkout"'
`, `bad.yaml:7: profile "p": environment_vars.pod_label "app=\"checkout\"" is not a Kubernetes label key (e.g. app or app.kubernetes.io/name)`},
		"linkerd_admin_port not a port": {`
profiles:
  - name: p
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment_vars:
      linkerd_admin_port: "70000"
`, `bad.yaml:7: profile "p": environment_vars.linkerd_admin_port "70000" is not a port number`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "bad.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestEnvironmentSelectorVarsAccepted(t *testing.T) {
	for _, label := range []string{"app", "app.kubernetes.io/name", "example.com/team_name", ""} {
		_, err := Parse([]byte(`
profiles:
  - name: p
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment_vars: {pod_label: "`+label+`", linkerd_admin_port: "4191"}
`), "ok.yaml")
		if err != nil {
			t.Errorf("pod_label %q: %v", label, err)
		}
	}
}
