package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/environment"
)

// checkPrometheusCommand tests the connection to every Prometheus source,
// ad hoc, with the settings the daemon would use.
func checkPrometheusCommand(check *kingpin.CmdClause) command {
	c := check.Command("prometheus", "Test every prometheus source of the config file: reachable, authenticated, reports its version, answers a query. Exit 1 if any fails.")
	file := c.Flag("config.file", "perf-exporter configuration file; its prometheus: sources are tested.").PlaceHolder("PATH").Required().String()
	timeout := c.Flag("timeout", "How long each source may take to answer.").Default("10s").Duration()
	return command{clause: c, run: func(ctx context.Context, _ *slog.Logger) int {
		return checkPrometheus(ctx, *file, *timeout, os.Stdout, os.Stderr)
	}}
}

// checkPrometheus prints one line per source, "ok" or "FAILED" with the
// reason, and returns the exit code.
func checkPrometheus(ctx context.Context, file string, timeout time.Duration, stdout, stderr io.Writer) int {
	cfg, err := config.LoadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(cfg.Prometheus) == 0 {
		fmt.Fprintf(stderr, "%s has no prometheus sources to check\n", file)
		return 1
	}
	// The lines below say everything; the daemon's log-once messages would
	// repeat them.
	env := environment.New(cfg, slog.New(slog.DiscardHandler), environment.Options{QueryTimeout: timeout})
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	code := 0
	for _, r := range env.Check(ctx) {
		if r.Up {
			fmt.Fprintf(tw, "ok\t%s\t%s\tPrometheus %s answers queries (%.0fms)\n", r.Prometheus, r.URL, r.Version, r.Seconds*1000)
			continue
		}
		code = 1
		fmt.Fprintf(tw, "FAILED\t%s\t%s\t%s: %s\n", r.Prometheus, r.URL, r.Reason, r.Error)
	}
	tw.Flush()
	return code
}
