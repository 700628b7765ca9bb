package environment

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// parseConfig reads a config the way the exporter does, so sources get
// prometheus/common's defaults and validation.
func parseConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return cfg
}

// newLogger returns a logger and what it wrote.
func newLogger() (*slog.Logger, *testutil.SyncBuffer) {
	buf := &testutil.SyncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// waitForQuery polls a Prometheus until query returns a sample >= want.
func waitForQuery(t testing.TB, baseURL, query string, want float64) {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var last model.Value
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, _, _, err := v1.NewAPI(c).Query(ctx, query, time.Now())
		cancel()
		last = v
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 && float64(vec[0].Value) >= want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %g within 20s (last answer %v)", query, want, last)
}

// upValues gathers perf_prometheus_up by source from a fresh registry.
func upValues(t *testing.T, e *Environment) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	if n := promtestutil.CollectAndCount(e, "perf_prometheus_up"); n != len(out) {
		t.Fatalf("collected %d series, gathered %d", n, len(out))
	}
	return out
}
