package config

import (
	"strings"
	"testing"
)

func TestGrafanaPreferencesDecode(t *testing.T) {
	cfg, err := Parse([]byte(`
grafana:
  url: http://grafana:3000
  folder_uid: perf
  boards:
    overview:
      panels: [Profiles, p99 latency]
      time: {from: now-24h, to: now}
      refresh: 1m
    nodes:
`), "grafana.yaml")
	if err != nil {
		t.Fatalf("rejected:\n%v", err)
	}
	b, ok := cfg.Grafana.Boards["overview"]
	if !ok || len(b.Panels) != 2 || b.Time.From != "now-24h" || b.Time.To != "now" || b.Refresh != "1m" {
		t.Errorf("overview preferences = %+v", b)
	}
	if _, ok := cfg.Grafana.Boards["nodes"]; !ok {
		t.Errorf("a board listed without settings must still be selected: %v", cfg.Grafana.Boards)
	}
}

func TestGrafanaPreferencesErrors(t *testing.T) {
	_, err := Parse([]byte(`grafana:
  url: http://grafana:3000
  org_id: -1
  folder_uid: "perf exporter"
  boards:
    overveiw: {}
    overview:
      panels: [p99, P99, ""]
      time: {from: yesterday, to: now}
      refresh: 5 minutes
    nodes:
      time: {to: now}
`), "g.yaml")
	if err == nil {
		t.Fatal("bad grafana section accepted")
	}
	want := []string{
		`g.yaml:3: grafana.org_id must not be negative, got -1`,
		`g.yaml:4: grafana.folder_uid "perf exporter" must be 1 to 40 letters, digits, '-' or '_' (Grafana rejects other uids)`,
		`g.yaml:6: grafana.boards: unknown board "overveiw" (bundled boards: overview, profile-detail, mesh-overhead, nodes, regressions)`,
		`g.yaml:8: grafana.boards.overview.panels: "P99" is listed twice`,
		`g.yaml:8: grafana.boards.overview.panels: entry 3 is empty (list panel titles)`,
		`g.yaml:9: grafana.boards.overview.time.from "yesterday" must be a relative time such as now, now-6h or now-1d/d`,
		`g.yaml:10: grafana.boards.overview.refresh "5 minutes" must be an interval such as 30s, 1m or 1h, or off`,
		`g.yaml:12: grafana.boards.nodes.time: to is set without from (from alone means from..now)`,
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestGrafanaCredentialsErrors: basic_auth without a username or a
// password, and credentials in the URL, fail with their file:line (they used
// to pass and fail only when Grafana was called, or never).
func TestGrafanaCredentialsErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"grafana:\n  url: http://g:3000\n  basic_auth:\n    password: pw\n",
			"g.yaml:3: grafana.basic_auth: username is required"},
		{"grafana:\n  url: http://g:3000\n  basic_auth: {username: admin}\n",
			"g.yaml:3: grafana.basic_auth: set password or password_file (a user without a password cannot log in)"},
		{"grafana:\n  url: http://admin:hunter2@g:3000\n",
			`g.yaml:2: grafana.url "http://g:3000" must not carry credentials or a query; use token_file or basic_auth`},
		{"grafana:\n  folder: Perf\n",
			"g.yaml:1: grafana.url is required"},
		// Issue 14: tls_config through prometheus/common, checked on load.
		{"grafana:\n  url: https://g:3000\n  tls_config: {cert_file: /etc/pe/client.crt}\n",
			"g.yaml:3: grafana.tls_config: exactly one of key or key_file must be configured when a client certificate is configured"},
		{"grafana:\n  url: http://g:3000\n  tls_config: {ca_file: /etc/pe/ca.crt}\n",
			"g.yaml:3: grafana.tls_config is set but grafana.url is http://, so it would be ignored: use https://"},
		{"grafana:\n  url: https://g:3000\n  tls_config: {ca_fil: /etc/pe/ca.crt}\n",
			`g.yaml:3: unknown key "ca_fil" in GrafanaTLSConfig`},
	} {
		_, err := Parse([]byte(tc.yaml), "g.yaml")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n%v\nwant:\n%s", tc.yaml, err, tc.want)
		}
	}
	if _, err := Parse([]byte("grafana:\n  url: http://g:3000\n  basic_auth: {username: admin, password_file: /run/pw}\n"), "g.yaml"); err != nil {
		t.Errorf("basic auth with a password file: %v", err)
	}
}
