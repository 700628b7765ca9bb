package environment

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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
	var sent atomic.Int64 // bytes of the 50 MB answer the server got rid of
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
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
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
	// Long enough for a loaded machine, under the race detector, to read
	// the first 8 MiB of the huge answer; the blackhole waits all of it.
	const timeout = 2 * time.Second
	env := New(parseConfig(t, yaml.String()), nil, Options{QueryTimeout: timeout})

	start := time.Now()
	results := env.Check(context.Background())
	took := time.Since(start)
	if took > timeout+time.Second {
		t.Errorf("the check took %v, more than the query timeout %v (plus 1s)", took, timeout)
	}
	// The check stops reading at the limit and closes the connection: the
	// server gets rid of the limit plus what the sockets' buffers hold,
	// never the whole answer. (Bytes, not the heap: allocation counts vary
	// with the race detector and with whatever else the process does.)
	if n := sent.Load(); n > MaxAnswerBytes+8<<20 {
		t.Errorf("the server sent %d MB of its answer before the check stopped, want at most %d", n>>20, (MaxAnswerBytes+8<<20)>>20)
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
