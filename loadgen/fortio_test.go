package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// countingObserver records what the engine reports per request.
type countingObserver struct {
	mu    sync.Mutex
	codes map[string]int64
	total time.Duration
}

func (o *countingObserver) ObserveRequest(latency time.Duration, code string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.codes == nil {
		o.codes = map[string]int64{}
	}
	o.codes[code]++
	o.total += latency
}

func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(fhttp.EchoHandler))
	t.Cleanup(srv.Close)
	return srv
}

func testProfile(url string, qps float64, conns int, d time.Duration) config.Profile {
	p := config.Profile{Name: "test", Schedule: "@every 1m", Target: config.Target{URL: url}}
	p.Load.QPS = qps
	p.Load.Connections = conns
	p.Load.Duration = config.Duration(d)
	p.ApplyDefaults()
	return p
}

func TestFortioObserverSeesEveryRequest(t *testing.T) {
	srv := echoServer(t)
	p := testProfile(srv.URL+"/echo?status=503:20", 200, 2, time.Second)
	obs := &countingObserver{}
	r, err := NewFortio().Run(context.Background(), p, obs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests() == 0 || r.Latency == nil || r.Latency.Count != r.Requests() {
		t.Fatalf("result: requests=%d histogram=%+v", r.Requests(), r.Latency)
	}
	for code, n := range r.Codes {
		if obs.codes[code] != n {
			t.Errorf("code %s: observer saw %d, result has %d", code, obs.codes[code], n)
		}
	}
	if r.Codes["503"] == 0 || r.Codes["200"] == 0 {
		t.Errorf("codes = %v, want both 200 and 503", r.Codes)
	}
	if len(r.Latency.Percentiles) != len(config.DefaultPercentiles) {
		t.Errorf("percentiles = %+v", r.Latency.Percentiles)
	}
	if r.SendLateness == nil || r.Corrected == nil {
		t.Errorf("rate-limited run has no send lateness or corrected histogram")
	}
	if r.Aborted {
		t.Errorf("complete run marked aborted")
	}
}

func TestFortioCancelAbortsTheRun(t *testing.T) {
	srv := echoServer(t)
	p := testProfile(srv.URL+"/echo", 100, 2, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	r, err := NewFortio().Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Aborted {
		t.Errorf("cancelled run not marked aborted")
	}
	if took := time.Since(begin); took > 20*time.Second {
		t.Errorf("cancelled run of 1m returned after %s", took)
	}
	if r.Requests() == 0 {
		t.Errorf("an aborted run keeps what it measured, got no requests")
	}
}

func TestFortioMaxSpeedHasNoSendLateness(t *testing.T) {
	srv := echoServer(t)
	r, err := NewFortio().Run(context.Background(), testProfile(srv.URL+"/echo", 0, 2, 300*time.Millisecond), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestedQPS != 0 || r.SendLateness != nil || r.Corrected != nil {
		t.Errorf("max-speed run: requested=%g lateness=%v corrected=%v", r.RequestedQPS, r.SendLateness, r.Corrected)
	}
}

// A target that stalls for a second now and then hides most of the damage
// from plain latency: the stalled connection stops sending, and the requests
// it owed go out late. Counting from the intended send time shows it. The
// stalls here are deterministic (every 200th request, 0.5 %) so plain p99
// stays below them; with fortio's random ?delay=1s:1 the plain p99 lands on
// the stall itself about half the time.
func TestFortioCorrectedLatencyShowsStalls(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if n.Add(1)%200 == 100 {
			time.Sleep(time.Second)
		}
	}))
	t.Cleanup(srv.Close)
	p := testProfile(srv.URL, 200, 2, 3*time.Second)
	r, err := NewFortio().Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := r.Percentile(99)
	corrected := percentileOfHistogram(r.Corrected, 99)
	late := percentileOfHistogram(r.SendLateness, 99)
	t.Logf("p99 uncorrected %.4fs corrected %.4fs, send lateness p99 %.4fs", plain, corrected, late)
	if corrected < 0.5 || corrected < 10*plain {
		t.Errorf("corrected p99 %.4fs should be far above uncorrected p99 %.4fs", corrected, plain)
	}
	if late < 0.5 {
		t.Errorf("send lateness p99 %.4fs should show the 1 s stalls", late)
	}
}

func percentileOfHistogram(h *stats.HistogramData, p float64) float64 {
	if v, ok := result.PercentileOf(h, p); ok {
		return v
	}
	return -1
}

// Fortio prints its report to stdout unless told otherwise; a daemon's
// stdout (and the run command's JSON on stdout) must stay clean.
func TestFortioWritesNothingToStdout(t *testing.T) {
	srv := echoServer(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	_, runErr := NewFortio().Run(context.Background(), testProfile(srv.URL+"/echo?status=503:50", 100, 2, 300*time.Millisecond), nil)
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if runErr != nil {
		t.Fatal(runErr)
	}
	if len(out) > 0 {
		t.Errorf("fortio wrote to stdout:\n%s", out)
	}
}
