package dashboards

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

// TestWrongGrafanaAnswers: a Grafana that accepts connections and never
// answers, answers 5xx, answers with something that is not JSON, or with a
// 50 MB body makes the call fail with the reason, within the attempts'
// timeouts, without reading more than maxResponseBody of an answer.
func TestWrongGrafanaAnswers(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 64<<10))
	var sent atomic.Int64 // bytes of the 50 MB answer the server got rid of
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// Only the blackhole waits for the timeout; the others have one long
	// enough that a loaded machine still reads their answers within it (a
	// timed-out read of the 50 MB answer would be retried and read twice).
	const short, long, attempts = 300 * time.Millisecond, 10 * time.Second, 2
	for _, tc := range []struct {
		name, url, want string
		timeout         time.Duration
	}{
		{"blackhole", testutil.Blackhole(t), "no answer within 300ms (after 2 attempts)", short},
		{"unavailable", serve(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		}), "503", long},
		{"not JSON", serve(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "<html>login</html>")
		}), "invalid character '<'", long},
		{"50 MB", serve(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"uid":"`)
			for range 50 << 20 / len(chunk) {
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
			fmt.Fprint(w, `"}]`)
		}), "Grafana's answer is larger than 16 MiB", long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(Options{URL: tc.url, Token: "t", Timeout: tc.timeout, Attempts: attempts, Backoff: 10 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.List(context.Background(), ListOptions{})
			took := time.Since(start)
			t.Logf("%v after %v", err, took)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("List: %v, want an error saying %q", err, tc.want)
			}
			if limit := attempts*tc.timeout + time.Second; took > limit {
				t.Errorf("List took %v, more than the attempts' timeouts (%v)", took, limit)
			}
			// The client stops reading at the limit and closes the
			// connection: the server gets rid of the limit plus what the
			// sockets' buffers hold, never the whole answer. (Bytes, not the
			// heap: allocation counts vary with the race detector and with
			// whatever else the process does.)
			if n := sent.Load(); n > maxResponseBody+8<<20 {
				t.Errorf("the server sent %d MB of its answer before the client stopped, want at most %d", n>>20, (maxResponseBody+8<<20)>>20)
			}
		})
	}
}
