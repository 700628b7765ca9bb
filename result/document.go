package result

import (
	"maps"
	"strconv"
	"time"

	"fortio.org/fortio/stats"
)

// Document is the result document of one run: `run --json`, the results
// API and `transform` all produce it. Its top level is a valid fortio
// HTTPRunnerResults, so `fortio report` can browse our results; what fortio
// has no field for lives under PerfExporter.
type Document struct {
	RunType                 string
	Labels                  string
	StartTime               time.Time
	RequestedQPS            string // a number, or "max"
	RequestedDuration       string
	ActualQPS               float64
	ActualDuration          time.Duration // nanoseconds, as fortio writes it
	NumThreads              int
	Version                 string
	DurationHistogram       *stats.HistogramData
	ErrorsDurationHistogram *stats.HistogramData `json:",omitempty"`
	Exactly                 int64
	Jitter                  bool
	Uniform                 bool
	NoCatchUp               bool
	RunID                   int64
	AccessLoggerInfo        string
	ID                      string
	// RetCodes is keyed like fortio's: HTTP status, -1 for transport errors,
	// gRPC serving status names.
	RetCodes       map[string]int64
	URL            string
	NumConnections int
	SocketCount    int
	Sizes          *stats.HistogramData
	HeaderSizes    *stats.HistogramData

	PerfExporter Extras
}

// Extras is perf-exporter's part of the result document.
type Extras struct {
	RunID    string
	Profile  string
	Engine   string
	Protocol string
	// Outcome is success, slo_missed, failure or aborted.
	Outcome string
	// Error says why a run failed, when it did.
	Error string `json:",omitempty"`
	// Codes counts requests by our code labels ("200", "error", "OK").
	Codes      map[string]int64
	Requests   int64
	ErrorRatio float64
	// ErrorReasons counts the requests that got no response (code "error")
	// by why they failed, where the engine tells: at most MaxErrorReasons
	// entries, redacted.
	ErrorReasons map[string]int64 `json:",omitempty"`
	// Split is the --load.split this replica ran with (1 = alone).
	Split   int               `json:",omitempty"`
	Headers map[string]string `json:",omitempty"` // secret values redacted
	Method  string            `json:",omitempty"`
	// CorrectedDurationHistogram counts latency from each request's intended
	// send time, where the engine measures it.
	CorrectedDurationHistogram *stats.HistogramData `json:",omitempty"`
	SendLateness               *stats.HistogramData `json:",omitempty"`
	Environment                []EnvironmentValue   `json:",omitempty"`
	SLO                        []Verdict            `json:",omitempty"`
	Notes                      []string             `json:",omitempty"`
}

// EnvironmentValue is one environment query evaluated over a run's window.
type EnvironmentValue struct {
	Set        string
	Name       string
	Prometheus string
	Query      string // as run, with template variables filled in
	Avg        float64
	Max        float64
	Error      string `json:",omitempty"`
}

// Verdict is one objective of a profile judged against a run.
type Verdict struct {
	Objective string  // "latency p99" or "error_ratio"
	Target    float64 // seconds for latency, a ratio for errors
	Actual    float64
	Met       bool
}

// DocumentInfo is what a Document needs beyond the Measurement.
type DocumentInfo struct {
	RunID    string
	Profile  string
	Outcome  string
	Error    string
	Split    int
	Method   string
	Headers  map[string]string // already redacted
	Verdicts []Verdict
}

// NewDocument builds the result document of a run.
func NewDocument(r *Measurement, info DocumentInfo) *Document {
	requested := "max"
	if r.RequestedQPS > 0 {
		requested = strconv.FormatFloat(r.RequestedQPS, 'f', -1, 64)
	}
	codes := make(map[string]int64, len(r.Codes))
	maps.Copy(codes, r.Codes)
	latency := r.Latency
	if latency == nil {
		latency = &stats.HistogramData{}
	}
	return &Document{
		RunType:           runType(r.Protocol),
		Labels:            info.Profile,
		StartTime:         r.StartTime,
		RequestedQPS:      requested,
		RequestedDuration: r.RequestedDuration.String(),
		ActualQPS:         r.ActualQPS,
		ActualDuration:    r.ActualDuration,
		NumThreads:        r.Connections,
		Version:           r.Engine,
		DurationHistogram: latency,
		ID:                info.RunID,
		RetCodes:          FortioRetCodes(r.Codes, r.Protocol),
		URL:               r.URL,
		NumConnections:    r.Connections,
		Sizes:             &stats.HistogramData{},
		HeaderSizes:       &stats.HistogramData{},
		PerfExporter: Extras{
			RunID:                      info.RunID,
			Profile:                    info.Profile,
			Engine:                     r.Engine,
			Protocol:                   r.Protocol,
			Outcome:                    info.Outcome,
			Error:                      info.Error,
			Codes:                      codes,
			Requests:                   r.Requests(),
			ErrorRatio:                 r.ErrorRatio(),
			ErrorReasons:               r.ErrorReasons,
			Split:                      info.Split,
			Headers:                    info.Headers,
			Method:                     info.Method,
			CorrectedDurationHistogram: r.Corrected,
			SendLateness:               r.SendLateness,
			SLO:                        info.Verdicts,
			Notes:                      r.Notes,
		},
	}
}

func runType(protocol string) string {
	if protocol == "grpc" {
		return "GRPC"
	}
	return "HTTP"
}
