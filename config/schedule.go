package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// CronParser is the one schedule syntax of perf-exporter: 5 fields, 6 with
// seconds, or a descriptor such as @every 10m or @hourly. The scheduler uses
// the same parser, so a schedule that validates is one that runs.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MinSchedulePeriod is the shortest @every period. robfig/cron silently
// turns anything shorter (0, negative, 100ms) into one second, which runs a
// profile back to back; we reject it instead.
const MinSchedulePeriod = time.Second

// checkSchedule parses a schedule like the scheduler will, and also rejects
// what robfig/cron accepts silently but runs differently from what was
// written: steps larger than their field's range ("*/61" minutes run once
// an hour), @every periods under a second or not whole seconds (rounded
// down), and schedules that can never fire ("0 0 30 2 *").
func checkSchedule(spec string) error {
	if _, err := CronParser.Parse(spec); err != nil {
		return err
	}
	body := withoutTimeZone(spec)
	if rest, ok := strings.CutPrefix(body, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		switch {
		case err != nil:
			return err
		case d < MinSchedulePeriod:
			return fmt.Errorf("the period must be at least %s, got %s", MinSchedulePeriod, d)
		case d%time.Second != 0:
			return fmt.Errorf("the period must be a whole number of seconds, got %s", d)
		}
		return nil
	}
	if !strings.HasPrefix(body, "@") {
		if err := checkSteps(body); err != nil {
			return err
		}
	}
	_, err := ScheduleInterval(spec)
	return err
}

// withoutTimeZone drops the CRON_TZ= or TZ= prefix robfig/cron allows.
func withoutTimeZone(spec string) string {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		if _, rest, ok := strings.Cut(spec, " "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return spec
}

// checkSteps rejects a step larger than its field's range.
func checkSteps(spec string) error {
	fields := strings.Fields(spec)
	names := []string{"minute", "hour", "day of month", "month", "day of week"}
	sizes := []int{60, 24, 31, 12, 7}
	if len(fields) == 6 {
		names = append([]string{"second"}, names...)
		sizes = append([]int{60}, sizes...)
	}
	for i, field := range fields {
		if i >= len(sizes) {
			break
		}
		for part := range strings.SplitSeq(field, ",") {
			_, step, ok := strings.Cut(part, "/")
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(step); err == nil && n > sizes[i] {
				return fmt.Errorf("step %d is larger than the %s field's range of %d values", n, names[i], sizes[i])
			}
		}
	}
	return nil
}

// errNeverFires is a schedule whose day of month, month and day of week
// never meet.
var errNeverFires = errors.New("it never fires: no date matches its day of month, month and day of week")

// ScheduleInterval is the longest time between two consecutive firings of a
// schedule, over a full cycle of it: the period of @every, and for a cron
// schedule the longest gap over 28 years of calendar (the Gregorian calendar
// repeats its days of week and leap days every 28 years from 1901 to 2099),
// so "0 0,1 * * *" gives 23h and "*/15 9-17 * * *" 15h15m, whenever it is
// computed. PerfNoRecentSuccess waits a multiple of it, so it must be the
// worst gap, not the next one. Gaps are wall-clock time: a daylight-saving
// change makes one gap a year an hour longer or shorter than this, and a
// time of day it skips does not fire that day (robfig/cron), doubling a
// daily schedule's gap once a year (three intervals still cover it). The
// computation is bounded: 10 227 days and at most 86 400 times of day.
func ScheduleInterval(spec string) (time.Duration, error) {
	s, err := CronParser.Parse(spec)
	if err != nil {
		return 0, err
	}
	switch s := s.(type) {
	case cron.ConstantDelaySchedule:
		return s.Delay, nil
	case *cron.SpecSchedule:
		return longestGap(s)
	default:
		return 0, fmt.Errorf("unsupported schedule type %T", s)
	}
}

// starBit marks a day field written as * (or ?): robfig/cron then requires
// both day fields to match, otherwise either.
const starBit = 1 << 63

// calendarCycle is 28 Gregorian years in days: 1461 weeks exactly, with
// the same leap years in the same places (between 1901 and 2099).
const calendarCycle = 28*365 + 7

func longestGap(s *cron.SpecSchedule) (time.Duration, error) {
	// Times of day, in seconds since midnight, come in increasing order.
	var first, last, prev, longest int64 = -1, -1, -1, 0
	for h := range int64(24) {
		if s.Hour&(1<<uint(h)) == 0 {
			continue
		}
		for m := range int64(60) {
			if s.Minute&(1<<uint(m)) == 0 {
				continue
			}
			for sec := range int64(60) {
				if s.Second&(1<<uint(sec)) == 0 {
					continue
				}
				t := h*3600 + m*60 + sec
				if first < 0 {
					first = t
				} else {
					longest = max(longest, t-prev)
				}
				prev, last = t, t
			}
		}
	}
	if first < 0 {
		return 0, errNeverFires
	}
	// Days that fire, over one calendar cycle; the gap after the last one
	// wraps to the first one of the next cycle.
	day := time.Date(2001, 1, 1, 12, 0, 0, 0, time.UTC) // UTC: every day is 24h long
	firstDay, prevDay, longestDays := -1, -1, 0
	for d := 0; d < calendarCycle; d, day = d+1, day.Add(24*time.Hour) {
		if !dayMatches(s, day) {
			continue
		}
		if firstDay < 0 {
			firstDay = d
		} else {
			longestDays = max(longestDays, d-prevDay)
		}
		prevDay = d
	}
	if firstDay < 0 {
		return 0, errNeverFires
	}
	longestDays = max(longestDays, firstDay+calendarCycle-prevDay)
	// The longest wait between firing days runs from the last time of one
	// to the first time of the other.
	acrossDays := int64(longestDays)*86400 + first - last
	return time.Duration(max(longest, acrossDays)) * time.Second, nil
}

// dayMatches is robfig/cron's rule for whether a date fires.
func dayMatches(s *cron.SpecSchedule, t time.Time) bool {
	_, month, dayOfMonth := t.Date()
	if s.Month&(1<<uint(month)) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(dayOfMonth)) > 0
	dow := s.Dow&(1<<uint(t.Weekday())) > 0
	if s.Dom&starBit > 0 || s.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}
