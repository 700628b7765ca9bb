package target

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// startTarget starts a server on a free loopback port, stopped when the test ends.
func startTarget(tb testing.TB, opts Options) *Running {
	tb.Helper()
	r, err := Start(tb.Context(), "127.0.0.1:0", opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Wait(); err != nil {
			tb.Errorf("serving: %v", err)
		}
	})
	return r
}

// newClient returns a keep-alive client speaking only the given protocols, trusting
// certFile when it is set.
func newClient(tb testing.TB, protocols func(*http.Protocols), certFile string) *http.Client {
	tb.Helper()
	tr := &http.Transport{
		Protocols:           new(http.Protocols),
		MaxIdleConnsPerHost: 512,
	}
	protocols(tr.Protocols)
	if certFile != "" {
		tr.TLSClientConfig = &tls.Config{RootCAs: certPool(tb, certFile)}
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func http1(p *http.Protocols) { p.SetHTTP1(true) }
func h2c(p *http.Protocols)   { p.SetUnencryptedHTTP2(true) }
func http2(p *http.Protocols) { p.SetHTTP2(true) }

func certPool(tb testing.TB, certFile string) *x509.CertPool {
	tb.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		tb.Fatalf("no certificate in %s", certFile)
	}
	return pool
}

func writeCert(tb testing.TB) (certFile, keyFile string) {
	tb.Helper()
	certFile, keyFile, err := WriteSelfSignedCert(tb.TempDir())
	if err != nil {
		tb.Fatalf("WriteSelfSignedCert: %v", err)
	}
	return certFile, keyFile
}

type response struct {
	status   int
	proto    int
	header   http.Header
	body     []byte
	duration time.Duration
}

// do sends a request and reads the whole response; it may be called from any goroutine.
func do(ctx context.Context, client *http.Client, method, url, contentType, body string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading body: %w", method, url, err)
	}
	return response{resp.StatusCode, resp.ProtoMajor, resp.Header, respBody, time.Since(start)}, nil
}

