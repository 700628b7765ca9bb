// Package loadgen runs load tests. Every engine (the embedded Fortio library,
// wrk, wrk2, Nighthawk) turns a profile into the same result.Measurement, so
// metrics, stored documents and comparisons do not depend on which tool ran.
package loadgen

import (
	"context"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// Engine runs one load test for a profile. It returns when the run is over or
// ctx is cancelled; a cancelled run still returns what it measured, with
// Result.Aborted set. An error means the run did not happen or produced
// nothing usable (binary missing, target unreachable, unparsable output).
type Engine interface {
	Run(ctx context.Context, p config.Profile, obs result.Observer) (*result.Measurement, error)
}
