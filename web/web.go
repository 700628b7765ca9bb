// Package web serves perf-exporter's HTTP endpoints: metrics, the landing
// page, health, reload and the JSON API. The server itself (TLS, basic auth)
// is exporter-toolkit's; this package only builds the handler, and owns
// every route: the features it serves reach it through the small interfaces
// below, so it depends on none of them (the scheduler and its engines, the
// environment's Prometheus client).
package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/store"
)

// Options wire the handler.
type Options struct {
	Gatherer prometheus.Gatherer
	// Metrics serves /metrics instead of promhttp over Gatherer when set:
	// the daemon's exposition cache (collector.Runs.Handler).
	Metrics  http.Handler
	Profiles Profiles
	// Reload reloads the config; its error is shown to the caller.
	Reload func() error
	// Ready reports whether start-up is complete (history restored,
	// schedule applied).
	Ready *atomic.Bool
	// History is the run history (the store). With it the results API
	// (GET /api/v1/results...) lists, serves and compares runs, the landing
	// page charts each profile's recent runs and GET /runs/{id} shows a run.
	// Nil shows each profile's last run only.
	History History
	// Prometheus tests the connection to the Prometheus sources for
	// GET /api/v1/prometheus; nil leaves the endpoint out.
	Prometheus Prometheus
	// Changes serves GET /api/v1/profiles/{name}/changes and POST
	// .../changes/{id}/accept; nil leaves them out.
	Changes Changes
	// BaselineRuns is global.baseline_runs at start, how many successful
	// runs the charts' baselines are the median of; 0 =
	// config.DefaultBaselineRuns. Handler.ApplyConfig changes it.
	BaselineRuns int
	// Now is the clock that since=24h counts back from; nil = time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Version is shown on the landing page.
	Version string
	// StoreStatus says whether the run history is written; when it is
	// not, the landing page says why. Nil: nothing is shown.
	StoreStatus func() store.Status
	// EnableLifecycle turns on POST /-/reload (FlagLifecycle); without it
	// the endpoint answers 403 naming the flag.
	EnableLifecycle bool
	// EnableAdminAPI turns on the API's write endpoints (FlagAdminAPI):
	// run now, accept a change point.
	EnableAdminAPI bool
}

// Handler serves every endpoint. Its config-dependent parts follow
// reloads through ApplyConfig.
type Handler struct {
	mux   *http.ServeMux
	guard *writeGuard
	opts  Options
	// baselineRuns is global.baseline_runs of the config in force.
	baselineRuns atomic.Int64
}

// New returns the handler of every endpoint.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{mux: http.NewServeMux(), opts: o}
	h.guard = &writeGuard{crossOrigin: http.NewCrossOriginProtection(), mux: h.mux,
		enableLifecycle: o.EnableLifecycle, enableAdminAPI: o.EnableAdminAPI}
	h.baselineRuns.Store(int64(o.BaselineRuns))
	h.routes()
	return h
}

// routes is the list of every endpoint.
func (h *Handler) routes() {
	o := h.opts
	mux := h.mux
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	} else {
		mux.Handle("GET /metrics", bestSpeedGzip(promhttp.HandlerFor(o.Gatherer,
			promhttp.HandlerOpts{ErrorLog: slogErrorLog{o.Logger}, DisableCompression: true})))
	}
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("Healthy\n")) // a failed write is a client gone
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil && !o.Ready.Load() {
			http.Error(w, "Not ready: starting up", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("Ready\n"))
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
		if err := o.Reload(); err != nil {
			http.Error(w, "reload failed, the previous config stays in force:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		if backToLandingPage(w, r, "../") {
			return
		}
		_, _ = w.Write([]byte("Reloaded\n"))
	})
	mux.HandleFunc("GET /api/v1/profiles", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, profileViews(o.Profiles.Statuses()))
	})
	mux.HandleFunc("POST /api/v1/profiles/{name}/run", h.runNow)
	if o.Changes != nil {
		mux.HandleFunc("GET /api/v1/profiles/{name}/changes", h.listChanges)
		mux.HandleFunc("POST /api/v1/profiles/{name}/changes/{id}/accept", h.acceptChange)
	}
	if o.Prometheus != nil {
		mux.HandleFunc("GET /api/v1/prometheus", h.checkPrometheus)
	}
	if o.History != nil {
		api := resultsAPI{history: o.History, now: o.Now, logger: o.Logger}
		mux.HandleFunc("GET /api/v1/results", api.list)
		mux.HandleFunc("GET /api/v1/results/{id}", api.get)
		mux.HandleFunc("GET /api/v1/results/compare", api.compare)
		mux.HandleFunc("GET /runs/{id}", h.runPage)
		mux.HandleFunc("GET /compare", h.comparePage)
	}
	// The history of 1 000 runs is most of a megabyte of SVG; compressed a
	// tenth of it.
	mux.Handle("GET /{$}", bestSpeedGzip(http.HandlerFunc(h.landingPage)))
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.guard.refuse(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// ApplyConfig makes the pages follow a reloaded config.
func (h *Handler) ApplyConfig(cfg *config.Config) error {
	h.baselineRuns.Store(int64(cfg.Global.BaselineRuns))
	return nil
}

// runNow serves POST /api/v1/profiles/{name}/run.
func (h *Handler) runNow(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := h.opts.Profiles.RunNow(name)
	switch {
	case errors.Is(err, ErrUnknownProfile):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, ErrRunning):
		writeError(w, http.StatusConflict, err)
	case errors.Is(err, ErrStopping):
		writeError(w, http.StatusServiceUnavailable, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		if backToLandingPage(w, r, "../../../../") {
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"profile": name, "status": "started"})
	}
}

// writeJSON writes v as indented JSON with a status code.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError writes {"error": "..."}: every API error says why.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

type slogErrorLog struct{ l *slog.Logger }

func (s slogErrorLog) Println(v ...any) { s.l.Error("metrics handler", "err", v) }
