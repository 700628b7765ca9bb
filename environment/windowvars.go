package environment

import (
	"strconv"
	"time"

	"github.com/prometheus/common/model"
)

// Variables of a run's window, for queries imported from Grafana boards:
// Grafana's $__interval, $__interval_ms, $__range, $__range_s and
// $__range_ms become ${interval}, ${interval_ms}, ${range}, ${range_s} and
// ${range_ms} (and $__rate_interval ${rate_interval}). Like rate_interval
// they are derived, never set by a profile.
const (
	// VarInterval is the step of the window's range query: the source's
	// scrape interval, as Grafana's $__interval for a panel whose minimum
	// interval is the scrape interval.
	VarInterval = "interval"
	// VarIntervalMs is VarInterval in milliseconds, a number.
	VarIntervalMs = "interval_ms"
	// VarRange is the length of the run's window (after the margins).
	VarRange = "range"
	// VarRangeS is VarRange in whole seconds, a number.
	VarRangeS = "range_s"
	// VarRangeMs is VarRange in milliseconds, a number.
	VarRangeMs = "range_ms"
)

// WindowVarNames are the variables addWindowVars fills.
func WindowVarNames() []string {
	return []string{VarInterval, VarIntervalMs, VarRange, VarRangeS, VarRangeMs}
}

// addWindowVars fills the window variables for one source's step and one
// window, as Grafana fills its own for a panel showing that window: the
// range rounded to seconds as $__range is (milliseconds for PromQL's
// resolution otherwise).
func addWindowVars(vars map[string]string, step, window time.Duration) {
	step = step.Truncate(time.Millisecond)
	window = window.Truncate(time.Millisecond)
	vars[VarInterval] = model.Duration(step).String()
	vars[VarIntervalMs] = strconv.FormatInt(step.Milliseconds(), 10)
	seconds := window.Round(time.Second)
	vars[VarRange] = model.Duration(seconds).String()
	vars[VarRangeS] = strconv.FormatInt(int64(seconds/time.Second), 10)
	vars[VarRangeMs] = strconv.FormatInt(window.Milliseconds(), 10)
}
