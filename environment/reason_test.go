package environment

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"

	"github.com/perf-exporter/perf-exporter/config"
)

// The reasons that need a network this test may not use (DNS) or a
// condition hard to stage are classified from the errors net/http returns.
func TestClassify(t *testing.T) {
	get := func(err error) error { return &url.Error{Op: "Get", URL: "http://prom:9090/api/v1/query", Err: err} }
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   Reason
	}{
		{"dns", get(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "prom", IsNotFound: true}}), 0, ReasonDNS},
		{"refused", get(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), 0, ReasonRefused},
		{"unknown CA", get(x509.UnknownAuthorityError{}), 0, ReasonTLS},
		{"deadline", get(context.DeadlineExceeded), 0, ReasonTimeout},
		{"401", &v1.Error{Type: v1.ErrClient, Msg: "client error: 401"}, 401, ReasonUnauthorized},
		{"403", &v1.Error{Type: v1.ErrClient, Msg: "client error: 403"}, 403, ReasonForbidden},
		{"404", &v1.Error{Type: v1.ErrClient, Msg: "client error: 404"}, 404, ReasonHTTP},
		{"bad query", &v1.Error{Type: v1.ErrBadData, Msg: "parse error"}, 400, ReasonQuery},
		{"server timeout", &v1.Error{Type: v1.ErrTimeout, Msg: "query timed out"}, 503, ReasonTimeout},
		{"reset", get(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), 0, ReasonUnreachable},
	} {
		if got := classify(tc.err, tc.status); got != tc.want {
			t.Errorf("%s: classify(%v, %d) = %q, want %q", tc.name, tc.err, tc.status, got, tc.want)
		}
	}
}

func TestServerDown(t *testing.T) {
	for r, down := range map[Reason]bool{"": false, ReasonQuery: false, ReasonNoData: false,
		ReasonRefused: true, ReasonUnauthorized: true, ReasonTimeout: true, ReasonConfig: true} {
		if r.ServerDown() != down {
			t.Errorf("%q.ServerDown() = %v, want %v", r, !down, down)
		}
	}
}

// Errors leave the package without the URL's user info or query string and
// without any configured secret, even where a library would quote them.
func TestRedact(t *testing.T) {
	s := newSource(config.PrometheusSource{
		Name: "p",
		URL:  "http://perf:url-password@prom:9090/prefix?token=query-token",
		HTTPClientConfig: promconfig.HTTPClientConfig{
			Authorization: &promconfig.Authorization{Type: "Bearer", Credentials: "bearer-secret"},
		},
	})
	msg := s.redact(fmt.Sprintf(`Post "%s/api/v1/query": refused; header was Bearer bearer-secret`,
		"http://perf:url-password@prom:9090/prefix?token=query-token"))
	for _, secret := range []string{"url-password", "query-token", "bearer-secret", "perf:"} {
		if strings.Contains(msg, secret) {
			t.Errorf("redacted message %q still holds %q", msg, secret)
		}
	}
	if !strings.Contains(msg, "http://prom:9090/prefix") {
		t.Errorf("redacted message %q lost the public URL", msg)
	}
}

// A source whose client cannot be built stays, and says why on use.
func TestSourceWithUnloadableCAReportsConfig(t *testing.T) {
	s := newSource(config.PrometheusSource{
		Name: "p", URL: "https://prom:9090",
		HTTPClientConfig: promconfig.HTTPClientConfig{TLSConfig: promconfig.TLSConfig{CAFile: "/nonexistent/ca.pem"}},
	})
	if _, err := s.api(&statusRecorder{}); err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Errorf("api() error = %v, want one naming the CA file", err)
	}
}
