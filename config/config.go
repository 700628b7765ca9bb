// Package config holds perf-exporter's configuration: the YAML types, their
// defaults, strict decoding and validation with file:line errors.
package config

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	Global          Global                        `yaml:"global"`
	Engines         Engines                       `yaml:"engines"`
	Prometheus      []PrometheusSource            `yaml:"prometheus"`
	Grafana         *Grafana                      `yaml:"grafana"`
	Profiles        []Profile                     `yaml:"profiles"`
	EnvironmentSets map[string][]EnvironmentQuery `yaml:"environment_sets"`
	// EnvironmentSetFiles are globs of files holding more environment
	// sets (as `dashboards import --environment-set` writes them), relative
	// to the config file. Their sets are merged into EnvironmentSets.
	EnvironmentSetFiles []string `yaml:"environment_set_files"`

	// included are the set files read, for the reload checksum.
	included []includedFile
}

// Global settings apply to every profile.
type Global struct {
	// MaxConcurrentRuns serialises runs of different profiles: runs that
	// overlap perturb each other's numbers.
	MaxConcurrentRuns int       `yaml:"max_concurrent_runs"`
	Limits            Limits    `yaml:"limits"`
	Retention         Retention `yaml:"retention"`
	// BaselineRuns is how many recent successful runs make a baseline.
	BaselineRuns int `yaml:"baseline_runs"`
	// StartJitter delays each scheduled run by a random amount up to this,
	// so profiles sharing a schedule do not start in lockstep.
	StartJitter Duration `yaml:"start_jitter"`
	// EnvironmentWindow shapes the window environment queries cover.
	EnvironmentWindow EnvironmentWindow `yaml:"environment_window"`
	// Regressions tunes change-point detection (§8 of the design).
	Regressions Regressions `yaml:"regressions"`
}

// Limits guard against a typo that would overload a target.
type Limits struct {
	MaxQPS         float64  `yaml:"max_qps"`
	MaxConnections int      `yaml:"max_connections"`
	MaxDuration    Duration `yaml:"max_duration"`
}

// Retention bounds the stored run history per profile.
type Retention struct {
	MaxRuns int      `yaml:"max_runs"`
	MaxAge  Duration `yaml:"max_age"`
}

// Engines locates the external load generators.
type Engines struct {
	Wrk       EnginePath `yaml:"wrk"`
	Wrk2      EnginePath `yaml:"wrk2"`
	Nighthawk EnginePath `yaml:"nighthawk"`
}

// EnginePath is the executable of an external engine.
type EnginePath struct {
	Path string `yaml:"path"`
}

// PrometheusSource is a Prometheus server that environment queries read.
type PrometheusSource struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// ScrapeInterval is how often this server scrapes what the environment
	// queries read (0: DefaultScrapeInterval); see environment_validate.go.
	ScrapeInterval   Duration                    `yaml:"scrape_interval"`
	HTTPClientConfig promconfig.HTTPClientConfig `yaml:",inline"`
}

// EnvironmentQuery is one named PromQL template of an environment set.
type EnvironmentQuery struct {
	Name       string `yaml:"name"`
	Query      string `yaml:"query"`
	Prometheus string `yaml:"prometheus"`
	// Aggregate (sum, avg, max or min) reduces a query's series to one
	// value per point: the query runs as aggregate(query). Empty runs the
	// query as written, which must then return one series.
	Aggregate string `yaml:"aggregate"`
}

// Expr is the PromQL that runs: the query wrapped in its aggregate.
func (q EnvironmentQuery) Expr() string {
	if q.Aggregate == "" {
		return q.Query
	}
	return q.Aggregate + "(" + q.Query + ")"
}

// Grafana is where boards are provisioned.
type Grafana struct {
	URL           string     `yaml:"url"`
	TokenFile     string     `yaml:"token_file"`
	BasicAuth     *BasicAuth `yaml:"basic_auth"`
	OrgID         int64      `yaml:"org_id"`
	Folder        string     `yaml:"folder"`
	FolderUID     string     `yaml:"folder_uid"`
	DatasourceUID string     `yaml:"datasource_uid"`
	// TLSConfig is how Grafana's certificate is checked and which client
	// certificate is shown (prometheus/common, as for the Prometheus
	// sources): ca_file, cert_file, key_file, server_name,
	// insecure_skip_verify, min_version ...
	TLSConfig GrafanaTLSConfig `yaml:"tls_config"`
	// ProvisionOnStart makes the daemon provision the boards when it starts.
	ProvisionOnStart bool `yaml:"provision_on_start"`
	// Boards selects the bundled boards to provision, by name (overview,
	// profile-detail, ...), and tailors each; empty means every board as
	// shipped.
	Boards map[string]GrafanaBoard `yaml:"boards"`
	// Annotations marks every run on Grafana boards (see GrafanaAnnotations).
	Annotations *GrafanaAnnotations `yaml:"annotations"`
}

