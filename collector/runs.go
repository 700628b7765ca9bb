// Package collector exposes load test results as Prometheus metrics: the
// cumulative series every request feeds (aggregatable across runs and
// replicas) and the gauges of each profile's last completed run.
package collector

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// DurationBuckets are the classic buckets of the request histogram: fine
// from 100µs to tens of ms, where most services live, coarse up to 10 s.
// Native buckets are exposed alongside for Prometheus servers that take them.
var DurationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.00075,
	0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075,
	0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
	0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
	1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10,
}

// Runs holds every per-profile series. It is a prometheus.Collector: the
// cumulative series are live vectors, the last-run gauges are prebuilt
// constant metrics replaced when a run completes, so a scrape rebuilds
// nothing that did not change.
type Runs struct {
	requestDuration *prometheus.HistogramVec

	mu        sync.RWMutex
	observers map[string]*profileObserver
	lastRun   map[string][]prometheus.Metric // profile → last run's gauges
	lastOK    map[string]prometheus.Metric   // profile → last success timestamp
	baseline  map[string][]prometheus.Metric
	lateness  map[string]prometheus.Metric // profile → schedule lateness
	profiles  map[string][]prometheus.Metric
	misses    map[string]*objectiveStreaks
	shard     string // perf_profile_info's shard label
	// versions counts the changes of each profile's series other than the
	// live ones (the observer marks those itself): the exposition cache
	// encodes a profile again only when its version moved. Every method
	// that changes a profile's series calls touch.
	versions map[string]uint64
	// runCounts are each profile's perf_runs_total, by outcome.
	runCounts map[string][]*counter
	cache     *exposition
}

// Option configures Runs.
type Option func(*Runs)

// WithShard sets perf_profile_info's shard label: INDEX/COUNT of the shard
// that owns the replica's profiles (--profiles.shard), empty without one.
func WithShard(shard string) Option { return func(c *Runs) { c.shard = shard } }

// NewRuns creates the collector; register it on a registry.
func NewRuns(opts ...Option) *Runs {
	c := &Runs{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "perf_run_request_duration_seconds",
			Help:                            "Latency of every request of every run, cumulative across runs.",
			Buckets:                         DurationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"profile"}),
		observers: map[string]*profileObserver{},
		lastRun:   map[string][]prometheus.Metric{},
		lastOK:    map[string]prometheus.Metric{},
		baseline:  map[string][]prometheus.Metric{},
		lateness:  map[string]prometheus.Metric{},
		profiles:  map[string][]prometheus.Metric{},
		misses:    map[string]*objectiveStreaks{},
		versions:  map[string]uint64{},
		runCounts: map[string][]*counter{},
	}
	c.cache = newExposition(c)
	for _, o := range opts {
		o(c)
	}
	return c
}

