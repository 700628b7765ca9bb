package environment

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// A reload keeps what is known about sources that stay, forgets removed
// ones, and does not log a known failure again.
func TestApplyConfigKeepsHealthOfRemainingSources(t *testing.T) {
	two := parseConfig(t, `
prometheus:
  - {name: a, url: "http://127.0.0.1:1"}
  - {name: b, url: "http://127.0.0.1:2"}
`)
	logger, logs := newLogger()
	env := New(two, logger, Options{})
	if up := upValues(t, env); len(up) != 0 {
		t.Errorf("perf_prometheus_up before any check or query = %v, want no samples", up)
	}
	env.record("a", ReasonRefused, "refused")
	env.record("b", "", "")

	env.ApplyConfig(parseConfig(t, `
prometheus:
  - {name: a, url: "http://127.0.0.1:1"}
  - {name: c, url: "http://127.0.0.1:3"}
`))
	up := upValues(t, env)
	if len(up) != 1 || up["a"] != 0 {
		t.Errorf("perf_prometheus_up after reload = %v, want only a=0", up)
	}
	env.record("a", ReasonRefused, "refused")
	env.record("b", ReasonRefused, "refused") // removed: ignored
	if n := strings.Count(logs.String(), "prometheus source failed"); n != 1 {
		t.Errorf("logged %d failures, want 1:\n%s", n, logs)
	}
	env.record("a", "", "")
	if !strings.Contains(logs.String(), "prometheus source answers again") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}

// A user set named like a built-in replaces it.
func TestUserSetReplacesBuiltin(t *testing.T) {
	env := New(parseConfig(t, `
prometheus: [{name: a, url: "http://127.0.0.1:1"}]
environment_sets:
  nodes:
    - {name: load5, query: 'avg(node_load5)'}
`), nil, Options{})
	_, sets, _ := env.snapshot()
	if q := sets["nodes"].Queries; len(q) != 1 || q[0].Name != "load5" {
		t.Errorf("nodes = %+v, want the user's set", q)
	}
	if len(sets["istio"].Queries) != 6 {
		t.Error("other built-in sets lost")
	}
}

// The exposition of perf_prometheus_up passes promtool's lint.
func TestUpMetricPassesPromtool(t *testing.T) {
	promtool := testutil.Tool(t, "promtool")
	env := New(parseConfig(t, `
prometheus:
  - {name: a, url: "http://127.0.0.1:1"}
  - {name: b, url: "http://127.0.0.1:2"}
`), nil, Options{})
	env.record("a", ReasonRefused, "refused")
	env.record("b", "", "")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(env)
	var exposition bytes.Buffer
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&exposition, mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, exposition.String())
	}
	if !strings.Contains(exposition.String(), `perf_prometheus_up{prometheus="a"} 0`) ||
		!strings.Contains(exposition.String(), `perf_prometheus_up{prometheus="b"} 1`) {
		t.Errorf("exposition:\n%s", exposition.String())
	}
}
