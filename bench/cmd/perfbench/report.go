package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report collects the figures of a suite run and writes BENCHMARKS.md.
type report struct {
	opts      options
	started   time.Time
	loadStart string
	elapsed   time.Duration
	rows      []row
	sections  []section
}

// row is a line of the results table.
type row struct {
	figure, measured, target string
	met                      *bool // nil: a figure shown for comparison, no target
}

// section explains how a group of figures was measured, with the raw
// per-round numbers.
type section struct {
	title string
	how   string
	lines []string
}

func newReport(o options) *report {
	return &report{opts: o, started: time.Now(), loadStart: loadAverage()}
}

// figure adds a row without a target.
func (r *report) figure(figure, measured string) {
	r.rows = append(r.rows, row{figure: figure, measured: measured})
	logf("%s: %s", figure, measured)
}

// check adds a row with a target and whether it was met.
func (r *report) check(figure, measured, target string, met bool) {
	r.rows = append(r.rows, row{figure: figure, measured: measured, target: target, met: &met})
	verdict := "met"
	if !met {
		verdict = "MISSED"
	}
	logf("%s: %s (target %s: %s)", figure, measured, target, verdict)
}

// heading starts a group of rows in the table.
func (r *report) heading(title string) {
	r.rows = append(r.rows, row{figure: "**" + title + "**"})
}

func (r *report) section(title, how string, lines ...string) {
	r.sections = append(r.sections, section{title: title, how: how, lines: lines})
}

func (r *report) write(path string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (`bench/cmd/perfbench`) on %s.\n\n", r.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| machine | |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| CPU | %s |\n", cpuModel())
	fmt.Fprintf(&b, "| cores | %d |\n", runtime.NumCPU())
	fmt.Fprintf(&b, "| Go | %s |\n", goVersion(r.opts.goTool))
	fmt.Fprintf(&b, "| kernel | Linux %s |\n", readTrimmed("/proc/sys/kernel/osrelease"))
	fmt.Fprintf(&b, "| commit | %s |\n", gitRevision())
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) at start / end | %s / %s |\n", r.loadStart, loadAverage())
	fmt.Fprintf(&b, "| suite duration | %s |\n\n", r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "The client, the built-in target (`perf-exporter target`, a separate process) and the daemon\n"+
		"share these cores. Throughput, rate and latency figures are medians of rounds in which the\n"+
		"contenders alternate (in balanced orders: see each section). Absolute numbers depend on the\n"+
		"machine and are never asserted; the targets compare ratios and bounds measured in the same\n"+
		"sitting. The load average shows how much other work shared the machine.\n\n")
	fmt.Fprintf(&b, "| figure | measured | target | |\n| --- | --- | --- | --- |\n")
	for _, row := range r.rows {
		verdict := ""
		if row.met != nil {
			verdict = map[bool]string{true: "met", false: "**missed**"}[*row.met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.figure, row.measured, row.target, verdict)
	}
	fmt.Fprintf(&b, "\n## How each figure is measured\n")
	for _, s := range r.sections {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n", s.title, strings.TrimSpace(s.how))
		if len(s.lines) > 0 {
			fmt.Fprintf(&b, "\n%s\n", strings.Join(s.lines, "\n"))
		}
	}
	fmt.Fprintf(&b, "\nReproduce: `make bench` (about %d minutes; needs Go and Debian's `wrk`). `make bench-go` runs only the Go micro-benchmarks.\n",
		int(r.elapsed.Minutes()+1))
	if path == "-" {
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	logf("wrote %s", path)
	return nil
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if key, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

func goVersion(goTool string) string {
	out, err := exec.Command(goTool, "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func gitRevision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	fields := strings.Fields(readTrimmed("/proc/loadavg"))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], ", ")
}

func readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