var (
	descRequests        = prometheus.NewDesc("perf_run_requests_total", "Requests sent, by HTTP status or gRPC code; transport errors under code=\"error\".", []string{"profile", "code"}, nil)
	descRuns            = prometheus.NewDesc("perf_runs_total", "Runs by result: success, slo_missed, failure, skipped, aborted.", []string{"profile", "result"}, nil)
	descLatency         = gaugeDesc("perf_run_latency_seconds", "Latency percentiles of the last completed run.", "percentile")
	descAchieved        = gaugeDesc("perf_run_achieved_rps", "Requests per second achieved by the last completed run.")
	descRequested       = gaugeDesc("perf_run_requested_rps", "Requests per second requested by the last completed run; 0 = as fast as possible.")
	descErrorRatio      = gaugeDesc("perf_run_error_ratio", "Share of requests of the last completed run that failed (non-2xx or transport error).")
	descDuration        = gaugeDesc("perf_run_duration_seconds", "Actual length of the last completed run.")
	descConnections     = gaugeDesc("perf_run_connections", "Connections used by the last completed run.")
	descSuccess         = gaugeDesc("perf_run_success", "1 if the last completed run's result was success, else 0.")
	descLastTimestamp   = gaugeDesc("perf_run_last_timestamp_seconds", "End time of the last completed run.")
	descLastSuccess     = gaugeDesc("perf_run_last_success_timestamp_seconds", "End time of the last successful run.")
	descSendLateness    = gaugeDesc("perf_run_send_lateness_seconds", "How late requests of the last completed run left versus their intended send time.", "percentile")
	descCorrected       = gaugeDesc("perf_run_corrected_latency_seconds", "Latency percentiles of the last completed run counted from each request's intended send time (coordinated omission corrected); rate-limited runs.", "percentile")
	descSchedLateness   = gaugeDesc("perf_run_schedule_lateness_seconds", "How late the last run started after its scheduled tick.")
	descBaseline        = gaugeDesc("perf_run_latency_baseline_seconds", "Median of the latency percentiles of the last successful runs.", "percentile")
	descEnvironment     = gaugeDesc("perf_environment_value", "Environment query averaged over the window of the last completed run.", "set", "name")
	descProfileInfo     = gaugeDesc("perf_profile_info", "Configured profiles; the target is scheme://host/path; shard is the INDEX/COUNT of the replica that runs the profile (--profiles.shard), empty without sharding.", "engine", "protocol", "target", "shard")
	descSLOLatency      = gaugeDesc("perf_profile_slo_latency_seconds", "Configured latency objective per percentile.", "percentile")
	descSLOErrorRatio   = gaugeDesc("perf_profile_slo_error_ratio", "Configured error ratio objective.")
	descProfileInterval = gaugeDesc("perf_profile_schedule_interval_seconds", "Longest time between two scheduled runs of the profile, over a full cycle of its schedule.")
	descMaxSuccessAge   = gaugeDesc("perf_profile_max_success_age_seconds", "Configured age after which no successful run alerts (max_success_age).")
)

func gaugeDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append([]string{"profile"}, labels...), nil)
}

// Describe implements prometheus.Collector.
func (c *Runs) Describe(ch chan<- *prometheus.Desc) {
	c.requestDuration.Describe(ch)
	for _, d := range []*prometheus.Desc{descRequests, descRuns, descLatency, descAchieved, descRequested, descErrorRatio, descDuration,
		descConnections, descSuccess, descLastTimestamp, descLastSuccess, descSendLateness, descCorrected, descSchedLateness,
		descBaseline, descEnvironment, descProfileInfo, descSLOLatency, descSLOErrorRatio, descProfileInterval, descMaxSuccessAge,
		descLatencyMisses, descErrorRatioMisses} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Every series is a profile's,
// collected by collectProfile, which the exposition cache uses too.
func (c *Runs) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, p := range c.profileNamesLocked() {
		c.collectProfile(p, func(m prometheus.Metric) { ch <- m })
	}
}

