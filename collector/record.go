package collector

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/result"
)

// profileObserver feeds one profile's cumulative series as requests
// complete. It is on the load generator's hot path: the histogram child is
// resolved once, and the code counters are a copy-on-write list read
// without a lock or a hash (a profile sees a handful of codes; the first
// request of a new code copies the list under mu). A sync.Map lookup cost
// 18 ns a request, a quarter of the observer (BenchmarkObserveRequest).
type profileObserver struct {
	profile  string
	duration prometheus.Observer
	codes    atomic.Pointer[[]*counter] // labels profile, code
	mu       sync.Mutex                 // serialises additions to codes
	// retired is set when the profile is removed: a run still in flight
	// keeps this observer, and a code it sees for the first time must not
	// bring the removed profile's series back.
	retired bool
	// dirty says the live series changed since the exposition cache last
	// encoded them.
	dirty atomic.Bool
}

// ObserveRequest implements result.Observer. The duration histogram is
// response latency, as the run's percentiles are: a request that got no
// response (result.CodeError) counts in perf_run_requests_total only, or a
// target that refuses connections would fill the low buckets.
func (o *profileObserver) ObserveRequest(latency time.Duration, code string) {
	if code != result.CodeError {
		o.duration.Observe(latency.Seconds())
	}
	o.counter(code).n.Add(1)
	o.changed()
}

// changed marks the live series changed for the exposition cache, after
// the change: a scrape clears the mark before it reads the series, so a
// change it misses marks them again. The load keeps the cache line shared
// while the mark is set, which is nearly always during a run.
func (o *profileObserver) changed() {
	if !o.dirty.Load() {
		o.dirty.Store(true)
	}
}

func (o *profileObserver) isRetired() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.retired
}

func (o *profileObserver) counter(code string) *counter {
	if cs := o.codes.Load(); cs != nil {
		for _, c := range *cs {
			if c.labels[1] == code {
				return c
			}
		}
	}
	return o.addCode(code)
}

// addCode adds a code's counter. A retired observer's are exported nowhere:
// the Runs forgot it with its profile.
func (o *profileObserver) addCode(code string) *counter {
	o.mu.Lock()
	defer o.mu.Unlock()
	var cs []*counter
	if old := o.codes.Load(); old != nil {
		for _, c := range *old {
			if c.labels[1] == code { // added since the caller looked
				return c
			}
		}
		cs = append(cs, *old...)
	}
	c := newCounter(descRequests, time.Now(), o.profile, code)
	cs = append(cs, c)
	o.codes.Store(&cs)
	return c
}

// retire stops the observer from creating series; the ones it holds were
// deleted with the profile's, so what it still records is exported nowhere.
func (o *profileObserver) retire() {
	o.mu.Lock()
	o.retired = true
	o.mu.Unlock()
}

// Observer returns the live request recorder of a profile.
func (c *Runs) Observer(profile string) result.Observer {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.observers[profile]
	if !ok {
		o = &profileObserver{profile: profile, duration: c.requestDuration.WithLabelValues(profile)}
		o.dirty.Store(true)
		c.observers[profile] = o
	}
	return o
}

// RecordBulk adds a run whose engine reports only at the end (wrk, wrk2,
// Nighthawk) to the cumulative series: counts by code exactly, latencies
// from the engine's own histogram, each bucket at its midpoint.
func (c *Runs) RecordBulk(profile string, r *result.Measurement) {
	o := c.Observer(profile).(*profileObserver)
	for code, n := range r.Codes {
		if n > 0 {
			o.counter(code).n.Add(uint64(n))
		}
	}
	if r.Latency == nil {
		o.changed()
		return
	}
	for _, b := range r.Latency.Data {
		mid := (b.Start + b.End) / 2
		for range b.Count {
			o.duration.Observe(mid)
		}
	}
	o.changed()
}

