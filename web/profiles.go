package web

import (
	"errors"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// Profiles is what the web layer needs of the scheduler.
type Profiles interface {
	// Statuses lists every scheduled profile, by name.
	Statuses() []ProfileStatus
	// RunNow starts a run of a profile outside its schedule. Its error
	// wraps ErrUnknownProfile, ErrRunning or ErrStopping when the run was
	// refused for that reason.
	RunNow(name string) error
}

// ProfileStatus is what the landing page and API show of a profile.
type ProfileStatus struct {
	Profile config.Profile
	Running bool
	Next    time.Time // zero: not scheduled
	Last    *result.Document
}

// The reasons a run-now request is refused, each its own HTTP status.
var (
	ErrUnknownProfile = errors.New("no such profile")                // 404
	ErrRunning        = errors.New("the profile is already running") // 409
	ErrStopping       = errors.New("the exporter is shutting down")  // 503
)
