package environment

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// Secrets of the check test: none may appear in results, JSON or logs.
const (
	rightPassword = "right-password-4711"
	wrongPassword = "wrong-password-0815"
	urlPassword   = "url-password-1234"
	bearerToken   = "bearer-token-5678"
)

// TestCheck tests the connectivity check against real servers: a plain
// Prometheus, and one behind TLS and basic auth through its own web config,
// reached with the right and the wrong password and CA; plus a closed port
// and a proxy that forbids.
func TestCheck(t *testing.T) {
	pki := newTestPKI(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(rightPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	plain := testutil.StartPrometheus(t, testutil.PrometheusOptions{})
	secure := testutil.StartPrometheus(t, testutil.PrometheusOptions{
		WebConfig: fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  perf: %q\n",
			pki.serverCert, pki.serverKey, hash),
		ReadyClient:   pki.client(t),
		ReadyUsername: "perf", ReadyPassword: rightPassword,
	})
	if !strings.HasPrefix(secure, "https://") {
		t.Fatalf("StartPrometheus with tls_server_config returned %s, want https", secure)
	}
	forbidding := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "RBAC: access denied", http.StatusForbidden)
	}))
	t.Cleanup(forbidding.Close)
	closed := testutil.FreeAddr(t)
	plainHostPort := strings.TrimPrefix(plain, "http://")

	cfg := parseConfig(t, fmt.Sprintf(`
prometheus:
  - {name: working, url: %q}
  - {name: closed-port, url: "http://perf:%s@%s"}
  - name: right-credentials
    url: %q
    tls_config: {ca_file: %q}
    basic_auth: {username: perf, password: %q}
  - name: wrong-password
    url: %q
    tls_config: {ca_file: %q}
    basic_auth: {username: perf, password: %q}
  - name: wrong-ca
    url: %q
    tls_config: {ca_file: %q}
    basic_auth: {username: perf, password: %q}
  - {name: tls-to-plain-http, url: "https://%s"}
  - name: forbidden
    url: %q
    authorization: {credentials: %q}
`, plain, urlPassword, closed,
		secure, pki.caFile, rightPassword,
		secure, pki.caFile, wrongPassword,
		secure, pki.otherCAFile, rightPassword,
		plainHostPort,
		forbidding.URL, bearerToken))
	logger, logs := newLogger()
	env := New(cfg, logger, Options{})

	results := env.Check(context.Background())
	want := map[string]Reason{
		"working":           "",
		"closed-port":       ReasonRefused,
		"right-credentials": "",
		"wrong-password":    ReasonUnauthorized,
		"wrong-ca":          ReasonTLS,
		"tls-to-plain-http": ReasonTLS,
		"forbidden":         ReasonForbidden,
	}
	if len(results) != len(want) {
		t.Fatalf("%d results for %d sources", len(results), len(want))
	}
	for i, r := range results {
		t.Logf("%-18s up=%-5v reason=%-12s version=%-8s %s", r.Prometheus, r.Up, r.Reason, r.Version, r.Error)
		if r.Prometheus != cfg.Prometheus[i].Name {
			t.Errorf("result %d is %q, want config order (%q)", i, r.Prometheus, cfg.Prometheus[i].Name)
		}
		if r.Reason != want[r.Prometheus] || r.Up != (want[r.Prometheus] == "") {
			t.Errorf("%s: up=%v reason=%q (%s), want reason %q", r.Prometheus, r.Up, r.Reason, r.Error, want[r.Prometheus])
		}
		if r.Up && !strings.HasPrefix(r.Version, "2.") {
			t.Errorf("%s: version %q, want Debian's 2.x from the build info API", r.Prometheus, r.Version)
		}
		if !r.Up && r.Error == "" {
			t.Errorf("%s failed without saying why", r.Prometheus)
		}
	}
	if r := results[1]; r.URL != "http://"+closed {
		t.Errorf("closed-port URL = %q, want it without user info", r.URL)
	}

	up := upValues(t, env)
	for name, reason := range want {
		if wantUp := map[bool]float64{true: 1, false: 0}[reason == ""]; up[name] != wantUp {
			t.Errorf("perf_prometheus_up{prometheus=%q} = %v, want %v", name, up[name], wantUp)
		}
	}

	// No secret in what leaves the package.
	out, _ := json.Marshal(results)
	for _, secret := range []string{rightPassword, wrongPassword, urlPassword, bearerToken} {
		if strings.Contains(string(out), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("secret %q leaked:\nresults: %s\nlogs: %s", secret, out, logs)
		}
	}
	// Failures are logged once each, with their reason.
	if n := strings.Count(logs.String(), "prometheus source failed"); n != 5 {
		t.Errorf("logged %d source failures after two checks of 5 failing sources, want 5:\n%s", n, logs)
	}
}

// TestHangingPrometheus: a server that accepts requests and never answers
// neither blocks a check nor an evaluation beyond the query timeout; the
// values are missing with the reason, the failure is logged once however
// many runs meet it, and perf_prometheus_up is 0.
func TestHangingPrometheus(t *testing.T) {
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hanging.Close() })

	cfg := parseConfig(t, fmt.Sprintf(`
prometheus:
  - {name: hanging, url: %q, scrape_interval: 1s}
profiles:
  - name: checkout
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    environment: [istio]
`, hanging.URL))
	logger, logs := newLogger()
	env := New(cfg, logger, Options{QueryTimeout: 300 * time.Millisecond})

	check := env.Check(context.Background())
	if check[0].Up || check[0].Reason != ReasonTimeout {
		t.Errorf("check: up=%v reason=%q (%s), want a timeout", check[0].Up, check[0].Reason, check[0].Error)
	}

	end := time.Now().Add(-2 * time.Second) // its last scrape is due: no wait
	for run := 1; run <= 3; run++ {
		done := make(chan struct{})
		var values []loadgenValue
		go func() {
			defer close(done)
			for _, v := range env.Evaluate(context.Background(), cfg.Profiles[0], end.Add(-10*time.Second), end) {
				values = append(values, loadgenValue{v.Name, v.Error})
			}
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: Evaluate still waiting for the hanging server after 30s", run)
		}
		if len(values) != 6 {
			t.Fatalf("run %d: %d values, want the 6 of istio", run, len(values))
		}
		for _, v := range values {
			if !strings.Contains(v.err, "timeout") {
				t.Errorf("run %d: %s: error %q, want a timeout", run, v.name, v.err)
			}
		}
	}
	if up := upValues(t, env); up["hanging"] != 0 {
		t.Errorf("perf_prometheus_up = %v, want hanging 0", up)
	}
	if n := strings.Count(logs.String(), "prometheus source failed"); n != 1 {
		t.Errorf("a check and 3 runs against a hanging server logged %d failures, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "reason=timeout") {
		t.Errorf("the log does not give the reason:\n%s", logs)
	}
}

type loadgenValue struct{ name, err string }

// testPKI is a CA with a server certificate for 127.0.0.1, and another CA
// that did not sign it.
type testPKI struct {
	caFile, otherCAFile, serverCert, serverKey string
	pool                                       *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{pool: x509.NewCertPool()}
	ca, caKey := newCA(t, "perf-exporter test CA")
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	other, _ := newCA(t, "another CA")
	p.otherCAFile = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", other.Raw)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p.serverCert = writePEM(t, dir, "server.pem", "CERTIFICATE", der)
	p.serverKey = writePEM(t, dir, "server-key.pem", "EC PRIVATE KEY", keyDER)
	return p
}

func (p *testPKI) client(t *testing.T) *http.Client {
	t.Helper()
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
