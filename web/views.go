package web

import (
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// ProfileView is a profile as the API shows it: never a secret header
// value, user info or query string.
type ProfileView struct {
	Name        string            `json:"name"`
	Schedule    string            `json:"schedule"`
	Engine      string            `json:"engine"`
	Protocol    string            `json:"protocol"`
	Target      string            `json:"target"`
	Method      string            `json:"method"`
	Headers     map[string]string `json:"headers,omitempty"`
	QPS         float64           `json:"qps"`
	Connections int               `json:"connections"`
	Duration    string            `json:"duration"`
	Environment []string          `json:"environment,omitempty"`
	Running     bool              `json:"running"`
	NextRun     *time.Time        `json:"next_run,omitempty"`
	LastRun     *RunView          `json:"last_run,omitempty"`
}

// RunView is the summary of one run.
type RunView struct {
	RunID       string             `json:"run_id"`
	Outcome     string             `json:"outcome"`
	Error       string             `json:"error,omitempty"`
	Start       time.Time          `json:"start"`
	Duration    float64            `json:"duration_seconds"`
	Requests    int64              `json:"requests"`
	AchievedRPS float64            `json:"achieved_rps"`
	ErrorRatio  float64            `json:"error_ratio"`
	Latency     map[string]float64 `json:"latency_seconds"`
}

// LatencyText formats a percentile of the run for the pages: "no
// response" when requests were sent and none was answered (nothing to
// measure, which a number would hide), "–" when it was not measured.
func (v RunView) LatencyText(label string) string {
	if len(v.Latency) == 0 && v.Requests > 0 {
		return "no response"
	}
	return latencyOf(v.Latency, label)
}

func profileViews(statuses []ProfileStatus) []ProfileView {
	out := make([]ProfileView, 0, len(statuses))
	for _, st := range statuses {
		p := st.Profile
		v := ProfileView{
			Name: p.Name, Schedule: p.Schedule, Engine: p.Engine, Protocol: p.Target.Protocol,
			Target: config.PublicURL(p.Target.URL), Method: p.Target.Method, Headers: p.Target.PublicHeaders(),
			QPS: p.Load.QPS, Connections: p.Load.Connections, Duration: p.Load.Duration.String(),
			Environment: p.Environment, Running: st.Running,
		}
		if !st.Next.IsZero() {
			next := st.Next
			v.NextRun = &next
		}
		if st.Last != nil {
			v.LastRun = runView(st.Last)
		}
		out = append(out, v)
	}
	return out
}

func runView(d *result.Document) *RunView {
	v := &RunView{
		RunID: d.PerfExporter.RunID, Outcome: d.PerfExporter.Outcome, Error: d.PerfExporter.Error,
		Start: d.StartTime, Duration: d.ActualDuration.Seconds(), Requests: d.PerfExporter.Requests,
		AchievedRPS: d.ActualQPS, ErrorRatio: d.PerfExporter.ErrorRatio, Latency: map[string]float64{},
	}
	if d.DurationHistogram != nil {
		for _, pc := range d.DurationHistogram.Percentiles {
			v.Latency[result.PercentileLabel(pc.Percentile)] = pc.Value
		}
	}
	return v
}
