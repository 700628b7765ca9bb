package config_test

import (
	"slices"
	"sort"
	"strings"
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

// A profile that sets no environment_vars still has its sets' variables
// checked: ${team} is unknown to it, as to one that sets other variables.
// (Without environment_vars the check took the profile for "no user" and
// accepted every name; the run then warned at every run.)
func TestUnknownVariableOfAProfileWithoutVars(t *testing.T) {
	_, err := config.Parse([]byte(`prometheus:
  - {name: cluster, url: "http://127.0.0.1:9090"}
environment_sets:
  custom:
    - {name: team_cpu, query: 'sum(rate(x{team="${team}", ns=~"${namespace}"}[${rate_interval}]))'}
profiles:
  - name: plain
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment: [custom]
`), "env.yaml")
	want := `env.yaml:5: environment set "custom": query "team_cpu": unknown template variable ${team} for profile "plain"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}

// namespace, workload and node are regexes in the built-in sets' label
// matchers: one that does not compile failed every query of every run at
// Prometheus (bad_data) while check config said OK.
func TestEnvironmentVarRegexMustCompile(t *testing.T) {
	_, err := config.Parse([]byte(`prometheus:
  - {name: cluster, url: "http://127.0.0.1:9090"}
profiles:
  - name: a
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    environment: [kubernetes]
    environment_vars: {namespace: "((", workload: "checkout"}
`), "env.yaml")
	want := "env.yaml:8: profile \"a\": environment_vars.namespace \"((\" is not a valid regular expression: error parsing regexp: missing closing ): `((`"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}
