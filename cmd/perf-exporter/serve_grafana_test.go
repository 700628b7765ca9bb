package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// TestServeProvisionsOnceGrafanaIsUp: the daemon starts before Grafana
// (routine when both start together); it keeps trying in the background
// and the boards are in once Grafana is up, without a restart, as
// /metrics tells.
func TestServeProvisionsOnceGrafanaIsUp(t *testing.T) {
	const token = "glsa_serve_test"
	t.Setenv(dashboards.TokenEnv, token)
	grafanaAddr := testutil.FreeAddr(t) // nothing listens there yet
	d := startServe(t, "grafana:\n  url: http://"+grafanaAddr+"\n  provision_on_start: true\nprofiles: []\n")

	metric := func(name string) float64 {
		for line := range strings.SplitSeq(get(t, d.url+"/metrics"), "\n") {
			if value, ok := strings.CutPrefix(line, name+" "); ok {
				v, err := strconv.ParseFloat(value, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return v
			}
		}
		t.Fatalf("no %s in /metrics", name)
		return 0
	}
	testutil.WaitFor(t, 20*time.Second, "a failed attempt while Grafana is down", func() bool {
		return metric("perf_grafana_provision_failures_total") >= 1
	})
	if v := metric("perf_grafana_provision_last_success_timestamp_seconds"); v != 0 {
		t.Errorf("last success %v while Grafana is down", v)
	}

	l, err := net.Listen("tcp", grafanaAddr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	s := grafanatest.New(t, grafanatest.Options{Listener: l, Tokens: map[string]grafanatest.Identity{token: {Role: grafanatest.Editor}}})
	testutil.WaitFor(t, 30*time.Second, "the boards once Grafana is up", func() bool {
		return metric("perf_grafana_provision_last_success_timestamp_seconds") > 0
	})
	if n := len(s.Dashboards(1)); n != len(config.GrafanaBoardNames) {
		t.Errorf("%d boards in Grafana, want %d", n, len(config.GrafanaBoardNames))
	}
}
