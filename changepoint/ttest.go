package changepoint

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// tTest is the two-sided p-value of Student's t-test with pooled variance
// between two samples given by their means, sums of squared deviations and
// sizes. Identical samples without variance give 1, different ones 0.
func tTest(m1, m2, ss1, ss2, n1, n2 float64) float64 {
	df := n1 + n2 - 2
	if df <= 0 {
		return 1
	}
	pooled := (ss1 + ss2) / df
	se := math.Sqrt(pooled * (1/n1 + 1/n2))
	diff := math.Abs(m2 - m1)
	// Below this the difference is rounding of equal values.
	const eps = 1e-12
	if se <= eps*math.Max(1, math.Abs(m1)) {
		if diff <= eps*math.Max(1, math.Abs(m1)) {
			return 1
		}
		return 0
	}
	t := diff / se
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(t)
}
