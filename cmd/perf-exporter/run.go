package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/report"
	"github.com/perf-exporter/perf-exporter/result"
)

// Exit codes of `run`.
const (
	exitFailure   = 1 // the run did not complete
	exitSLOMissed = 2 // a --max-latency or --max-error-ratio threshold was missed
)

type runFlags struct {
	url, engine, protocol, method, body, jsonOut string
	qps                                          float64
	connections                                  int
	duration, timeout, warmup                    time.Duration
	headers, maxLatency                          []string
	maxErrorRatio                                float64
	insecure                                     bool
}

func runCommand(app *kingpin.Application) command {
	f := &runFlags{}
	cmd := app.Command("run", "Run one load test now and print its result.")
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
	cmd.Flag("max-error-ratio", "Threshold on the error ratio; missed = exit 2.").Default("-1").Float64Var(&f.maxErrorRatio)
	return command{clause: cmd, run: func(ctx context.Context, logger *slog.Logger) int {
		return runOnce(ctx, logger, f)
	}}
}

func runOnce(ctx context.Context, logger *slog.Logger, f *runFlags) int {
	p, err := f.profile()
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
		return exitFailure
	}
	cfg := &config.Config{Profiles: []config.Profile{p}}
	cfg.ApplyDefaults()
	if err := config.Validate(cfg, "run"); err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter %v\n", err)
		return exitFailure
	}
	p = cfg.Profiles[0]
	engine, err := loadgen.New(p.Engine, cfg.Engines, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
		return exitFailure
	}
	summaryOut := io.Writer(os.Stdout)
	if f.jsonOut == "-" {
		summaryOut = os.Stderr
	}
	progress := report.NewProgress(ctx, os.Stderr, isTerminal(os.Stderr), p.Load.Duration.D()+p.Load.Warmup.D())
	start := time.Now()
	run := &loadgen.Run{Profile: p, Split: 1, ID: loadgen.RunID(p.Name, start), Start: start, Engine: engine, Observer: progress}
	doc := run.Execute(ctx).Doc
	progress.Stop()
	report.WriteSummary(summaryOut, doc)
	if f.jsonOut != "" {
		if err := writeDocument(f.jsonOut, doc); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter run: %v\n", err)
			return exitFailure
		}
	}
	switch doc.PerfExporter.Outcome {
	case result.OutcomeSuccess:
		return 0
	case result.OutcomeSLOMissed:
		return exitSLOMissed
	default:
		return exitFailure
	}
}

// profile turns the flags into the profile a scheduled run would use.
func (f *runFlags) profile() (config.Profile, error) {
	p := config.Profile{
		Name: "run", Schedule: "@every 1h", Engine: f.engine,
		Target: config.Target{URL: f.url, Protocol: f.protocol, Method: f.method, Body: f.body,
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
		if p.SLO.Latency == nil {
			p.SLO.Latency = map[string]config.Duration{}
		}
		pc := strings.TrimPrefix(key, "p")
		p.SLO.Latency[pc] = config.Duration(d)
		p.Load.Percentiles = appendPercentile(p.Load.Percentiles, pc)
	}
	if f.maxErrorRatio >= 0 {
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
	for _, x := range list {
		if x == f {
			return list
		}
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
