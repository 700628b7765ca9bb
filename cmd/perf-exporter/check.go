package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
)

func checkConfigCommand(check *kingpin.CmdClause) command {
	cmd := check.Command("config", "Validate a config file; print every problem with its file:line.")
	file := cmd.Arg("file", "Config file.").Required().String()
	return command{clause: cmd, run: func(context.Context, *slog.Logger) int {
		return checkConfig(*file, os.Stdout, os.Stderr)
	}}
}

// checkConfig validates a config file: "OK" with its profile count, or
// every problem with its file:line. It returns the exit code.
func checkConfig(file string, stdout, stderr io.Writer) int {
	cfg, err := config.LoadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%s)\n", file, count(len(cfg.Profiles), "profile", "profiles"))
	return 0
}

// count says "1 profile", "2 profiles", "0 profiles".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
