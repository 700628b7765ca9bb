package dashboards

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

// clientCert makes a self-signed client certificate and writes it and its
// key as PEM files.
func clientCert(t *testing.T, dir string) (cert *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "perf-exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return cert, certFile, keyFile
}

// TestGrafanaTLSConfig: grafana.tls_config reaches a Grafana whose
// certificate only a custom CA vouches for, and which requires a client
// certificate; without the CA or the certificate the same call fails.
func TestGrafanaTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, certFile, keyFile := clientCert(t, dir)
	clients := x509.NewCertPool()
	clients.AddCert(cert)
	s := grafanatest.New(t, grafanatest.Options{TLS: &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients},
		Tokens: map[string]grafanatest.Identity{"token": {Login: "perf-exporter", Role: grafanatest.Viewer}}})
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})))

	list := func(tlsYAML string) error {
		t.Helper()
		cfg, err := config.Parse(fmt.Appendf(nil, "grafana:\n  url: %s\n%s", s.URL, tlsYAML), "g.yaml")
		if err != nil {
			t.Fatal(err)
		}
		opts, err := OptionsFromConfig(cfg.Grafana, func(string) string { return "token" })
		if err != nil {
			return err
		}
		opts.Attempts = 1
		c, err := NewClient(opts, nil)
		if err != nil {
			return err
		}
		_, err = c.List(context.Background(), ListOptions{})
		return err
	}
	if err := list(fmt.Sprintf("  tls_config: {ca_file: %s, cert_file: %s, key_file: %s}\n", caFile, certFile, keyFile)); err != nil {
		t.Errorf("with the CA and the client certificate: %v", err)
	}
	if err := list(fmt.Sprintf("  tls_config: {ca_file: %s}\n", caFile)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the client certificate: %v, want a TLS error", err)
	}
	if err := list(""); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v, want a certificate error", err)
	}
	if err := list("  tls_config: {ca_file: /nonexistent/ca.crt}\n"); err == nil || !strings.Contains(err.Error(), "grafana.tls_config:") {
		t.Errorf("an unreadable CA file: %v, want an error naming grafana.tls_config", err)
	}
	if n := len(s.RequestsTo("GET", "/api/search")); n != 1 {
		t.Errorf("%d searches reached Grafana, want only the one with the client certificate", n)
	}
}
