package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/perf-exporter/perf-exporter/regression"
)

// Changes is the change-point tracker (package regression).
type Changes interface {
	// Changes lists a profile's change points; the error wraps
	// regression.ErrUnknownProfile for a profile not configured.
	Changes(ctx context.Context, profile string) ([]regression.Change, error)
	// Accept makes the level a regression started the new normal; the
	// error wraps regression.ErrUnknownProfile or ErrUnknownChange.
	Accept(ctx context.Context, profile, id string) (regression.Change, error)
	// BaselineWindow is the start and end (zero: open) of the runs of the
	// profile's accepted latency level, which baselines are the median of.
	BaselineWindow(ctx context.Context, profile string) (from, until time.Time, err error)
}

// changesView is GET /api/v1/profiles/{name}/changes.
type changesView struct {
	Profile string              `json:"profile"`
	Changes []regression.Change `json:"changes"`
}

// listChanges serves GET /api/v1/profiles/{name}/changes.
func (h *Handler) listChanges(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	changes, err := h.opts.Changes.Changes(r.Context(), name)
	if err != nil {
		writeChangesError(w, err)
		return
	}
	if changes == nil {
		changes = []regression.Change{}
	}
	writeJSON(w, http.StatusOK, changesView{Profile: name, Changes: changes})
}

// acceptChange serves POST /api/v1/profiles/{name}/changes/{id}/accept.
func (h *Handler) acceptChange(w http.ResponseWriter, r *http.Request) {
	c, err := h.opts.Changes.Accept(r.Context(), r.PathValue("name"), r.PathValue("id"))
	if err != nil {
		writeChangesError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func writeChangesError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, regression.ErrUnknownProfile), errors.Is(err, regression.ErrUnknownChange):
		writeError(w, http.StatusNotFound, err)
	default:
		writeError(w, http.StatusInternalServerError, err)
	}
}
