package loadgen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A target that refuses every connection answered nothing: no latency, no
// throughput, every request under code "error" with its reason (issue 18,
// items 1 and 11; before, 499.9 req/s and p50 134 µs were reported).
func TestFortioClosedPortMeasuresNoResponse(t *testing.T) {
	for _, protocol := range []string{config.ProtocolHTTP1, config.ProtocolGRPC} {
		t.Run(protocol, func(t *testing.T) {
			p := testProfile("http://"+closedPort(t)+"/", 200, 4, time.Second)
			p.Target.Protocol = protocol
			obs := &countingObserver{}
			r, err := NewFortio().Run(context.Background(), p, obs)
			if err != nil {
				t.Fatal(err)
			}
			failed := r.Codes[result.CodeError]
			if failed == 0 || failed != r.Requests() {
				t.Fatalf("codes = %v, want only %q", r.Codes, result.CodeError)
			}
			if r.Latency != nil {
				t.Errorf("latency %+v measured with no response", r.Latency)
			}
			if _, ok := r.Percentile(50); ok {
				t.Errorf("p50 reported with no response")
			}
			if r.ActualQPS != 0 {
				t.Errorf("achieved %g req/s with no response, want 0", r.ActualQPS)
			}
			if r.Corrected != nil {
				t.Errorf("corrected latency %+v with no response", r.Corrected)
			}
			var reasons int64
			for reason, n := range r.ErrorReasons {
				reasons += n
				if !strings.Contains(reason, "connection refused") {
					t.Errorf("reason %q (%d), want connection refused", reason, n)
				}
			}
			if reasons != failed {
				t.Errorf("reasons %v count %d requests, want %d", r.ErrorReasons, reasons, failed)
			}
			if obs.codes[result.CodeError] != failed {
				t.Errorf("observer saw %v, result %v", obs.codes, r.Codes)
			}
		})
	}
}

// A run where some requests time out: the timeouts' latency (the timeout
// itself) stays out of the percentiles, the histogram and the achieved
// rate, which count responses only.
func TestFortioMixedRunExcludesErrorLatency(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%4 == 0 {
			// Headers now, body after the client's timeout: the client
			// gives up on a reply it has started reading.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			time.Sleep(400 * time.Millisecond)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	p := testProfile(srv.URL, 100, 4, 2*time.Second)
	p.Target.Timeout = config.Duration(150 * time.Millisecond)
	r, err := NewFortio().Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed, ok := r.Codes[result.CodeError], r.Codes["200"]
	t.Logf("codes %v, reasons %v, %.1f req/s over %s", r.Codes, r.ErrorReasons, r.ActualQPS, r.ActualDuration)
	if failed == 0 || ok == 0 {
		t.Fatalf("codes = %v, want both 200 and %q", r.Codes, result.CodeError)
	}
	if r.Latency == nil || r.Latency.Count != ok {
		t.Fatalf("latency histogram %+v, want the %d responses only", r.Latency, ok)
	}
	for _, pc := range r.Latency.Percentiles {
		if pc.Value >= 0.1 {
			t.Errorf("p%g = %.4fs: the timeouts' latency is counted", pc.Percentile, pc.Value)
		}
	}
	if r.Latency.Max >= 0.1 {
		t.Errorf("max %.4fs: the timeouts' latency is counted", r.Latency.Max)
	}
	if want := float64(ok) / r.ActualDuration.Seconds(); r.ActualQPS != want {
		t.Errorf("achieved %g req/s, want the responses' %g", r.ActualQPS, want)
	}
	var reasons int64
	for _, n := range r.ErrorReasons {
		reasons += n
	}
	if reasons != failed {
		t.Errorf("reasons %v count %d requests, want %d", r.ErrorReasons, reasons, failed)
	}
}

// A request that gets nothing back within target.timeout on a kept-alive
// connection is a timeout, though fortio takes the silence for a dead idle
// socket and sends the request again on a new connection: its answer
// arrives after the timeout and fortio reports it as a 200 (a target
// hanging on a quarter of the requests read as 0 % errors, p99 = the
// timeout). Such a request counts under error, outside latency and the
// rate, as every answer slower than target.timeout does.
func TestFortioSilentTimeoutOnKeptAliveConnectionIsAnError(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%4 == 0 {
			time.Sleep(400 * time.Millisecond) // nothing sent before the client's timeout
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	p := testProfile(srv.URL, 40, 2, 2*time.Second)
	p.Target.Timeout = config.Duration(150 * time.Millisecond)
	r, err := NewFortio().Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("codes %v, reasons %v, server saw %d requests", r.Codes, r.ErrorReasons, n.Load())
	if r.Codes[result.CodeError] == 0 {
		t.Fatalf("codes = %v: the requests the target left unanswered past the timeout count as answered", r.Codes)
	}
	if r.Latency == nil || r.Latency.Count != r.Codes["200"] {
		t.Fatalf("latency histogram %+v, want the %d responses only", r.Latency, r.Codes["200"])
	}
	if r.Latency.Max >= 0.15 {
		t.Errorf("max %.4fs: an answer slower than target.timeout is counted as a response", r.Latency.Max)
	}
	var reasons int64
	for _, k := range r.ErrorReasons {
		reasons += k
	}
	if reasons != r.Codes[result.CodeError] {
		t.Errorf("reasons %v count %d requests, want %d", r.ErrorReasons, reasons, r.Codes[result.CodeError])
	}
}
