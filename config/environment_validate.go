package config

import "time"

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
		if _, ok := p.EnvironmentVars["rate_interval"]; ok {
			v.errorf(path("profiles", i, "environment_vars", "rate_interval"), "profile %q: environment_vars.rate_interval cannot be set: it follows from the window and the source's scrape_interval", p.Name)
		}
		// Twice the margin longer than the run would leave no window.
		if m := c.Global.EnvironmentWindow.Margin; len(p.Environment) > 0 && m > 0 && 2*m.D() >= p.Load.Duration.D() {
			v.errorf(path("profiles", i, "environment"), "profile %q: global.environment_window.margin %s trims both ends of the %s run, leaving no window to query",
				p.Name, m, p.Load.Duration)
		}
	}
}

// ScrapeIntervalOrDefault is the source's scrape interval, or
// DefaultScrapeInterval when it has none.
func (s *PrometheusSource) ScrapeIntervalOrDefault() time.Duration {
	if s.ScrapeInterval > 0 {
		return s.ScrapeInterval.D()
	}
	return DefaultScrapeInterval
}
