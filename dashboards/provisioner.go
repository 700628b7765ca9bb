package dashboards

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
)

// ProvisionerOptions tune the daemon's provisioning. Zero values take the
// defaults.
type ProvisionerOptions struct {
	Logger *slog.Logger
	// FirstRetry is the wait after the first failure (default 5s); it
	// doubles after each further failure up to MaxRetry (default 5m). Each
	// wait is jittered (between half and all of it), so replicas started
	// together do not retry in step.
	FirstRetry, MaxRetry time.Duration
	// AttemptTimeout bounds one provisioning of every board (default 2m).
	AttemptTimeout time.Duration
	// Getenv reads $GRAFANA_TOKEN (default os.Getenv).
	Getenv func(string) string
	// Transport sends the requests (default: the client's own).
	Transport http.RoundTripper
}

// Provisioner keeps the boards provisioned when the config asks for it
// (grafana.provision_on_start): it provisions at start, retries in the
// background until it succeeds (Grafana often starts after us, or is being
// upgraded), and provisions again after every config reload. Its state is
// in perf_grafana_provision_last_success_timestamp_seconds and
// perf_grafana_provision_failures_total.
type Provisioner struct {
	opts        ProvisionerOptions
	lastSuccess prometheus.Gauge
	failures    prometheus.Counter

	mu      sync.Mutex
	pending *config.Config // the config to provision next; nil: nothing new
	wake    chan struct{}  // one token: pending changed
}

// NewProvisioner registers the provisioning metrics; Run does the work for
// cfg and for every config given to ApplyConfig.
func NewProvisioner(cfg *config.Config, reg prometheus.Registerer, opts ProvisionerOptions) *Provisioner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FirstRetry <= 0 {
		opts.FirstRetry = 5 * time.Second
	}
	if opts.MaxRetry < opts.FirstRetry {
		opts.MaxRetry = max(5*time.Minute, opts.FirstRetry)
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 2 * time.Minute
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	p := &Provisioner{
		opts: opts,
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "perf_grafana_provision_last_success_timestamp_seconds",
			Help: "When the boards were last provisioned into Grafana successfully (0: not since start).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "perf_grafana_provision_failures_total",
			Help: "Attempts to provision the boards into Grafana that failed (each is retried with back-off).",
		}),
		pending: cfg,
		wake:    make(chan struct{}, 1),
	}
	reg.MustRegister(p.lastSuccess, p.failures)
	p.wake <- struct{}{}
	return p
}

// ApplyConfig makes Run provision again with cfg, after the attempt in
// progress if any. It never blocks.
func (p *Provisioner) ApplyConfig(cfg *config.Config) error {
	p.mu.Lock()
	p.pending = cfg
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is queued already; it will see cfg
	}
	return nil
}

// Run provisions until ctx ends; it returns nil then.
func (p *Provisioner) Run(ctx context.Context) error {
	var (
		current *config.Grafana // what to provision; nil: nothing
		retry   *time.Timer     // armed after a failure
		wait    time.Duration   // the next back-off, before jitter
	)
	stopRetry := func() {
		if retry != nil {
			retry.Stop()
			retry = nil
		}
	}
	defer stopRetry()
	for {
		var retryC <-chan time.Time
		if retry != nil {
			retryC = retry.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
			p.mu.Lock()
			cfg := p.pending
			p.pending = nil
			p.mu.Unlock()
			if cfg == nil {
				continue
			}
			stopRetry()
			current, wait = nil, p.opts.FirstRetry
			if cfg.Grafana != nil && cfg.Grafana.ProvisionOnStart {
				current = cfg.Grafana
			}
		case <-retryC:
			retry = nil
		}
		if current == nil || retry != nil {
			continue
		}
		if err := p.provision(ctx, current); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.failures.Inc()
			next := jitter(wait)
			p.opts.Logger.Error("provisioning the Grafana boards failed; retrying", "err", err, "retry_in", next.Round(time.Millisecond))
			retry = time.NewTimer(next)
			wait = min(2*wait, p.opts.MaxRetry)
			continue
		}
		p.lastSuccess.Set(float64(time.Now().UnixNano()) / 1e9)
		current = nil
	}
}

// provision does one attempt with every board the section selects,
// overwriting boards changed in Grafana (the config is the source of truth).
func (p *Provisioner) provision(ctx context.Context, g *config.Grafana) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.AttemptTimeout)
	defer cancel()
	opts, err := OptionsFromConfig(g, p.opts.Getenv)
	if err != nil {
		return err
	}
	opts.Transport = p.opts.Transport
	c, err := NewClient(opts, p.opts.Logger)
	if err != nil {
		return err
	}
	boards, err := Select(g)
	if err != nil {
		return err
	}
	results, err := c.Provision(ctx, boards, ProvisionOptions{Folder: FolderFromConfig(g), Overwrite: true})
	for _, r := range results {
		p.opts.Logger.Info("Grafana board provisioned", "uid", r.UID, "outcome", string(r.Outcome), "version", r.Version, "url", r.URL)
	}
	return err
}

// jitter picks a wait between half and all of d.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
