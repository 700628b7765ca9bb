package config

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleInterval(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		spec string
		want time.Duration
	}{
		// Twice a night, an hour apart: the long gap is the rest of the day.
		{"0 0,1 * * *", 23 * time.Hour},
		// Office hours: from 17:45 to 09:00 the next day.
		{"*/15 9-17 * * *", 15*time.Hour + 15*time.Minute},
		{"@every 10m", 10 * time.Minute},
		{"@every 1s", time.Second},
		{"@hourly", time.Hour},
		{"@daily", day},
		{"@weekly", 7 * day},
		{"@monthly", 31 * day},
		{"@yearly", 366 * day},
		// Six fields: seconds first.
		{"*/10 * * * * *", 10 * time.Second},
		{"30 0 9 * * 1-5", 3 * day}, // Friday 09:00:30 to Monday 09:00:30
		{"0 0 31 * *", 61 * day},    // skips February, April, June, September, November
		{"0 0 29 2 *", 1461 * day},  // leap days only
		{"0 0 13 * 5", 7 * day},     // the 13th or any Friday (both day fields set: either)
		{"CRON_TZ=UTC 0 12 * * *", day},
	} {
		got, err := ScheduleInterval(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("ScheduleInterval(%q) = %s, %v; want %s", tc.spec, got, err, tc.want)
		}
	}
}

// The structural computation agrees with walking robfig/cron's own Next
// over two years, for schedules whose whole pattern fits in that span.
func TestScheduleIntervalMatchesCronWalk(t *testing.T) {
	for _, spec := range []string{
		"0 0,1 * * *", "*/15 9-17 * * *", "7 3 * * 1,3", "0 0 1,15 * *", "0 22 * * 1-5",
		"0 0 13 * 5", "0 0 31 * *", "*/20 */7 * * *", "15 */5 1-10 * * *",
	} {
		want, err := ScheduleInterval("CRON_TZ=UTC " + spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		sched, err := CronParser.Parse("CRON_TZ=UTC " + spec)
		if err != nil {
			t.Fatal(err)
		}
		var longest time.Duration
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		prev := sched.Next(t0.Add(-time.Second))
		for prev.Before(t0.AddDate(2, 0, 0)) {
			next := sched.Next(prev)
			longest = max(longest, next.Sub(prev))
			prev = next
		}
		if longest != want {
			t.Errorf("%q: ScheduleInterval = %s, walking Next over two years = %s", spec, want, longest)
		}
	}
}

func TestScheduleNeverFires(t *testing.T) {
	for _, spec := range []string{"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *"} {
		_, err := ScheduleInterval(spec)
		if err == nil || !strings.Contains(err.Error(), "never fires") {
			t.Errorf("ScheduleInterval(%q) = %v, want never fires", spec, err)
		}
	}
}
