// Command perf-exporter runs load tests on a schedule and exports their
// latency and throughput as Prometheus metrics. This file only wires flags,
// the logger and the subcommands; each subcommand lives in its own file.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
)

// command is one subcommand: its kingpin clause and what it does. run
// returns the process exit code.
type command struct {
	clause *kingpin.CmdClause
	run    func(ctx context.Context, logger *slog.Logger) int
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	app := kingpin.New("perf-exporter", "Continuous synthetic benchmarking: scheduled load tests exported as Prometheus metrics.")
	app.Version(version.Print("perf-exporter"))
	app.HelpFlag.Short('h')
	logConfig := &promslog.Config{}
	promslogflag.AddFlags(app, logConfig)

	check := app.Command("check", "Check a config file or the connection to Prometheus or Grafana.")
	dashboards := app.Command("dashboards", "Provision, export, import and list the bundled Grafana boards.")
	commands := []command{
		serveCommand(app),
		runCommand(app),
		targetCommand(app),
		checkConfigCommand(check),
	}
	commands = append(commands, extraCommands(app, check, dashboards)...)

	selected, err := app.Parse(joinDashValues(args))
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter: %v (try --help)\n", err)
		return 1
	}
	logger := promslog.New(logConfig)

	// SIGINT and SIGTERM cancel the context: runs in flight are aborted and
	// recorded, then the server stops. Fortio never sees the signals.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.clause.FullCommand() == selected {
			return c.run(ctx, logger)
		}
	}
	fmt.Fprintf(os.Stderr, "perf-exporter: %q needs a subcommand (try --help)\n", selected)
	return 1
}

// joinDashValues turns "--flag -" into "--flag=-": kingpin's lexer reads a
// lone "-" as an empty value, and "-" means stdout or stdin here
// (run --json -, transform -).
func joinDashValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		prev := ""
		if i > 0 {
			prev = args[i-1]
		}
		if a == "-" && strings.HasPrefix(prev, "--") && !strings.Contains(prev, "=") && len(out) > 0 {
			out[len(out)-1] += "=-"
			continue
		}
		out = append(out, a)
	}
	return out
}
