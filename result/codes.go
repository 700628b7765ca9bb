package result

import "github.com/perf-exporter/perf-exporter/config"

// Code labels of wrk and wrk2 results. wrk counts responses only by whether
// their status was above 399 ("Non-2xx or 3xx responses"), and transport
// failures apart from responses, so a wrk result has at most three labels,
// a small fixed set as metric labels must be:
//
//   - CodeWrkBelow400 ("2xx"): responses with a status below 400. wrk counts
//     3xx as success and never follows redirects, so against a target that
//     redirects these are 3xx; wrk does not tell them apart.
//   - CodeWrkAbove399 ("4xx_5xx"): responses with a status of 400 or more;
//     wrk does not split client from server errors.
//   - CodeError: connect, read and write errors, and timeouts.
//
// A response slower than --timeout is counted by wrk both as a completed
// response (with its status) and as a timeout; we count it once, under
// CodeError, taking it from the below-400 class first because wrk does not
// say which status it had. Nighthawk results use the same class labels
// ("2xx", "4xx", "5xx"), so boards can show both engines side by side.
const (
	CodeWrkBelow400 = "2xx"
	CodeWrkAbove399 = "4xx_5xx"
)

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
