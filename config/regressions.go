package config

import "cmp"

// Regressions tunes the change-point detector (package changepoint). In a
// profile, a field left out takes global.regressions' value.
type Regressions struct {
	// Significance is the largest p-value of a change point (0: inherit).
	Significance float64 `yaml:"significance"`
	// MinMagnitude is the smallest relative change that counts, 0.05 = 5 %
	// (absent: inherit; 0 is allowed in a profile: every significant change).
	MinMagnitude *float64 `yaml:"min_magnitude"`
	// Window is the length, in runs, of the sliding windows (0: inherit).
	Window int `yaml:"window"`
}

// Defaults of global.regressions, measured on the detector's evaluation
// corpus (changepoint/eval_test.go).
const (
	DefaultRegressionSignificance = 0.001
	DefaultRegressionMinMagnitude = 0.05
	DefaultRegressionWindow       = 30
	// MinRegressionWindow is two levels of three runs each.
	MinRegressionWindow = 6
	// MaxRegressionWindow bounds the per-run work of the detector.
	MaxRegressionWindow = 200
)

func (r *Regressions) applyDefaults() {
	r.Significance = cmp.Or(r.Significance, DefaultRegressionSignificance)
	r.Window = cmp.Or(r.Window, DefaultRegressionWindow)
	if r.MinMagnitude == nil {
		m := DefaultRegressionMinMagnitude
		r.MinMagnitude = &m
	}
}

// RegressionsFor is a profile's effective detector settings: its own
// regressions section over global.regressions.
func (c *Config) RegressionsFor(p Profile) Regressions {
	r := c.Global.Regressions
	r.applyDefaults()
	if p.Regressions.Significance != 0 {
		r.Significance = p.Regressions.Significance
	}
	if p.Regressions.MinMagnitude != nil {
		r.MinMagnitude = p.Regressions.MinMagnitude
	}
	if p.Regressions.Window != 0 {
		r.Window = p.Regressions.Window
	}
	return r
}

// regressions checks a regressions section; where says which
// ("global.regressions" or `profile "x": regressions`).
func (v *validator) regressions(at []any, where string, r *Regressions) {
	if r.Significance != 0 && !(r.Significance > 0 && r.Significance < 1) {
		v.errorf(append(at, "significance"), "%s.significance must be between 0 and 1 (exclusive), got %g", where, r.Significance)
	}
	if m := r.MinMagnitude; m != nil && (!finite(*m) || *m < 0) {
		v.errorf(append(at, "min_magnitude"), "%s.min_magnitude must be a finite number, 0 or more, got %g", where, *m)
	}
	if r.Window != 0 && (r.Window < MinRegressionWindow || r.Window > MaxRegressionWindow) {
		v.errorf(append(at, "window"), "%s.window must be between %d and %d runs, got %d", where, MinRegressionWindow, MaxRegressionWindow, r.Window)
	}
}
