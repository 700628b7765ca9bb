// Command perfbench is `make bench`: it builds perf-exporter, starts the
// built-in target and measures, side by side in one sitting, perf-exporter
// against wrk and against Fortio used as a bare library, the accuracy of
// its rates and latencies, what the daemon costs, and the other hot paths,
// then writes BENCHMARKS.md. Contenders alternate within each round and
// figures are medians of the rounds; absolute numbers are printed, never
// asserted: the table says which targets were met on this machine.
//
//	go run ./bench/cmd/perfbench [-out BENCHMARKS.md] [-sections ...]
//	go run ./bench/cmd/perfbench engine -url URL [-cpuprofile FILE]
//
// The engine subcommand runs the Fortio engine in-process with the
// daemon's per-request observer; the suite uses it as a contender and to
// profile the client.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "engine" {
		os.Exit(engineCommand(ctx, os.Args[2:]))
	}
	os.Exit(suiteCommand(ctx, os.Args[1:]))
}

// allSections run in this order; each may be picked with -sections.
var allSections = []string{"throughput", "rate", "latency", "daemon", "scale", "soak", "go"}

// options are the suite's knobs. The defaults keep the whole suite under
// ten minutes on two cores.
type options struct {
	out      string
	work     string
	goTool   string
	wrk      string
	sections []string
	// duration of one contender's run in a throughput round, and rounds.
	duration time.Duration
	rounds   int
	// accuracyDuration and accuracyRounds for the rate and latency runs.
	accuracyDuration time.Duration
	accuracyRounds   int
	profiles         int // configured profiles of the daemon measurements
	scaleProfiles    int // configured profiles of the scale section
	soakRuns         int // runs of the soak after its warm-up
}

func suiteCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("perfbench", flag.ContinueOnError)
	o := options{}
	var sections string
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "where the results table goes (- for stdout)")
	fs.StringVar(&o.work, "work", "", "work directory for binaries, configs and logs (default: a new temp dir, removed at the end)")
	fs.StringVar(&o.goTool, "go", cmp.Or(os.Getenv("GO"), "go"), "go command used to build and run the Go benchmarks")
	fs.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	fs.StringVar(&sections, "sections", strings.Join(allSections, ","), "sections to run: "+strings.Join(allSections, ","))
	fs.DurationVar(&o.duration, "duration", time.Second, "length of each throughput run")
	fs.IntVar(&o.rounds, "rounds", 32, "throughput rounds (each runs every contender once; a multiple of 4 balances the orders)")
	fs.DurationVar(&o.accuracyDuration, "accuracy.duration", 5*time.Second, "length of each rate and latency accuracy run")
	fs.IntVar(&o.accuracyRounds, "accuracy.rounds", 3, "rate and latency accuracy rounds")
	fs.IntVar(&o.profiles, "profiles", 200, "profiles configured in the daemon measurements")
	fs.IntVar(&o.scaleProfiles, "scale.profiles", 1000, "profiles configured in the scale section")
	fs.IntVar(&o.soakRuns, "soak.runs", 2000, "runs of the soak, after its warm-up")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for s := range strings.SplitSeq(sections, ",") {
		if !slices.Contains(allSections, s) {
			fmt.Fprintf(os.Stderr, "perfbench: unknown section %q in -sections; known: %s\n", s, strings.Join(allSections, ","))
			return 2
		}
		o.sections = append(o.sections, s)
	}
	if err := runSuite(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "perfbench:", err)
		return 1
	}
	return 0
}

func runSuite(ctx context.Context, o options) error {
	began := time.Now()
	if o.work == "" {
		dir, err := os.MkdirTemp("", "perfbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.work = dir
	}
	rep := newReport(o)
	logf("building perf-exporter and rawfortio into %s", o.work)
	bins, err := build(ctx, o)
	if err != nil {
		return err
	}
	target, err := startTarget(ctx, o, bins)
	if err != nil {
		return err
	}
	defer target.stop()
	logf("target serving on %s", target.url)

	for _, s := range o.sections {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		start := time.Now()
		logf("== %s", s)
		var err error
		switch s {
		case "throughput":
			err = benchThroughput(ctx, o, bins, target, rep)
		case "rate":
			err = benchRate(ctx, o, bins, target, rep)
		case "latency":
			err = benchLatency(ctx, o, bins, target, rep)
		case "daemon":
			err = benchDaemon(ctx, o, bins, target, rep)
		case "scale":
			err = benchScale(ctx, o, bins, target, rep)
		case "soak":
			err = benchSoak(ctx, o, bins, target, rep)
		case "go":
			err = benchGo(ctx, o, rep)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		logf("== %s took %s", s, time.Since(start).Round(time.Second))
	}
	rep.elapsed = time.Since(began)
	return rep.write(o.out)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s perfbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
