package dashboards

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// switchable is the network to a Grafana that can be down (connection
// refused, as when its pod has not started yet) or up.
type switchable struct {
	up   atomic.Bool
	next http.RoundTripper
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if !s.up.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return s.next.RoundTrip(r)
}

func provisionerConfig(url string, on bool) *config.Config {
	return &config.Config{Grafana: &config.Grafana{URL: url, ProvisionOnStart: on}}
}

// startProvisioner runs a provisioner until the test ends, with waits of
// milliseconds so retries happen quickly.
func startProvisioner(t *testing.T, cfg *config.Config, net http.RoundTripper) (*Provisioner, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	p := NewProvisioner(cfg, reg, ProvisionerOptions{
		FirstRetry: time.Millisecond, MaxRetry: 4 * time.Millisecond, Transport: net,
		Getenv: func(string) string { return testToken },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p, reg
}

func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestProvisionerRetriesUntilGrafanaIsUp: Grafana is down when the
// exporter starts; the boards are provisioned once it is up, without a
// restart, and the metrics tell both stories.
func TestProvisionerRetriesUntilGrafanaIsUp(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	network := &switchable{next: http.DefaultTransport}
	before := float64(time.Now().Unix())
	_, reg := startProvisioner(t, provisionerConfig(s.URL, true), network)

	testutil.WaitFor(t, 10*time.Second, "three failed attempts", func() bool {
		return metric(t, reg, "perf_grafana_provision_failures_total") >= 3
	})
	if got := metric(t, reg, "perf_grafana_provision_last_success_timestamp_seconds"); got != 0 {
		t.Errorf("last success while Grafana is down: %v", got)
	}
	network.up.Store(true)
	testutil.WaitFor(t, 10*time.Second, "provisioning after Grafana came up", func() bool {
		return metric(t, reg, "perf_grafana_provision_last_success_timestamp_seconds") > 0
	})
	if got := metric(t, reg, "perf_grafana_provision_last_success_timestamp_seconds"); got < before {
		t.Errorf("last success %v, before the test started (%v)", got, before)
	}
	if n := len(s.Dashboards(1)); n != len(config.GrafanaBoardNames) {
		t.Errorf("%d boards in Grafana, want %d", n, len(config.GrafanaBoardNames))
	}
	failures := metric(t, reg, "perf_grafana_provision_failures_total")
	saves := len(s.RequestsTo(http.MethodPost, "/api/dashboards/db"))
	// Once provisioned, it stops: no further attempts, no further failures.
	time.Sleep(50 * time.Millisecond)
	if got := len(s.RequestsTo(http.MethodPost, "/api/dashboards/db")); got != saves {
		t.Errorf("saved %d boards after success, want none", got-saves)
	}
	if got := metric(t, reg, "perf_grafana_provision_failures_total"); got != failures {
		t.Errorf("failures went on after success: %v then %v", failures, got)
	}
}

// TestProvisionerReprovisionsOnReload: a reload provisions again (a board
// deleted or edited in Grafana comes back); a reload that turns
// provisioning off stops the retries.
func TestProvisionerReprovisionsOnReload(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	network := &switchable{next: http.DefaultTransport}
	network.up.Store(true)
	cfg := provisionerConfig(s.URL, true)
	cfg.Grafana.Boards = map[string]config.GrafanaBoard{"overview": {}}
	p, reg := startProvisioner(t, cfg, network)
	testutil.WaitFor(t, 10*time.Second, "first provisioning", func() bool {
		return metric(t, reg, "perf_grafana_provision_last_success_timestamp_seconds") > 0
	})
	if n := len(s.Dashboards(1)); n != 1 {
		t.Fatalf("%d boards, want the overview only", n)
	}

	next := provisionerConfig(s.URL, true)
	next.Grafana.Boards = map[string]config.GrafanaBoard{"overview": {}, "nodes": {}}
	if err := p.ApplyConfig(next); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the board added by the reload", func() bool {
		_, ok := s.Dashboard(1, "perf-exporter-nodes")
		return ok
	})

	// Down, then a reload that turns provisioning off: the retries stop.
	network.up.Store(false)
	if err := p.ApplyConfig(provisionerConfig(s.URL, true)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "a failed attempt", func() bool {
		return metric(t, reg, "perf_grafana_provision_failures_total") >= 1
	})
	if err := p.ApplyConfig(provisionerConfig(s.URL, false)); err != nil {
		t.Fatal(err)
	}
	var last float64
	testutil.WaitFor(t, 10*time.Second, "the retries to stop", func() bool {
		now := metric(t, reg, "perf_grafana_provision_failures_total")
		stable := now == last
		last = now
		time.Sleep(30 * time.Millisecond) // several retry periods
		return stable
	})
}

// TestProvisionerOff: without provision_on_start nothing is sent, and the
// metrics exist at zero.
func TestProvisionerOff(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	p, reg := startProvisioner(t, provisionerConfig(s.URL, false), http.DefaultTransport)
	_ = p.ApplyConfig(&config.Config{})
	time.Sleep(20 * time.Millisecond)
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests with provisioning off", n)
	}
	if got := metric(t, reg, "perf_grafana_provision_failures_total"); got != 0 {
		t.Errorf("failures %v", got)
	}
}

// TestJitter: each wait is between half and all of the back-off.
func TestJitter(t *testing.T) {
	for range 1000 {
		if got := jitter(time.Second); got < 500*time.Millisecond || got > time.Second {
			t.Fatalf("jitter(1s) = %v", got)
		}
	}
}
