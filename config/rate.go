package config

import (
	"fmt"
	"math"
	"time"
)

// RateRequests is the number of requests a rate-limited Fortio run sends:
// rate × duration, rounded to the nearest whole request.
func RateRequests(qps float64, d time.Duration) int64 {
	return int64(math.Round(qps * d.Seconds()))
}

// RateFields name the settings CheckRateShape talks about: the profile's
// keys in a config file, the flags for `run`.
type RateFields struct{ QPS, Connections, Duration string }

// ProfileRate and ProfileWarmupRate name a profile's settings.
var (
	ProfileRate       = RateFields{QPS: "load.qps", Connections: "load.connections", Duration: "load.duration"}
	ProfileWarmupRate = RateFields{QPS: "load.qps", Connections: "load.connections", Duration: "load.warmup"}
)

// CheckRateShape tells whether a rate-limited Fortio run of qps requests per
// second over d on the given connections can be sent as asked: every
// connection sends its requests evenly from the start of the run to its
// end, the first at the start and the last at the end, so each needs at
// least two. A rate so low that the run would hold fewer (one request per
// 5 s for 1 s, or 1 request per second on 50 connections for 1 s) would
// otherwise run longer than asked, on fewer connections than asked, or send
// fewer requests than asked. qps 0 (as fast as possible) always fits.
func CheckRateShape(qps float64, connections int, d time.Duration, f RateFields) error {
	// A rate that is not a positive finite number, or no connections or
	// duration, is reported by the checks of those settings.
	if !(qps > 0) || math.IsInf(qps, 0) || connections < 1 || d <= 0 {
		return nil
	}
	n := RateRequests(qps, d)
	if n >= 2*int64(connections) {
		return nil
	}
	if n < 2 {
		return fmt.Errorf("%s %g over %s %s is %d request(s): a run needs at least 2 (one at its start, one at its end); raise %s or %s",
			f.QPS, qps, f.Duration, d, n, f.QPS, f.Duration)
	}
	return fmt.Errorf("%s %g over %s %s is %d requests, fewer than 2 for each of the %d %s (each connection sends at the run's start and at its end): use at most %d connections, or raise %s or %s",
		f.QPS, qps, f.Duration, d, n, connections, f.Connections, n/2, f.QPS, f.Duration)
}
