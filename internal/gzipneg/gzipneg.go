// Package gzipneg reads what a client's Accept-Encoding allows, for the two
// handlers that compress: /metrics (collector) and the pages (web).
package gzipneg

import "strings"

// Accepts tells whether an Accept-Encoding header lists gzip without q=0.
func Accepts(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
