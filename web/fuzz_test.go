package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// paramErrorPrefixes are how an error about the query string starts: it
// names the parameter (or the query string, when it does not parse).
var paramErrorPrefixes = []string{"query string:", "unknown parameter", "parameter ", "profile", "since", "limit", "cursor", "ids", "format"}

// FuzzQueryParameters: no query string makes an endpoint that reads
// parameters panic or fail with a 500; a refused one is a 400 whose error
// names the parameter. Seeds: the documented examples, plus the corpus in
// testdata/fuzz/FuzzQueryParameters.
func FuzzQueryParameters(f *testing.F) {
	for _, seed := range []string{
		"", "profile=checkout&since=24h&limit=1", "since=7d", "since=2026-11-27T03:00:00Z", "limit=1000",
		"cursor=abc", "ids=a,b", "ids=a&ids=b", "format=fortio", "since=-1h", "limit=0", "profile=a&profile=b",
		"%zz", "a;b", "ids=,", "since=9999999999h",
	} {
		f.Add(seed)
	}
	history := openHistory(f,
		testRun{id: "a", profile: "checkout", start: t0},
		testRun{id: "b", profile: "checkout", start: t0.Add(time.Minute)})
	h := New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{profileStatus("checkout", nil)},
		History: history, Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, query string) {
		if strings.ContainsAny(query, "# \r\n\t") {
			return // not a query string a URL can carry
		}
		for _, path := range []string{"/api/v1/results", "/api/v1/results/compare", "/api/v1/results/a", "/"} {
			req := httptest.NewRequest(http.MethodGet, "http://exporter"+path, nil)
			req.URL.RawQuery = query
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK, http.StatusNotFound:
			case http.StatusBadRequest:
				if path == "/" {
					continue // an HTML page saying why
				}
				var body struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("GET %s?%s: 400 without a JSON error: %q", path, query, rec.Body)
				}
				named := false
				for _, p := range paramErrorPrefixes {
					named = named || strings.HasPrefix(body.Error, p)
				}
				if !named {
					t.Errorf("GET %s?%s: error %q names no parameter", path, query, body.Error)
				}
			default:
				t.Errorf("GET %s?%s: %d %q", path, query, rec.Code, rec.Body)
			}
		}
	})
}
