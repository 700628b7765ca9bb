package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards"
	"github.com/perf-exporter/perf-exporter/environment"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/scheduler"
	"github.com/perf-exporter/perf-exporter/store"
	"github.com/perf-exporter/perf-exporter/target"
	pweb "github.com/perf-exporter/perf-exporter/web"
)

// shutdownTimeout bounds how long aborted runs may take to be recorded.
const shutdownTimeout = 30 * time.Second

type serveFlags struct {
	configFile  string
	storagePath string
	split       int
	web         *web.FlagConfig
}

func serveCommand(app *kingpin.Application) command {
	f := &serveFlags{}
	cmd := app.Command("serve", "Run the exporter: scheduled load tests, metrics, API (the default command).").Default()
	cmd.Flag("config.file", "Config file. Without one, a demo runs against the built-in target.").StringVar(&f.configFile)
	cmd.Flag("storage.path", "Directory of the run history.").Default("perf-exporter-data").StringVar(&f.storagePath)
	cmd.Flag("load.split", "Number of replicas sharing the load: this one sends 1/N of every profile's rate and connections.").Default("1").IntVar(&f.split)
	f.web = kingpinflag.AddFlags(cmd, ":9479")
	return command{clause: cmd, run: func(ctx context.Context, logger *slog.Logger) int {
		if err := serve(ctx, logger, f); err != nil {
			logger.Error("perf-exporter stopped", "err", err)
			return 1
		}
		return 0
	}}
}

func serve(ctx context.Context, logger *slog.Logger, f *serveFlags) error {
	if f.split < 1 {
		return fmt.Errorf("--load.split must be at least 1, got %d", f.split)
	}
	logger.Info("starting perf-exporter", "version", version.Info(), "build", version.BuildContext())
	cfgSource, err := loadServeConfig(ctx, logger, f.configFile)
	if err != nil {
		return err
	}
	cfg := cfgSource.current()

	st, err := store.Open(f.storagePath, store.Options{MaxRuns: cfg.Global.Retention.MaxRuns, MaxAge: cfg.Global.Retention.MaxAge.D(), Logger: logger})
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	runs := collector.NewRuns()
	env := environment.New(cfg, logger, environment.Options{})
	// The Go and process collectors, as every exporter has: go_goroutines
	// and process_resident_memory_bytes show a leak across runs.
	reg.MustRegister(runs, env, versioncollector.NewCollector("perf_exporter"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reloads := collector.NewReload(reg)
	reloads.Record(true, time.Now())

	sched := scheduler.New(scheduler.Options{
		Engines: func(cfg *config.Config, name string) (loadgen.Engine, error) {
			return loadgen.New(name, cfg.Engines, logger)
		},
		Recorder:    runs,
		History:     st,
		Environment: env,
		Logger:      logger,
		Split:       f.split,
	})
	if err := restoreHistory(ctx, logger, st, runs, sched, cfg); err != nil {
		return err
	}

	// Grafana may start after us: the provisioner retries in the background
	// until the boards are in, and provisions again after each reload.
	boards := dashboards.NewProvisioner(cfg, reg, dashboards.ProvisionerOptions{Logger: logger})

	var reloadMu sync.Mutex
	reload := func() error {
		// SIGHUP and POST /-/reload take turns.
		reloadMu.Lock()
		defer reloadMu.Unlock()
		next, changed, err := cfgSource.reload()
		if err != nil {
			reloads.Record(false, time.Now())
			logger.Error("config reload failed; the previous config stays in force", "err", err)
			return err
		}
		if changed {
			if err := sched.Apply(next); err != nil {
				reloads.Record(false, time.Now())
				return err
			}
			env.ApplyConfig(next)
			_ = boards.ApplyConfig(next) // provisions again, in the background
			st.SetRetention(next.Global.Retention.MaxRuns, next.Global.Retention.MaxAge.D())
			go env.Check(ctx)
			logger.Info("config reloaded", "profiles", len(next.Profiles))
		}
		reloads.Record(true, time.Now())
		return nil
	}

	var ready atomic.Bool
	handler := pweb.New(pweb.Options{
		Gatherer: reg,
		Profiles: sched,
		Reload:   reload,
		Ready:    &ready,
		Extra:    extraRoutes(logger, st, env),
		History:  st,
		// The landing page's baseline line follows the config in force at start.
		BaselineRuns: cfg.Global.BaselineRuns,
		Logger:       logger,
		Version:      version.Info(),
	})
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, f.web, logger) }()

	if err := sched.Apply(cfg); err != nil {
		return err
	}
	sched.Start()
	ready.Store(true)
	go env.Check(ctx) // perf_prometheus_up from the start, not only after a run
	boardsCtx, stopBoards := context.WithCancel(ctx)
	boardsDone := make(chan struct{})
	go func() { defer close(boardsDone); _ = boards.Run(boardsCtx) }()
	defer func() { stopBoards(); <-boardsDone }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			_ = reload()
		case err := <-serveErr:
			_ = shutdown(logger, sched, server)
			return fmt.Errorf("web server: %w", err)
		case <-ctx.Done():
			return shutdown(logger, sched, server)
		}
	}
}

