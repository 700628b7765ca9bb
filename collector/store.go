package collector

import "github.com/prometheus/client_golang/prometheus"

// StoreHealth exports whether the run history is written: a full disk or a
// read-only volume does not stop the exporter, so these series are how
// anyone learns that runs are no longer kept (alert PerfExporterStoreFailing).
type StoreHealth struct {
	status    func() (available bool, writeFailures uint64)
	available *prometheus.Desc
	failures  *prometheus.Desc
}

// NewStoreHealth reads the store's state at every scrape through status.
func NewStoreHealth(status func() (available bool, writeFailures uint64)) *StoreHealth {
	return &StoreHealth{
		status: status,
		available: prometheus.NewDesc("perf_exporter_store_available",
			"1 while the run history is written (the store is open for writing and its last write succeeded), else 0.", nil, nil),
		failures: prometheus.NewDesc("perf_exporter_store_write_failures_total",
			"Writes to the run history (run starts, results, pruning) that did not reach the disk.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (s *StoreHealth) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.available
	ch <- s.failures
}

// Collect implements prometheus.Collector.
func (s *StoreHealth) Collect(ch chan<- prometheus.Metric) {
	available, failures := s.status()
	v := 0.0
	if available {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(s.available, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(s.failures, prometheus.CounterValue, float64(failures))
}
