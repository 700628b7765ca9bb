package config_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/environment"
)

// Validation knows which template variables need no profile setting: the
// same ones the environment package fills at run time.
func TestEnvironmentBuiltinVarsMatchTheEnvironmentPackage(t *testing.T) {
	var want []string
	for name := range environment.DefaultVars() {
		want = append(want, name)
	}
	want = append(want, environment.VarRateInterval, environment.VarKubePodLabel)
	want = append(want, environment.WindowVarNames()...)
	sort.Strings(want)
	if !slices.Equal(config.EnvironmentBuiltinVars, want) {
		t.Errorf("config.EnvironmentBuiltinVars = %v, environment fills %v", config.EnvironmentBuiltinVars, want)
	}
}
