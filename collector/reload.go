package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reload tells operators whether the last config reload worked.
type Reload struct {
	successful prometheus.Gauge
	timestamp  prometheus.Gauge
}

// NewReload registers the reload gauges.
func NewReload(reg prometheus.Registerer) *Reload {
	r := &Reload{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "perf_exporter_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		timestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "perf_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(r.successful, r.timestamp)
	return r
}

// Record notes the outcome of a (re)load.
func (r *Reload) Record(ok bool, now time.Time) {
	if !ok {
		r.successful.Set(0)
		return
	}
	r.successful.Set(1)
	r.timestamp.Set(unixSeconds(now))
}
