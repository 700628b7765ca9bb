package loadgen

import (
	"fmt"
	"io"
	"strings"

	"github.com/perf-exporter/perf-exporter/config"
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
func ParseOutput(from string, r io.Reader, percentiles []float64) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTransformInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s output: %w", from, err)
	}
	if len(data) > maxTransformInput {
		return nil, fmt.Errorf("%s output is larger than %d MiB", from, maxTransformInput>>20)
	}
	var res *Result
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

// FortioShaped is the fortio part of a result document alone, without
// PerfExporter: what `transform --to fortio` and the results API's
// ?format=fortio serve. It encodes to JSON like the Document, minus that
// one field, with RetCodes as FortioRetCodes writes them.
func FortioShaped(d *Document) any {
	fortio := *d
	fortio.RetCodes = FortioRetCodes(d.PerfExporter.Codes, d.PerfExporter.Protocol)
	return struct {
		*Document
		// Shadows Document.PerfExporter (a shallower field wins in
		// encoding/json) and, being nil, is left out.
		PerfExporter *struct{} `json:",omitempty"`
	}{Document: &fortio}
}

// FortioRetCodes keys code counts the way fortio reads RetCodes. Fortio's
// HTTP results key them by integer status (map[int]int64), so a document
// with any other key cannot be loaded by `fortio report`. Statuses stay,
// CodeError becomes -1, and a status class, which wrk and Nighthawk report
// instead of statuses, becomes the first status of the class: 2xx is
// written as 200 (as Nighthawk's own fortio output does), 4xx_5xx as 400,
// Nighthawk's xxx (statuses outside 100-599) as 0. PerfExporter.Codes keeps
// the labels themselves. gRPC results key RetCodes by name and are copied.
func FortioRetCodes(codes map[string]int64, protocol string) map[string]int64 {
	out := make(map[string]int64, len(codes))
	for label, n := range codes {
		key := label
		switch {
		case label == CodeError:
			key = "-1"
		case protocol == config.ProtocolGRPC:
		case label == CodeWrkAbove399:
			key = "400"
		case label == "xxx":
			key = "0"
		case len(label) == 3 && label[0] >= '1' && label[0] <= '9' && label[1:] == "xx":
			key = label[:1] + "00"
		}
		out[key] += n
	}
	return out
}
