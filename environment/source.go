package environment

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"

	"github.com/perf-exporter/perf-exporter/config"
)

// source is one configured Prometheus server, ready to query.
type source struct {
	name string
	// publicURL is the URL as users may see it: no user info, no query.
	publicURL      string
	address        string
	scrapeInterval time.Duration
	client         *http.Client
	// buildErr is a problem with the source's settings (a CA file that
	// cannot be read, say). The source stays configured and every check and
	// query reports it, rather than the exporter refusing to start over an
	// optional feature.
	buildErr error
	// secrets are scrubbed from every error message that leaves the
	// package, in case a library quotes them.
	secrets []string
}

func newSource(s config.PrometheusSource) *source {
	src := &source{
		name:           s.Name,
		publicURL:      config.PublicURL(s.URL),
		address:        s.URL,
		scrapeInterval: s.ScrapeIntervalOrDefault(),
		secrets:        secretsOf(s),
	}
	client, err := promconfig.NewClientFromConfig(s.HTTPClientConfig, "perf-exporter-environment-"+s.Name)
	if err != nil {
		src.buildErr = fmt.Errorf("building the HTTP client: %s", src.redact(err.Error()))
		return src
	}
	src.client = client
	return src
}

// api returns a client whose answers' HTTP statuses are recorded in rec:
// the v1 API keeps only a message such as "client error: 401", and the
// status is what tells an unauthorised client from a missing page.
func (s *source) api(rec *statusRecorder) (v1.API, error) {
	if s.buildErr != nil {
		return nil, s.buildErr
	}
	rec.next = s.client.Transport
	c, err := api.NewClient(api.Config{
		Address: s.address,
		Client:  &http.Client{Transport: rec, CheckRedirect: s.client.CheckRedirect},
	})
	if err != nil {
		return nil, fmt.Errorf("url %s: %s", s.publicURL, s.redact(err.Error()))
	}
	return v1.NewAPI(c), nil
}

// redact removes credentials from a message: the user info and query of
// any URL, then every configured secret.
func (s *source) redact(msg string) string {
	msg = redactURLs(msg)
	for _, secret := range s.secrets {
		msg = strings.ReplaceAll(msg, secret, "<secret>")
	}
	return msg
}

// redactURLs rewrites every absolute URL in a message as
// scheme://host/path. net/http already masks passwords in the URLs of its
// errors, but a token in a query string would pass.
func redactURLs(msg string) string {
	words := strings.Fields(msg)
	changed := false
	for i, w := range words {
		trimmed := strings.Trim(w, `"':,()`)
		if !strings.Contains(trimmed, "://") {
			continue
		}
		if u, err := url.Parse(trimmed); err == nil && u.Host != "" && (u.User != nil || u.RawQuery != "") {
			words[i] = strings.Replace(w, trimmed, config.PublicURL(trimmed), 1)
			changed = true
		}
	}
	if !changed {
		return msg
	}
	return strings.Join(words, " ")
}

// secretsOf lists the credentials in a source's settings that are written
// in the config file itself (those in files never reach an error message).
func secretsOf(s config.PrometheusSource) []string {
	var out []string
	add := func(v string) {
		// Very short values would redact ordinary words.
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	if u, err := url.Parse(s.URL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
	}
	h := s.HTTPClientConfig
	if h.BasicAuth != nil {
		add(string(h.BasicAuth.Password))
	}
	if h.Authorization != nil {
		add(string(h.Authorization.Credentials))
	}
	add(string(h.BearerToken))
	if h.OAuth2 != nil {
		add(string(h.OAuth2.ClientSecret))
	}
	if h.HTTPHeaders != nil {
		for _, header := range h.HTTPHeaders.Headers {
			for _, v := range header.Secrets {
				add(string(v))
			}
		}
	}
	if h.ProxyURL.URL != nil && h.ProxyURL.User != nil {
		if pw, ok := h.ProxyURL.User.Password(); ok {
			add(pw)
		}
	}
	return out
}

// statusRecorder remembers the status of the last answer it passed on.
// Each check or query has its own, so concurrent calls do not mix.
type statusRecorder struct {
	next   http.RoundTripper
	status atomic.Int32
}

// MaxAnswerBytes bounds what is read of one answer of a Prometheus source:
// the environment's queries are aggregates of a few series, and a server
// (or a proxy in front of it) that sends a huge body must cost neither the
// exporter's memory nor its time.
const MaxAnswerBytes = 8 << 20

// errAnswerTooLarge is the read error of an answer over MaxAnswerBytes.
var errAnswerTooLarge = fmt.Errorf("the answer is larger than %d MiB", MaxAnswerBytes>>20)

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if resp != nil {
		r.status.Store(int32(resp.StatusCode))
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: MaxAnswerBytes}
	}
	return resp, err
}

// limitedBody fails a read past its limit with errAnswerTooLarge, rather
// than cutting the answer short (a cut JSON answer would read as
// malformed, hiding the reason).
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, errAnswerTooLarge
		}
		return b.ReadCloser.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

func (r *statusRecorder) lastStatus() int { return int(r.status.Load()) }
