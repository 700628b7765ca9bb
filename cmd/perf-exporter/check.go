package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
)

func checkConfigCommand(check *kingpin.CmdClause) command {
	cmd := check.Command("config", "Validate a config file; print every problem with its file:line.")
	file := cmd.Arg("file", "Config file.").Required().String()
	return command{clause: cmd, run: func(context.Context, *slog.Logger) int {
		cfg, err := config.LoadFile(*file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s: OK (%d profiles)\n", *file, len(cfg.Profiles))
		return 0
	}}
}
