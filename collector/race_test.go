//go:build race

package collector

// raceEnabled: the race detector makes allocations bigger, so heap sizes
// are not comparable.
const raceEnabled = true
