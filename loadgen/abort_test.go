package loadgen

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// stoppedEngine returns what an engine returns when its run is stopped:
// what it measured so far, marked aborted, and optionally an error.
type stoppedEngine struct {
	cancel func()
	err    error
}

func (e stoppedEngine) Run(context.Context, config.Profile, result.Observer) (*result.Measurement, error) {
	if e.cancel != nil {
		e.cancel()
	}
	if e.err != nil {
		return nil, e.err
	}
	return &result.Measurement{Engine: "stopped", Codes: map[string]int64{"200": 3}, Aborted: true}, nil
}

// TestAbortedRunSaysWhy: an aborted run's document always has an Error
// that says why, from the cause its context was cancelled with.
func TestAbortedRunSaysWhy(t *testing.T) {
	p := testProfile("http://user:hunter2@127.0.0.1:1/", 20, 2, time.Second)
	for _, tc := range []struct {
		name   string
		cancel func(context.CancelCauseFunc)
		err    error
		want   string
	}{
		{"shutdown", func(c context.CancelCauseFunc) { c(errors.New("shutdown")) }, nil, "aborted: shutdown"},
		{"signal", func(c context.CancelCauseFunc) { c(errors.New("interrupt signal received")) }, nil, "aborted: interrupt signal received"},
		{"cancelled without a cause", func(c context.CancelCauseFunc) { c(nil) }, nil, "aborted: context canceled"},
		{"stopped by the engine", nil, nil, "aborted: the engine stopped the run"},
		{"engine error on the way out", func(c context.CancelCauseFunc) { c(errors.New("shutdown")) },
			errors.New("Get http://user:hunter2@127.0.0.1:1/: context canceled"), "aborted: shutdown (Get http://127.0.0.1:1/: context canceled)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			engine := stoppedEngine{err: tc.err}
			if tc.cancel != nil {
				engine.cancel = func() { tc.cancel(cancel) }
			}
			start := time.Now()
			run := &Run{Profile: p, Split: 1, ID: RunID(p.Name, start), Start: start, Engine: engine}
			x := run.Execute(ctx).Doc.PerfExporter
			if x.Outcome != result.OutcomeAborted || x.Error != tc.want {
				t.Errorf("outcome %q, error %q; want aborted, %q", x.Outcome, x.Error, tc.want)
			}
		})
	}
}
