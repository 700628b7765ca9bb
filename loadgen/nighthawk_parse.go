package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// nighthawkOutput is nighthawk_client's --output-format json: the
// nighthawk.client.Output proto in proto3 JSON (snake_case names, 64-bit
// integers as strings, durations as "0.054s"), one result per worker plus
// "global", their sum.
type nighthawkOutput struct {
	Options   *nighthawkOptions `json:"options"`
	Results   []nighthawkResult `json:"results"`
	Timestamp string            `json:"timestamp"`
	// DurationHistogram is set instead when the file is Nighthawk's fortio
	// format (--output-format fortio).
	DurationHistogram json.RawMessage `json:"DurationHistogram"`
}

type nighthawkOptions struct {
	RequestsPerSecond protoInt    `json:"requests_per_second"`
	Connections       protoInt    `json:"connections"`
	Concurrency       protoString `json:"concurrency"`
	Duration          string      `json:"duration"`
	H2                bool        `json:"h2"`
	URI               string      `json:"uri"`
}

type nighthawkResult struct {
	Name              string               `json:"name"`
	Statistics        []nighthawkStatistic `json:"statistics"`
	Counters          []nighthawkCounter   `json:"counters"`
	ExecutionDuration string               `json:"execution_duration"`
	ExecutionStart    string               `json:"execution_start"`
}

type nighthawkStatistic struct {
	ID          string                `json:"id"`
	Count       protoInt              `json:"count"`
	Percentiles []nighthawkPercentile `json:"percentiles"`
	Mean        string                `json:"mean"`
	Pstdev      string                `json:"pstdev"`
	Min         string                `json:"min"`
	Max         string                `json:"max"`
}

type nighthawkPercentile struct {
	Percentile float64  `json:"percentile"`
	Count      protoInt `json:"count"`
	Duration   string   `json:"duration"`
}

type nighthawkCounter struct {
	Name  string   `json:"name"`
	Value protoInt `json:"value"`
}

// Nighthawk statistic and counter names this reader uses.
const (
	nighthawkLatencyStat  = "benchmark_http_client.request_to_response"
	nighthawkBlockingStat = "sequencer.blocking"
	nighthawkRequests     = "upstream_rq_total"
	nighthawkOverflow     = "benchmark.pool_overflow"
	nighthawkConnFailure  = "benchmark.pool_connection_failure"
	nighthawkStreamResets = "benchmark.stream_resets"
)

// nighthawkClasses maps Nighthawk's status counters to code labels.
// Nighthawk counts responses by status class only, so its labels are the
// classes ("5xx"), as for wrk; "xxx" holds statuses outside 100-599.
var nighthawkClasses = []struct{ counter, label string }{
	{"benchmark.http_1xx", "1xx"},
	{"benchmark.http_2xx", "2xx"},
	{"benchmark.http_3xx", "3xx"},
	{"benchmark.http_4xx", "4xx"},
	{"benchmark.http_5xx", "5xx"},
	{"benchmark.http_xxx", "xxx"},
}

// parseNighthawk reads nighthawk_client output: its JSON format, or its
// fortio format (which `transform --from nighthawk` may also meet).
func parseNighthawk(data []byte, percentiles []float64) (*result.Measurement, error) {
	body, err := jsonObject(data)
	if err != nil {
		return nil, err
	}
	var out nighthawkOutput
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&out); err != nil {
		return nil, fmt.Errorf("not Nighthawk JSON: %w", err)
	}
	if out.Results == nil && out.DurationHistogram != nil {
		return parseFortioJSON(body, config.EngineNighthawk, percentiles)
	}
	if len(out.Results) == 0 {
		return nil, errors.New(`no "results": not Nighthawk output (nighthawk_client --output-format json or fortio)`)
	}
	return out.result(percentiles)
}

