// Package changepoint finds the runs at which a profile's performance
// changed level: E-divisive means over sliding windows with a Student's
// t-test as the significance test, the method of Hunter and Apache Otava
// (Fleming et al., "Hunter: Using Change Point Detection to Hunt for
// Performance Regressions", ICPE 2023). It is deterministic (no random
// permutations) and incremental: appending a run re-examines only the tail of
// the series, so detection at the end of every run stays cheap however long
// the history is.
package changepoint

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/perf-exporter/perf-exporter/config"
)

// Params tune the detector. The zero value is not usable; start from
// DefaultParams.
type Params struct {
	// Significance is the largest p-value of the t-test at which two
	// neighbouring levels count as different.
	Significance float64
	// MinMagnitude is the smallest relative change between two levels that
	// counts (0.05 = 5 %).
	MinMagnitude float64
	// Window is the length of the sliding windows, in runs, in which
	// candidate change points are searched.
	Window int
}

// DefaultParams are the defaults of global.regressions, measured on the
// evaluation corpus (see the package's evaluation test and the README).
func DefaultParams() Params {
	return Params{
		Significance: config.DefaultRegressionSignificance,
		MinMagnitude: config.DefaultRegressionMinMagnitude,
		Window:       config.DefaultRegressionWindow,
	}
}

// ParamsFrom are a profile's effective settings (Config.RegressionsFor).
func ParamsFrom(r config.Regressions) Params {
	p := DefaultParams()
	if r.Significance != 0 {
		p.Significance = r.Significance
	}
	if r.MinMagnitude != nil {
		p.MinMagnitude = *r.MinMagnitude
	}
	if r.Window != 0 {
		p.Window = r.Window
	}
	return p
}

// MinRuns is how many runs each level needs on both sides of a change
// point. A single outlier run, or two, never makes a level; a real change is
// reported once its third run is in.
const MinRuns = 3

// Validate tells what is wrong with the parameters, naming the field.
func (p Params) Validate() error {
	switch {
	case !(p.Significance > 0 && p.Significance < 1):
		return fmt.Errorf("significance %v: must be between 0 and 1 (exclusive)", p.Significance)
	case !(p.MinMagnitude >= 0) || math.IsInf(p.MinMagnitude, 0):
		return fmt.Errorf("min_magnitude %v: must be 0 or more", p.MinMagnitude)
	case p.Window < 2*MinRuns:
		return fmt.Errorf("window %d: must be at least %d runs", p.Window, 2*MinRuns)
	}
	return nil
}

// Scale says how a metric's values are compared.
type Scale struct {
	// Log compares logarithms: latencies and throughputs vary by ratios,
	// and their right-skewed run-to-run noise is closer to normal in log
	// space, which the t-test assumes.
	Log bool
	// MinAbsolute is the smallest difference of levels
	// that counts, for metrics whose relative change says little near zero
	// (error ratio 0 -> 0.0001 is infinitely many times more).
	MinAbsolute float64
}

// Change is one change point of a series.
type Change struct {
	// Index is the position, in the series, of the first value of the
	// new level.
	Index int
	// Before and After are the medians of the levels on both sides.
	Before, After float64
	// PValue is the two-sided t-test's p-value between the two levels.
	PValue float64
}

// Ratio is After / Before, 0 when Before is 0.
func (c Change) Ratio() float64 {
	if c.Before == 0 {
		return 0
	}
	return c.After / c.Before
}

// Series is one metric's values in run order and what the detector knows
// about them. Append one value per run; Changes then lists the change points
// of the whole series. The change points of a series depend only on its
// values and the parameters: the same history always gives the same answer.
type Series struct {
	params Params
	scale  Scale
	raw    []float64
	// y are the compared values (logarithms for a log scale), shifted by
	// the first one so prefix sums keep their precision.
	y     []float64
	shift float64
	sum   []float64 // sum[i] = y[0] + ... + y[i-1]
	sumSq []float64
	// weak are the weak change points of the split step (Hunter's two
	// thresholds), sorted; the merge step keeps the final ones.
	weak    []int
	changes []Change
	// judged caches the merge step's judgements by (lo, c, hi).
	judged map[[3]int]judged
	// windows caches the split step's findings in whole windows by (start,
	// end): a whole window's values never change, and the next appends
	// search most of the same windows again.
	windows map[[2]int][]int
}

// NewSeries starts an empty series. The parameters must be valid.
func NewSeries(p Params, s Scale) *Series {
	return &Series{params: p, scale: s, sum: []float64{0}, sumSq: []float64{0}}
}

// Len is how many values the series holds.
func (s *Series) Len() int { return len(s.raw) }

// Append adds the next run's value and updates the change points: only the
// last windows (the appended point's neighbourhood, as in Otava's
// incremental mode) are searched again for new weak change points; the merge
// step then re-judges all of them, which costs one t-test per weak change
// point thanks to the prefix sums.
func (s *Series) Append(v float64) {
	s.push(v)
	s.changes = s.merge()
}

