package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// fortioJSON is a fortio result (HTTPRunnerResults or GRPCRunnerResults,
// as `fortio load -json` writes it), read leniently: Nighthawk's fortio
// format writes 64-bit counts as strings and RequestedQPS as a number. Our
// own result documents are fortio results too; their PerfExporter part is
// kept.
type fortioJSON struct {
	RunType           string
	StartTime         string
	RequestedQPS      json.RawMessage
	RequestedDuration string
	ActualQPS         flexFloat
	ActualDuration    protoInt // nanoseconds
	NumThreads        protoInt
	NumConnections    protoInt
	DurationHistogram *fortioHistogram
	RetCodes          map[string]protoInt
	URL               string
	Destination       string // gRPC results
	PerfExporter      *fortioExtras
}

type fortioHistogram struct {
	Count  protoInt
	Min    flexFloat
	Max    flexFloat
	Sum    flexFloat
	Avg    flexFloat
	StdDev flexFloat
	Data   []struct {
		Start, End, Percent flexFloat
		Count               protoInt
	}
	Percentiles []struct{ Percentile, Value flexFloat }
}

// fortioExtras is the part of our result.Extras a transform keeps.
type fortioExtras struct {
	Engine                     string
	Protocol                   string
	Outcome                    string
	Codes                      map[string]protoInt
	ErrorReasons               map[string]protoInt
	CorrectedDurationHistogram *fortioHistogram
	SendLateness               *fortioHistogram
	Notes                      []string
}

// Code labels from outside must stay a small set: an HTTP status, a gRPC
// code or serving status name, a status class, or result.CodeError.
var codeLabel = regexp.MustCompile(`^([1-9][0-9x]{2}|[A-Z][A-Z_]{0,31}|4xx_5xx|error)$`)

// grpcHealthStatus names the serving statuses old fortio versions wrote as
// numbers (grpc.health.v1.HealthCheckResponse.ServingStatus).
var grpcHealthStatus = map[string]string{"0": "UNKNOWN", "1": "SERVING", "2": "NOT_SERVING", "3": "SERVICE_UNKNOWN"}

// parseFortioJSON reads a fortio result. engine names the tool that wrote it
// (fortio, or nighthawk for Nighthawk's fortio format).
func parseFortioJSON(data []byte, engine string, percentiles []float64) (*result.Measurement, error) {
	body, err := jsonObject(data)
	if err != nil {
		return nil, err
	}
	var in fortioJSON
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		return nil, fmt.Errorf("not a fortio result: %w", err)
	}
	if in.DurationHistogram == nil {
		return nil, errors.New("no DurationHistogram: not a fortio result")
	}
	grpc := strings.HasPrefix(in.RunType, "GRPC")
	r := &result.Measurement{
		Engine:         engine,
		Protocol:       config.ProtocolHTTP1,
		URL:            in.URL,
		ActualQPS:      float64(in.ActualQPS),
		ActualDuration: time.Duration(in.ActualDuration),
		Connections:    int(min(int64(in.NumThreads), 1<<31-1)),
	}
	// Fortio's threads are its connections; NumConnections is a per-thread
	// client setting, used only when NumThreads is missing.
	if r.Connections == 0 {
		r.Connections = int(min(int64(in.NumConnections), 1<<31-1))
	}
	if grpc {
		r.Protocol, r.URL = config.ProtocolGRPC, in.Destination
	}
	if r.URL != "" {
		r.URL = config.PublicURL(r.URL)
	}
	if in.StartTime != "" {
		t, err := time.Parse(time.RFC3339Nano, in.StartTime)
		if err != nil {
			return nil, fmt.Errorf("StartTime %q: %w", in.StartTime, err)
		}
		r.StartTime = t
	}
	if r.RequestedQPS, err = requestedQPS(in.RequestedQPS); err != nil {
		return nil, err
	}
	// "until stop" or "N calls" are not durations: left at zero.
	if d, err := time.ParseDuration(in.RequestedDuration); err == nil && d > 0 {
		r.RequestedDuration = d
	}
	if r.ActualDuration > 0 && r.ActualDuration < time.Millisecond {
		r.Notes = append(r.Notes, fmt.Sprintf("ActualDuration %d is read as nanoseconds, as fortio writes it, which is too short for a real run: the writer may have meant seconds", int64(in.ActualDuration)))
	}

	if r.Codes, err = fortioCodes(in.RetCodes, grpc); err != nil {
		return nil, err
	}
	var notes []string
	if r.Latency, notes, err = in.DurationHistogram.data("DurationHistogram", percentiles); err != nil {
		return nil, err
	}
	r.Notes = append(r.Notes, notes...)
	if in.PerfExporter == nil {
		r.Notes = append(r.Notes, responsesOnly(r)...)
	}
	if x := in.PerfExporter; x != nil {
		if x.Engine != "" {
			r.Engine = x.Engine
		}
		if x.Protocol != "" {
			r.Protocol = x.Protocol
		}
		if len(x.Codes) > 0 {
			codes := make(map[string]int64, len(x.Codes))
			for code, n := range x.Codes {
				if !codeLabel.MatchString(code) {
					return nil, fmt.Errorf("PerfExporter.Codes: %q is not a status code", code)
				}
				codes[code] = int64(n)
			}
			r.Codes = codes
		}
		if len(x.ErrorReasons) > 0 {
			reasons := make(map[string]int64, len(x.ErrorReasons))
			for reason, n := range x.ErrorReasons {
				reasons[reason] = int64(n)
			}
			r.ErrorReasons = result.BoundReasons(reasons)
		}
		if x.CorrectedDurationHistogram != nil {
			if r.Corrected, notes, err = x.CorrectedDurationHistogram.data("PerfExporter.CorrectedDurationHistogram", percentiles); err != nil {
				return nil, err
			}
			r.Notes = append(r.Notes, notes...)
		}
		if x.SendLateness != nil {
			if r.SendLateness, notes, err = x.SendLateness.data("PerfExporter.SendLateness", percentiles); err != nil {
				return nil, err
			}
			r.Notes = append(r.Notes, notes...)
		}
		r.Aborted = x.Outcome == result.OutcomeAborted
		r.Notes = append(r.Notes, x.Notes...)
	}
	return r, nil
}

