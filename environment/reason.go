package environment

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Reason classifies why a check or query failed, so operators see at a
// glance what to fix: the name, the network, the certificate, the
// credentials or the query.
type Reason string

// Reasons. Those of the server (Unauthorized .. Unreachable) set
// perf_prometheus_up to 0; Query and NoData are about one query of a
// server that answered.
const (
	// ReasonConfig: the source's HTTP client settings cannot be used (a
	// CA, certificate or key file that does not load).
	ReasonConfig Reason = "config"
	// ReasonDNS: the host name does not resolve.
	ReasonDNS Reason = "dns"
	// ReasonRefused: nothing listens at the address.
	ReasonRefused Reason = "refused"
	// ReasonTLS: the handshake failed: unknown CA, wrong host name,
	// expired certificate, or TLS spoken to a plain HTTP server.
	ReasonTLS Reason = "tls"
	// ReasonUnauthorized: 401, missing or wrong credentials.
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonForbidden: 403, the credentials are not allowed to query.
	ReasonForbidden Reason = "forbidden"
	// ReasonTimeout: no answer in time.
	ReasonTimeout Reason = "timeout"
	// ReasonHTTP: another non-success answer, e.g. 404 for a wrong path
	// prefix or 502 from a proxy.
	ReasonHTTP Reason = "http"
	// ReasonTooLarge: the answer was larger than MaxAnswerBytes.
	ReasonTooLarge Reason = "too_large"
	// ReasonUnreachable: another network error (reset, no route).
	ReasonUnreachable Reason = "unreachable"
	// ReasonQuery: the server rejected or could not run the query.
	ReasonQuery Reason = "query"
	// ReasonNoData: the query ran but returned no samples in the window.
	ReasonNoData Reason = "no_data"
)

// ServerDown tells whether a failure with this reason means the server
// could not be used, rather than that one query had no answer.
func (r Reason) ServerDown() bool {
	return r != "" && r != ReasonQuery && r != ReasonNoData
}

// classify finds the reason of a failed check or query. status is the
// HTTP status of the last answer, 0 when there was none.
func classify(err error, status int) Reason {
	var apiErr *v1.Error
	isAPIErr := errors.As(err, &apiErr)
	switch {
	case status == http.StatusUnauthorized:
		return ReasonUnauthorized
	case status == http.StatusForbidden:
		return ReasonForbidden
	case isTimeout(err):
		return ReasonTimeout
	case errors.Is(err, errAnswerTooLarge) || strings.Contains(err.Error(), errAnswerTooLarge.Error()):
		// By the text too: the API client keeps only the message of a
		// failed read.
		return ReasonTooLarge
	case isAPIErr && (apiErr.Type == v1.ErrBadData || apiErr.Type == v1.ErrExec):
		// 400 and 422: the query is wrong (a bad regex in
		// environment_vars, a user query that does not parse).
		return ReasonQuery
	case isAPIErr && apiErr.Type == v1.ErrTimeout:
		return ReasonTimeout
	case status != 0 && (status < 200 || status > 299):
		return ReasonHTTP
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return ReasonDNS
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ReasonRefused
	}
	if isTLS(err) {
		return ReasonTLS
	}
	if isAPIErr {
		return ReasonHTTP
	}
	return ReasonUnreachable
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func isTLS(err error) bool {
	var (
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		recordErr  tls.RecordHeaderError // TLS spoken to a plain HTTP server
		alertErr   tls.AlertError
	)
	return errors.As(err, &verifyErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidErr) || errors.As(err, &recordErr) || errors.As(err, &alertErr) ||
		// crypto/tls reports an alert from the peer ("remote error: tls:
		// bad certificate") only as text.
		strings.Contains(err.Error(), "tls: ") || strings.Contains(err.Error(), "x509: ") ||
		// net/http's words for a TLS client that met a plain HTTP server.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// describe words a failure for operators: the status and what usually fixes
// it when the server answered with an HTTP error, else the error itself,
// redacted.
func (s *source) describe(err error, status int) string {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) && (apiErr.Type == v1.ErrClient || apiErr.Type == v1.ErrServer) && status >= 400 {
		msg := fmt.Sprintf("%s answered HTTP %d %s", s.publicURL, status, http.StatusText(status))
		switch status {
		case http.StatusUnauthorized:
			msg += ": check the source's basic_auth, authorization or oauth2 credentials"
		case http.StatusForbidden:
			msg += ": the credentials are accepted but not allowed to query"
		case http.StatusNotFound:
			msg += ": is url the base of the Prometheus API, with any path prefix (e.g. /prometheus)?"
		}
		return msg
	}
	return s.redact(err.Error())
}
