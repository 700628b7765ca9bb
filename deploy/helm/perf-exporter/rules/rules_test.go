// Package rules_test checks the alert rules shipped with the Helm chart: the
// real promtool validates and unit-tests them, and the rule file is held to the
// contract the chart and the runbooks rely on.
package rules_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const ruleFile = "perf-exporter.rules.yaml"

// requiredAlerts are the alerts users, runbooks and the docs refer to by name.
var requiredAlerts = []string{
	"PerfExporterRunFailing",
	"PerfNoRecentSuccess",
	"PerfLatencySLOBreached",
	"PerfRegression",
	"PerfThroughputBelowTarget",
	"PerfErrorRatioHigh",
	"PerfExporterStoreFailing",
}

// exporterAlerts are about one exporter replica, not one profile: their
// text names the instance instead.
var exporterAlerts = []string{"PerfExporterStoreFailing"}

// subjectLabel is the label an alert is about: profile, or instance for the
// exporter's own alerts.
func subjectLabel(alert string) string {
	if slices.Contains(exporterAlerts, alert) {
		return "instance"
	}
	return "profile"
}

var severities = []string{"critical", "warning", "info"}

type ruleFileDoc struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type unitTestDoc struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Interval      string `yaml:"interval"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := testutil.Tool(t, "promtool")
	// Lints (duplicate rules) are errors too: the file is ours to keep clean.
	runPromtool(t, promtool, "check", "rules", "--lint=all", "--lint-fatal", ruleFile)
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := testutil.Tool(t, "promtool")
	runPromtool(t, promtool, append([]string{"test", "rules"}, unitTestFiles(t)...)...)
}

func runPromtool(t *testing.T, promtool string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), promtool, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

func TestAlertContract(t *testing.T) {
	var doc ruleFileDoc
	decodeYAML(t, ruleFile, &doc)

	seen := map[string]bool{}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if s := r.Labels["severity"]; !slices.Contains(severities, s) {
				t.Errorf("alert %s: severity label %q, want one of %v", r.Alert, s, severities)
			}
			for _, name := range []string{"summary", "description"} {
				// Every alert is about one profile (or one exporter), and the
				// text must say which.
				if a, label := r.Annotations[name], subjectLabel(r.Alert); !strings.Contains(a, "$labels."+label) {
					t.Errorf("alert %s: annotation %s %q does not name the %s ($labels.%s)", r.Alert, name, a, label, label)
				}
			}
			// Last-run gauges change once per run: without a hold, one noisy run pages.
			if r.For == "" {
				t.Errorf("alert %s has no for: duration", r.Alert)
			}
		}
	}
	for _, name := range requiredAlerts {
		if !seen[name] {
			t.Errorf("alert %s is missing from %s", name, ruleFile)
		}
	}
}

// TestSLOAlertsWaitForTwoRuns: the critical alerts compare last-run gauges,
// which a "for:" hold cannot tie to runs (15m spans two runs of a profile run
// every 10m, a quarter of one run of an hourly one); they wait for the
// exporter's count of consecutive misses instead.
func TestSLOAlertsWaitForTwoRuns(t *testing.T) {
	var doc ruleFileDoc
	decodeYAML(t, ruleFile, &doc)
	want := map[string]string{
		"PerfLatencySLOBreached": "perf_run_slo_latency_consecutive_misses) >= 2",
		"PerfErrorRatioHigh":     "perf_run_slo_error_ratio_consecutive_misses) >= 2",
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if w, ok := want[r.Alert]; ok {
				if !strings.Contains(r.Expr, w) {
					t.Errorf("alert %s: expr does not wait for two consecutive misses (%q):\n%s", r.Alert, w, r.Expr)
				}
				delete(want, r.Alert)
			}
		}
	}
	for name := range want {
		t.Errorf("alert %s is missing", name)
	}
}

// TestEveryAlertFiresInAUnitTest keeps the promtool tests honest: an alert that
// only ever appears with an empty exp_alerts is never shown to fire.
func TestEveryAlertFiresInAUnitTest(t *testing.T) {
	var rules ruleFileDoc
	decodeYAML(t, ruleFile, &rules)

	fired := map[string]bool{}
	for _, file := range unitTestFiles(t) {
		var doc unitTestDoc
		decodeYAML(t, file, &doc)
		if !slices.Contains(doc.RuleFiles, "../"+ruleFile) {
			t.Errorf("%s: rule_files %v does not load ../%s", file, doc.RuleFiles, ruleFile)
		}
		for i, tc := range doc.Tests {
			// Without interval, promtool spaces samples 1m apart silently; spell it
			// out so the series read like scrapes.
			if tc.Interval == "" {
				t.Errorf("%s: test %d has no interval", file, i)
			}
			for _, art := range tc.AlertRuleTest {
				for _, a := range art.ExpAlerts {
					if label := subjectLabel(art.Alertname); a.ExpLabels[label] == "" {
						t.Errorf("%s: expected %s alert without a %s label", file, art.Alertname, label)
					}
					fired[art.Alertname] = true
				}
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !fired[r.Alert] {
				t.Errorf("alert %s never fires in tests/*.yaml", r.Alert)
			}
		}
	}
}

func unitTestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no promtool unit tests in tests/*.yaml")
	}
	return files
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Not strict: the structs hold only the fields checked here; promtool
	// itself rejects unknown keys.
	if err := yaml.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