// responsesOnly brings a fortio result to our definitions, where its
// requests that got no response (RetCodes -1) allow: fortio counts them in
// ActualQPS and DurationHistogram, our rate and latency are of responses.
// The rate is recomputed; a run where nothing answered has no latency. In a
// mixed run fortio's histogram cannot be split (its ErrorsDurationHistogram
// also holds non-2xx responses), so its latency is kept with a note.
func responsesOnly(r *result.Measurement) []string {
	failed := r.Codes[result.CodeError]
	if failed == 0 {
		return nil
	}
	responses := r.Responses()
	notes := []string{fmt.Sprintf("fortio's ActualQPS %.4g counts the %d requests that got no response; the rate here is of the %d responses", r.ActualQPS, failed, responses)}
	r.ActualQPS = 0
	if s := r.ActualDuration.Seconds(); s > 0 {
		r.ActualQPS = float64(responses) / s
	}
	if responses == 0 {
		r.Latency = &stats.HistogramData{}
		return append(notes, "no request got a response: fortio's DurationHistogram (the time each took to fail) is left out")
	}
	return append(notes, fmt.Sprintf("fortio's DurationHistogram includes the %d requests that got no response (fortio does not tell their latency apart): its percentiles count their time to fail", failed))
}

func requestedQPS(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw) // Nighthawk's fortio format writes a number
	}
	if s == "max" || s == "" {
		return 0, nil
	}
	q, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(q) || q < 0 {
		return 0, fmt.Errorf("RequestedQPS %s is neither a rate nor \"max\"", raw)
	}
	return q, nil
}

// fortioCodes turns fortio's RetCodes into code labels: -1 (a transport
// error) becomes result.CodeError, old numeric gRPC serving statuses their names.
func fortioCodes(retCodes map[string]protoInt, grpc bool) (map[string]int64, error) {
	codes := make(map[string]int64, len(retCodes))
	keys := slices.Sorted(maps.Keys(retCodes))
	for _, k := range keys {
		label := k
		if n, err := strconv.Atoi(k); err == nil && n < 0 {
			label = result.CodeError
		} else if name, ok := grpcHealthStatus[k]; ok && grpc {
			label = name
		} else if !codeLabel.MatchString(k) {
			return nil, fmt.Errorf("RetCodes: %q is not a status code", k)
		}
		codes[label] += int64(retCodes[k])
	}
	return codes, nil
}

// data converts the histogram, keeping the percentiles fortio printed and
// adding those asked for, computed from the buckets as fortio computes them.
func (fh *fortioHistogram) data(name string, percentiles []float64) (*stats.HistogramData, []string, error) {
	h := &stats.HistogramData{
		Count: int64(fh.Count), Min: float64(fh.Min), Max: float64(fh.Max),
		Sum: float64(fh.Sum), Avg: float64(fh.Avg), StdDev: float64(fh.StdDev),
	}
	var total int64
	for _, b := range fh.Data {
		total += int64(b.Count)
	}
	// Percent is recomputed from the counts: Nighthawk's fortio format
	// writes the spectrum's percentile there, not the cumulative share.
	var cum int64
	for i, b := range fh.Data {
		if b.End < b.Start || b.Start < 0 {
			return nil, nil, fmt.Errorf("%s: bucket %d spans %g to %g", name, i, float64(b.Start), float64(b.End))
		}
		cum += int64(b.Count)
		bucket := stats.Bucket{Interval: stats.Interval{Start: float64(b.Start), End: float64(b.End)}, Count: int64(b.Count)}
		if total > 0 {
			bucket.Percent = 100 * float64(cum) / float64(total)
		}
		h.Data = append(h.Data, bucket)
	}
	var notes []string
	if len(h.Data) > 0 && h.Count != total {
		if h.Count != 0 {
			notes = append(notes, fmt.Sprintf("%s.Count is %d but its buckets hold %d: the buckets' count is used", name, h.Count, total))
		}
		h.Count = total
	}
	if len(h.Data) > 0 && h.Min == 0 && h.Max == 0 {
		h.Min, h.Max = h.Data[0].Start, h.Data[len(h.Data)-1].End
	}
	var printed []stats.Percentile
	for _, p := range fh.Percentiles {
		printed = append(printed, stats.Percentile{Percentile: float64(p.Percentile), Value: float64(p.Value)})
	}
	want := append([]float64(nil), percentiles...)
	for _, p := range printed {
		if !containsFloat(want, p.Percentile) {
			want = append(want, p.Percentile)
		}
	}
	sort.Float64s(want)
	for _, p := range want {
		if v, ok := printedPercentile(printed, p); ok {
			h.Percentiles = append(h.Percentiles, stats.Percentile{Percentile: p, Value: v})
			continue
		}
		if total > 0 && h.Count > 0 {
			if v := h.CalcPercentile(p); finite(v) {
				h.Percentiles = append(h.Percentiles, stats.Percentile{Percentile: p, Value: v})
			}
		}
	}
	return h, notes, nil
}

func containsFloat(fs []float64, f float64) bool {
	return slices.ContainsFunc(fs, func(x float64) bool { return math.Abs(x-f) < 1e-9 })
}

// flexFloat is a JSON number that may also come as a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(v) {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = flexFloat(v)
	return nil
}
