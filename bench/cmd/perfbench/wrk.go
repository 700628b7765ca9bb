package main

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// wrkRun is what the suite reads from wrk's standard output.
type wrkRun struct {
	rps      float64
	requests int64
	p50      time.Duration // only with --latency
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	wrkP50      = regexp.MustCompile(`(?m)^\s*50(?:\.000)?%\s+([0-9.]+(?:us|ms|s|m))\s*$`)
)

// parseWrk reads wrk's summary. It is the suite's own few lines rather
// than loadgen's wrk parser, so that wrk's figures do not depend on the
// code under test.
func parseWrk(out string) (wrkRun, error) {
	var r wrkRun
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec line in wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkP50.FindStringSubmatch(out); m != nil {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			return r, fmt.Errorf("wrk's 50%% latency %q: %w", m[1], err)
		}
		r.p50 = d
	}
	return r, nil
}