// GrafanaAnnotations makes every run a region annotation in Grafana.
type GrafanaAnnotations struct {
	Enabled bool `yaml:"enabled"`
	// Dashboards ties the annotations to these boards (uids); empty makes
	// organization annotations, which a board shows with a tag query.
	Dashboards []string `yaml:"dashboards"`
	// ExternalURL is where users reach perf-exporter, for the link to the
	// run's page in the annotation text; empty leaves the link out.
	ExternalURL string `yaml:"external_url"`
}

// GrafanaTLSConfig is prometheus/common's TLSConfig without its
// UnmarshalYAML, which validates while decoding and so loses the line:
// CheckGrafana validates it instead, with its file:line.
type GrafanaTLSConfig promconfig.TLSConfig

// GrafanaBoard tailors one bundled board. Zero fields keep the board's own
// choice.
type GrafanaBoard struct {
	// Panels keeps only the panels with these titles (rows holding a kept
	// panel stay); empty keeps every panel.
	Panels []string `yaml:"panels"`
	// Time is the default time range, in Grafana's terms (now-24h, now).
	Time GrafanaTimeRange `yaml:"time"`
	// Refresh is the auto-refresh interval ("30s", "1m"); "off" disables it.
	Refresh string `yaml:"refresh"`
}

// GrafanaTimeRange is a board's default time range.
type GrafanaTimeRange struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// BasicAuth credentials; the password is a secret and never logged.
type BasicAuth struct {
	Username     string            `yaml:"username"`
	Password     promconfig.Secret `yaml:"password"`
	PasswordFile string            `yaml:"password_file"`
}

// Profile is one scheduled load test.
type Profile struct {
	Name       string `yaml:"name"`
	Schedule   string `yaml:"schedule"`
	RunOnStart bool   `yaml:"run_on_start"`
	Engine     string `yaml:"engine"`
	Target     Target `yaml:"target"`
	Load       Load   `yaml:"load"`
	SLO        SLO    `yaml:"slo"`
	// Environment names the query sets evaluated over each run's window.
	Environment []string `yaml:"environment"`
	// EnvironmentVars fill the query templates (namespace, workload, node).
	EnvironmentVars map[string]string `yaml:"environment_vars"`
	// MaxSuccessAge overrides "three schedule intervals" as the age after
	// which PerfNoRecentSuccess fires; for irregular cron schedules.
	MaxSuccessAge Duration `yaml:"max_success_age"`
	// Regressions overrides global.regressions for this profile.
	Regressions Regressions `yaml:"regressions"`
}

// Target is what the load is sent to.
type Target struct {
	URL      string            `yaml:"url"`
	Protocol string            `yaml:"protocol"`
	Method   string            `yaml:"method"`
	Headers  map[string]string `yaml:"headers"`
	// SecretHeaders names headers whose values never leave the process
	// (logs, results, API). Authorization, Cookie and Proxy-Authorization
	// are always secret.
	SecretHeaders []string `yaml:"secret_headers"`
	// HeaderFiles maps a header to a file holding its value (a token
	// mounted from a Secret, say), read at the start of each run so a
	// rotated credential is picked up. Their values are always secret.
	HeaderFiles map[string]string `yaml:"header_files"`
	Body        string            `yaml:"body"`
	Timeout     Duration          `yaml:"timeout"`
	TLS         TLS               `yaml:"tls"`
}

// TLS options for https and gRPC over TLS targets.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Load is how much load a run sends and for how long.
type Load struct {
	QPS         float64   `yaml:"qps"` // 0 = as fast as possible
	Connections int       `yaml:"connections"`
	Threads     int       `yaml:"threads"` // wrk/wrk2 threads; 0 = min(connections, 2)
	Duration    Duration  `yaml:"duration"`
	Warmup      Duration  `yaml:"warmup"`
	Percentiles []float64 `yaml:"percentiles"`
}

// SLO holds the objectives a run is judged against.
type SLO struct {
	// Latency maps a percentile ("99", "99.9") to its objective.
	Latency    map[string]Duration `yaml:"latency"`
	ErrorRatio *float64            `yaml:"error_ratio"`
}

// Engine names.
const (
	EngineFortio    = "fortio"
	EngineWrk       = "wrk"
	EngineWrk2      = "wrk2"
	EngineNighthawk = "nighthawk"
)

// Protocol names.
const (
	ProtocolHTTP1 = "http1"
	ProtocolHTTP2 = "http2"
	ProtocolGRPC  = "grpc"
)

// DefaultPercentiles are reported when a profile does not choose.
var DefaultPercentiles = []float64{50, 75, 90, 99, 99.9}

// WrkPercentiles are the only percentiles wrk prints (its "Latency
// Distribution"); a wrk profile cannot report others.
var WrkPercentiles = []float64{50, 75, 90, 99}

// Default values, applied by ApplyDefaults.
const (
	DefaultConnections  = 8
	DefaultDuration     = 10 * time.Second
	DefaultTimeout      = 3 * time.Second
	DefaultMaxQPS       = 50000
	DefaultMaxConns     = 1024
	DefaultMaxDuration  = 15 * time.Minute
	DefaultBaselineRuns = 10
	DefaultRetainRuns   = 1000
)