func (out *nighthawkOutput) result(percentiles []float64) (*result.Measurement, error) {
	global, workers, err := out.global()
	if err != nil {
		return nil, err
	}
	counters := map[string]int64{}
	for _, c := range global.Counters {
		counters[c.Name] += int64(c.Value)
	}
	latency, hasLatency := global.statistic(nighthawkLatencyStat)
	_, hasRequests := counters[nighthawkRequests]
	benchmarkCounters := false
	for name := range counters {
		benchmarkCounters = benchmarkCounters || strings.HasPrefix(name, "benchmark.")
	}
	if !hasLatency && !hasRequests && !benchmarkCounters {
		return nil, fmt.Errorf("the %q result has no %s statistic and no benchmark counters: not the output of a Nighthawk benchmark", global.Name, nighthawkLatencyStat)
	}

	r := &result.Measurement{Engine: config.EngineNighthawk, Protocol: config.ProtocolHTTP1, Codes: map[string]int64{}}
	var responses int64
	for _, c := range nighthawkClasses {
		if n := counters[c.counter]; n > 0 {
			r.Codes[c.label] = n
			responses += n
		}
	}
	if failed := counters[nighthawkOverflow] + counters[nighthawkConnFailure] + counters[nighthawkStreamResets]; failed > 0 {
		r.Codes[result.CodeError] = failed
		// Nighthawk counts its failures by kind: those are the reasons.
		r.ErrorReasons = map[string]int64{}
		for counter, reason := range map[string]string{nighthawkOverflow: "pool overflow (every connection busy)",
			nighthawkConnFailure: "connection failure", nighthawkStreamResets: "stream reset"} {
			if n := counters[counter]; n > 0 {
				r.ErrorReasons[reason] = n
			}
		}
	}
	if n := counters[nighthawkOverflow]; n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d requests were not sent because every connection was busy (%s); they are counted under code %q", n, nighthawkOverflow, result.CodeError))
	}

	maxRate := false
	if o := out.Options; o != nil {
		r.RequestedQPS = float64(o.RequestsPerSecond) * float64(workers)
		// The rate the Nighthawk engine asks for when a profile wants no
		// limit: the run went as fast as its connections allowed.
		if o.RequestsPerSecond >= nighthawkMaxRPS {
			r.RequestedQPS, maxRate = 0, true
		}
		r.Connections = int(min(int64(o.Connections)*int64(workers), 1<<31-1))
		if o.Duration != "" {
			d, err := parseProtoDuration(o.Duration)
			if err != nil {
				return nil, fmt.Errorf("options.duration: %w", err)
			}
			r.RequestedDuration = d
		}
		if o.H2 {
			r.Protocol = config.ProtocolHTTP2
		}
		if uri := o.URI; uri != "" {
			if !strings.Contains(uri, "://") {
				uri = "http://" + uri
			}
			r.URL = config.PublicURL(uri)
		}
	}
	r.ActualDuration = r.RequestedDuration
	if global.ExecutionDuration != "" {
		d, err := parseProtoDuration(global.ExecutionDuration)
		if err != nil {
			return nil, fmt.Errorf("%s: execution_duration: %w", global.Name, err)
		}
		r.ActualDuration = d
	}
	// The achieved rate is of responses, as for every engine: requests
	// sent (upstream_rq_total) include those reset or never answered.
	if r.ActualDuration > 0 {
		r.ActualQPS = float64(responses) / r.ActualDuration.Seconds()
	}
	if err := out.startTime(r, global); err != nil {
		return nil, err
	}

	if !hasLatency {
		r.Latency = &stats.HistogramData{}
		r.Notes = append(r.Notes, fmt.Sprintf("the output has no %s statistic: no latency was measured", nighthawkLatencyStat))
		return r, nil
	}
	h, notes, err := latency.histogram(percentiles)
	if err != nil {
		return nil, fmt.Errorf("%s: statistic %s: %w", global.Name, latency.ID, err)
	}
	r.Latency = h
	r.Notes = append(r.Notes, notes...)
	if h.Count < responses {
		r.Notes = append(r.Notes, fmt.Sprintf("Nighthawk's latency statistic holds %d of the %d responses", h.Count, responses))
	}
	if blocking, ok := global.statistic(nighthawkBlockingStat); ok && blocking.Count > 0 && !maxRate {
		r.Notes = append(r.Notes, fmt.Sprintf("Nighthawk's sequencer was blocked %d times: requests could not leave on schedule (all connections busy), so the rate asked for was not held and, in Nighthawk's words, results are skewed", int64(blocking.Count)))
	}
	return r, nil
}

// global returns the "global" result and the number of workers.
func (out *nighthawkOutput) global() (*nighthawkResult, int, error) {
	var global *nighthawkResult
	workers := 0
	for i := range out.Results {
		if out.Results[i].Name == "global" {
			global = &out.Results[i]
		} else {
			workers++
		}
	}
	switch {
	case global != nil:
		return global, max(workers, 1), nil
	case len(out.Results) == 1:
		return &out.Results[0], 1, nil
	}
	return nil, 0, fmt.Errorf(`no "global" result among %d worker results`, len(out.Results))
}

func (out *nighthawkOutput) startTime(r *result.Measurement, global *nighthawkResult) error {
	start := global.ExecutionStart
	for i := 0; start == "" && i < len(out.Results); i++ {
		start = out.Results[i].ExecutionStart
	}
	if start != "" {
		t, err := time.Parse(time.RFC3339Nano, start)
		if err != nil {
			return fmt.Errorf("execution_start %q: %w", start, err)
		}
		r.StartTime = t
		return nil
	}
	if out.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, out.Timestamp)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", out.Timestamp, err)
		}
		// The timestamp is when the output was written, at the end.
		r.StartTime = t.Add(-r.ActualDuration)
	}
	return nil
}

