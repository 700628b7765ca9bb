package main

import (
	"net/http"

	"github.com/perf-exporter/perf-exporter/store"
	pweb "github.com/perf-exporter/perf-exporter/web"
)

// resultRoutes are the result history endpoints mounted next to the core API.
func resultRoutes(st *store.Store) map[string]http.Handler {
	return pweb.ResultsAPI{Results: st}.Routes()
}