// get is do for a GET from the test goroutine.
func get(tb testing.TB, client *http.Client, url string) response {
	tb.Helper()
	resp, err := do(tb.Context(), client, http.MethodGet, url, "", "")
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

func TestEcho(t *testing.T) {
	t.Parallel()
	r := startTarget(t, Options{MaxSize: 1 << 20})
	client := newClient(t, http1, "")
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantLen     int    // -1: not checked
		wantBody    string // checked when wantLen is -1 and it is set
		wantHeader  [2]string
		minDuration time.Duration
	}{
		{name: "delay", path: "/echo?delay=50ms", wantStatus: 200, wantLen: 0, minDuration: 50 * time.Millisecond},
		{name: "delay on root path", path: "/?delay=50ms", wantStatus: 200, wantLen: 0, minDuration: 50 * time.Millisecond},
		{name: "weighted delay for all requests", path: "/echo?delay=50ms:100", wantStatus: 200, wantLen: 0, minDuration: 50 * time.Millisecond},
		{name: "size", path: "/echo?size=1024", wantStatus: 200, wantLen: 1024,
			wantHeader: [2]string{"Content-Type", "application/octet-stream"}},
		{name: "size zero", path: "/echo?size=0", wantStatus: 200, wantLen: 0},
		{name: "size above one payload chunk", path: "/echo?size=300000", wantStatus: 200, wantLen: 300000},
		{name: "size with status and delay", path: "/echo?size=10&status=201&delay=10ms", wantStatus: 201, wantLen: 10, minDuration: 10 * time.Millisecond},
		{name: "status", path: "/echo?status=503", wantStatus: 503, wantLen: 0},
		{name: "weighted status for all requests", path: "/echo?status=503:100%25", wantStatus: 503, wantLen: 0},
		{name: "status without body", path: "/echo?status=204&size=10", wantStatus: 204, wantLen: 0},
		{name: "body echoed", method: http.MethodPost, path: "/echo", contentType: "text/plain", body: "hello",
			wantStatus: 200, wantLen: -1, wantBody: "hello", wantHeader: [2]string{"Content-Type", "text/plain"}},
		{name: "body discarded when size is given", method: http.MethodPost, path: "/echo?size=3", body: "hello",
			wantStatus: 200, wantLen: 3},
		{name: "body over the limit", method: http.MethodPost, path: "/echo", body: strings.Repeat("x", 1<<20+1),
			wantStatus: 413, wantLen: -1, wantBody: "request body exceeds the echo limit of 1048576 bytes\n"},
		{name: "bad delay", path: "/echo?delay=abc", wantStatus: 400, wantLen: -1,
			wantBody: "delay=\"abc\": time: invalid duration \"abc\"\n"},
		{name: "delay over the maximum", path: "/echo?delay=11s", wantStatus: 400, wantLen: -1,
			wantBody: "delay=\"11s\": delay 11s exceeds the maximum 10s\n"},
		{name: "bad list entry", path: "/echo?delay=5ms:80,1200ms", wantStatus: 400, wantLen: -1,
			wantBody: "delay=\"5ms:80,1200ms\": entry \"1200ms\" is not value:percent\n"},
		{name: "percentages over 100", path: "/echo?status=503:60,500:50", wantStatus: 400, wantLen: -1,
			wantBody: "status=\"503:60,500:50\": percentages add up to more than 100\n"},
		{name: "bad percentage", path: "/echo?status=503:x", wantStatus: 400, wantLen: -1,
			wantBody: "status=\"503:x\": entry \"503:x\": percentage must be a number from 0 to 100\n"},
		{name: "status out of range", path: "/echo?status=99", wantStatus: 400, wantLen: -1,
			wantBody: "status=\"99\": status 99 is not in 200-599\n"},
		{name: "size over the maximum", path: "/echo?size=2000000", wantStatus: 400, wantLen: -1,
			wantBody: "size=\"2000000\": size 2000000 exceeds the maximum 1048576\n"},
		{name: "malformed query", path: "/echo?status=503:100%", wantStatus: 400, wantLen: -1,
			wantBody: "query string: invalid URL escape \"%\"\n"},
		{name: "unknown path", path: "/nope", wantStatus: 404, wantLen: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			resp, err := do(t.Context(), client, method, r.URL()+tc.path, tc.contentType, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.status, tc.wantStatus, resp.body)
			}
			if tc.wantLen >= 0 && len(resp.body) != tc.wantLen {
				t.Errorf("body length = %d, want %d", len(resp.body), tc.wantLen)
			}
			if tc.wantLen < 0 && tc.wantBody != "" && string(resp.body) != tc.wantBody {
				t.Errorf("body = %q, want %q", resp.body, tc.wantBody)
			}
			if k := tc.wantHeader[0]; k != "" && resp.header.Get(k) != tc.wantHeader[1] {
				t.Errorf("%s = %q, want %q", k, resp.header.Get(k), tc.wantHeader[1])
			}
			if resp.duration < tc.minDuration {
				t.Errorf("took %v, want at least %v", resp.duration, tc.minDuration)
			}
		})
	}
}

