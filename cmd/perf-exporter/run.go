package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/push"
	"github.com/perf-exporter/perf-exporter/report"
	"github.com/perf-exporter/perf-exporter/result"
)

// Exit codes of `run`.
const (
	exitFailure   = 1 // the run did not complete
	exitSLOMissed = 2 // a --max-latency or --max-error-ratio threshold was missed, or a metric regressed against --baseline
)

type runFlags struct {
	url, engine, protocol, method, body, jsonOut string
	qps                                          float64
	connections                                  int
	duration, timeout, warmup                    time.Duration
	headers, maxLatency                          []string
	maxErrorRatio                                float64
	// maxErrorRatioSet tells a threshold given from none: every value
	// given, even a negative one, must be a ratio.
	maxErrorRatioSet bool
	insecure         bool
	ci               ciFlags
}

func runCommand(app *kingpin.Application) command {
	f := &runFlags{}
	cmd := app.Command("run", "Run one load test now and print its result.")
	f.register(cmd)
	return command{clause: cmd, run: func(ctx context.Context, logger *slog.Logger) int {
		return runOnce(ctx, logger, f)
	}}
}

func (f *runFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("url", "Target URL.").Required().StringVar(&f.url)
	cmd.Flag("qps", "Requests per second; 0 = as fast as the connections allow.").Default("0").Float64Var(&f.qps)
	cmd.Flag("connections", "Connections (fortio threads).").Default("8").IntVar(&f.connections)
	cmd.Flag("duration", "How long to send.").Default("10s").DurationVar(&f.duration)
	cmd.Flag("warmup", "Unmeasured load before the run.").Default("0s").DurationVar(&f.warmup)
	cmd.Flag("timeout", "Request timeout.").Default("3s").DurationVar(&f.timeout)
	cmd.Flag("engine", "fortio, wrk, wrk2 or nighthawk.").Default("fortio").StringVar(&f.engine)
	cmd.Flag("protocol", "http1, http2 or grpc.").Default("http1").StringVar(&f.protocol)
	cmd.Flag("method", "HTTP method (default GET, or POST with --body).").StringVar(&f.method)
	cmd.Flag("header", "Request header 'Key: Value' (repeatable).").StringsVar(&f.headers)
	cmd.Flag("body", "Request body.").StringVar(&f.body)
	cmd.Flag("insecure", "Do not verify the target's TLS certificate.").BoolVar(&f.insecure)
	cmd.Flag("json", "Write the result document to this file (- for stdout; the summary then goes to stderr).").StringVar(&f.jsonOut)
	cmd.Flag("max-latency", "Threshold such as p99=250ms (repeatable); missed = exit 2.").StringsVar(&f.maxLatency)
	cmd.Flag("max-error-ratio", "Threshold on the error ratio, 0 to 1; missed = exit 2.").IsSetByUser(&f.maxErrorRatioSet).Float64Var(&f.maxErrorRatio)
	f.ci.register(cmd)
}

