// Package environment reads what a load test cost from Prometheus: node,
// Kubernetes and service-mesh resource use over each run's window, from one
// or more configured Prometheus servers. It also tests the connection to
// each server and exports perf_prometheus_up.
//
// Nothing here can fail or delay a run: evaluation happens after the run's
// own result is out, is bounded in time, and a server that is down only
// leaves values missing.
package environment

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
)

// DefaultQueryTimeout bounds the queries of one evaluation (after the wait
// for the last scrape) and one connectivity check of a source.
const DefaultQueryTimeout = 30 * time.Second

// Options tune an Environment; the zero value is the defaults.
type Options struct {
	// QueryTimeout replaces DefaultQueryTimeout when positive.
	QueryTimeout time.Duration
}

// Environment holds the configured Prometheus sources and query sets, and
// the last known health of each source. It is safe for concurrent use and
// survives config reloads (ApplyConfig), so it can be registered once as
// the collector of perf_prometheus_up.
type Environment struct {
	logger  *slog.Logger
	timeout time.Duration
	upDesc  *prometheus.Desc

	mu      sync.Mutex
	sources []*source // in config order: the first is the default
	sets    map[string]Set
	margin  time.Duration
	// health is the last outcome per source name, kept across reloads.
	health map[string]health
	// queryErrors is the last error logged per profile/set/query, so a
	// query that keeps failing is logged once, not every run.
	queryErrors map[string]string
}

// health is the last outcome of a check or query of one source.
type health struct {
	up     bool
	reason Reason
	err    string // redacted
}

// New builds an Environment from a validated config. Sources whose client
// cannot be built are kept and report ReasonConfig on use. A nil logger
// discards.
func New(cfg *config.Config, logger *slog.Logger, opts Options) *Environment {
	timeout := opts.QueryTimeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Environment{
		logger:  logger,
		timeout: timeout,
		upDesc: prometheus.NewDesc("perf_prometheus_up",
			"1 if the last query or connectivity check of this Prometheus source succeeded, 0 if it failed.",
			[]string{"prometheus"}, nil),
		health:      map[string]health{},
		queryErrors: map[string]string{},
	}
	e.ApplyConfig(cfg)
	return e
}

// ApplyConfig replaces the sources, sets and window margin. The health of
// sources that keep their name is kept; removed sources disappear from
// perf_prometheus_up.
func (e *Environment) ApplyConfig(cfg *config.Config) {
	sources := make([]*source, 0, len(cfg.Prometheus))
	for _, s := range cfg.Prometheus {
		sources = append(sources, newSource(s))
	}
	sets := map[string]Set{}
	for _, s := range BuiltinSets() {
		sets[s.Name] = s
	}
	// A user set of a built-in's name replaces it: the way to adapt a
	// built-in to a cluster whose labels differ.
	for name, queries := range cfg.EnvironmentSets {
		set := Set{Name: name}
		for _, q := range queries {
			set.Queries = append(set.Queries, Query{Name: q.Name, Template: q.Expr(), Prometheus: q.Prometheus})
		}
		sets[name] = set
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.sources = sources
	e.sets = sets
	e.margin = cfg.Global.EnvironmentWindow.Margin.D()
	health := map[string]health{}
	for _, s := range sources {
		if h, ok := e.health[s.name]; ok {
			health[s.name] = h
		}
	}
	e.health = health
	e.queryErrors = map[string]string{}
	for _, s := range sources {
		if s.buildErr != nil {
			e.recordLocked(s.name, ReasonConfig, s.buildErr.Error())
		}
	}
}

// snapshot returns what one evaluation or check works with, so a reload
// in the middle does not mix two configs.
func (e *Environment) snapshot() ([]*source, map[string]Set, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sources, e.sets, e.margin
}

// record keeps the outcome of a check or of one evaluation's queries of a
// source, and logs only changes: a server that stays down is reported
// once, with the reason, not on every run.
func (e *Environment) record(name string, reason Reason, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.recordLocked(name, reason, msg)
}

func (e *Environment) recordLocked(name string, reason Reason, msg string) {
	known := false
	for _, s := range e.sources {
		known = known || s.name == name
	}
	if !known {
		return // removed by a reload while it was being queried
	}
	prev, seen := e.health[name]
	now := health{up: true}
	if reason.ServerDown() {
		now = health{reason: reason, err: msg}
	}
	e.health[name] = now
	switch {
	case !now.up && (!seen || prev.up || prev.reason != now.reason):
		e.logger.Error("prometheus source failed; its environment values are missing until it answers",
			"prometheus", name, "reason", string(reason), "err", msg)
	case now.up && seen && !prev.up:
		e.logger.Info("prometheus source answers again", "prometheus", name)
	}
}

// logQueryError logs a query's error when it differs from the last one
// logged for the same profile, set and query.
func (e *Environment) logQueryError(profile string, v valueKey, reason Reason, msg string) {
	key := profile + "\x00" + v.set + "\x00" + v.name
	e.mu.Lock()
	defer e.mu.Unlock()
	if msg == "" {
		delete(e.queryErrors, key)
		return
	}
	if e.queryErrors[key] == msg {
		return
	}
	e.queryErrors[key] = msg
	e.logger.Warn("environment query failed", "profile", profile, "set", v.set, "query", v.name, "reason", string(reason), "err", msg)
}

// Describe implements prometheus.Collector.
func (e *Environment) Describe(ch chan<- *prometheus.Desc) { ch <- e.upDesc }

// Collect implements prometheus.Collector: perf_prometheus_up for every
// source with a known outcome. A source not yet checked or queried has no
// sample rather than a made-up one.
func (e *Environment) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.sources {
		h, ok := e.health[s.name]
		if !ok {
			continue
		}
		v := 0.0
		if h.up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(e.upDesc, prometheus.GaugeValue, v, s.name)
	}
}