// shutdown aborts the runs in flight (they are recorded as aborted), then
// stops the web server.
func shutdown(logger *slog.Logger, sched *scheduler.Scheduler, server *http.Server) error {
	logger.Info("shutting down: aborting runs in flight")
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := sched.Stop(ctx); err != nil {
		logger.Error("shutdown", "err", err)
	}
	if err := server.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// restoreHistory turns runs a crash left in flight into aborted ones and
// brings back every profile's last-run gauges and baseline, so boards do not
// go blank after a restart or upgrade.
func restoreHistory(ctx context.Context, logger *slog.Logger, st *store.Store, runs *collector.Runs, sched *scheduler.Scheduler, cfg *config.Config) error {
	aborted, err := st.RecoverInFlight(ctx, time.Now())
	if err != nil {
		return err
	}
	for _, doc := range aborted {
		logger.Warn("a run was in flight when the exporter stopped; recorded as aborted", "profile", doc.PerfExporter.Profile, "run", doc.PerfExporter.RunID)
		runs.CountOutcome(doc.PerfExporter.Profile, result.OutcomeAborted)
	}
	if _, err := st.Prune(ctx); err != nil {
		return err
	}
	latest, err := st.Latest(ctx)
	if err != nil {
		return err
	}
	configured := map[string]bool{}
	for _, p := range cfg.Profiles {
		configured[p.Name] = true
	}
	var docs []*result.Document
	for profile, last := range latest {
		if !configured[profile] {
			continue
		}
		if last.Run != nil {
			runs.SetLastRun(last.Run)
			docs = append(docs, last.Run)
		}
		if last.Success != nil {
			runs.SetLastSuccess(profile, last.Success.End())
		}
		baseline, n, err := st.Baseline(ctx, profile, cfg.Global.BaselineRuns)
		if err != nil {
			return err
		}
		if n > 0 {
			runs.SetBaseline(profile, baseline)
		}
	}
	sched.Restore(docs)
	return nil
}

// configSource is the config file, or the built-in demo when there is none.
type configSource struct {
	current func() *config.Config
	reload  func() (*config.Config, bool, error)
}

func loadServeConfig(ctx context.Context, logger *slog.Logger, path string) (*configSource, error) {
	if path != "" {
		file, err := config.OpenFile(path)
		if err != nil {
			return nil, err
		}
		return &configSource{current: file.Current, reload: file.Reload}, nil
	}
	demo, err := startDemo(ctx, logger)
	if err != nil {
		return nil, err
	}
	return &configSource{
		current: func() *config.Config { return demo },
		reload:  func() (*config.Config, bool, error) { return demo, false, nil },
	}, nil
}

// demoConfig is what `perf-exporter` runs without a config file: a profile
// against the built-in target, with a few slow and failing requests so
// every series has something to show.
const demoConfig = `
profiles:
  - name: demo
    schedule: "@every 1m"
    run_on_start: true
    target:
      url: %s/echo?delay=2ms:50,20ms:5&status=503:0.5&size=512
    load: {qps: 100, connections: 4, duration: 5s}
    slo:
      latency: {"99": 100ms}
      error_ratio: 0.02
`

func startDemo(ctx context.Context, logger *slog.Logger) (*config.Config, error) {
	running, err := target.Start(ctx, "127.0.0.1:0", target.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("starting the demo target: %w", err)
	}
	logger.Info("no --config.file: running the demo profile against the built-in target", "target", running.URL())
	return config.Parse([]byte(fmt.Sprintf(demoConfig, running.URL())), "demo config")
}
