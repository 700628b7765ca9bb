package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// Exit codes of regressions.
const (
	exitNoRegression   = 0
	exitError          = 1
	exitOpenRegression = 2
)

// regressionsCommand runs the change-point detector over histories kept
// elsewhere: CI artefacts, Fortio result folders, exports of other tools.
func regressionsCommand(app *kingpin.Application) command {
	c := app.Command("regressions", "Find the change points in result documents and plain Fortio JSON files (files or folders), per profile in start-time order. Exit 2 when a regression is still open at the end of a series.")
	format := c.Flag("format", "text or json.").Default("text").Enum("text", "json")
	significance := c.Flag("significance", "Largest p-value of a change point.").Default(fmt.Sprint(changepoint.DefaultParams().Significance)).Float64()
	paths := c.Arg("path", "Result files or folders of them.").Required().Strings()
	return command{clause: c, run: func(ctx context.Context, _ *slog.Logger) int {
		params := changepoint.DefaultParams()
		params.Significance = *significance
		if err := params.Validate(); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter regressions: --%v\n", err)
			return exitError
		}
		code, err := regressions(ctx, *paths, params, *format, os.Stdout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter regressions: %v\n", err)
			return exitError
		}
		return code
	}}
}

// regressionsReport is the JSON shape of DESIGN §8.
type regressionsReport struct {
	Profiles []profileChanges `json:"profiles"`
}

type profileChanges struct {
	Profile string         `json:"profile"`
	Runs    int            `json:"runs"`
	Changes []changeOutput `json:"changes"`
}

type changeOutput struct {
	Metric    string  `json:"metric"`
	Index     int     `json:"index"`
	RunID     string  `json:"run_id"`
	Time      string  `json:"time"`
	Direction string  `json:"direction"`
	Status    string  `json:"status"`
	Before    float64 `json:"before"`
	After     float64 `json:"after"`
	Ratio     float64 `json:"ratio"`
	PValue    float64 `json:"p_value"`
}

// loadedRun is one file's run with what groups and orders it.
type loadedRun struct {
	profile string
	file    string
	run     changepoint.Run
}

func regressions(ctx context.Context, paths []string, params changepoint.Params, format string, out io.Writer) (int, error) {
	var runs []loadedRun
	for _, p := range paths {
		loaded, err := loadResults(ctx, p)
		if err != nil {
			return exitError, err
		}
		runs = append(runs, loaded...)
	}
	if len(runs) == 0 {
		return exitError, fmt.Errorf("no result files in %s", strings.Join(paths, ", "))
	}
	groups := map[string][]loadedRun{}
	for _, r := range runs {
		groups[r.profile] = append(groups[r.profile], r)
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)

	report := regressionsReport{Profiles: []profileChanges{}}
	code := exitNoRegression
	for _, name := range names {
		group := groups[name]
		sort.SliceStable(group, func(i, j int) bool {
			if !group[i].run.Time.Equal(group[j].run.Time) {
				return group[i].run.Time.Before(group[j].run.Time)
			}
			return group[i].file < group[j].file
		})
		h := changepoint.NewHistory(params)
		for _, r := range group {
			h.Add(r.run)
		}
		pc := profileChanges{Profile: name, Runs: h.Len(), Changes: []changeOutput{}}
		for _, cp := range h.Changes() {
			if cp.Status == changepoint.StatusOpen {
				code = exitOpenRegression
			}
			pc.Changes = append(pc.Changes, changeOutput{
				Metric: cp.Metric, Index: cp.Index, RunID: cp.RunID, Time: cp.Time.UTC().Format(time.RFC3339),
				Direction: cp.Direction, Status: cp.Status, Before: cp.Before, After: cp.After, Ratio: cp.Ratio, PValue: cp.PValue,
			})
		}
		report.Profiles = append(report.Profiles, pc)
	}
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return code, enc.Encode(report)
	}
	return code, writeRegressionsText(out, report)
}

func writeRegressionsText(out io.Writer, report regressionsReport) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for i, p := range report.Profiles {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "profile %s: %d runs, %d change points\n", p.Profile, p.Runs, len(p.Changes))
		if len(p.Changes) == 0 {
			continue
		}
		fmt.Fprintln(tw, "  index\trun\ttime\tmetric\tdirection\tstatus\tbefore\tafter\tchange\tp-value")
		for _, c := range p.Changes {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2g\n", c.Index, c.RunID, c.Time, c.Metric,
				c.Direction, c.Status, formatLevel(c.Metric, c.Before), formatLevel(c.Metric, c.After), formatRatio(c.Ratio), c.PValue)
		}
	}
	return tw.Flush()
}

// formatLevel shows a metric's level in its unit.
func formatLevel(metric string, v float64) string {
	switch metric {
	case changepoint.AchievedRPS:
		return fmt.Sprintf("%.1f/s", v)
	case changepoint.ErrorRatio:
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return fmt.Sprintf("%.3gms", v*1e3)
}

func formatRatio(r float64) string {
	if r == 0 {
		return "from 0"
	}
	return fmt.Sprintf("%+.1f%%", 100*(r-1))
}

// loadResults reads one path: a file, or every .json file under a folder.
func loadResults(ctx context.Context, path string) ([]loadedRun, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		r, err := loadResult(path)
		if err != nil {
			return nil, err
		}
		return []loadedRun{r}, nil
	}
	var out []loadedRun
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".json") {
			return nil
		}
		r, err := loadResult(p)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// maxResultFile bounds one result file; documents with histograms are a few
// hundred kilobytes at most.
const maxResultFile = 64 << 20

// loadResult reads a result document or a plain Fortio JSON result. The
// profile is the document's, else Fortio's Labels, else the folder's name;
// the run id the document's, else the file's name.
func loadResult(path string) (loadedRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return loadedRun{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxResultFile+1))
	if err != nil {
		return loadedRun{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxResultFile {
		return loadedRun{}, fmt.Errorf("%s: larger than %d MiB", path, maxResultFile>>20)
	}
	return decodeResult(path, data)
}

// decodeResult reads the content of the result file at path.
func decodeResult(path string, data []byte) (loadedRun, error) {
	var probe struct {
		Labels       string
		PerfExporter *json.RawMessage
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return loadedRun{}, fmt.Errorf("%s: not a result document or Fortio JSON result: %w", path, err)
	}
	var run changepoint.Run
	profile := ""
	if probe.PerfExporter != nil {
		var doc result.Document
		if err := json.Unmarshal(data, &doc); err != nil {
			return loadedRun{}, fmt.Errorf("%s: result document: %w", path, err)
		}
		run = changepoint.RunFromDocument(&doc)
		profile = doc.PerfExporter.Profile
	} else {
		m, err := loadgen.ParseOutput(config.EngineFortio, bytes.NewReader(data), config.DefaultPercentiles)
		if err != nil {
			return loadedRun{}, fmt.Errorf("%s: %w", path, err)
		}
		run = changepoint.RunFromMeasurement("", m)
	}
	if profile == "" {
		profile = strings.TrimSpace(probe.Labels)
	}
	if profile == "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return loadedRun{}, err
		}
		profile = filepath.Base(filepath.Dir(abs))
	}
	if run.ID == "" {
		run.ID = filepath.Base(path)
	}
	return loadedRun{profile: profile, file: path, run: run}, nil
}
