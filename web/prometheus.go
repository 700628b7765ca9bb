package web

import (
	"context"
	"net/http"
)

// Prometheus is what GET /api/v1/prometheus needs of the environment: a
// fresh test of every Prometheus source's connection.
type Prometheus interface {
	CheckSources(ctx context.Context) []SourceCheck
}

// SourceCheck is the outcome of testing one Prometheus source's connection.
// It holds no credentials: the URL is scheme://host/path and errors are
// redacted.
type SourceCheck struct {
	Prometheus string `json:"prometheus"`
	URL        string `json:"url"`
	Up         bool   `json:"up"`
	// Version is what the server's build info API reports.
	Version string `json:"version,omitempty"`
	// Reason classifies a failure (dns, refused, tls, unauthorized, ...).
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// Seconds is how long the check took.
	Seconds float64 `json:"seconds"`
}

// checkPrometheus serves a fresh check of every source as a JSON array, in
// config order. The status is 200 when the check ran, whatever it found:
// failures are in the body.
func (h *Handler) checkPrometheus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.opts.Prometheus.CheckSources(r.Context()))
}
