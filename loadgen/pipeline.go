package loadgen

import (
	"cmp"
	"context"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// runIDLayout is the time part of a run id: sortable, millisecond
// precision, UTC.
const runIDLayout = "20060102T150405.000Z"

// RunID names a run of a profile that starts at start: the profile name,
// then the start time, so ids sort by time within a profile.
func RunID(profile string, start time.Time) string {
	return profile + "-" + start.UTC().Format(runIDLayout)
}

// Run is one run of a profile, from the engine to the result document. The
// daemon's scheduler and the `run` command both go through it, so a
// scheduled run and a CLI run of the same profile produce the same
// document; the scheduler adds slots, persistence and publishing around it,
// the CLI a progress bar and an exit status.
type Run struct {
	// Profile is what this process sends: for a replica of a split load,
	// its share (the objectives and target are the profile's).
	Profile config.Profile
	// Split is the number of replicas sharing the load (1 = alone).
	Split  int
	ID     string
	Start  time.Time
	Engine Engine
	// Observer receives every request live; nil for none.
	Observer result.Observer
	// Now is the clock that measures a run the engine returned nothing
	// for; nil means time.Now.
	Now func() time.Time
}

// Finished is what a run produced.
type Finished struct {
	Doc *result.Document
	// Measured is what the engine returned, nil when it returned nothing
	// (the document then holds a stand-in with the requested figures).
	Measured *result.Measurement
}

// Execute runs the engine and builds the run's document: header files
// read, objectives judged, the error redacted. A run whose context is
// cancelled is aborted, whatever the engine made of it.
func (r *Run) Execute(ctx context.Context) Finished {
	p := r.Profile
	var measured *result.Measurement
	var runErr error
	if p.Target, runErr = p.Target.WithHeaderFiles(); runErr == nil {
		obs := r.Observer
		if obs == nil {
			obs = discardObserver{}
		}
		measured, runErr = r.Engine.Run(ctx, p, obs)
	}
	outcome, verdicts := result.Judge(p, measured, runErr)
	if ctx.Err() != nil {
		outcome = result.OutcomeAborted
	}
	info := r.info(outcome)
	info.Verdicts = verdicts
	if runErr != nil {
		info.Error = p.Target.Redact(runErr.Error())
		measured = nil
	}
	if outcome == result.OutcomeAborted {
		info.Error = abortReason(ctx, info.Error)
	}
	if measured == nil {
		return Finished{Doc: result.NewDocument(r.standIn(), info)}
	}
	return Finished{Doc: result.NewDocument(r.withRequested(measured), info), Measured: measured}
}

// abortReason is the Error of an aborted run, which always says why: the
// cause its context was cancelled with (the scheduler's shutdown, a
// signal), else that the engine stopped it; then the engine's error, if it
// returned one.
func abortReason(ctx context.Context, runErr string) string {
	reason := "the engine stopped the run"
	if cause := context.Cause(ctx); cause != nil {
		reason = cause.Error()
	}
	if runErr != "" {
		return "aborted: " + reason + " (" + runErr + ")"
	}
	return "aborted: " + reason
}

// Pending is the document of the run before it has a result: who, when and
// what was asked, nothing measured, outcome aborted. It is what the
// history keeps of a run the process dies during.
func (r *Run) Pending() *result.Document {
	m := r.standIn()
	m.ActualDuration = 0
	return result.NewDocument(m, r.info(result.OutcomeAborted))
}

// withRequested fills in the requested figures an engine left out (a run
// stopped during its warm-up measured nothing and says nothing) from the
// profile, so every document says what was asked. A copy is changed: the
// engine's measurement stays as returned.
func (r *Run) withRequested(m *result.Measurement) *result.Measurement {
	c := *m
	c.RequestedDuration = cmp.Or(c.RequestedDuration, r.Profile.Load.Duration.D())
	c.RequestedQPS = cmp.Or(c.RequestedQPS, max(r.Profile.Load.QPS, 0))
	c.Connections = cmp.Or(c.Connections, r.Profile.Load.Connections)
	if c.StartTime.IsZero() {
		c.StartTime = r.Start
	}
	return &c
}

func (r *Run) info(outcome string) result.DocumentInfo {
	return result.DocumentInfo{RunID: r.ID, Profile: r.Profile.Name, Outcome: outcome, Split: r.Split,
		Method: r.Profile.Target.Method, Headers: r.Profile.Target.PublicHeaders()}
}

// standIn is the measurement of a run the engine returned nothing for: what
// was asked, how long it took, nothing measured.
func (r *Run) standIn() *result.Measurement {
	p := r.Profile
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	return &result.Measurement{Engine: p.Engine, Protocol: p.Target.Protocol, URL: config.PublicURL(p.Target.URL),
		StartTime: r.Start, ActualDuration: now().Sub(r.Start), RequestedDuration: p.Load.Duration.D(),
		RequestedQPS: p.Load.QPS, Connections: p.Load.Connections}
}

type discardObserver struct{}

func (discardObserver) ObserveRequest(time.Duration, string) {}
