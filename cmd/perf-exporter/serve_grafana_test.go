package main

import (
	"net"
	"net/http"
	"net/http/httptest"
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

// TestServeAnnotatesRuns: with grafana.annotations, every run of the daemon
// becomes a region on the listed board; a Grafana that hangs on every
// annotation request never holds up the runs that follow.
func TestServeAnnotatesRuns(t *testing.T) {
	const token = "glsa_serve_annotations"
	t.Setenv(dashboards.TokenEnv, token)
	s := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{token: {Role: grafanatest.Editor}}})
	s.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"uid": "team", "title": "Team"}})
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	config := func(schedule string) string {
		return "grafana:\n  url: " + s.URL + "\n  annotations: {enabled: true, dashboards: [team]}\n" +
			"profiles:\n  - {name: p, schedule: \"" + schedule + "\", run_on_start: true, target: {url: \"" + target.URL + "/\"}, load: {qps: 50, connections: 2, duration: 200ms}}\n"
	}

	d := startServe(t, config("@every 1h"))
	testutil.WaitFor(t, 20*time.Second, "the run's annotation", func() bool { return len(s.Annotations(1)) == 1 })
	a := s.Annotations(1)[0]
	if a.DashboardUID != "team" || strings.Join(a.Tags, ",") != "perf-exporter,profile:p,outcome:success" || a.TimeEnd-a.Time < 200 {
		t.Errorf("annotation %+v", a)
	}
	if !strings.Contains(get(t, d.url+"/metrics"), `perf_grafana_annotations_total{result="sent"} 1`) {
		t.Error(`perf_grafana_annotations_total{result="sent"} is not 1`)
	}

	hanging := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{token: {Role: grafanatest.Editor}}})
	hanging.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"uid": "team", "title": "Team"}})
	hanging.HangNext(http.MethodGet, "/api/annotations", 1000)
	s = hanging
	d = startServe(t, config("@every 1s"))
	testutil.WaitFor(t, 30*time.Second, "three runs while Grafana hangs", func() bool {
		for line := range strings.SplitSeq(get(t, d.url+"/metrics"), "\n") {
			if v, ok := strings.CutPrefix(line, `perf_runs_total{profile="p",result="success"} `); ok {
				n, _ := strconv.Atoi(v)
				return n >= 3
			}
		}
		return false
	})
	if n := len(hanging.Annotations(1)); n != 0 {
		t.Errorf("%d annotations from a hanging Grafana", n)
	}
}
