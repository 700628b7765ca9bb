package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
)

// TestReloadersAllApplyTheNewConfig: a reload hands a changed config to
// every reloader, in order; one that fails is named in the error and the
// reload counts as failed, but does not keep the others on the old config.
func TestReloadersAllApplyTheNewConfig(t *testing.T) {
	next := &config.Config{}
	reg := prometheus.NewRegistry()
	var applied []string
	r := &configReloader{
		source:  &configSource{reload: func() (*config.Config, bool, error) { return next, true, nil }},
		metrics: collector.NewReload(reg),
		logger:  slog.New(slog.DiscardHandler),
	}
	part := func(name string, err error) reloader {
		return reloader{name, func(cfg *config.Config) error {
			if cfg != next {
				t.Errorf("%s got another config", name)
			}
			applied = append(applied, name)
			return err
		}}
	}
	r.reloaders = []reloader{part("scheduler", nil), part("grafana", errors.New("boom")), part("web", nil)}
	err := r.Reload()
	if err == nil || !strings.Contains(err.Error(), "grafana: boom") {
		t.Errorf("Reload: %v, want the failing part named", err)
	}
	if strings.Join(applied, ",") != "scheduler,grafana,web" {
		t.Errorf("applied to %v, want every part in order", applied)
	}
	if v := reloadSuccessful(t, reg); v != 0 {
		t.Errorf("perf_exporter_config_last_reload_successful = %v after a failed reload", v)
	}

	applied = nil
	r.reloaders = []reloader{part("scheduler", nil), part("web", nil)}
	if err := r.Reload(); err != nil || len(applied) != 2 {
		t.Errorf("Reload: %v, applied to %v", err, applied)
	}
	if v := reloadSuccessful(t, reg); v != 1 {
		t.Errorf("perf_exporter_config_last_reload_successful = %v after a reload", v)
	}
}

// reloadSuccessful reads perf_exporter_config_last_reload_successful.
func reloadSuccessful(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "perf_exporter_config_last_reload_successful" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no perf_exporter_config_last_reload_successful")
	return 0
}

func TestListenErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"vsock://:notaport", "--web.listen-address vsock://:notaport"},
		{"256.0.0.1:0", "--web.listen-address 256.0.0.1:0"},
	} {
		addrs, systemd, webConfig := []string{tc.addr}, false, ""
		_, err := listen(&web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfig})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("listen(%s): %v, want an error starting %q", tc.addr, err, tc.want)
		}
	}
	addrs, systemd, webConfig := []string{"127.0.0.1:0"}, false, "/nonexistent/web.yml"
	if _, err := listen(&web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}); err == nil || !strings.Contains(err.Error(), "--web.config.file /nonexistent/web.yml") {
		t.Errorf("listen with a missing web config: %v", err)
	}
}

// An empty --web.listen-address (an unset variable in a unit file or a
// pod spec) listened on a random port on every interface; it is an error.
// An explicit port 0 still picks a free port, as tests need.
func TestEmptyListenAddressIsAnError(t *testing.T) {
	addrs, systemd, webConfig := []string{""}, false, ""
	listeners, err := listen(&web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfig})
	for _, l := range listeners {
		t.Errorf("listening on %s", l.Addr())
		l.Close()
	}
	want := "--web.listen-address: an empty address; give host:port (:9479 for every interface, 127.0.0.1:0 for a free port)"
	if err == nil || err.Error() != want {
		t.Errorf("listen(\"\"): %v\nwant %s", err, want)
	}
}