func (res *nighthawkResult) statistic(id string) (*nighthawkStatistic, bool) {
	for i := range res.Statistics {
		if res.Statistics[i].ID == id {
			return &res.Statistics[i], true
		}
	}
	return nil, false
}

// histogram turns a latency statistic into fortio's histogram form, with
// buckets from its percentile spectrum.
func (s *nighthawkStatistic) histogram(percentiles []float64) (*stats.HistogramData, []string, error) {
	rows := make([]spectrumRow, 0, len(s.Percentiles))
	for i, p := range s.Percentiles {
		if p.Duration == "" {
			return nil, nil, fmt.Errorf("percentile %g has no duration", p.Percentile)
		}
		d, err := parseProtoDuration(p.Duration)
		if err != nil {
			return nil, nil, fmt.Errorf("percentile %g: %w", p.Percentile, err)
		}
		row := spectrumRow{value: d.Seconds(), count: int64(p.Count)}
		if i > 0 && (row.count < rows[i-1].count || row.value < rows[i-1].value) {
			return nil, nil, fmt.Errorf("percentile %g goes below the one before it", p.Percentile)
		}
		rows = append(rows, row)
	}
	h := spectrumHistogram(rows)
	var notes []string
	switch n := int64(s.Count); {
	case len(rows) == 0:
		h.Count = n
	case n > 0 && n != h.Count:
		notes = append(notes, fmt.Sprintf("statistic %s counts %d values but its percentiles end at %d: the percentiles' count is used", s.ID, n, h.Count))
	}
	for _, f := range []struct {
		name string
		raw  string
		dst  *float64
	}{{"mean", s.Mean, &h.Avg}, {"pstdev", s.Pstdev, &h.StdDev}, {"min", s.Min, &h.Min}, {"max", s.Max, &h.Max}} {
		if f.raw == "" {
			continue
		}
		d, err := parseProtoDuration(f.raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = d.Seconds()
	}
	h.Sum = h.Avg * float64(h.Count)
	h.Percentiles, _ = pickPercentiles(percentiles, nil, rows)
	return h, notes, nil
}

// parseProtoDuration reads a proto3 JSON duration: seconds with up to nine
// decimals and an "s" ("0.000180007s", "15s").
func parseProtoDuration(s string) (time.Duration, error) {
	num, ok := strings.CutSuffix(s, "s")
	if !ok || num == "" || strings.ContainsAny(num, "eEnNiIxXpP_+") {
		return 0, fmt.Errorf("%q is not a duration like \"1.5s\"", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !finite(v) || v < 0 || v > maxSeconds {
		return 0, fmt.Errorf("%q is not a duration like \"1.5s\"", s)
	}
	return secondsDuration(v), nil
}

// protoInt is a proto3 JSON 64-bit integer: a string ("53"), or a number
// from writers that do not follow the mapping to the letter.
type protoInt int64

func (p *protoInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	if n, err := parseCount(s); err == nil {
		*p = protoInt(n)
		return nil
	}
	// An integral number written as a float ("53.0", "5.3e1").
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(f) || f < 0 || f > maxCount || f != float64(int64(f)) {
		return fmt.Errorf("%s is not a count", b)
	}
	*p = protoInt(f)
	return nil
}

// protoString is a string field that some writers emit as a number
// (Nighthawk's concurrency: "8" or "auto").
type protoString string

func (p *protoString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = protoString(s)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%s is not a string or a number", b)
	}
	*p = protoString(strconv.FormatFloat(f, 'f', -1, 64))
	return nil
}

// jsonObject finds the JSON object in a tool's saved output and makes it
// strict JSON. Nighthawk's log lines may precede it when stderr was saved
// too, and its output has been seen with trailing commas, which
// encoding/json rejects; both are accepted.
func jsonObject(data []byte) ([]byte, error) {
	start := -1
	for i := 0; i < len(data); {
		line := data[i:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if k := bytes.IndexFunc(line, func(r rune) bool { return r != ' ' && r != '\t' && r != '\r' && r != '\ufeff' }); k >= 0 && line[k] == '{' {
			start = i + k
			break
		}
		i += len(line) + 1
	}
	if start < 0 {
		return nil, errors.New("no JSON object in the output")
	}
	return dropTrailingCommas(data[start:]), nil
}

// dropTrailingCommas removes commas that directly precede '}' or ']'
// outside strings. It runs in one pass over the input.
func dropTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := range b {
		c := b[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
		}
		if c == ',' {
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
