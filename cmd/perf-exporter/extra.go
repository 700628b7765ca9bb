package main

import "github.com/alecthomas/kingpin/v2"

// extraCommands are the subcommands of the transform, environment and
// Grafana features, each in its own file; each adds its constructors here.
func extraCommands(app *kingpin.Application, check, dashboards *kingpin.CmdClause) []command {
	commands := []command{
		transformCommand(app),
		regressionsCommand(app),
		checkPrometheusCommand(check),
	}
	commands = append(commands, grafanaCommands(check, dashboards)...)
	commands = append(commands, changesCommands(app)...)
	return commands
}
