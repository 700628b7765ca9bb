package changepoint

import "math"

// qhat evaluates E-divisive's divergence Q̂ (Matteson and James, with
// α = 1) between neighbouring slices of one window in constant time, from
// two-dimensional prefix sums of the window's pairwise distances.
type qhat struct {
	m int
	// s[a*(m+1)+b] is the sum of |z_i - z_j| over i < a, j < b.
	s []float64
}

func newQhat(z []float64) *qhat {
	m := len(z)
	q := &qhat{m: m, s: make([]float64, (m+1)*(m+1))}
	for a := 1; a <= m; a++ {
		row := 0.0
		for b := 1; b <= m; b++ {
			row += math.Abs(z[a-1] - z[b-1])
			q.s[a*(m+1)+b] = q.s[(a-1)*(m+1)+b] + row
		}
	}
	return q
}

// block is the sum of |z_i - z_j| over a1 <= i < a2, b1 <= j < b2.
func (q *qhat) block(a1, a2, b1, b2 int) float64 {
	w := q.m + 1
	return q.s[a2*w+b2] - q.s[a1*w+b2] - q.s[a2*w+b1] + q.s[a1*w+b1]
}

// value is Q̂ between z[lo:tau] and z[tau:kappa].
func (q *qhat) value(lo, tau, kappa int) float64 {
	n1, n2 := float64(tau-lo), float64(kappa-tau)
	between := q.block(lo, tau, tau, kappa)
	e := 2 * between / (n1 * n2)
	if n1 > 1 {
		e -= q.block(lo, tau, lo, tau) / (n1 * (n1 - 1)) // within sum / C(n1, 2)
	}
	if n2 > 1 {
		e -= q.block(tau, kappa, tau, kappa) / (n2 * (n2 - 1))
	}
	return n1 * n2 / (n1 + n2) * e
}

// best is the split of z[lo:hi] with the largest Q̂ over every end of the
// right part, both parts at least MinRuns long; ok is false when the interval
// is too short. Ties go to the earliest split, so the result is
// deterministic.
func (q *qhat) best(lo, hi int) (tau int, value float64, ok bool) {
	value = math.Inf(-1)
	for t := lo + MinRuns; t <= hi-MinRuns; t++ {
		for k := t + MinRuns; k <= hi; k++ {
			if v := q.value(lo, t, k); v > value {
				tau, value, ok = t, v, true
			}
		}
	}
	return tau, value, ok
}
