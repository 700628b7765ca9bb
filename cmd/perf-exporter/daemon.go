package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/environment"
	"github.com/perf-exporter/perf-exporter/scheduler"
)

// The daemon is a few parts, each with Run(ctx): it runs until ctx is done
// and returns once everything it started has stopped. serve runs them under
// one errgroup, so shutdown waits for all of them, and one that fails (the
// web server losing its listener) stops the others. Parts that follow the
// config also have ApplyConfig, and are listed in the reloaders.

// part is one piece of the running daemon.
type part interface {
	Run(ctx context.Context) error
}

// shutdownTimeout bounds how long aborted runs may take to be recorded, and
// the web server its open requests.
const shutdownTimeout = 30 * time.Second

// reloader applies a new config to one part of the daemon (as Prometheus's
// reloaders): its name says which part failed.
type reloader struct {
	name  string
	apply func(*config.Config) error
}

// configReloader reloads the config file and hands a changed config to
// every reloader. SIGHUP and POST /-/reload take turns.
type configReloader struct {
	mu        sync.Mutex
	source    *configSource
	reloaders []reloader
	metrics   *collector.Reload
	logger    *slog.Logger
}

// Reload reloads the config. A config that does not load changes nothing;
// a part that cannot apply it does not stop the others from applying it.
func (r *configReloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, changed, err := r.source.reload()
	if err != nil {
		r.metrics.Record(false, time.Now())
		r.logger.Error("config reload failed; the previous config stays in force", "err", err)
		return err
	}
	if changed {
		var errs []error
		for _, rl := range r.reloaders {
			if err := rl.apply(next); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", rl.name, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			r.metrics.Record(false, time.Now())
			r.logger.Error("config reload failed", "err", err)
			return err
		}
		r.logger.Info("config reloaded", "profiles", len(next.Profiles))
	}
	r.metrics.Record(true, time.Now())
	return nil
}

// hangups reloads the config on every SIGHUP.
type hangups struct{ reload func() error }

func (h hangups) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			_ = h.reload() // logged and counted by the reloader
		case <-ctx.Done():
			return nil
		}
	}
}

// webServer serves the handler on listeners bound before anything else
// started (listen).
type webServer struct {
	server    *http.Server
	listeners []net.Listener
	flags     *web.FlagConfig
	logger    *slog.Logger
}

func (s *webServer) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- web.ServeMultiple(s.listeners, s.server, s.flags, s.logger) }()
	select {
	case err := <-served:
		return fmt.Errorf("web server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := s.server.Shutdown(shutdownCtx)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web server: %w", err)
	}
	if err != nil {
		return fmt.Errorf("web server: shutting down: %w", err)
	}
	return nil
}

// listen binds the web listeners (--web.listen-address, or systemd's
// sockets) and checks --web.config.file, as exporter-toolkit's
// ListenAndServe would, but before anything runs: a taken port or a bad web
// config stops the exporter before it has started a run.
func listen(flags *web.FlagConfig) (listeners []net.Listener, err error) {
	if err := web.Validate(*flags.WebConfigFile); err != nil {
		return nil, fmt.Errorf("--web.config.file %s: %w", *flags.WebConfigFile, err)
	}
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		listeners, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("--web.systemd-socket: %w", err)
		}
		if len(listeners) == 0 {
			return nil, errors.New("--web.systemd-socket: no socket activation file descriptors found")
		}
		return listeners, nil
	}
	defer func() {
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
		}
	}()
	for _, address := range *flags.WebListenAddresses {
		var l net.Listener
		if address == "" { // net.Listen would pick a random port on every interface
			return listeners, errors.New("--web.listen-address: an empty address; give host:port (:9479 for every interface, 127.0.0.1:0 for a free port)")
		}
		if strings.HasPrefix(address, "vsock://") {
			port, perr := vsockPort(address)
			if perr != nil {
				return listeners, fmt.Errorf("--web.listen-address %s: %w", address, perr)
			}
			l, err = vsock.Listen(port, nil)
		} else {
			l, err = net.Listen("tcp", address)
		}
		if err != nil {
			return listeners, fmt.Errorf("--web.listen-address %s: %w", address, err)
		}
		listeners = append(listeners, l)
	}
	if len(listeners) == 0 {
		return nil, errors.New("--web.listen-address: no address to listen on")
	}
	return listeners, nil
}

// vsockPort reads the port of vsock://:PORT, as exporter-toolkit does.
func vsockPort(address string) (uint32, error) {
	uri, err := url.Parse(address)
	if err != nil {
		return 0, err
	}
	_, port, err := net.SplitHostPort(uri.Host)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", port, err)
	}
	return uint32(n), nil
}

// schedulerPart runs the schedule; at shutdown it aborts the runs in
// flight (they are recorded as aborted) and waits for them.
type schedulerPart struct {
	sched  *scheduler.Scheduler
	logger *slog.Logger
}

func (p schedulerPart) Run(ctx context.Context) error {
	p.sched.Start()
	<-ctx.Done()
	p.logger.Info("shutting down: aborting runs in flight")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := p.sched.Stop(stopCtx); err != nil {
		p.logger.Error("shutdown", "err", err)
	}
	return nil
}

// environmentChecker tests the connection to every Prometheus source at
// start and after each reload, so perf_prometheus_up is there from the
// start, not only after a run.
type environmentChecker struct {
	env   *environment.Environment
	again chan struct{} // one pending check is enough
}

func newEnvironmentChecker(env *environment.Environment) *environmentChecker {
	return &environmentChecker{env: env, again: make(chan struct{}, 1)}
}

func (c *environmentChecker) Run(ctx context.Context) error {
	for {
		c.env.Check(ctx)
		select {
		case <-c.again:
		case <-ctx.Done():
			return nil
		}
	}
}

// ApplyConfig gives the environment the new sources and queries and tests
// the sources again.
func (c *environmentChecker) ApplyConfig(cfg *config.Config) error {
	c.env.ApplyConfig(cfg)
	select {
	case c.again <- struct{}{}:
	default:
	}
	return nil
}

// partFunc makes a function a part.
type partFunc func(ctx context.Context) error

func (f partFunc) Run(ctx context.Context) error { return f(ctx) }
