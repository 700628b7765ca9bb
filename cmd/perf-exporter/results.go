package main

import (
	"log/slog"
	"net/http"

	"github.com/perf-exporter/perf-exporter/environment"
	"github.com/perf-exporter/perf-exporter/store"
	pweb "github.com/perf-exporter/perf-exporter/web"
)

// extraRoutes are the endpoints of the history and environment features,
// mounted next to the core API.
func extraRoutes(logger *slog.Logger, st *store.Store, env *environment.Environment) map[string]http.Handler {
	routes := pweb.ResultsAPI{Results: st, Logger: logger}.Routes()
	routes["GET /api/v1/prometheus"] = environment.CheckHandler(env)
	return routes
}
