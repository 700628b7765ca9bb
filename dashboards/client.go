package dashboards

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	goapi "github.com/grafana/grafana-openapi-client-go/client"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/perf-exporter/perf-exporter/config"
)

// TokenEnv is the environment variable a service-account token is read
// from when the config names no token_file and no basic_auth.
const TokenEnv = "GRAFANA_TOKEN"

// Secret is a credential. It prints, logs and marshals as "<secret>", so
// an Options value can be logged or wrapped in an error safely.
type Secret string

func (Secret) String() string               { return "<secret>" }
func (Secret) GoString() string             { return `"<secret>"` }
func (Secret) LogValue() slog.Value         { return slog.StringValue("<secret>") }
func (Secret) MarshalText() ([]byte, error) { return []byte("<secret>"), nil }
func (s Secret) set() bool                  { return s != "" }
func (s Secret) reveal() string             { return string(s) }
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "<secret>") }

// Options say how to reach a Grafana.
type Options struct {
	URL string // http(s)://host[:port][/sub-path]
	// Token is a service-account token, sent as a Bearer token.
	Token Secret
	// Username and Password are basic-auth credentials (instead of Token).
	Username string
	Password Secret
	// OrgID selects the organisation (X-Grafana-Org-Id); 0 leaves Grafana's
	// default (a token's own org).
	OrgID int64
	// Timeout bounds each attempt of a request (default 10s).
	Timeout time.Duration
	// Attempts is how often a request is tried when Grafana answers 5xx or
	// does not answer in time (default 4).
	Attempts int
	// Backoff is the wait before the second attempt, doubled after each
	// (default 500ms).
	Backoff time.Duration
	// Transport sends the requests (default: a fresh http.Transport with
	// the environment's proxy settings and TLS).
	Transport http.RoundTripper
	// TLS is the default transport's TLS configuration (grafana.tls_config:
	// a custom CA, a client certificate); nil = Go's defaults.
	TLS *tls.Config
}

// OptionsFromConfig reads the credentials the grafana section names: the
// token file, else basic auth (password or password_file), else the token in
// $GRAFANA_TOKEN (getenv is os.Getenv outside tests). The section is
// validated already (config.CheckGrafana); what is left is reading files.
func OptionsFromConfig(g *config.Grafana, getenv func(string) string) (Options, error) {
	if g == nil || g.URL == "" {
		return Options{}, fmt.Errorf("no Grafana URL: set grafana.url in the config file or --grafana.url")
	}
	o := Options{URL: g.URL, OrgID: g.OrgID}
	if tc := promconfig.TLSConfig(g.TLSConfig); tc != (promconfig.TLSConfig{}) {
		// prometheus/common reads the CA now and the client certificate
		// at each handshake, so a renewed one is picked up.
		tlsConfig, err := promconfig.NewTLSConfig(&tc)
		if err != nil {
			return Options{}, fmt.Errorf("grafana.tls_config: %w", err)
		}
		o.TLS = tlsConfig
	}
	switch {
	case g.TokenFile != "":
		data, err := os.ReadFile(g.TokenFile)
		if err != nil {
			return Options{}, fmt.Errorf("grafana.token_file: %w", err)
		}
		o.Token = Secret(strings.TrimSpace(string(data)))
		if !o.Token.set() {
			return Options{}, fmt.Errorf("grafana.token_file %s is empty", g.TokenFile)
		}
	case g.BasicAuth != nil:
		o.Username, o.Password = g.BasicAuth.Username, Secret(g.BasicAuth.Password)
		if f := g.BasicAuth.PasswordFile; f != "" {
			data, err := os.ReadFile(f)
			if err != nil {
				return Options{}, fmt.Errorf("grafana.basic_auth.password_file: %w", err)
			}
			o.Password = Secret(strings.TrimSpace(string(data)))
		}
	default:
		o.Token = Secret(strings.TrimSpace(getenv(TokenEnv)))
	}
	return o, nil
}

// Client talks to one Grafana through the official generated client
// (github.com/grafana/grafana-openapi-client-go), with our transport for
// timeouts and retries and our reading of errors.
type Client struct {
	api    *goapi.GrafanaHTTPAPI
	base   *url.URL
	logger *slog.Logger
}

// NewClient checks the options and builds a client. Nothing is sent yet.
func NewClient(o Options, logger *slog.Logger) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("grafana url %q must be an absolute http:// or https:// URL", o.URL)
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("grafana url %q must not carry credentials or a query; use token_file or basic_auth", config.PublicURL(o.URL))
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, TLSClientConfig: o.TLS}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transport := &retryTransport{next: userAgent{o.Transport}, attempts: o.Attempts, timeout: o.Timeout, backoff: o.Backoff, logger: logger}
	basePath := strings.TrimSuffix(u.Path, "/") + "/api"
	rt := httptransport.NewWithClient(u.Host, basePath, []string{u.Scheme}, &http.Client{Transport: transport})
	// Decode numbers as float64 like encoding/json (the default consumer
	// yields json.Number, which would make stored and bundled boards differ).
	rt.Consumers[runtime.JSONMime] = runtime.JSONConsumer()
	rt.Consumers["*/*"] = runtime.ByteStreamConsumer() // a proxy's odd content type still reaches errorReader
	rt.DefaultAuthentication = authWriter(o)
	api := goapi.New(rt, &goapi.TransportConfig{Host: u.Host, BasePath: basePath, Schemes: []string{u.Scheme}, OrgID: o.OrgID}, strfmt.Default)
	return &Client{api: api, base: u, logger: logger}, nil
}

// authWriter sets the credentials and the org header on every request.
func authWriter(o Options) runtime.ClientAuthInfoWriter {
	var auth []runtime.ClientAuthInfoWriter
	switch {
	case o.Token.set():
		auth = append(auth, httptransport.BearerToken(o.Token.reveal()))
	case o.Username != "":
		auth = append(auth, httptransport.BasicAuth(o.Username, o.Password.reveal()))
	}
	if o.OrgID != 0 {
		auth = append(auth, runtime.ClientAuthInfoWriterFunc(func(r runtime.ClientRequest, _ strfmt.Registry) error {
			return r.SetHeaderParam(goapi.OrgIDHeader, fmt.Sprint(o.OrgID))
		}))
	}
	return httptransport.Compose(auth...)
}

// noCallDeadline replaces the generated client's 30s deadline per call:
// each attempt has its own timeout and attempts are bounded, and a deadline
// over all of them would cut the last attempt short.
const noCallDeadline = 0

// URL is Grafana's address, for messages and links.
func (c *Client) URL() string { return strings.TrimSuffix(c.base.String(), "/") }

// link makes an absolute link from a path Grafana returned (/d/uid/slug).
func (c *Client) link(p string) string {
	if p == "" {
		return ""
	}
	return c.URL() + p
}

// call is the client option of every request: our context and our reading
// of errors, which names the operation.
func call(ctx context.Context, op string) func(*runtime.ClientOperation) {
	return func(o *runtime.ClientOperation) {
		o.Context = ctx
		o.Reader = errorReader{next: o.Reader, op: op}
	}
}

// userAgent names us to Grafana (its logs show who saved a board).
type userAgent struct{ next http.RoundTripper }

func (u userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", "perf-exporter/"+version.Version)
	return u.next.RoundTrip(r)
}
