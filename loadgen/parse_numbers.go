package loadgen

// Number parsing shared by the readers of external tools' output (wrk,
// wrk2, Nighthawk, saved Fortio JSON). The bounds keep every figure read
// from a tool usable in sums and conversions without overflow.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxCount bounds any count read from a tool's output, so sums of counts
// cannot overflow.
const maxCount = 1 << 53

// maxSeconds bounds any duration read from a tool's output (about 115
// days), so conversions to time.Duration cannot overflow.
const maxSeconds = 1e7

// parseCount reads a non-negative count.
func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxCount {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	return n, nil
}

// isNaNWord reports whether s is one of the words tools print for a figure
// they could not compute ("nan", "-nan", "inf").
func isNaNWord(s string) bool {
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "nan", "inf", "infinity":
		return true
	}
	return false
}

// finite reports whether f is a usable measurement: JSON cannot carry NaN
// or infinities, and a result document must always encode.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
