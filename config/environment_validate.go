package config

import (
	"regexp"
	"strconv"
	"time"
)

// EnvironmentWindow shapes the window over which a run's environment
// queries are evaluated.
type EnvironmentWindow struct {
	// Margin trims both ends of the run's window, to leave out the ramp-up
	// and ramp-down of the load (0: the whole run).
	Margin Duration `yaml:"margin"`
}

// DefaultScrapeInterval is assumed for a prometheus source without
// scrape_interval: it is kube-prometheus-stack's default. Environment
// queries wait this long after a run before reading its window, and step
// through the window at this resolution.
const DefaultScrapeInterval = 30 * time.Second

// environment validates the settings of environment queries: the window
// margin and each source's scrape interval.
func (v *validator) environment(c *Config) {
	v.nonNegative(path("global", "environment_window", "margin"), "global.environment_window.margin", c.Global.EnvironmentWindow.Margin)
	for i, s := range c.Prometheus {
		if s.ScrapeInterval < 0 {
			v.errorf(path("prometheus", i, "scrape_interval"), "prometheus source %q: scrape_interval must be positive (or left out for %s), got %s",
				s.Name, DefaultScrapeInterval, s.ScrapeInterval)
		}
	}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		for _, derived := range []string{"rate_interval", "kube_pod_label"} {
			if _, ok := p.EnvironmentVars[derived]; ok {
				v.errorf(path("profiles", i, "environment_vars", derived), "profile %q: environment_vars.%s cannot be set: it follows from %s", p.Name, derived, derivedFrom[derived])
			}
		}
		if l, ok := p.EnvironmentVars["pod_label"]; ok && l != "" && !labelKey.MatchString(l) {
			v.errorf(path("profiles", i, "environment_vars", "pod_label"), "profile %q: environment_vars.pod_label %q is not a Kubernetes label key (e.g. app or app.kubernetes.io/name)", p.Name, l)
		}
		// Regexes of the built-in sets' label matchers; Prometheus compiles
		// them as Go's regexp does, anchored as here.
		for _, name := range []string{"namespace", "workload", "node"} {
			if re, ok := p.EnvironmentVars[name]; ok {
				if _, err := regexp.Compile("^(?s:" + re + ")$"); err != nil {
					if _, plain := regexp.Compile(re); plain != nil {
						err = plain // the same complaint, without our anchoring
					}
					v.errorf(path("profiles", i, "environment_vars", name), "profile %q: environment_vars.%s %q is not a valid regular expression: %v", p.Name, name, re, err)
				}
			}
		}
		if port, ok := p.EnvironmentVars["linkerd_admin_port"]; ok {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				v.errorf(path("profiles", i, "environment_vars", "linkerd_admin_port"), "profile %q: environment_vars.linkerd_admin_port %q is not a port number", p.Name, port)
			}
		}
		// Twice the margin longer than the run would leave no window.
		if m := c.Global.EnvironmentWindow.Margin; len(p.Environment) > 0 && m > 0 && 2*m.D() >= p.Load.Duration.D() {
			v.errorf(path("profiles", i, "environment"), "profile %q: global.environment_window.margin %s trims both ends of the %s run, leaving no window to query",
				p.Name, m, p.Load.Duration)
		}
	}
}

// derivedFrom says what the environment variables that cannot be set are
// derived from.
var derivedFrom = map[string]string{
	"rate_interval":  "the window and the source's scrape_interval",
	"kube_pod_label": "pod_label",
}

// labelKey is a Kubernetes label key: an optional DNS subdomain prefix and
// a slash, then a name of at most 63 alphanumerics, '-', '_' or '.',
// starting and ending with an alphanumeric.
var labelKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)

// ScrapeIntervalOrDefault is the source's scrape interval, or
// DefaultScrapeInterval when it has none.
func (s *PrometheusSource) ScrapeIntervalOrDefault() time.Duration {
	if s.ScrapeInterval > 0 {
		return s.ScrapeInterval.D()
	}
	return DefaultScrapeInterval
}
