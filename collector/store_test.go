package collector

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStoreHealth(t *testing.T) {
	available, failures := true, uint64(0)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewStoreHealth(func() (bool, uint64) { return available, failures }))
	for _, tc := range []struct {
		available bool
		failures  uint64
		want      string
	}{
		{true, 0, "perf_exporter_store_available 1\n# HELP perf_exporter_store_write_failures_total Writes to the run history (run starts, results, pruning) that did not reach the disk.\n# TYPE perf_exporter_store_write_failures_total counter\nperf_exporter_store_write_failures_total 0\n"},
		{false, 3, "perf_exporter_store_available 0\n# HELP perf_exporter_store_write_failures_total Writes to the run history (run starts, results, pruning) that did not reach the disk.\n# TYPE perf_exporter_store_write_failures_total counter\nperf_exporter_store_write_failures_total 3\n"},
	} {
		available, failures = tc.available, tc.failures
		want := "# HELP perf_exporter_store_available 1 while the run history is written (the store is open for writing and its last write succeeded), else 0.\n# TYPE perf_exporter_store_available gauge\n" + tc.want
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Error(err)
		}
	}
}
