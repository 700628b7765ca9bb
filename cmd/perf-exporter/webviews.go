package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/perf-exporter/perf-exporter/environment"
	"github.com/perf-exporter/perf-exporter/scheduler"
	pweb "github.com/perf-exporter/perf-exporter/web"
)

// The web layer defines what it needs of the scheduler and the environment;
// these adapters show them to it, so it depends on neither (nor on the
// engines and the Prometheus client behind them).

// scheduledProfiles shows the scheduler to the web layer.
type scheduledProfiles struct{ sched *scheduler.Scheduler }

func (p scheduledProfiles) Statuses() []pweb.ProfileStatus {
	statuses := p.sched.Statuses()
	out := make([]pweb.ProfileStatus, 0, len(statuses))
	for _, s := range statuses {
		out = append(out, pweb.ProfileStatus{Profile: s.Profile, Running: s.Running, Next: s.Next, Last: s.Last})
	}
	return out
}

func (p scheduledProfiles) RunNow(name string) error {
	err := p.sched.RunNow(name)
	for _, e := range []struct{ ours, web error }{
		{scheduler.ErrUnknownProfile, pweb.ErrUnknownProfile},
		{scheduler.ErrRunning, pweb.ErrRunning},
		{scheduler.ErrStopping, pweb.ErrStopping},
	} {
		if errors.Is(err, e.ours) {
			return fmt.Errorf("%w: %q", e.web, name)
		}
	}
	return err
}

// prometheusSources shows the environment's connection check to the web
// layer.
type prometheusSources struct{ env *environment.Environment }

func (p prometheusSources) CheckSources(ctx context.Context) []pweb.SourceCheck {
	results := p.env.Check(ctx)
	out := make([]pweb.SourceCheck, 0, len(results))
	for _, r := range results {
		out = append(out, pweb.SourceCheck{Prometheus: r.Prometheus, URL: r.URL, Up: r.Up, Version: r.Version,
			Reason: string(r.Reason), Error: r.Error, Seconds: r.Seconds})
	}
	return out
}
