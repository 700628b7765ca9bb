package scheduler

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/perf-exporter/perf-exporter/config"
)

// parseSchedule parses a profile's schedule. robfig/cron runs "@every D"
// at D after the moment the entry was added, so two replicas started a few
// seconds apart would never fire together; we align it to multiples of D
// since the Unix epoch instead, like the cron specs already are. Replicas
// splitting a profile's load (--load.split) then send at the same time.
func parseSchedule(spec string) (cron.Schedule, error) {
	s, err := config.CronParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		return alignedEvery{every.Delay}, nil
	}
	return s, nil
}

// alignedEvery fires at every multiple of its period since the epoch.
type alignedEvery struct{ period time.Duration }

// Next implements cron.Schedule.
func (a alignedEvery) Next(t time.Time) time.Time {
	p := int64(a.period)
	return time.Unix(0, (t.UnixNano()/p+1)*p).In(t.Location())
}