func runOnce(ctx context.Context, logger *slog.Logger, f *runFlags) int {
	cfg, err := f.config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter %v\n", err)
		return exitFailure
	}
	p := cfg.Profiles[0]
	engine, err := loadgen.New(p.Engine, cfg.Engines, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
		return exitFailure
	}
	summaryOut := io.Writer(os.Stdout)
	if f.jsonOut == "-" {
		summaryOut = os.Stderr
	}
	labels, _ := f.ci.labelMap() // checked with the flags
	client, err := f.ci.httpClient()
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
		return exitFailure
	}
	var pushed *pushers
	if f.ci.remoteWriteURL != "" || f.ci.pushgatewayURL != "" {
		series, err := push.NewSeries(p, labels)
		if err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
			return exitFailure
		}
		pushed = f.ci.newPushers(series, client)
	}
	baseline, err := f.ci.loadBaseline(ctx, p.Name, client)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
		return exitFailure
	}

	progress := report.NewProgress(ctx, os.Stderr, isTerminal(os.Stderr), p.Load.Duration.D()+p.Load.Warmup.D())
	var observer result.Observer = progress
	if pushed != nil {
		observer = teeObserver{progress, pushed}
		pushed.start(ctx, os.Stderr)
	}
	start := time.Now()
	run := &loadgen.Run{Profile: p, Split: 1, ID: loadgen.RunID(p.Name, start), Start: start, Engine: engine, Observer: observer}
	finished := run.Execute(ctx)
	doc := finished.Doc
	progress.Stop()
	comparisons := baseline.judge(doc)
	report.WriteSummary(summaryOut, doc)
	for _, c := range comparisons {
		fmt.Fprintln(summaryOut, report.DescribeComparison(c))
	}

	// The measured result is never lost: the document and the reports are
	// written before anything is pushed.
	failed := false
	if f.jsonOut != "" {
		if err := writeDocument(f.jsonOut, doc); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
			failed = true
		}
	}
	if err := f.ci.writeReports(doc, comparisons); err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
		failed = true
	}
	if pushed != nil {
		var bulk *result.Measurement
		if pushed.live.Load() == 0 {
			bulk = finished.Measured
		}
		pushed.series.Finish(doc, bulk)
		if err := pushed.finish(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
			failed = true
		}
	}
	return exitStatus(doc.PerfExporter.Outcome, comparisons, failed)
}

// exitStatus is 1 when the run did not complete or a report or push
// failed, 2 when an objective was missed or a metric regressed against the
// baseline, else 0.
func exitStatus(outcome string, comparisons []result.Comparison, failed bool) int {
	if failed {
		return exitFailure
	}
	switch outcome {
	case result.OutcomeSuccess:
		for _, c := range comparisons {
			if c.Regression {
				return exitSLOMissed
			}
		}
		return 0
	case result.OutcomeSLOMissed:
		return exitSLOMissed
	default:
		return exitFailure
	}
}

// teeObserver hands every request to each of its observers.
type teeObserver []result.Observer

func (t teeObserver) ObserveRequest(latency time.Duration, code string) {
	for _, o := range t {
		o.ObserveRequest(latency, code)
	}
}

// config checks the flags and turns them into the config of one profile,
// validated as a config file is: every mistake is reported before anything
// runs.
func (f *runFlags) config() (*config.Config, error) {
	p, err := f.profile()
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	cfg := &config.Config{Profiles: []config.Profile{p}}
	cfg.ApplyDefaults()
	if err := config.Validate(cfg, "run"); err != nil {
		if errs, ok := errors.AsType[config.Errors](err); ok {
			for i := range errs {
				errs[i].Msg = settingFlags.Replace(errs[i].Msg)
			}
			return nil, errs
		}
		return nil, err
	}
	return cfg, nil
}

// settingFlags names the flags behind the profile settings that config
// validation speaks of: `run` has no file in which to find load.qps.
var settingFlags = strings.NewReplacer(
	"load.qps", "--qps", "load.connections", "--connections", "load.duration", "--duration",
	"load.warmup", "--warmup", "target.url", "--url", "target.timeout", "--timeout",
	"target.protocol", "--protocol", "target.method", "--method", "target.body", "--body",
	"target.headers", "--header", "slo.latency", "--max-latency", "slo.error_ratio", "--max-error-ratio",
)

