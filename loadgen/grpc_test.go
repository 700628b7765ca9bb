package loadgen

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/target"
)

func startTarget(t *testing.T, opts target.Options) *target.Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	running, err := target.Start(ctx, "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = running.Wait() })
	return running
}

func grpcProfile(url string) config.Profile {
	p := testProfile(url, 200, 2, 500*time.Millisecond)
	p.Target.Protocol = config.ProtocolGRPC
	return p
}

func TestGRPCHealthCheckPlaintextAndTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := target.WriteSelfSignedCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	plain := startTarget(t, target.Options{})
	secure := startTarget(t, target.Options{TLSCertFile: cert, TLSKeyFile: key})
	tlsProfile := grpcProfile(secure.URL())
	tlsProfile.Target.TLS.CAFile = cert
	for name, p := range map[string]config.Profile{"plaintext": grpcProfile(plain.URL()), "tls": tlsProfile} {
		t.Run(name, func(t *testing.T) {
			obs := &countingObserver{}
			r, err := NewFortio().Run(context.Background(), p, obs)
			if err != nil {
				t.Fatal(err)
			}
			if r.Codes["OK"] == 0 || len(r.Codes) != 1 {
				t.Errorf("codes = %v, want only OK", r.Codes)
			}
			if obs.codes["OK"] != r.Codes["OK"] {
				t.Errorf("observer saw %v, result %v", obs.codes, r.Codes)
			}
			if r.ErrorRatio() != 0 || r.Latency == nil || len(r.Latency.Percentiles) == 0 {
				t.Errorf("result %+v", r)
			}
		})
	}
}

func TestGRPCUnreachableCountsCodeNames(t *testing.T) {
	p := grpcProfile("http://127.0.0.1:1")
	p.Target.Timeout = config.Duration(200 * time.Millisecond)
	r, err := NewFortio().Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Codes["Unavailable"] == 0 || r.ErrorRatio() != 1 {
		t.Errorf("codes = %v, want Unavailable only", r.Codes)
	}
}

// A daemon runs thousands of gRPC runs: each must close its connections.
func TestGRPCRunsDoNotLeakConnections(t *testing.T) {
	tgt := startTarget(t, target.Options{})
	p := grpcProfile(tgt.URL())
	p.Load.Duration = config.Duration(100 * time.Millisecond)
	p.Load.QPS = 100
	run := func() {
		if _, err := NewFortio().Run(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	run()
	time.Sleep(200 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 20 {
		run()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Errorf("goroutines grew from %d to %d over 20 runs: connections leak", before, after)
	}
}
