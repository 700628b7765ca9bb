package config

import (
	"strings"
	"testing"
)

func TestRegressionsInheritAndOverride(t *testing.T) {
	cfg, err := Parse([]byte(`
global:
  regressions: {significance: 0.0001, window: 40}
profiles:
  - name: inherits
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
  - name: own
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    regressions: {min_magnitude: 0, window: 12}
`), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.RegressionsFor(cfg.Profiles[0])
	if got.Significance != 0.0001 || *got.MinMagnitude != DefaultRegressionMinMagnitude || got.Window != 40 {
		t.Errorf("inherits: %+v (min magnitude %v)", got, *got.MinMagnitude)
	}
	got = cfg.RegressionsFor(cfg.Profiles[1])
	if got.Significance != 0.0001 || *got.MinMagnitude != 0 || got.Window != 12 {
		t.Errorf("own: %+v (min magnitude %v)", got, *got.MinMagnitude)
	}
	if d := (&Config{}).RegressionsFor(Profile{}); d.Significance != DefaultRegressionSignificance || d.Window != DefaultRegressionWindow {
		t.Errorf("defaults: %+v", d)
	}
}

func TestRegressionsBadValues(t *testing.T) {
	_, err := Parse([]byte(`global:
  regressions: {significance: 1.5, min_magnitude: -0.1, window: 3}
profiles:
  - name: p
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    regressions: {window: 5000}
`), "r.yaml")
	want := []string{
		`r.yaml:2: global.regressions.significance must be between 0 and 1 (exclusive), got 1.5`,
		`r.yaml:2: global.regressions.min_magnitude must be a finite number, 0 or more, got -0.1`,
		`r.yaml:2: global.regressions.window must be between 6 and 200 runs, got 3`,
		`r.yaml:7: profile "p": regressions.window must be between 6 and 200 runs, got 5000`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}
