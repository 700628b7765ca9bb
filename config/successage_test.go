package config

import (
	"strings"
	"testing"
)

// A max_success_age no longer than the schedule's longest gap makes
// PerfNoRecentSuccess fire between healthy runs (issue 18 item 13: the
// alert must not fire falsely): "@every 1h" with 10m alerted every hour,
// "0 0,1 * * *" with 2h every day.
func TestMaxSuccessAgeShorterThanTheScheduleGap(t *testing.T) {
	for name, tc := range map[string]struct{ schedule, age, want string }{
		"every": {"@every 1h", "10m", `s.yaml:4: profile "a": max_success_age 10m0s is not longer than the longest time between two runs of its schedule, 1h0m0s: PerfNoRecentSuccess would fire between healthy runs; leave it out (three intervals) or set more than 1h0m0s`},
		"cron":  {"0 0,1 * * *", "2h", `s.yaml:4: profile "a": max_success_age 2h0m0s is not longer than the longest time between two runs of its schedule, 23h0m0s: PerfNoRecentSuccess would fire between healthy runs; leave it out (three intervals) or set more than 23h0m0s`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(`profiles:
  - name: a
    schedule: "`+tc.schedule+`"
    max_success_age: `+tc.age+`
    target: {url: "http://127.0.0.1:8080/"}
`), "s.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(`profiles:
  - {name: a, schedule: "@every 1h", max_success_age: 90m, target: {url: "http://127.0.0.1:8080/"}}
`), "s.yaml"); err != nil {
		t.Errorf("max_success_age above the gap: %v", err)
	}
}

// start_jitter delays each run by up to its value while the profile counts
// as running: a jitter as long as the schedule's period makes runs start
// after their next tick (skipped), so the profile runs at most every other
// tick and PerfNoRecentSuccess fires.
func TestStartJitterNotShorterThanThePeriod(t *testing.T) {
	_, err := Parse([]byte(`global: {start_jitter: 1h}
profiles:
  - name: a
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
`), "j.yaml")
	want := `j.yaml:4: profile "a": global.start_jitter 1h0m0s is not shorter than its schedule's period, 1m0s: runs would start after their next tick, which is then skipped; lower global.start_jitter`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %s", err, want)
	}
}
