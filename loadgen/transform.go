package loadgen

import (
	"fmt"
	"io"
	"strings"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// TransformFormats are the saved outputs ParseOutput reads: what
// `fortio load -json`, wrk, wrk2 and nighthawk_client print.
func TransformFormats() []string {
	return []string{config.EngineFortio, config.EngineWrk, config.EngineWrk2, config.EngineNighthawk}
}

// maxTransformInput bounds a saved output; real ones are kilobytes to a
// few megabytes.
const maxTransformInput = 64 << 20

// ParseOutput reads the saved output of an engine into a Result, with the
// given latency percentiles (plus, for fortio results, those the file
// already lists):
//
//   - fortio: a fortio JSON result (`fortio load -json`, the REST API, or
//     one of our result documents, whose PerfExporter part is kept);
//   - wrk, wrk2: the text report, including interrupted runs;
//   - nighthawk: nighthawk_client's JSON, or its fortio format.
//
// What a saved output cannot tell (a wrk run's start time, the rate wrk2
// was asked for) stays zero and the Result's notes say so.
func ParseOutput(from string, r io.Reader, percentiles []float64) (*result.Measurement, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTransformInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s output: %w", from, err)
	}
	if len(data) > maxTransformInput {
		return nil, fmt.Errorf("%s output is larger than %d MiB", from, maxTransformInput>>20)
	}
	var res *result.Measurement
	switch from {
	case config.EngineFortio:
		res, err = parseFortioJSON(data, config.EngineFortio, percentiles)
	case config.EngineWrk:
		res, err = parseWrk(data, from, percentiles)
		if err == nil {
			res.Notes = append(res.Notes, "wrk's output has no start time")
		}
	case config.EngineWrk2:
		res, err = parseWrk(data, from, percentiles)
		if err == nil {
			res.Notes = append(res.Notes, "wrk2's output has no start time and does not state the rate it was asked for (-R): RequestedQPS is unknown (0)")
		}
	case config.EngineNighthawk:
		res, err = parseNighthawk(data, percentiles)
	default:
		return nil, fmt.Errorf("unknown output format %q (%s)", from, strings.Join(TransformFormats(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s output: %w", from, err)
	}
	return res, nil
}
