package environment

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// TestWrongPrometheusAnswers: a source that accepts connections and never
// answers, answers 5xx, answers with something that is not JSON, or with a
// 50 MB body is reported down with its reason, within the query timeout,
// without reading more than MaxAnswerBytes of it.
func TestWrongPrometheusAnswers(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	sources := []struct {
		name, url string
		reason    Reason
		error     string
	}{
		{"blackhole", testutil.Blackhole(t), ReasonTimeout, "context deadline exceeded"},
		{"unavailable", serve(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		}), ReasonHTTP, "503"},
		{"not-json", serve(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "<html>login</html>")
		}), ReasonHTTP, "reading the build info"},
		{"huge", serve(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			// 50 MB written in chunks, so the server allocates little.
			fmt.Fprint(w, `{"status":"success","data":{"version":"`)
			for range 50 << 20 / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			fmt.Fprint(w, `"}}`)
		}), ReasonTooLarge, "larger than 8 MiB"},
	}
	var yaml strings.Builder
	yaml.WriteString("prometheus:\n")
	for _, s := range sources {
		fmt.Fprintf(&yaml, "  - {name: %s, url: %q}\n", s.name, s.url)
	}
	const timeout = 500 * time.Millisecond
	env := New(parseConfig(t, yaml.String()), nil, Options{QueryTimeout: timeout})

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	results := env.Check(context.Background())
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if took > timeout+time.Second {
		t.Errorf("the check took %v, more than the query timeout %v (plus 1s)", took, timeout)
	}
	// TotalAlloc counts every allocation: the 50 MB answer was not read.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*MaxAnswerBytes {
		t.Errorf("the check allocated %d MB, want at most %d", alloc>>20, 8*MaxAnswerBytes>>20)
	}
	up := upValues(t, env)
	for i, s := range sources {
		r := results[i]
		t.Logf("%s: %s: %s (%.2fs)", s.name, r.Reason, r.Error, r.Seconds)
		if r.Up || r.Reason != s.reason || !strings.Contains(r.Error, s.error) {
			t.Errorf("%s: up %v, reason %q, error %q; want reason %q and an error saying %q", s.name, r.Up, r.Reason, r.Error, s.reason, s.error)
		}
		if up[s.name] != 0 {
			t.Errorf("perf_prometheus_up{prometheus=%q} = %v, want 0", s.name, up[s.name])
		}
	}
}