// CountOutcome counts a run by its outcome (perf_runs_total).
func (c *Runs) CountOutcome(profile, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m *counter
	for _, rc := range c.runCounts[profile] {
		if rc.labels[1] == outcome {
			m = rc
		}
	}
	if m == nil {
		m = newCounter(descRuns, time.Now(), profile, outcome)
		c.runCounts[profile] = append(c.runCounts[profile], m)
	}
	m.n.Add(1)
	c.touch(profile)
}

// SetScheduleLateness records how late the profile's last run started.
func (c *Runs) SetScheduleLateness(profile string, late time.Duration) {
	m := gauge(descSchedLateness, late.Seconds(), profile)
	c.mu.Lock()
	c.lateness[profile] = m
	c.touch(profile)
	c.mu.Unlock()
}

// SetLastRun replaces a profile's last-run gauges with those of a completed
// run's document, and counts the run in the profile's objective streaks
// (once, however often its document is published). It is also how gauges
// are restored from the store at start.
func (c *Runs) SetLastRun(doc *result.Document) {
	x := &doc.PerfExporter
	if x.Outcome == result.OutcomeAborted {
		// Cut short by a shutdown (or found after a crash): it measured
		// nothing whole, and the gauges stay those of the last completed
		// run, as they come back after a restart.
		return
	}
	p := x.Profile
	end := doc.StartTime.Add(doc.ActualDuration)
	success := 0.0
	if x.Outcome == result.OutcomeSuccess {
		success = 1
	}
	requested, _ := strconv.ParseFloat(doc.RequestedQPS, 64) // "max" is 0
	ms := []prometheus.Metric{
		gauge(descAchieved, doc.ActualQPS, p),
		gauge(descRequested, requested, p),
		gauge(descErrorRatio, x.ErrorRatio, p),
		gauge(descDuration, doc.ActualDuration.Seconds(), p),
		gauge(descConnections, float64(doc.NumConnections), p),
		gauge(descSuccess, success, p),
		gauge(descLastTimestamp, unixSeconds(end), p),
	}
	ms = appendPercentiles(ms, descLatency, p, doc.DurationHistogram)
	ms = appendPercentiles(ms, descSendLateness, p, x.SendLateness)
	ms = appendPercentiles(ms, descCorrected, p, x.CorrectedDurationHistogram)
	for _, env := range x.Environment {
		if env.Error == "" {
			ms = append(ms, gauge(descEnvironment, env.Avg, p, env.Set, env.Name))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastRun[p] = ms
	c.touch(p)
	c.countMisses(doc)
	if success == 1 {
		c.lastOK[p] = gauge(descLastSuccess, unixSeconds(end), p)
	} else if _, ok := c.lastOK[p]; !ok {
		// Never succeeded (since the store's memory): 0 lets alerts tell
		// "never" from "not exported".
		c.lastOK[p] = gauge(descLastSuccess, 0, p)
	}
}

// SetLastSuccess restores the last successful run's end time at start.
func (c *Runs) SetLastSuccess(profile string, end time.Time) {
	c.mu.Lock()
	c.lastOK[profile] = gauge(descLastSuccess, unixSeconds(end), profile)
	c.touch(profile)
	c.mu.Unlock()
}

// SetBaseline publishes a profile's baseline percentiles (label → seconds).
func (c *Runs) SetBaseline(profile string, percentiles map[string]float64) {
	ms := make([]prometheus.Metric, 0, len(percentiles))
	for label, v := range percentiles {
		ms = append(ms, gauge(descBaseline, v, profile, label))
	}
	c.mu.Lock()
	c.baseline[profile] = ms
	c.touch(profile)
	c.mu.Unlock()
}

func appendPercentiles(ms []prometheus.Metric, desc *prometheus.Desc, profile string, h *stats.HistogramData) []prometheus.Metric {
	if h == nil {
		return ms
	}
	for _, pc := range h.Percentiles {
		ms = append(ms, gauge(desc, pc.Value, profile, result.PercentileLabel(pc.Percentile)))
	}
	return ms
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
