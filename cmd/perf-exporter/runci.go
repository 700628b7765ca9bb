package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/kingpin/v2"
	promconfig "github.com/prometheus/common/config"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/push"
	"github.com/perf-exporter/perf-exporter/report"
	"github.com/perf-exporter/perf-exporter/result"
)

// pushTimeout bounds one push: a Prometheus or Pushgateway that hangs
// must not hold a CI job for ever.
const pushTimeout = 30 * time.Second

// Defaults of --profile and --baseline.tolerance.
const (
	defaultProfile   = "run"
	defaultTolerance = "10%"
)

// ciFlags are the `run` flags for CI pipelines (DESIGN §9): where the
// run's series go, what it is judged against, and the reports CI reads.
type ciFlags struct {
	profile             string
	profileSet          bool
	labels              []string
	remoteWriteURL      string
	remoteWriteInterval time.Duration
	pushgatewayURL      string
	httpConfig          string
	baseline            string
	tolerance           string
	toleranceSet        bool
	junit, summary      string
}

func (c *ciFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("profile", "The profile label of the run's series and documents.").Default(defaultProfile).IsSetByUser(&c.profileSet).StringVar(&c.profile)
	cmd.Flag("label", "Extra label k=v on every pushed series (repeatable).").StringsVar(&c.labels)
	cmd.Flag("remote-write.url", "Send the run's series to this Prometheus remote-write URL.").StringVar(&c.remoteWriteURL)
	cmd.Flag("remote-write.interval", "Also send the live request series this often during the run; 0 = only before and after.").Default("15s").DurationVar(&c.remoteWriteInterval)
	cmd.Flag("pushgateway.url", "Push the run's series to this Pushgateway.").StringVar(&c.pushgatewayURL)
	cmd.Flag("push.http-config", "prometheus/common HTTP client config file for the pushes (basic auth, bearer token file, TLS).").StringVar(&c.httpConfig)
	cmd.Flag("baseline", "Judge the run against a result document, a folder of them, or http://host:port/profiles/NAME of a daemon; a regression = exit 2.").StringVar(&c.baseline)
	cmd.Flag("baseline.tolerance", "With a single baseline run: the change, such as 10%, beyond which a metric is a regression.").Default(defaultTolerance).IsSetByUser(&c.toleranceSet).StringVar(&c.tolerance)
	cmd.Flag("junit", "Write a JUnit XML report to this file.").StringVar(&c.junit)
	cmd.Flag("summary", "Write a Markdown summary to this file (for CI job summaries).").StringVar(&c.summary)
}

// check rejects CI flag values out of range, naming the flag, before
// anything runs.
func (c *ciFlags) check() error {
	if c.profile == "" && !c.profileSet {
		c.profile = defaultProfile
	}
	if !config.ValidProfileName(c.profile) {
		return fmt.Errorf("--profile %q must match [a-z0-9_-]+ (it becomes the profile label)", c.profile)
	}
	if _, err := c.labelMap(); err != nil {
		return err
	}
	for _, u := range []struct{ flag, value string }{{"--remote-write.url", c.remoteWriteURL}, {"--pushgateway.url", c.pushgatewayURL}} {
		if u.value == "" {
			continue
		}
		parsed, err := url.Parse(u.value)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return fmt.Errorf("%s %q must be an absolute http:// or https:// URL", u.flag, u.value)
		}
		if parsed.User != nil {
			return fmt.Errorf("%s: credentials go in the --push.http-config file, not in the URL", u.flag)
		}
	}
	if c.remoteWriteInterval < 0 {
		return fmt.Errorf("--remote-write.interval must not be negative, got %s", c.remoteWriteInterval)
	}
	if c.remoteWriteInterval > 0 && c.remoteWriteInterval < time.Second {
		return fmt.Errorf("--remote-write.interval must be 0 or at least 1s, got %s", c.remoteWriteInterval)
	}
	if c.httpConfig != "" && c.remoteWriteURL == "" && c.pushgatewayURL == "" && !strings.Contains(c.baseline, "://") {
		return fmt.Errorf("--push.http-config needs --remote-write.url, --pushgateway.url or a daemon --baseline")
	}
	if c.tolerance == "" && !c.toleranceSet { // a runFlags made in code, not parsed
		c.tolerance = defaultTolerance
	}
	if _, err := parseTolerance(c.tolerance); err != nil {
		return err
	}
	for _, out := range []struct{ flag, path string }{{"--junit", c.junit}, {"--summary", c.summary}} {
		if out.path != "" {
			if err := checkWritable(out.path); err != nil {
				return fmt.Errorf("%s %s: %w", out.flag, out.path, err)
			}
		}
	}
	return nil
}

// labelMap reads --label k=v flags.
func (c *ciFlags) labelMap() (map[string]string, error) {
	labels := map[string]string{}
	for _, l := range c.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("--label %q: want name=value", l)
		}
		if _, dup := labels[k]; dup {
			return nil, fmt.Errorf("--label %q: label %q given twice", l, k)
		}
		labels[k] = v
	}
	if err := push.CheckLabels(labels); err != nil {
		return nil, fmt.Errorf("--label: %w", err)
	}
	return labels, nil
}

