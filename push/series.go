// Package push sends the series of a one-off run (`perf-exporter run`) to
// Prometheus: by remote write, or to a Pushgateway that Prometheus scrapes.
// The series are the daemon's own, built by the collector package on a
// registry of their own, so boards and alert rules see CI runs exactly as
// they see scheduled ones.
package push

import (
	"fmt"
	"maps"
	"regexp"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// DefaultJob is the job label of pushed series unless --label job=... says
// otherwise: the Pushgateway groups by it, and remote-written series carry
// it so the two ways look alike in Prometheus.
const DefaultJob = "perf-exporter"

// reservedLabels are the labels the per-profile series already use (or
// Prometheus gives a meaning to): an extra label of that name would
// change or shadow them.
var reservedLabels = map[string]bool{
	"profile": true, "code": true, "result": true, "percentile": true, "le": true,
	"engine": true, "protocol": true, "target": true, "shard": true, "set": true, "name": true,
	"instance": true, "__name__": true,
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// CheckLabels tells whether extra labels can go on every pushed series.
func CheckLabels(labels map[string]string) error {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case !labelName.MatchString(k) || len(k) > 1 && k[:2] == "__":
			return fmt.Errorf("label name %q is not a valid Prometheus label name", k)
		case reservedLabels[k]:
			return fmt.Errorf("label %q is set by perf-exporter itself", k)
		case labels[k] == "":
			return fmt.Errorf("label %q has an empty value", k)
		}
	}
	return nil
}

// Series are the per-profile series of one run of one profile, as the
// daemon would export them after that run. Requests are recorded live
// through Observer; Finish adds the run's gauges and outcome.
type Series struct {
	profile string
	runs    *collector.Runs
	reg     *prometheus.Registry
	// labels are the extra labels, job included.
	labels map[string]string
}

// NewSeries prepares the series of a run of p. labels (checked with
// CheckLabels) are added to every series; job defaults to DefaultJob.
func NewSeries(p config.Profile, labels map[string]string) (*Series, error) {
	if err := CheckLabels(labels); err != nil {
		return nil, err
	}
	all := map[string]string{"job": DefaultJob}
	maps.Copy(all, labels)
	runs := collector.NewRuns()
	// Every outcome starts at 0, as in the daemon: the first push (before
	// the run) then lets increase() see this run's outcome.
	runs.SetProfiles([]config.Profile{p}, nil)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(runs); err != nil {
		return nil, err
	}
	return &Series{profile: p.Name, runs: runs, reg: reg, labels: all}, nil
}

// Observer records the run's requests live.
func (s *Series) Observer() result.Observer { return s.runs.Observer(s.profile) }

// Finish publishes a completed run: bulk is the engine's measurement when
// the engine reported only at the end (wrk, Nighthawk), else nil.
func (s *Series) Finish(doc *result.Document, bulk *result.Measurement) {
	if bulk != nil {
		s.runs.RecordBulk(s.profile, bulk)
	}
	s.runs.SetLastRun(doc)
	s.runs.CountOutcome(s.profile, doc.PerfExporter.Outcome)
}

// Gather returns the series as metric families, without the extra labels.
func (s *Series) Gather() ([]*dto.MetricFamily, error) { return s.reg.Gather() }

// Labels are the extra labels of every series, job included.
func (s *Series) Labels() map[string]string {
	out := make(map[string]string, len(s.labels))
	maps.Copy(out, s.labels)
	return out
}

// Profile is the profile label of the series.
func (s *Series) Profile() string { return s.profile }
