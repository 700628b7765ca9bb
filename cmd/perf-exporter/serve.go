package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"golang.org/x/sync/errgroup"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards"
	"github.com/perf-exporter/perf-exporter/environment"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/scheduler"
	"github.com/perf-exporter/perf-exporter/store"
	"github.com/perf-exporter/perf-exporter/target"
	pweb "github.com/perf-exporter/perf-exporter/web"
)

type serveFlags struct {
	configFile  string
	storagePath string
	split       int
	shard       string
	web         *web.FlagConfig
	// The write endpoints are off by default, as in Prometheus.
	enableLifecycle bool
	enableAdminAPI  bool
	// resetCorrupt moves a corrupt history aside and starts an empty one.
	resetCorrupt bool
}

func serveCommand(app *kingpin.Application) command {
	f := &serveFlags{}
	cmd := app.Command("serve", "Run the exporter: scheduled load tests, metrics, API (the default command).").Default()
	cmd.Flag("config.file", "Config file. Without one, a demo runs against the built-in target.").StringVar(&f.configFile)
	cmd.Flag("storage.path", "Directory of the run history.").Default("perf-exporter-data").StringVar(&f.storagePath)
	cmd.Flag(strings.TrimPrefix(store.ResetCorruptFlag, "--"), "Move a corrupt run history aside (runs.db.corrupt-<time>) and start an empty one; without it the exporter runs without history.").BoolVar(&f.resetCorrupt)
	cmd.Flag("load.split", "Number of replicas sharing the load: this one sends 1/N of every profile's rate and connections.").Default("1").IntVar(&f.split)
	cmd.Flag("profiles.shard", "INDEX/COUNT: this replica runs only the profiles that hash to shard INDEX of COUNT (0 ≤ INDEX < COUNT), each at its full rate. Excludes --load.split.").PlaceHolder("INDEX/COUNT").StringVar(&f.shard)
	f.web = kingpinflag.AddFlags(cmd, ":9479")
	cmd.Flag(strings.TrimPrefix(pweb.FlagLifecycle, "--"), "Enable POST /-/reload (SIGHUP reloads without it).").BoolVar(&f.enableLifecycle)
	cmd.Flag(strings.TrimPrefix(pweb.FlagAdminAPI, "--"), "Enable the API's write endpoints: run a profile now, accept a change point.").BoolVar(&f.enableAdminAPI)
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
	shard, err := shardFlag(f)
	if err != nil {
		return err
	}
	logger.Info("starting perf-exporter", "version", version.Info(), "build", version.BuildContext())
	// Everything serve starts stops with ctx: a start-up error cancels it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Bind first: with the port taken (a second instance, a crash loop)
	// nothing starts, not even the demo target.
	listeners, err := listen(f.web)
	if err != nil {
		return err
	}
	cfgSource, err := loadServeConfig(ctx, logger, f.configFile)
	if err != nil {
		closeListeners(listeners)
		return err
	}
	cfgSource = cfgSource.sharded(shard)
	if shard.Enabled() {
		logger.Info("profiles sharded: this replica runs its shard's profiles only", "shard", shard.String(), "profiles", len(cfgSource.current().Profiles))
	}
	cfg := cfgSource.current()

	// A store that cannot be written (full disk, read-only volume, corrupt
	// file) does not stop the exporter: perf_exporter_store_available and
	// the landing page say so, and writes resume when they can.
	st, err := store.OpenResilient(f.storagePath,
		store.Options{MaxRuns: cfg.Global.Retention.MaxRuns, MaxAge: cfg.Global.Retention.MaxAge.D(), Logger: logger},
		store.ResilientOptions{ResetCorrupt: f.resetCorrupt})
	if err != nil {
		closeListeners(listeners)
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	runs := collector.NewRuns(collector.WithShard(shard.String()))
	env := environment.New(cfg, logger, environment.Options{})
	// The Go and process collectors, as every exporter has: go_goroutines
	// and process_resident_memory_bytes show a leak across runs.
	// The profiles' series are served from the exposition cache, after
	// the registry's; the registry only checks their names against the rest.
	storeHealth := collector.NewStoreHealth(func() (bool, uint64) {
		s := st.Status()
		return s.Available, s.WriteFailures
	})
	reg.MustRegister(collector.DescribeOnly(runs), env, storeHealth, versioncollector.NewCollector("perf_exporter"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reloads := collector.NewReload(reg)
	reloads.Record(true, time.Now())
	changes := regression.New(st, nil, logger)
	if err := changes.ApplyConfig(cfg); err != nil {
		closeListeners(listeners)
		return err
	}
	reg.MustRegister(collector.DescribeOnly(changes)) // served from the exposition cache too

	// Every run marked on Grafana boards; sent in the background, never
	// delaying a run.
	annotator := dashboards.NewAnnotator(reg, logger, dashboards.AnnotatorOptions{})
	applyAnnotations := func(cfg *config.Config) error { return annotator.ApplyConfig(cfg.Grafana, os.Getenv) }
	if err := applyAnnotations(cfg); err != nil {
		logger.Error("Grafana annotations are off", "err", err)
	}

	changes.OnChange(func(profile string, c regression.Change) {
		annotator.AnnotateChangePoint(dashboards.ChangePoint{Profile: profile, Metric: c.Metric, Direction: c.Direction,
			RunID: c.RunID, Time: c.Time, Before: c.Before, After: c.After})
	})

	sched := scheduler.New(scheduler.Options{
		Engines: func(cfg *config.Config, name string) (loadgen.Engine, error) {
			return loadgen.New(name, cfg.Engines, logger)
		},
		Recorder:    runs,
		History:     st,
		Environment: env,
		Regressions: changes,
		Finished:    annotator,
		Logger:      logger,
		Split:       f.split,
	})
	if err := restoreHistory(ctx, logger, st, runs, sched, cfg); err != nil {
		if ctx.Err() != nil {
			closeListeners(listeners)
			return err
		}
		// Without them the gauges start empty, as on a first start; the
		// schedule matters more.
		logger.Error("cannot restore the last runs from the history; starting without them", "err", err)
	}

	// Grafana may start after us: the provisioner retries in the background
	// until the boards are in, and provisions again after each reload.
	boards := dashboards.NewProvisioner(cfg, reg, dashboards.ProvisionerOptions{Logger: logger})
	checker := newEnvironmentChecker(env)
	reload := &configReloader{source: cfgSource, metrics: reloads, logger: logger}
	var ready atomic.Bool
	handler := pweb.New(pweb.Options{
		Gatherer:     reg,
		Metrics:      runs.Handler(reg, func(err error) { logger.Error("metrics handler", "err", err) }, changes),
		Profiles:     scheduledProfiles{sched},
		Reload:       reload.Reload,
		Ready:        &ready,
		History:      st,
		Prometheus:   prometheusSources{env},
		Changes:      changes,
		BaselineRuns: cfg.Global.BaselineRuns,
		Logger:       logger,
		Version:      version.Info(),

		StoreStatus:     st.Status,
		EnableLifecycle: f.enableLifecycle,
		EnableAdminAPI:  f.enableAdminAPI,
	})
	reload.reloaders = []reloader{
		{"regressions", changes.ApplyConfig}, // before the scheduler: its runs observe
		{"scheduler", sched.Apply},
		{"environment", checker.ApplyConfig},
		{"retention", func(cfg *config.Config) error {
			st.SetRetention(cfg.Global.Retention.MaxRuns, cfg.Global.Retention.MaxAge.D())
			return nil
		}},
		{"grafana", boards.ApplyConfig}, // provisions again, in the background
		{"annotations", applyAnnotations},
		{"web", handler.ApplyConfig},
	}

	group, groupCtx := errgroup.WithContext(ctx)
	start := func(p part) { group.Go(func() error { return p.Run(groupCtx) }) }
	start(&webServer{server: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}, listeners: listeners, flags: f.web, logger: logger})
	// The scheduler part runs even when Apply fails: Apply may have started
	// runs, and shutdown must abort and wait for them.
	applyErr := sched.Apply(cfg)
	start(schedulerPart{sched: sched, logger: logger})
	if applyErr != nil {
		cancel()
		_ = group.Wait()
		return applyErr
	}
	ready.Store(true)
	start(changeReplay{changes: changes, st: st, runs: runs, cfg: cfg, logger: logger})
	start(checker)
	start(boards)
	start(annotator)
	start(hangups{reload: reload.Reload})
	if cfgSource.demo != nil {
		start(cfgSource.demo)
	}
	return group.Wait()
}

// shardFlag reads --profiles.shard. Split and shard are either/or: split
// divides every profile's load over the replicas, shard divides the
// profiles; both at once would run a shard's profiles at a fraction of
// their rate with nobody running the rest.
func shardFlag(f *serveFlags) (config.Shard, error) {
	if f.shard == "" {
		return config.Shard{}, nil
	}
	shard, err := config.ParseShard(f.shard)
	if err != nil {
		return config.Shard{}, fmt.Errorf("--profiles.shard: %w", err)
	}
	if f.split > 1 {
		return config.Shard{}, fmt.Errorf("--profiles.shard=%s and --load.split=%d exclude each other: split shares every profile's load among replicas, shard shares the profiles among them; use one", f.shard, f.split)
	}
	return shard, nil
}

func closeListeners(listeners []net.Listener) {
	for _, l := range listeners {
		l.Close()
	}
}

// runHistory is what restoreHistory needs of the store.
type runHistory interface {
	RecoverInFlight(ctx context.Context, now time.Time) ([]*result.Document, error)
	Prune(ctx context.Context) (int, error)
	Latest(ctx context.Context) (map[string]store.Last, error)
	BaselineWithin(ctx context.Context, profile string, n int, from, until time.Time) (map[string]float64, int, error)
	List(ctx context.Context, q store.Query) ([]store.Summary, string, error)
}

// restoreHistory turns runs a crash left in flight into aborted ones and
// brings back every profile's last-run gauges, so boards do not go blank
// after a restart or upgrade (the baselines and change points come back
// in the background: changeReplay). The gauges and the landing page's
// last run come from the last completed run: an aborted one (the run a
// kill -9 interrupted) measured nothing whole and must not zero them.
func restoreHistory(ctx context.Context, logger *slog.Logger, st runHistory, runs *collector.Runs, sched *scheduler.Scheduler, cfg *config.Config) error {
	configured := map[string]bool{}
	for _, p := range cfg.Profiles {
		configured[p.Name] = true
	}
	// The two writes may fail on a full or read-only disk: the marks stay
	// for the next start, and the gauges are restored all the same.
	aborted, err := st.RecoverInFlight(ctx, time.Now())
	if err != nil {
		logger.Error("cannot record the runs in flight at the last stop as aborted; trying again at the next start", "err", err)
	}
	for _, doc := range aborted {
		logger.Warn("a run was in flight when the exporter stopped; recorded as aborted", "profile", doc.PerfExporter.Profile, "run", doc.PerfExporter.RunID)
		if configured[doc.PerfExporter.Profile] { // a removed profile gets no series back
			runs.CountOutcome(doc.PerfExporter.Profile, result.OutcomeAborted)
		}
	}
	if _, err := st.Prune(ctx); err != nil {
		logger.Error("cannot apply the retention to the history", "err", err)
	}
	latest, err := st.Latest(ctx)
	if err != nil {
		return err
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
	}
	for _, p := range cfg.Profiles {
		if err := restoreMisses(ctx, st, runs, p); err != nil {
			return err
		}
	}
	sched.Restore(docs)
	return nil
}

// changeReplay brings back every profile's change points and baseline
// from the history, after the daemon is ready: replaying the change-point
// detector over 1 000 profiles' histories takes seconds to tens of seconds
// (BenchmarkReplayAtStart), which /metrics and the schedule need not wait
// for. A profile's regression series and baseline appear once its own
// replay is done, whole (regression.Tracker.Load); a run that ends before
// loads its profile itself.
type changeReplay struct {
	changes *regression.Tracker
	st      interface {
		BaselineWithin(ctx context.Context, profile string, n int, from, until time.Time) (map[string]float64, int, error)
	}
	runs   *collector.Runs
	cfg    *config.Config
	logger *slog.Logger
}

func (r changeReplay) Run(ctx context.Context) error {
	began := time.Now()
	for _, p := range r.cfg.Profiles {
		profile := p.Name
		err := r.changes.Load(ctx, profile, func(from, until time.Time) error {
			baseline, n, err := r.st.BaselineWithin(ctx, profile, r.cfg.Global.BaselineRuns, from, until)
			if err != nil {
				return err
			}
			if n > 0 {
				r.runs.SetBaseline(profile, baseline)
			}
			return nil
		})
		switch {
		case ctx.Err() != nil:
			return nil //nolint:nilerr // shutting down: the replay stops, no failure
		case errors.Is(err, regression.ErrUnknownProfile):
			// Removed by a reload meanwhile: nothing to restore.
		case err != nil:
			// Its next run loads it again; the others still get theirs.
			r.logger.Error("cannot restore the change points and baseline of a profile from the history", "profile", profile, "err", err)
		}
	}
	r.logger.Info("change points and baselines restored from the history", "profiles", len(r.cfg.Profiles), "took", time.Since(began))
	return nil
}

// restoreMisses brings back a profile's streaks of consecutive objective
// misses, so the SLO alerts, which wait for two misses in a row, neither
// forget the miss before a restart nor double one after it.
func restoreMisses(ctx context.Context, st interface {
	List(context.Context, store.Query) ([]store.Summary, string, error)
}, runs *collector.Runs, p config.Profile) error {
	recent, _, err := st.List(ctx, store.Query{Profile: p.Name, Limit: collector.RestoreRuns})
	if err != nil {
		return err
	}
	figures := make([]collector.RunFigures, len(recent))
	for i, r := range recent {
		figures[i] = collector.RunFigures{RunID: r.RunID, Outcome: r.Outcome, Requests: r.Requests, ErrorRatio: r.ErrorRatio, Latency: r.Latency}
	}
	runs.RestoreMisses(p, figures)
	return nil
}

// configSource is the config file, or the built-in demo when there is none.
type configSource struct {
	current func() *config.Config
	reload  func() (*config.Config, bool, error)
	// demo is the built-in target the demo config runs against, nil with a
	// config file. It stops with the context loadServeConfig was given, or
	// when the part's Run is done.
	demo part
}

// sharded gives the parts only the profiles of this shard, on start and on
// every reload: the others expose nothing for the profiles other shards run.
func (s *configSource) sharded(shard config.Shard) *configSource {
	if !shard.Enabled() {
		return s
	}
	current, reload := s.current, s.reload
	return &configSource{
		current: func() *config.Config { return shard.Filter(current()) },
		reload: func() (*config.Config, bool, error) {
			cfg, changed, err := reload()
			return shard.Filter(cfg), changed, err
		},
		demo: s.demo,
	}
}

func loadServeConfig(ctx context.Context, logger *slog.Logger, path string) (*configSource, error) {
	if path != "" {
		file, err := config.OpenFile(path)
		if err != nil {
			return nil, err
		}
		return &configSource{current: file.Current, reload: file.Reload}, nil
	}
	demoCtx, stopDemo := context.WithCancel(ctx)
	demo, running, err := startDemo(demoCtx, logger)
	if err != nil {
		stopDemo()
		return nil, err
	}
	return &configSource{
		current: func() *config.Config { return demo },
		reload:  func() (*config.Config, bool, error) { return demo, false, nil },
		demo: partFunc(func(ctx context.Context) error {
			<-ctx.Done()
			stopDemo()
			if err := running.Wait(); err != nil {
				return fmt.Errorf("demo target: %w", err)
			}
			return nil
		}),
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

func startDemo(ctx context.Context, logger *slog.Logger) (*config.Config, *target.Running, error) {
	running, err := target.Start(ctx, "127.0.0.1:0", target.Options{Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the demo target: %w", err)
	}
	logger.Info("no --config.file: running the demo profile against the built-in target", "target", running.URL())
	cfg, err := config.Parse([]byte(fmt.Sprintf(demoConfig, running.URL())), "demo config")
	return cfg, running, err
}