// AppendAll appends values as Append would one by one, with the same
// change points after, but merges once at the end: the merge step's result
// depends only on the weak change points and the values, and the split
// step never reads it. Replaying a stored history costs a fraction of
// appending it.
func (s *Series) AppendAll(vs []float64) {
	for _, v := range vs {
		s.push(v)
	}
	s.changes = s.merge()
}

// push adds a value and runs the split step, without merging.
func (s *Series) push(v float64) {
	y := v
	if s.scale.Log {
		y = math.Log(math.Max(v, tiny))
	}
	if len(s.y) == 0 {
		s.shift = y
	}
	y -= s.shift
	s.raw = append(s.raw, v)
	s.y = append(s.y, y)
	n := len(s.y)
	s.sum = append(s.sum, s.sum[n-1]+y)
	s.sumSq = append(s.sumSq, s.sumSq[n-1]+y*y)
	s.split(1)
}

// tiny stands in for non-positive values on a log scale.
const tiny = 1e-12

// Changes returns the change points found so far, in index order. The
// slice is the caller's.
func (s *Series) Changes() []Change {
	out := make([]Change, len(s.changes))
	copy(out, s.changes)
	return out
}

// split is the split step: E-divisive in sliding windows of the series with
// the relaxed (weak) threshold; the change points found join the weak set.
// After newPoints were appended only the tail is searched again: the windows
// that can see a new point, back to the last weak change point before them.
func (s *Series) split(newPoints int) {
	n := len(s.y)
	w := s.params.Window
	step := w / 2
	start := 0
	maxStart := n - (newPoints/w+4)*w
	for _, c := range s.weak {
		if c < maxStart && c > start {
			start = c
		}
	}
	for st := 0; st < maxStart; st += step {
		if st > start {
			start = st
		}
	}
	weakP := weakThreshold(s.params.Significance)
	// The searches start no earlier at later appends (start only grows
	// with the series and its weak change points): windows before this one
	// are not searched again.
	for k := range s.windows {
		if k[0] < start {
			delete(s.windows, k)
		}
	}
	for start < n {
		end := min(start+w, n)
		found, ok := s.windows[[2]int{start, end}]
		if !ok {
			found = s.detectWindow(start, end, weakP)
			if end-start == w {
				if s.windows == nil {
					s.windows = map[[2]int][]int{}
				}
				s.windows[[2]int{start, end}] = found
			}
		}
		next := start + step
		if len(found) > 0 && found[len(found)-1] > next {
			next = found[len(found)-1]
		}
		for _, c := range found {
			if i, ok := slices.BinarySearch(s.weak, c); !ok {
				s.weak = slices.Insert(s.weak, i, c)
			}
		}
		start = next
	}
}

// weakThreshold is the first pass's p-value threshold, as in Otava: ten
// times the final one below 0.05, twice it below 0.5.
func weakThreshold(p float64) float64 {
	switch {
	case p < 0.05:
		return 10 * p
	case p < 0.5:
		return 2 * p
	}
	return p
}

// detectWindow runs E-divisive on y[start:end]: repeatedly the best
// candidate over the intervals between the change points found so far, kept
// while its t-test within its interval is significant at maxP.
func (s *Series) detectWindow(start, end int, maxP float64) []int {
	if end-start < 2*MinRuns {
		return nil
	}
	q := newQhat(s.y[start:end])
	var cps []int // window-relative, sorted
	for {
		bestTau, bestQ, bestLo, bestHi := -1, math.Inf(-1), 0, 0
		lo := 0
		for i := 0; i <= len(cps); i++ {
			hi := end - start
			if i < len(cps) {
				hi = cps[i]
			}
			if tau, qv, ok := q.best(lo, hi); ok && qv > bestQ {
				bestTau, bestQ, bestLo, bestHi = tau, qv, lo, hi
			}
			lo = hi
		}
		if bestTau < 0 {
			break
		}
		if s.pValue(start+bestLo, start+bestTau, start+bestHi) > maxP {
			break
		}
		i, _ := slices.BinarySearch(cps, bestTau)
		cps = slices.Insert(cps, i, bestTau)
	}
	for i := range cps {
		cps[i] += start
	}
	return cps
}

