package dashboards

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

// TestWrongGrafanaAnswers: a Grafana that accepts connections and never
// answers, answers 5xx, answers with something that is not JSON, or with a
// 50 MB body makes the call fail with the reason, within the attempts'
// timeouts, without reading more than maxResponseBody of an answer.
func TestWrongGrafanaAnswers(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	const timeout, attempts = 300 * time.Millisecond, 2
	for _, tc := range []struct {
		name, url, want string
	}{
		{"blackhole", testutil.Blackhole(t), "no answer within 300ms (after 2 attempts)"},
		{"unavailable", serve(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		}), "503"},
		{"not JSON", serve(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "<html>login</html>")
		}), "invalid character '<'"},
		{"50 MB", serve(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"uid":"`)
			for range 50 << 20 / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			fmt.Fprint(w, `"}]`)
		}), "Grafana's answer is larger than 16 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(Options{URL: tc.url, Token: "t", Timeout: timeout, Attempts: attempts, Backoff: 10 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err = c.List(context.Background(), ListOptions{})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			t.Logf("%v after %v, %d MB allocated", err, took, (after.TotalAlloc-before.TotalAlloc)>>20)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("List: %v, want an error saying %q", err, tc.want)
			}
			if limit := attempts*timeout + time.Second; took > limit {
				t.Errorf("List took %v, more than the attempts' timeouts (%v)", took, limit)
			}
			// Reading up to the limit and handing the answer on copies it a
			// few times; a 50 MB answer read whole would take more.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*maxResponseBody {
				t.Errorf("List allocated %d MB reading an answer, want at most %d", alloc>>20, 3*maxResponseBody>>20)
			}
		})
	}
}
