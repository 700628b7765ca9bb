package web

import (
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// runPercentilePlot is the run's latency by percentile, measured and, where
// the engine measures it, corrected: where the two part is coordinated
// omission.
func runPercentilePlot(d *result.Document) *percentilePlot {
	series := []plotSeries{{Label: "measured", RunID: d.PerfExporter.RunID, Hist: d.DurationHistogram}}
	if c := d.PerfExporter.CorrectedDurationHistogram; c != nil {
		series = append(series, plotSeries{Label: "corrected", RunID: d.PerfExporter.RunID, Dashed: true, Hist: c})
	}
	return newPercentilePlot(series, true)
}

// notMeasured is what an external engine's run lacks that a fortio run
// has, so an empty section is not read as "nothing happened".
func notMeasured(d *result.Document) []string {
	x := d.PerfExporter
	if x.Engine == "" || x.Engine == config.EngineFortio {
		return nil
	}
	var out []string
	if x.CorrectedDurationHistogram == nil {
		out = append(out, "latency from each request's intended send time (coordinated omission)")
	}
	if x.SendLateness == nil {
		out = append(out, "how late requests left (send lateness)")
	}
	switch x.Engine {
	case config.EngineWrk, config.EngineWrk2:
		out = append(out, "status codes: only below 400 (2xx) or not (4xx_5xx)")
	case config.EngineNighthawk:
		out = append(out, "status codes: only their classes (1xx … 5xx)")
	}
	if len(x.ErrorReasons) == 0 {
		out = append(out, "why requests got no response (only how many)")
	}
	out = append(out, "latency of each request as it happened (its histogram comes at the end of the run)")
	return out
}