// ApplyDefaults fills what the file left out. It is idempotent.
func (c *Config) ApplyDefaults() {
	g := &c.Global
	g.MaxConcurrentRuns = cmp.Or(g.MaxConcurrentRuns, 1)
	g.Limits.MaxQPS = cmp.Or(g.Limits.MaxQPS, DefaultMaxQPS)
	g.Limits.MaxConnections = cmp.Or(g.Limits.MaxConnections, DefaultMaxConns)
	g.Limits.MaxDuration = cmp.Or(g.Limits.MaxDuration, Duration(DefaultMaxDuration))
	g.BaselineRuns = cmp.Or(g.BaselineRuns, DefaultBaselineRuns)
	g.Retention.MaxRuns = cmp.Or(g.Retention.MaxRuns, DefaultRetainRuns)
	c.Engines.Wrk.Path = cmp.Or(c.Engines.Wrk.Path, "wrk")
	c.Engines.Wrk2.Path = cmp.Or(c.Engines.Wrk2.Path, "wrk2")
	c.Engines.Nighthawk.Path = cmp.Or(c.Engines.Nighthawk.Path, "nighthawk_client")
	for i := range c.Profiles {
		c.Profiles[i].ApplyDefaults()
	}
}

// ApplyDefaults fills what the profile left out. It is idempotent.
func (p *Profile) ApplyDefaults() {
	p.Engine = cmp.Or(p.Engine, EngineFortio)
	p.Target.Protocol = cmp.Or(p.Target.Protocol, ProtocolHTTP1)
	if p.Target.Method == "" {
		p.Target.Method = "GET"
		if p.Target.Body != "" {
			p.Target.Method = "POST"
		}
	}
	p.Target.Timeout = cmp.Or(p.Target.Timeout, Duration(DefaultTimeout))
	p.Load.Connections = cmp.Or(p.Load.Connections, DefaultConnections)
	p.Load.Duration = cmp.Or(p.Load.Duration, Duration(DefaultDuration))
	if len(p.Load.Percentiles) == 0 {
		p.Load.Percentiles = append([]float64(nil), DefaultPercentiles...)
		if p.Engine == EngineWrk {
			p.Load.Percentiles = append([]float64(nil), WrkPercentiles...)
		}
	}
}

// WithHeaderFiles returns the target with the values of its header_files
// read into Headers and marked secret, as engines need them.
func (t Target) WithHeaderFiles() (Target, error) {
	if len(t.HeaderFiles) == 0 {
		return t, nil
	}
	headers := make(map[string]string, len(t.Headers)+len(t.HeaderFiles))
	maps.Copy(headers, t.Headers)
	secret := append([]string(nil), t.SecretHeaders...)
	for name, file := range t.HeaderFiles {
		data, err := readBounded(file, maxHeaderFileSize, "a header value")
		if err != nil {
			return t, fmt.Errorf("target.header_files: header %s: %w", name, err)
		}
		headers[name] = strings.TrimSpace(string(data))
		secret = append(secret, name)
	}
	t.Headers, t.SecretHeaders = headers, secret
	return t, nil
}

// alwaysSecretHeaders carry credentials in every deployment we know of.
var alwaysSecretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// IsSecretHeader tells whether a header's value must be redacted.
func (t *Target) IsSecretHeader(name string) bool {
	named := func(s string) bool { return strings.EqualFold(s, name) }
	return slices.ContainsFunc(alwaysSecretHeaders, named) || slices.ContainsFunc(t.SecretHeaders, named)
}

// PublicHeaders returns the headers with secret values replaced, for results,
// logs and the API.
func (t *Target) PublicHeaders() map[string]string {
	if len(t.Headers) == 0 {
		return nil
	}
	out := make(map[string]string, len(t.Headers))
	for k, v := range t.Headers {
		if t.IsSecretHeader(k) {
			v = "<secret>"
		}
		out[k] = v
	}
	return out
}

// Redact removes from a message (an engine's error, say) everything of the
// target that may be secret: the URL's user info and query string, and the
// values of secret headers.
func (t *Target) Redact(msg string) string {
	if t.URL != "" {
		msg = strings.ReplaceAll(msg, t.URL, PublicURL(t.URL))
		if u, err := url.Parse(t.URL); err == nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				msg = strings.ReplaceAll(msg, pw, "<secret>")
			}
			if u.RawQuery != "" {
				msg = strings.ReplaceAll(msg, u.RawQuery, "<query>")
			}
		}
	}
	for k, v := range t.Headers {
		if v != "" && t.IsSecretHeader(k) {
			msg = strings.ReplaceAll(msg, v, "<secret>")
		}
	}
	return msg
}

// PublicURL is the target as users may see it: scheme://host/path, without
// user info or query string (either can hold credentials).
func PublicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Duration is a time.Duration written as "30s", "250ms" or "1h30m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string. The error is a yaml.TypeError
// so decoding goes on and every bad value in the file is reported at once.
// Negative values are rejected by validation, which knows what they are for.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	v, err := time.ParseDuration(node.Value)
	if err != nil || node.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: invalid duration %q (use e.g. 250ms, 30s, 5m)", node.Line, node.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration the way it is read.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Profile returns the profile with the given name.
func (c *Config) Profile(name string) (Profile, bool) {
	for _, p := range c.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
