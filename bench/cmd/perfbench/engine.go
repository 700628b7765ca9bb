package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/perf-exporter/perf-exporter/collector"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// engineResult is what the engine subcommand prints.
type engineResult struct {
	QPS      float64 `json:"qps"`
	Requests int64   `json:"requests"`
}

// engineCommand runs the Fortio engine in this process with the daemon's
// per-request observer (the collector's), optionally under the CPU
// profiler: `perf-exporter run` has no profiling flag, and its observer is
// the progress counter, not the collector a scheduled run feeds.
func engineCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("perfbench engine", flag.ContinueOnError)
	url := fs.String("url", "", "target URL")
	qps := fs.Float64("qps", 0, "requests per second; 0 = as fast as possible")
	connections := fs.Int("connections", 16, "connections")
	duration := fs.Duration("duration", 5*time.Second, "how long to send")
	observer := fs.Bool("observer", true, "feed the collector's observer, as a scheduled run does")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r, err := runEngine(ctx, *url, *qps, *connections, *duration, *observer, *cpuprofile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "perfbench engine:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "perfbench engine:", err)
		return 1
	}
	return 0
}

func runEngine(ctx context.Context, url string, qps float64, connections int, d time.Duration, observe bool, cpuprofile string) (*engineResult, error) {
	cfg := &config.Config{Profiles: []config.Profile{{
		Name: "bench", Schedule: "@every 1h",
		Target: config.Target{URL: url},
		Load:   config.Load{QPS: qps, Connections: connections, Duration: config.Duration(d)},
	}}}
	cfg.ApplyDefaults()
	if err := config.Validate(cfg, "perfbench engine"); err != nil {
		return nil, err
	}
	var obs result.Observer
	if observe {
		obs = collector.NewRuns().Observer("bench")
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	r, err := loadgen.NewFortio().Run(ctx, cfg.Profiles[0], obs)
	if err != nil {
		return nil, err
	}
	var n int64
	if r.Latency != nil {
		n = r.Latency.Count
	}
	return &engineResult{QPS: r.ActualQPS, Requests: n}, nil
}
