package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// median of xs; NaN when empty.
func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile q (0-1) of xs by linear interpolation between the closest ranks;
// NaN when empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// ms formats seconds as milliseconds with three significant figures.
func ms(s float64) string {
	if math.IsNaN(s) {
		return "n/a"
	}
	return fmt.Sprintf("%.3g ms", s*1e3)
}

// signedMs formats a difference in seconds as signed milliseconds.
func signedMs(s float64) string { return fmt.Sprintf("%+.3f ms", s*1e3) }

// mb formats bytes in decimal megabytes, the unit of the targets.
func mb(bytes int64) string { return fmt.Sprintf("%.1f MB", float64(bytes)/1e6) }

func rate(rps float64) string { return fmt.Sprintf("%.0f req/s", rps) }
