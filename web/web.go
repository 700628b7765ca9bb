// Package web serves perf-exporter's HTTP endpoints: metrics, the landing
// page, health, reload and the JSON API. The server itself (TLS, basic auth)
// is exporter-toolkit's; this package only builds the handler.
package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/perf-exporter/perf-exporter/scheduler"
)

// Profiles is what the web layer needs of the scheduler.
type Profiles interface {
	Statuses() []scheduler.Status
	RunNow(name string) error
}

// Options wire the handler.
type Options struct {
	Gatherer prometheus.Gatherer
	Profiles Profiles
	// Reload reloads the config; its error is shown to the caller.
	Reload func() error
	// Ready reports whether start-up is complete (history restored,
	// schedule applied).
	Ready *atomic.Bool
	// Extra mounts handlers of other features (results API, Prometheus
	// check) by pattern, e.g. "GET /api/v1/prometheus".
	Extra  map[string]http.Handler
	Logger *slog.Logger
	// Version is shown on the landing page.
	Version string
	// History is the run history (the store): with it the landing page
	// charts each profile's recent runs and GET /runs/{id} shows a run.
	// Nil shows each profile's last run only.
	History History
	// BaselineRuns is global.baseline_runs, how many successful runs the
	// charts' baselines are the median of; 0 = config.DefaultBaselineRuns.
	BaselineRuns int
}

// New returns the handler of every endpoint.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", bestSpeedGzip(promhttp.HandlerFor(o.Gatherer,
		promhttp.HandlerOpts{ErrorLog: slogErrorLog{o.Logger}, DisableCompression: true})))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("Healthy\n"))
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if o.Ready != nil && !o.Ready.Load() {
			http.Error(w, "Not ready: starting up", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Ready\n"))
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, _ *http.Request) {
		if err := o.Reload(); err != nil {
			http.Error(w, "reload failed, the previous config stays in force:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("Reloaded\n"))
	})
	mux.HandleFunc("GET /api/v1/profiles", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, profileViews(o.Profiles.Statuses()))
	})
	mux.HandleFunc("POST /api/v1/profiles/{name}/run", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		err := o.Profiles.RunNow(name)
		switch {
		case errors.Is(err, scheduler.ErrUnknownProfile):
			writeError(w, http.StatusNotFound, err)
		case errors.Is(err, scheduler.ErrRunning):
			writeError(w, http.StatusConflict, err)
		case err != nil:
			writeError(w, http.StatusInternalServerError, err)
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"profile": name, "status": "started"})
		}
	})
	for pattern, h := range o.Extra {
		mux.Handle(pattern, h)
	}
	if o.History != nil {
		mux.Handle("GET /runs/{id}", runPageHandler(o))
	}
	mux.Handle("GET /{$}", landingPage(o))
	return mux
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