func TestParseWeighted(t *testing.T) {
	t.Parallel()
	h := newEchoHandler(defaultMaxDelay, defaultMaxSize)
	tests := []struct {
		raw            string
		wantValues     []time.Duration
		wantCumulative []float64
		wantErr        bool
	}{
		{raw: ""},
		{raw: "20ms", wantValues: []time.Duration{20 * time.Millisecond}, wantCumulative: []float64{100}},
		{raw: "1s:1", wantValues: []time.Duration{time.Second}, wantCumulative: []float64{1}},
		{raw: "5ms:80,1200ms:2", wantValues: []time.Duration{5 * time.Millisecond, 1200 * time.Millisecond},
			wantCumulative: []float64{80, 82}},
		{raw: "1ms:33.3,2ms:33.3%,3ms:33.4", wantValues: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
			wantCumulative: []float64{33.3, 66.6, 100}},
		// fortio's EchoHandler would silently cut this to 1.5s.
		{raw: "10s", wantValues: []time.Duration{10 * time.Second}, wantCumulative: []float64{100}},
		{raw: "10001ms", wantErr: true},
		{raw: "1ms:101", wantErr: true},
		{raw: "1ms:-1", wantErr: true},
		{raw: "1ms:NaN", wantErr: true},
		{raw: "1ms:", wantErr: true},
		{raw: "-1ms", wantErr: true},
		{raw: "1ms:50,", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			w, err := parseWeighted("delay", tc.raw, h.parseDelay)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if len(w.values) != len(tc.wantValues) {
				t.Fatalf("values = %v, want %v", w.values, tc.wantValues)
			}
			for i := range w.values {
				if w.values[i] != tc.wantValues[i] || !near(w.cumulative[i], tc.wantCumulative[i]) {
					t.Errorf("entry %d = %v at %v%%, want %v at %v%%",
						i, w.values[i], w.cumulative[i], tc.wantValues[i], tc.wantCumulative[i])
				}
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestWeighted checks proportions loosely over many concurrent requests, multiplexed
// over h2c so delayed requests do not hold up the others.
func TestWeighted(t *testing.T) {
	t.Parallel()
	r := startTarget(t, Options{})
	client := newClient(t, h2c, "")
	const requests = 400
	tests := []struct {
		name   string
		query  string
		counts func(response) bool
		lo, hi int // expected count is 100 for status, 20 for delay
	}{
		{name: "status", query: "status=503:25", counts: func(r response) bool { return r.status == 503 }, lo: 50, hi: 150},
		{name: "delay", query: "delay=1s:5", counts: func(r response) bool { return r.duration >= time.Second }, lo: 1, hi: 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			var wg sync.WaitGroup
			for range requests {
				wg.Go(func() {
					resp, err := do(t.Context(), client, http.MethodGet, r.URL()+"/echo?"+tc.query, "", "")
					if err != nil {
						t.Error(err)
						return
					}
					if resp.status != 200 && resp.status != 503 {
						t.Errorf("status = %d", resp.status)
					}
					if tc.counts(resp) {
						hits.Add(1)
					}
				})
			}
			wg.Wait()
			if n := int(hits.Load()); n < tc.lo || n > tc.hi {
				t.Errorf("%d of %d requests matched, want %d to %d", n, requests, tc.lo, tc.hi)
			}
		})
	}
}

func TestProtocols(t *testing.T) {
	t.Parallel()
	certFile, keyFile := writeCert(t)
	plain := startTarget(t, Options{})
	secure := startTarget(t, Options{TLSCertFile: certFile, TLSKeyFile: keyFile})
	tests := []struct {
		name      string
		server    *Running
		protocols func(*http.Protocols)
		certFile  string
		wantProto int
	}{
		{name: "HTTP/1.1", server: plain, protocols: http1, wantProto: 1},
		{name: "h2c prior knowledge", server: plain, protocols: h2c, wantProto: 2},
		{name: "HTTP/1.1 over TLS", server: secure, protocols: http1, certFile: certFile, wantProto: 1},
		{name: "HTTP/2 over TLS", server: secure, protocols: http2, certFile: certFile, wantProto: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := newClient(t, tc.protocols, tc.certFile)
			resp := get(t, client, tc.server.URL()+"/echo?size=100&delay=5ms")
			if resp.status != 200 || len(resp.body) != 100 || resp.proto != tc.wantProto {
				t.Errorf("got status %d, %d bytes over HTTP/%d; want 200, 100 bytes over HTTP/%d",
					resp.status, len(resp.body), resp.proto, tc.wantProto)
			}
		})
	}
}

func TestGRPCHealth(t *testing.T) {
	t.Parallel()
	certFile, keyFile := writeCert(t)
	tests := []struct {
		name  string
		opts  Options
		creds credentials.TransportCredentials
	}{
		{name: "h2c", creds: insecure.NewCredentials()},
		{name: "TLS", opts: Options{TLSCertFile: certFile, TLSKeyFile: keyFile},
			creds: credentials.NewTLS(&tls.Config{RootCAs: certPool(t, certFile)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := startTarget(t, tc.opts)
			conn, err := grpc.NewClient(r.Addr().String(), grpc.WithTransportCredentials(tc.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("status = %v, want SERVING", resp.GetStatus())
			}
		})
	}
}

// TestServeShutdown cancels Serve with idle keep-alive connections of both protocols and
// a delayed request in flight: the request must complete and Serve must return nil.
func TestServeShutdown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- New(Options{}).Serve(ctx, l) }()

	h1Client, h2cClient := newClient(t, http1, ""), newClient(t, h2c, "")
	get(t, h1Client, url+"/echo")
	get(t, h2cClient, url+"/echo")

	type result struct {
		resp response
		err  error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := do(t.Context(), h2cClient, http.MethodGet, url+"/echo?delay=300ms&size=7", "", "")
		inFlight <- result{resp, err}
	}()
	time.Sleep(100 * time.Millisecond) // let the delayed request reach the handler
	cancel()

	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context was cancelled")
	}
	if res := <-inFlight; res.err != nil || res.resp.status != 200 || len(res.resp.body) != 7 {
		t.Errorf("in-flight request got status %d with %d bytes (err %v), want 200 with 7",
			res.resp.status, len(res.resp.body), res.err)
	}
	if conn, err := net.Dial("tcp", l.Addr().String()); err == nil {
		conn.Close()
		t.Error("listener still accepts connections after Serve returned")
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	certFile, _ := writeCert(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		addr    string
		opts    Options
		wantErr string
	}{
		{name: "certificate without key", addr: "127.0.0.1:0", opts: Options{TLSCertFile: certFile},
			wantErr: "target: TLS needs both a certificate file and a key file"},
		{name: "missing key file", addr: "127.0.0.1:0", opts: Options{TLSCertFile: certFile, TLSKeyFile: "/nonexistent/key.pem"},
			wantErr: "target: loading TLS certificate " + certFile + " and key /nonexistent/key.pem: open /nonexistent/key.pem: no such file or directory"},
		{name: "address in use", addr: busy.Addr().String(),
			wantErr: "target: listening on " + busy.Addr().String() + ": "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Start(t.Context(), tc.addr, tc.opts)
			if err == nil {
				_ = r.Wait()
				t.Fatal("Start succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to start with %q", err, tc.wantErr)
			}
		})
	}
}

// TestRequestsNotLogged checks that only start and stop reach the logger, even at debug
// level and for bad requests.
func TestRequestsNotLogged(t *testing.T) {
	t.Parallel()
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r, err := Start(ctx, "127.0.0.1:0", Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range []*http.Client{newClient(t, http1, ""), newClient(t, h2c, "")} {
		for _, path := range []string{"/echo", "/echo?delay=abc", "/echo?status=500", "/nope"} {
			get(t, client, r.URL()+path)
		}
		// An idle HTTP/2 connection would hold up shutdown for a second after GOAWAY.
		client.CloseIdleConnections()
	}
	cancel()
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "serving") || !strings.Contains(lines[1], "stopped") {
		t.Errorf("log has %d lines, want only serving and stopped:\n%s", len(lines), logs.String())
	}
}

func TestRunningURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want string
	}{
		{addr: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{addr: "0.0.0.0:8080", want: "http://127.0.0.1:8080"},
		{addr: "[::]:8080", want: "http://127.0.0.1:8080"},
		{addr: "[::1]:8080", want: "http://[::1]:8080"},
	}
	for _, tc := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := (&Running{addr: addr, scheme: "http"}).URL(); got != tc.want {
			t.Errorf("URL() for %s = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// BenchmarkEcho measures /echo requests per second over loopback keep-alive connections.
func BenchmarkEcho(b *testing.B) {
	r := startTarget(b, Options{})
	for _, bc := range []struct {
		name      string
		protocols func(*http.Protocols)
	}{{"HTTP1", http1}, {"h2c", h2c}} {
		b.Run(bc.name, func(b *testing.B) {
			client := newClient(b, bc.protocols, "")
			url := r.URL() + "/echo?size=128"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
