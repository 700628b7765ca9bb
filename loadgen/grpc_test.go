package loadgen

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
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

// A call the server never answered is a transport error, as for HTTP: its
// status (Unavailable) was made up by the client, and stays in the reason.
func TestGRPCUnreachableIsATransportError(t *testing.T) {
	p := grpcProfile("http://127.0.0.1:1")
	p.Target.Timeout = config.Duration(200 * time.Millisecond)
	r, err := NewFortio().Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Codes[result.CodeError] == 0 || r.ErrorRatio() != 1 {
		t.Errorf("codes = %v, want %q only", r.Codes, result.CodeError)
	}
	for reason := range r.ErrorReasons {
		if !strings.HasPrefix(reason, "Unavailable: ") {
			t.Errorf("reason %q does not keep the client's status", reason)
		}
	}
}

// A status the server sent is a response, whatever the code: a server
// without the health service answers Unimplemented, and its latency counts.
func TestGRPCServerStatusIsAResponse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	r, err := NewFortio().Run(context.Background(), grpcProfile("http://"+l.Addr().String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Codes["Unimplemented"] == 0 || r.Codes["Unimplemented"] != r.Requests() || r.Latency == nil || r.ActualQPS == 0 {
		t.Errorf("codes %v latency %v, %g req/s: answered calls counted as transport errors", r.Codes, r.Latency, r.ActualQPS)
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
