package config

import (
	"strings"
	"testing"
)

// A rate-limited Fortio run sends rate × duration requests, spread over its
// connections from its start to its end: a profile that cannot (one request
// per 5 s for 1 s, 1 request per second on 50 connections for 1 s) is
// refused where it is written, instead of running 10 s or on one
// connection (issue 18, item 3).
func TestRateShapeIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name, load string
		want       string // "" = valid
	}{
		{"a period longer than the run", "{qps: 0.2, duration: 1s}",
			"test.yaml:7: profile \"p\": load.qps 0.2 over load.duration 1s is 0 request(s): a run needs at least 2"},
		{"fewer requests than connections", "{qps: 1, connections: 50, duration: 1s}",
			"test.yaml:7: profile \"p\": load.qps 1 over load.duration 1s is 1 request(s)"},
		{"fewer than two per connection", "{qps: 10, connections: 8, duration: 1s}",
			"is 10 requests, fewer than 2 for each of the 8 load.connections (each connection sends at the run's start and at its end): use at most 5 connections"},
		{"a warmup too short for the connections", "{qps: 20, connections: 8, duration: 10s, warmup: 500ms}",
			"test.yaml:10: profile \"p\": load.qps 20 over load.warmup 500ms is 10 requests"},
		{"two per connection", "{qps: 16, connections: 8, duration: 1s}", ""},
		{"uneven share per connection", "{qps: 20, connections: 8, duration: 1s}", ""},
		{"as fast as possible", "{qps: 0, connections: 50, duration: 1s}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := `profiles:
  - name: p
    schedule: "@every 1m"
    target:
      url: http://127.0.0.1:8080/
    load:
      ` + strings.TrimSuffix(strings.TrimPrefix(strings.ReplaceAll(tc.load, ", ", "\n      "), "{"), "}") + "\n"
			_, err := Parse([]byte(yaml), "test.yaml")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A run sends load for its warm-up and then its duration: both count
// against global.limits.max_duration, or warmup: 100h passed check config
// and loaded the target for a hundred hours (issue 18 item 3: a run never
// exceeds max_duration).
func TestWarmupCountsAgainstMaxDuration(t *testing.T) {
	_, err := Parse([]byte(`profiles:
  - name: a
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:8080/"}
    load: {qps: 10, connections: 1, duration: 10m, warmup: 6m}
`), "w.yaml")
	want := `w.yaml:5: profile "a": a run can last load.warmup 6m0s + load.duration 10m0s + 12s for its last requests' answers (twice target.timeout 3s per phase) = 16m12s, above global.limits.max_duration 15m0s`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %s", err, want)
	}
}

// TestLongestRunFitsMaxDuration: a run's last requests may wait twice
// target.timeout for their answers after its duration, so a duration that
// leaves no room for them under max_duration is refused, and one that does
// is accepted.
func TestLongestRunFitsMaxDuration(t *testing.T) {
	config := func(duration string) string {
		return `global: {limits: {max_duration: 1m}}
profiles:
  - name: a
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:8080/", timeout: 2s}
    load: {qps: 10, connections: 1, duration: ` + duration + `}
`
	}
	if _, err := Parse([]byte(config("56s")), "ok.yaml"); err != nil {
		t.Errorf("56s + 2 x 2s = 1m: %v", err)
	}
	_, err := Parse([]byte(config("1m")), "long.yaml")
	want := `long.yaml:6: profile "a": a run can last load.warmup 0s + load.duration 1m0s + 4s for its last requests' answers (twice target.timeout 2s per phase) = 1m4s, above global.limits.max_duration 1m0s`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %s", err, want)
	}
}