// profileNamesLocked lists, sorted, every profile with a series; c.mu is
// held.
func (c *Runs) profileNamesLocked() []string {
	seen := make(map[string]bool, len(c.profiles))
	for _, m := range []map[string]uint64{c.versions} {
		for p := range m {
			seen[p] = true
		}
	}
	for p, o := range c.observers {
		if !o.isRetired() {
			seen[p] = true
		}
	}
	names := make([]string, 0, len(seen))
	for p := range seen {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// collectProfile emits every series of one profile; c.mu is held (read).
func (c *Runs) collectProfile(p string, emit func(prometheus.Metric)) {
	if o := c.observers[p]; o != nil && !o.isRetired() {
		emit(o.duration.(prometheus.Metric))
		if cs := o.codes.Load(); cs != nil {
			for _, cc := range *cs {
				emit(cc)
			}
		}
	}
	for _, m := range c.runCounts[p] {
		emit(m)
	}
	for _, group := range []map[string][]prometheus.Metric{c.profiles, c.lastRun, c.baseline} {
		for _, m := range group[p] {
			emit(m)
		}
	}
	for _, group := range []map[string]prometheus.Metric{c.lastOK, c.lateness} {
		if m := group[p]; m != nil {
			emit(m)
		}
	}
	if s := c.misses[p]; s != nil {
		for _, m := range s.ms {
			emit(m)
		}
	}
}

// touch marks a profile's series changed; c.mu is held.
func (c *Runs) touch(p string) { c.versions[p]++ }

// SetProfiles publishes the configured profiles and forgets every series of
// a profile that is no longer configured, so removed profiles go stale.
func (c *Runs) SetProfiles(profiles []config.Profile, intervals map[string]time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := map[string]bool{}
	for _, p := range profiles {
		keep[p.Name] = true
		c.touch(p.Name)
		ms := []prometheus.Metric{
			gauge(descProfileInfo, 1, p.Name, p.Engine, p.Target.Protocol, config.PublicURL(p.Target.URL), c.shard),
		}
		for key, objective := range p.SLO.Latency {
			ms = append(ms, gauge(descSLOLatency, objective.D().Seconds(), p.Name, normalisePercentile(key)))
		}
		if p.SLO.ErrorRatio != nil {
			ms = append(ms, gauge(descSLOErrorRatio, *p.SLO.ErrorRatio, p.Name))
		}
		if age := p.MaxSuccessAge.D(); age > 0 {
			ms = append(ms, gauge(descMaxSuccessAge, age.Seconds(), p.Name))
		}
		if iv, ok := intervals[p.Name]; ok && iv > 0 {
			ms = append(ms, gauge(descProfileInterval, iv.Seconds(), p.Name))
		}
		c.profiles[p.Name] = ms
		c.misses[p.Name] = newStreaks(p, c.misses[p.Name])
		if c.runCounts[p.Name] == nil {
			now := time.Now()
			for _, outcome := range result.Outcomes {
				// Every outcome starts at 0, so increase() sees the first.
				c.runCounts[p.Name] = append(c.runCounts[p.Name], newCounter(descRuns, now, p.Name, outcome))
			}
		}
	}
	for name := range c.profiles {
		if keep[name] {
			continue
		}
		delete(c.profiles, name)
		delete(c.lastRun, name)
		delete(c.lastOK, name)
		delete(c.baseline, name)
		delete(c.lateness, name)
		delete(c.misses, name)
		delete(c.versions, name)
		delete(c.runCounts, name)
		if o := c.observers[name]; o != nil {
			o.retire() // before the deletes below, so no series comes back after them
			delete(c.observers, name)
		}
		match := prometheus.Labels{"profile": name}
		c.requestDuration.DeletePartialMatch(match)
	}
}

// normalisePercentile writes "99.0" and "99" alike, as "99".
func normalisePercentile(key string) string {
	f, err := strconv.ParseFloat(key, 64)
	if err != nil {
		return key
	}
	return result.PercentileLabel(f)
}

// gauge is a gauge the Runs keep until it changes. A constant metric
// holds its labels as protobuf pairs, about 300 bytes for two labels: with
// 60 gauges of each of 1 000 profiles that was 20 MB, most of the
// exporter's heap. A gauge keeps its value and label values, and builds the
// constant metric only when it is encoded (once per change: the exposition
// cache keeps the bytes).
func gauge(desc *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return &lazyGauge{desc: desc, value: v, labels: labels}
}

type lazyGauge struct {
	desc   *prometheus.Desc
	value  float64
	labels []string
}

func (g *lazyGauge) Desc() *prometheus.Desc { return g.desc }

func (g *lazyGauge) Write(out *dto.Metric) error {
	m, err := prometheus.NewConstMetric(g.desc, prometheus.GaugeValue, g.value, g.labels...)
	if err != nil {
		return err
	}
	return m.Write(out)
}

// counter is a cumulative count the Runs keep themselves, built into a
// constant metric only when it is encoded. A CounterVec's child holds its
// labels as protobuf pairs, an exemplar slot and more, about 600 bytes:
// at 1 000 profiles the 6 000 children of perf_runs_total and
// perf_run_requests_total were 4 MB of the heap.
type counter struct {
	desc    *prometheus.Desc
	n       atomic.Uint64
	created time.Time
	labels  []string
}

func newCounter(desc *prometheus.Desc, created time.Time, labels ...string) *counter {
	return &counter{desc: desc, created: created, labels: labels}
}

func (c *counter) Desc() *prometheus.Desc { return c.desc }

func (c *counter) Write(out *dto.Metric) error {
	m, err := prometheus.NewConstMetricWithCreatedTimestamp(c.desc, prometheus.CounterValue, float64(c.n.Load()), c.created, c.labels...)
	if err != nil {
		return err
	}
	return m.Write(out)
}
