package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// transformCommand converts a saved output of any engine into our result
// document, so results produced elsewhere can be viewed, compared and
// stored like our own.
func transformCommand(app *kingpin.Application) command {
	c := app.Command("transform", "Convert a saved output of fortio, wrk, wrk2 or nighthawk_client into a result document, written to standard output.")
	from := c.Flag("from", "What wrote the input: fortio (JSON), wrk, wrk2 (text report) or nighthawk (JSON or fortio format).").Required().Enum(loadgen.TransformFormats()...)
	to := c.Flag("to", "fortio: only the fortio-compatible result (for fortio report); json: the whole result document.").Default("json").Enum("fortio", "json")
	file := c.Arg("file", "The saved output; - reads standard input.").Required().String()
	return command{clause: c, run: func(_ context.Context, _ *slog.Logger) int {
		if err := transform(*from, *to, *file, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter transform: %v\n", err)
			return 1
		}
		return 0
	}}
}

func transform(from, to, file string, stdin io.Reader, stdout io.Writer) error {
	in, name := stdin, "standard input"
	// kingpin hands over a lone "-" as an empty argument.
	if file != "-" && file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, file
	}
	res, err := loadgen.ParseOutput(from, in, config.DefaultPercentiles)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	outcome, verdicts := result.Judge(config.Profile{}, res, nil)
	doc := result.NewDocument(res, result.DocumentInfo{Outcome: outcome, Verdicts: verdicts})
	// wrk and Nighthawk count status classes; fortio reads only statuses.
	doc.RetCodes = result.FortioRetCodes(doc.PerfExporter.Codes, doc.PerfExporter.Protocol)
	var v any = doc
	if to == "fortio" {
		v = result.FortioShaped(doc)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