// parseTolerance reads "10%" (or "0.1") as a fraction.
func parseTolerance(s string) (float64, error) {
	v, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	var f float64
	if _, err := fmt.Sscanf(v, "%g", &f); err != nil || v == "" || strings.ContainsAny(v, " \t") {
		return 0, fmt.Errorf("--baseline.tolerance %q: want a percentage such as 10%%", s)
	}
	if pct {
		f /= 100
	}
	if !(f > 0 && f < 10) { // NaN fails too
		return 0, fmt.Errorf("--baseline.tolerance %q: must be above 0%% and below 1000%%", s)
	}
	return f, nil
}

// pushers are where a run's series go; nil when nowhere.
type pushers struct {
	series      *push.Series
	obs         result.Observer // the series' live recorder, resolved once
	remote      *push.RemoteWriter
	pushgateway *push.Pushgateway
	interval    time.Duration
	// live counts requests reported live: none means the engine reports
	// at the end only, and the requests are recorded in bulk.
	live atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

// httpClient is the client of the pushes and of a daemon baseline, from
// --push.http-config (credentials never on the command line).
func (c *ciFlags) httpClient() (*http.Client, error) {
	httpCfg := promconfig.DefaultHTTPClientConfig
	if c.httpConfig != "" {
		loaded, _, err := promconfig.LoadHTTPConfigFile(c.httpConfig)
		if err != nil {
			return nil, fmt.Errorf("--push.http-config %s: %w", c.httpConfig, err)
		}
		httpCfg = *loaded
	}
	client, err := promconfig.NewClientFromConfig(httpCfg, "perf-exporter-push")
	if err != nil {
		return nil, fmt.Errorf("--push.http-config %s: %w", c.httpConfig, err)
	}
	return client, nil
}

// newPushers builds the pushes the flags ask for; nil when none.
func (c *ciFlags) newPushers(series *push.Series, client *http.Client) *pushers {
	if c.remoteWriteURL == "" && c.pushgatewayURL == "" {
		return nil
	}
	p := &pushers{series: series, obs: series.Observer(), interval: c.remoteWriteInterval, stop: make(chan struct{})}
	if c.remoteWriteURL != "" {
		p.remote = &push.RemoteWriter{URL: c.remoteWriteURL, Client: client}
	}
	if c.pushgatewayURL != "" {
		p.pushgateway = &push.Pushgateway{URL: c.pushgatewayURL, Client: client}
	}
	return p
}

// ObserveRequest implements result.Observer.
func (p *pushers) ObserveRequest(latency time.Duration, code string) {
	p.live.Add(1)
	p.obs.ObserveRequest(latency, code)
}

// start pushes the series once before the run (every counter at 0, so
// the run's requests and outcome show as an increase) and then, for
// remote write, every interval. A push that fails during the run is
// reported and the run goes on: the final push decides the exit status.
func (p *pushers) start(ctx context.Context, warn io.Writer) {
	if err := p.push(ctx); err != nil {
		fmt.Fprintf(warn, "perf-exporter run: warning: %v\n", err)
	}
	if p.remote == nil || p.interval <= 0 {
		return
	}
	p.wg.Go(func() {
		tick := time.NewTicker(p.interval)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := p.pushRemote(ctx); err != nil {
					fmt.Fprintf(warn, "perf-exporter run: warning: %v\n", err)
				}
			}
		}
	})
}

// finish stops the interval pushes and pushes the run's final series.
func (p *pushers) finish(ctx context.Context) error {
	close(p.stop)
	p.wg.Wait()
	return p.push(ctx)
}

func (p *pushers) push(ctx context.Context) error {
	var errs []string
	if p.remote != nil {
		if err := p.pushRemote(ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if p.pushgateway != nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
		err := p.pushgateway.Push(pctx, p.series)
		cancel()
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (p *pushers) pushRemote(ctx context.Context) error {
	// Detached: the final push must happen after a Ctrl-C too.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
	defer cancel()
	return p.remote.Write(pctx, p.series, time.Now())
}

// writeReports writes --junit and --summary; they are written on failure
// too, so CI shows why.
func (c *ciFlags) writeReports(doc *result.Document, comparisons []result.Comparison) error {
	if c.junit != "" {
		var buf bytes.Buffer
		if err := report.WriteJUnit(&buf, doc, comparisons); err != nil {
			return fmt.Errorf("--junit %s: %w", c.junit, err)
		}
		if err := os.WriteFile(c.junit, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if c.summary != "" {
		var buf bytes.Buffer
		if err := report.WriteMarkdown(&buf, doc, comparisons); err != nil {
			return fmt.Errorf("--summary %s: %w", c.summary, err)
		}
		if err := os.WriteFile(c.summary, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--summary: %w", err)
		}
	}
	return nil
}

// grpcTarget lets `--protocol grpc --url host:port` work as in grpcurl and
// fortio: a bare address is a plaintext gRPC target.
func grpcTarget(protocol, raw string) string {
	if protocol != "grpc" || strings.Contains(raw, "://") {
		return raw
	}
	if host, port, err := net.SplitHostPort(raw); err == nil && port != "" && !strings.ContainsAny(host, "/?#") {
		return "http://" + raw
	}
	return raw
}
