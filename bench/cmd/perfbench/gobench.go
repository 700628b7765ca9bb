package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// goBenchmarks are the Go micro-benchmarks the table shows, by name as
// `go test -bench` prints it (without the -GOMAXPROCS suffix).
var goBenchmarks = []struct {
	name, figure string
	noAllocs     bool // target: no allocation per operation
}{
	{"BenchmarkRequestHook/max", "request hook per request, no rate (2 connections at once)", true},
	{"BenchmarkRequestHook/rate", "request hook per request, rate-limited: + send lateness and corrected latency", true},
	{"BenchmarkLatencyRecord", "exact-latency histogram, one record", true},
	{"BenchmarkObserveRequest", "collector observer per request: live histogram + code counter (2 goroutines at once)", true},
	{"BenchmarkCollect", "Collect of 200 profiles with a last run each (registry Gather)", false},
	{"BenchmarkScrape/profiles=200/text-idle", "GET /metrics of 200 profiles in-process (exposition cache, text, gzip), idle", false},
	{"BenchmarkScrape/profiles=200/text-run", "… while 4 profiles record requests between scrapes", false},
	{"BenchmarkScrape/profiles=200/text-uncached", "… promhttp over a registry, as before the cache", false},
	{"BenchmarkScrape/profiles=1000/text-idle", "GET /metrics of 1 000 profiles in-process (exposition cache, text, gzip), idle", false},
	{"BenchmarkScrape/profiles=1000/protobuf-idle", "… protobuf, idle", false},
	{"BenchmarkScrape/profiles=1000/text-run", "… text, while 4 profiles record requests between scrapes", false},
	{"BenchmarkScrape/profiles=1000/protobuf-run", "… protobuf, while 4 profiles record requests between scrapes", false},
	{"BenchmarkScrape/profiles=1000/text-uncached", "… promhttp over a registry, as before the cache", false},
	{"BenchmarkSave", "result store: save one run, profile at retention (bbolt, fsync)", false},
	{"BenchmarkProvision/create", "provision every board into the fake Grafana (empty)", false},
	{"BenchmarkProvision/unchanged", "provision every board again (unchanged: the start-up path)", false},
	{"BenchmarkParseWrk", "parse a wrk2 report (two HdrHistograms)", false},
	{"BenchmarkParseNighthawk", "parse a Nighthawk JSON report", false},
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.+)$`)

func benchGo(ctx context.Context, o options, rep *report) error {
	args := []string{"test", "-run", "^$", "-bench", "^Benchmark(RequestHook|LatencyRecord|ParseWrk|ParseNighthawk|ObserveRequest|Collect|Scrape|Save|Provision)$",
		"-benchmem", "-benchtime", "1s", "-count", "1", "./loadgen", "./collector", "./store", "./dashboards"}
	cmd := exec.CommandContext(ctx, o.goTool, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	results := parseGoBench(string(out))
	rep.heading("Go micro-benchmarks (`make bench-go`)")
	var missing []string
	for _, b := range goBenchmarks {
		r, ok := results[b.name]
		if !ok {
			missing = append(missing, b.name)
			continue
		}
		measured := r.String()
		if b.noAllocs {
			rep.check(b.figure, measured, "0 allocs/op", r.metrics["allocs/op"] == 0)
		} else {
			rep.figure(b.figure, measured)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("benchmarks not found in go test's output: %s\n%s", strings.Join(missing, ", "), lastLines(string(out), 30))
	}
	scrape, err := profileScrape(ctx, o)
	if err != nil {
		return err
	}
	rep.section("Go micro-benchmarks", "`go "+strings.Join(args, " ")+"` (GOMAXPROCS = the machine's cores). "+
		"A parallel benchmark's ns/op is wall time per operation with every core working, so on two cores "+
		"it is half the CPU time of one operation when nothing is shared.\n\n"+
		"Where a scrape of 1 000 profiles goes while 4 of them run (BenchmarkScrape/profiles=1000/text-run under `go test -cpuprofile`, "+
		"cumulative shares):", scrape.table())
	return nil
}

// profileScrape profiles BenchmarkScrape/profiles=1000/text-run.
func profileScrape(ctx context.Context, o options) (cpuShares, error) {
	bin, prof := filepath.Join(o.work, "collector.test"), filepath.Join(o.work, "scrape.pprof")
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkScrape$/^profiles=1000$/^text-run$", "-benchtime", "2s",
		"-o", bin, "-cpuprofile", prof, "./collector"}
	if out, err := exec.CommandContext(ctx, o.goTool, args...).CombinedOutput(); err != nil {
		return cpuShares{}, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 20))
	}
	return readProfile(ctx, o.goTool, bin, prof, scrapeGroups())
}

// goBench is one benchmark's line: value by unit, in printed order.
type goBench struct {
	units   []string
	metrics map[string]float64
}

func (g goBench) String() string {
	parts := make([]string, len(g.units))
	for i, u := range g.units {
		parts[i] = formatMetric(g.metrics[u], u)
	}
	return strings.Join(parts, ", ")
}

// formatMetric writes times per operation in a readable unit and counts
// without exponents.
func formatMetric(v float64, unit string) string {
	switch {
	case unit == "ns/op" && v >= 1e6:
		return fmt.Sprintf("%.3g ms/op", v/1e6)
	case unit == "ns/op" && v >= 1e3:
		return fmt.Sprintf("%.3g µs/op", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

func parseGoBench(out string) map[string]goBench {
	results := map[string]goBench{}
	for line := range strings.SplitSeq(out, "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		g := goBench{metrics: map[string]float64{}}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			g.units = append(g.units, fields[i+1])
			g.metrics[fields[i+1]] = v
		}
		results[m[1]] = g
	}
	return results
}
