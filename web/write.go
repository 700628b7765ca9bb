package web

import (
	"fmt"
	"net/http"
	"strings"
)

// The flags that turn the write endpoints on, as in Prometheus. Without them
// the endpoints answer 403 naming the flag: a write endpoint starts load at
// the configured targets or swaps the config, which an exporter that only
// serves metrics should not allow by default.
const (
	// FlagLifecycle turns on POST /-/reload (and any other POST /-/...).
	FlagLifecycle = "--web.enable-lifecycle"
	// FlagAdminAPI turns on the API's write endpoints: every non-GET route
	// under /api/ (run now, accept a change point).
	FlagAdminAPI = "--web.enable-admin-api"
)

// writeGuard stands in front of the routes. It refuses cross-origin browser
// requests to every non-GET endpoint (net/http.CrossOriginProtection: a web
// page a colleague opens must not be able to start load tests), then the
// write endpoints whose flag is off. It decides by the route a request
// matches, so a write endpoint added later is guarded without being listed
// here.
type writeGuard struct {
	crossOrigin     *http.CrossOriginProtection
	mux             *http.ServeMux
	enableLifecycle bool
	enableAdminAPI  bool
}

// refuse answers 403 with the reason when the request may not go on, and
// reports whether it did.
func (g *writeGuard) refuse(w http.ResponseWriter, r *http.Request) bool {
	if err := g.crossOrigin.Check(r); err != nil {
		forbidden(w, r, fmt.Sprintf("cross-origin request refused: %s %s changes the exporter's state, so it accepts only requests from perf-exporter's own pages or from clients that are not browsers (%v)", r.Method, r.URL.Path, err))
		return true
	}
	if flag := g.requiredFlag(r); flag != "" {
		forbidden(w, r, fmt.Sprintf("%s %s is disabled: start perf-exporter with %s to enable it", r.Method, r.URL.Path, flag))
		return true
	}
	return false
}

// requiredFlag is the flag that is off and that the request's route needs,
// "" when none. Requests that match no route fall through to the mux's
// 404 or 405.
func (g *writeGuard) requiredFlag(r *http.Request) string {
	if isSafeMethod(r.Method) {
		return ""
	}
	_, pattern := g.mux.Handler(r)
	if pattern == "" {
		return ""
	}
	// A pattern is "METHOD /path"; every write route has a method.
	_, path, _ := strings.Cut(pattern, " ")
	switch {
	case strings.HasPrefix(path, "/-/"):
		if !g.enableLifecycle {
			return FlagLifecycle
		}
	default:
		if !g.enableAdminAPI {
			return FlagAdminAPI
		}
	}
	return ""
}

func isSafeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// backToLandingPage sends a browser that submitted one of the landing
// page's write buttons back to the page (303, relative to the endpoint so a
// path prefix in front of the exporter is kept), where the run or the
// reloaded config shows; API clients, which do not ask for HTML, get the
// answer itself. It reports whether it redirected. Errors are never
// redirected: the browser shows them.
func backToLandingPage(w http.ResponseWriter, r *http.Request, landing string) bool {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	w.Header().Set("Location", landing)
	w.WriteHeader(http.StatusSeeOther)
	return true
}

// forbidden answers 403: JSON under /api/ like every API error, plain text
// elsewhere.
func forbidden(w http.ResponseWriter, r *http.Request, reason string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": reason})
		return
	}
	http.Error(w, reason, http.StatusForbidden)
}