// merge is the merge step: the weak change points are judged on the
// intervals between them; the weakest (largest p-value above the threshold,
// else the smallest change under the minimum) is dropped and its neighbours
// re-judged, until every one left is significant and large enough.
func (s *Series) merge() []Change {
	cps := slices.Clone(s.weak)
	if len(cps) == 0 {
		return nil
	}
	bounds := func(i int) (lo, hi int) {
		lo, hi = 0, len(s.y)
		if i > 0 {
			lo = cps[i-1]
		}
		if i+1 < len(cps) {
			hi = cps[i+1]
		}
		return lo, hi
	}
	// Judgements depend only on the change point and its neighbours, which
	// stay the same from one append to the next for all but the newest:
	// those of the last merge are reused, and only the ones used now kept.
	seen := make(map[[3]int]judged, len(cps))
	judge := func(i int) judged {
		lo, hi := bounds(i)
		key := [3]int{lo, cps[i], hi}
		if j, ok := s.judged[key]; ok {
			seen[key] = j
			return j
		}
		j := s.judge(lo, cps[i], hi)
		seen[key] = j
		return j
	}
	defer func() { s.judged = seen }()
	stats := make([]judged, len(cps))
	for i := range cps {
		stats[i] = judge(i)
	}
	for len(cps) > 0 {
		weakest := 0
		for i := range stats {
			if stats[i].p > stats[weakest].p {
				weakest = i
			}
		}
		if stats[weakest].p <= s.params.Significance {
			weakest = 0
			for i := range stats {
				if stats[i].mag < stats[weakest].mag {
					weakest = i
				}
			}
			if stats[weakest].mag >= s.params.MinMagnitude {
				break
			}
		}
		cps = slices.Delete(cps, weakest, weakest+1)
		stats = slices.Delete(stats, weakest, weakest+1)
		for _, i := range []int{weakest - 1, weakest} {
			if i >= 0 && i < len(cps) {
				stats[i] = judge(i)
			}
		}
	}
	out := make([]Change, len(cps))
	for i, c := range cps {
		lo, hi := bounds(i)
		before, after := s.levels(lo, c, hi)
		out[i] = Change{Index: c, Before: before, After: after, PValue: stats[i].p}
	}
	return out
}

type judged struct{ p, mag float64 }

// judge is the t-test between y[lo:c] and y[c:hi] and, where it is
// significant, the magnitude of the change (-1 when it does not count).
func (s *Series) judge(lo, c, hi int) judged {
	if c-lo < MinRuns || hi-c < MinRuns {
		return judged{p: 1}
	}
	j := judged{p: s.pValue(lo, c, hi)}
	if j.p <= s.params.Significance { // else dropped before magnitudes matter
		before, after := s.levels(lo, c, hi)
		j.mag = s.magnitude(before, after)
		if j.mag >= s.params.MinMagnitude && !s.beyondEnvelope(lo, c, hi, after > before) {
			j.mag = -1
		}
	}
	return j
}

// levels are the medians of the runs on both sides of a change point at c
// between lo and hi, up to a window's length away: the levels right before
// and after the change, which one outlier run cannot move.
func (s *Series) levels(lo, c, hi int) (before, after float64) {
	w := s.params.Window
	return median(s.raw[max(lo, c-w):c]), median(s.raw[c:min(hi, c+w)])
}

// beyondEnvelope tells whether a young level (fewer runs than a window) lies
// beyond every stretch of as many runs of the level before it: the median of the new level's n runs must be
// above (up) or below every median of n consecutive earlier runs. The t-test
// takes runs as independent, but the noise of a shared machine comes in
// bursts of a few runs; a burst as large as one the old level already
// showed and got over is no new level. Once the level is a window long the
// t-test alone decides.
func (s *Series) beyondEnvelope(lo, c, hi int, up bool) bool {
	n := hi - c
	if n >= s.params.Window {
		return true
	}
	after := median(s.raw[c:hi])
	buf := make([]float64, n)
	for j := lo; j+n <= c; j++ {
		copy(buf, s.raw[j:j+n])
		m := medianInPlace(buf)
		if up && m >= after || !up && m <= after {
			return false
		}
	}
	return true
}

// magnitude is the relative change between two levels: the larger of
// |after/before - 1| and |before/after - 1| (Otava's measure, so a halving
// counts as much as a doubling). A change under the scale's absolute minimum
// is -1: too small whatever the relative minimum.
func (s *Series) magnitude(before, after float64) float64 { return s.scale.magnitude(before, after) }

func (sc Scale) magnitude(before, after float64) float64 {
	if sc.MinAbsolute > 0 && math.Abs(after-before) < sc.MinAbsolute {
		return -1
	}
	var fwd, back float64
	if before != 0 {
		fwd = math.Abs(after/before - 1)
	}
	if after != 0 {
		back = math.Abs(before/after - 1)
	}
	return math.Max(fwd, back)
}

// pValue is the two-sided Student's t-test (pooled variance) between
// y[lo:c] and y[c:hi].
func (s *Series) pValue(lo, c, hi int) float64 {
	n1, n2 := float64(c-lo), float64(hi-c)
	m1 := (s.sum[c] - s.sum[lo]) / n1
	m2 := (s.sum[hi] - s.sum[c]) / n2
	ss1 := math.Max(0, s.sumSq[c]-s.sumSq[lo]-n1*m1*m1)
	ss2 := math.Max(0, s.sumSq[hi]-s.sumSq[c]-n2*m2*m2)
	return tTest(m1, m2, ss1, ss2, n1, n2)
}

func median(v []float64) float64 {
	return medianInPlace(slices.Clone(v))
}

// medianInPlace is the median of v, which it sorts.
func medianInPlace(c []float64) float64 {
	if len(c) == 0 {
		return 0
	}
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}