// check rejects flag values out of range, naming the flag. It runs before
// defaults apply: --connections 0 or --duration 0s are mistakes, not a
// request for the default.
func (f *runFlags) check() error {
	switch {
	case math.IsNaN(f.qps) || math.IsInf(f.qps, 0) || f.qps < 0:
		return fmt.Errorf("--qps must be a finite number, 0 (as fast as possible) or more, got %g", f.qps)
	case f.connections < 1:
		return fmt.Errorf("--connections must be at least 1, got %d", f.connections)
	case f.duration < config.MinDuration:
		return fmt.Errorf("--duration must be at least %s, got %s", config.MinDuration, f.duration)
	case f.warmup < 0:
		return fmt.Errorf("--warmup must not be negative, got %s", f.warmup)
	case f.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s", f.timeout)
	case f.maxErrorRatioSet && !(f.maxErrorRatio >= 0 && f.maxErrorRatio <= 1): // NaN fails both
		return fmt.Errorf("--max-error-ratio must be between 0 and 1, got %g", f.maxErrorRatio)
	}
	if f.engine == config.EngineFortio {
		// As config validation does for a profile, in the flags' names.
		for _, d := range []struct {
			flag string
			d    time.Duration
		}{{"--duration", f.duration}, {"--warmup", f.warmup}} {
			fields := config.RateFields{QPS: "--qps", Connections: "--connections", Duration: d.flag}
			if err := config.CheckRateShape(f.qps, f.connections, d.d, fields); err != nil {
				return err
			}
		}
	}
	if f.jsonOut != "" && f.jsonOut != "-" {
		if err := checkWritable(f.jsonOut); err != nil {
			return fmt.Errorf("--json %s: %w", f.jsonOut, err)
		}
	}
	return f.ci.check()
}

// checkWritable finds out now, not after the whole run, whether the result
// document can be written there; it leaves no file behind.
func checkWritable(path string) error {
	file, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if file, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			defer os.Remove(path)
		}
	}
	if err != nil {
		return err
	}
	return file.Close()
}

// profile turns the flags into the profile a scheduled run would use.
func (f *runFlags) profile() (config.Profile, error) {
	if err := f.check(); err != nil {
		return config.Profile{}, err
	}
	p := config.Profile{
		Name: f.ci.profile, Schedule: "@every 1h", Engine: f.engine,
		Target: config.Target{URL: grpcTarget(f.protocol, f.url), Protocol: f.protocol, Method: f.method, Body: f.body,
			Timeout: config.Duration(f.timeout), Headers: map[string]string{},
			TLS: config.TLS{InsecureSkipVerify: f.insecure}},
		Load: config.Load{QPS: f.qps, Connections: f.connections, Duration: config.Duration(f.duration), Warmup: config.Duration(f.warmup)},
	}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return p, fmt.Errorf("--header %q: want 'Key: Value'", h)
		}
		p.Target.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for _, m := range f.maxLatency {
		key, value, ok := strings.Cut(m, "=")
		d, err := time.ParseDuration(value)
		if !ok || !strings.HasPrefix(key, "p") || err != nil {
			return p, fmt.Errorf("--max-latency %q: want a percentile and a duration, such as p99=250ms", m)
		}
		pc := strings.TrimPrefix(key, "p")
		if f, err := strconv.ParseFloat(pc, 64); err != nil || !(f > 0 && f < 100) { // NaN fails both
			return p, fmt.Errorf("--max-latency %q: the percentile must be a number above 0 and below 100", m)
		}
		if d <= 0 {
			return p, fmt.Errorf("--max-latency %q: the latency must be positive", m)
		}
		if p.SLO.Latency == nil {
			p.SLO.Latency = map[string]config.Duration{}
		}
		p.SLO.Latency[pc] = config.Duration(d)
		p.Load.Percentiles = appendPercentile(p.Load.Percentiles, pc)
	}
	if f.maxErrorRatioSet {
		r := f.maxErrorRatio
		p.SLO.ErrorRatio = &r
	}
	return p, nil
}

// appendPercentile makes sure a threshold's percentile is measured.
func appendPercentile(list []float64, key string) []float64 {
	if len(list) == 0 {
		list = append(list, config.DefaultPercentiles...)
	}
	var f float64
	if _, err := fmt.Sscanf(key, "%g", &f); err != nil {
		return list // validation reports the bad key
	}
	if slices.Contains(list, f) {
		return list
	}
	return append(list, f)
}

func writeDocument(path string, doc *result.Document) error {
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
