package config

import (
	"strings"
	"testing"
)

// Settings whose 0 (or empty list) stood for "the default" and still took
// it silently after issue 18 item 7: each is an error naming the setting,
// as connections: 0 is. (percentiles: [] reported the five defaults;
// scrape_interval: 0s assumed 30s; significance and window 0 inherited.)
func TestWrittenZeroOfTheRemainingDefaults(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"empty percentiles": {`
profiles:
  - name: a
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    load: {percentiles: []}
`, `z.yaml:6: profile "a": load.percentiles must not be empty: leave it out for the default, 50, 75, 90, 99, 99.9 (wrk: 50, 75, 90, 99)`},
		"scrape interval": {`
prometheus:
  - {name: p, url: "http://127.0.0.1:9090", scrape_interval: 0s}
`, `z.yaml:3: prometheus source "p": scrape_interval must not be 0s: leave it out for the default, 30s`},
		"global significance": {`
global: {regressions: {significance: 0}}
`, `z.yaml:2: global.regressions.significance must not be 0: leave it out for the default, 0.001`},
		"global window": {`
global: {regressions: {window: 0}}
`, `z.yaml:2: global.regressions.window must not be 0: leave it out for the default, 30`},
		"profile window": {`
profiles:
  - name: a
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    regressions: {window: 0, significance: 0.0}
`, `z.yaml:6: profile "a": regressions.window must not be 0: leave it out for the default, global.regressions.window`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "z.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}
