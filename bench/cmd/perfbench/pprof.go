package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// cpuGroup is a part of the client's CPU profile: the cumulative share of
// the first function whose name starts with one of prefixes.
type cpuGroup struct {
	name     string
	prefixes []string
	cum      float64 // percent of the profile's samples
}

// cpuShares is where the client's CPU went in one profiled run.
type cpuShares struct {
	groups  []cpuGroup
	sampled time.Duration // CPU time in the profile
	// cpu is the process's CPU time as the kernel accounted it, and
	// requests its requests: per-request costs come from these rather than
	// from the sampled total, which a profiler may undercount.
	cpu      time.Duration
	requests int64
}

func (s cpuShares) group(name string) cpuGroup {
	for _, g := range s.groups {
		if g.name == name {
			return g
		}
	}
	return cpuGroup{}
}

// nsPerRequest turns a share into CPU nanoseconds per request.
func (s cpuShares) nsPerRequest(percent float64) float64 {
	if s.requests == 0 {
		return 0
	}
	return percent / 100 * float64(s.cpu.Nanoseconds()) / float64(s.requests)
}

func (s cpuShares) summary() string {
	hook := s.group(groupHook)
	obs := s.group(groupObserver)
	return fmt.Sprintf("%.1f %% (%.0f ns/request), of which the collector observer %.1f %% (%.0f ns/request)",
		hook.cum, s.nsPerRequest(hook.cum), obs.cum, s.nsPerRequest(obs.cum))
}

func (s cpuShares) table() string {
	if s.requests == 0 {
		lines := []string{"| part | share of the CPU |", "|---|---|"}
		for _, g := range s.groups {
			lines = append(lines, fmt.Sprintf("| %s | %.1f %% |", g.name, g.cum))
		}
		lines = append(lines, fmt.Sprintf("\n%s of CPU sampled.", s.sampled.Round(time.Millisecond)))
		return strings.Join(lines, "\n")
	}
	lines := []string{"| part of the client | share of its CPU | ns/request |", "|---|---|---|"}
	for _, g := range s.groups {
		lines = append(lines, fmt.Sprintf("| %s | %.1f %% | %.0f |", g.name, g.cum, s.nsPerRequest(g.cum)))
	}
	lines = append(lines, fmt.Sprintf("\n%d requests, %s of client CPU (%s sampled by pprof).", s.requests, s.cpu.Round(time.Millisecond), s.sampled.Round(time.Millisecond)))
	return strings.Join(lines, "\n")
}

// scrapeGroups split a /metrics scrape's CPU (BenchmarkScrape).
func scrapeGroups() []cpuGroup {
	return []cpuGroup{
		{name: "client_golang's Registry.Gather (Collect, Write to protobuf structs, consistency checks, sorting)", prefixes: []string{"github.com/prometheus/client_golang/prometheus.(*Registry).Gather"}},
		{name: "… of which the live histograms' Write (classic and native buckets)", prefixes: []string{"github.com/prometheus/client_golang/prometheus.(*histogram).Write"}},
		{name: "exposition cache: bringing changed profiles up to date (encoding them)", prefixes: []string{"github.com/perf-exporter/perf-exporter/collector.(*exposition).update"}},
		{name: "exposition cache: writing the blocks (re-compressing the changed ones)", prefixes: []string{"github.com/perf-exporter/perf-exporter/collector.(*exposition).write"}},
		{name: "gzip", prefixes: []string{"compress/gzip.(*Writer).Write"}},
		{name: "garbage collector", prefixes: []string{"runtime.gcBgMarkWorker"}},
	}
}

const (
	groupHook     = "perf-exporter's request hook (loadgen requestHook.Report)"
	groupObserver = "… of which the collector's observer (live histogram and code counter)"
)

func profileGroups() []cpuGroup {
	return []cpuGroup{
		{name: groupHook, prefixes: []string{"github.com/perf-exporter/perf-exporter/loadgen.(*requestHook).Report"}},
		{name: groupObserver, prefixes: []string{"github.com/perf-exporter/perf-exporter/collector.(*profileObserver).ObserveRequest"}},
		{name: "Fortio's HTTP/1.1 client (FastClient.StreamFetch)", prefixes: []string{"fortio.org/fortio/fhttp.(*FastClient).StreamFetch"}},
		{name: "… of which socket writes (write(2) wakes the target)", prefixes: []string{"internal/poll.(*FD).Write"}},
		{name: "… of which socket reads", prefixes: []string{"internal/poll.(*FD).Read"}},
		{name: "Fortio's own per-thread histograms", prefixes: []string{"fortio.org/fortio/stats.(*Histogram).Record"}},
		{name: "Go scheduler looking for work (runtime.findRunnable, incl. netpoll)", prefixes: []string{"runtime.findRunnable"}},
		{name: "garbage collector (runtime.gcBgMarkWorker)", prefixes: []string{"runtime.gcBgMarkWorker"}},
	}
}

// profileRun is the length of the profiled engine run.
const profileRun = 10 * time.Second

var pprofTotal = regexp.MustCompile(`Total samples = ([0-9.]+)(ms|s)`)

// profileClient runs the engine subcommand under the CPU profiler, long
// enough for a thousand samples at pprof's 100 Hz, and reads where the
// client's CPU went.
func profileClient(ctx context.Context, o options, b binaries, url string) (cpuShares, error) {
	path := filepath.Join(o.work, "engine.pprof")
	m, err := runMeasured(ctx, b.self, "engine", "--url", url, "--connections", strconv.Itoa(throughputConnections),
		"--duration", profileRun.String(), "--cpuprofile", path)
	if err != nil {
		return cpuShares{}, err
	}
	var r engineResult
	if err := json.Unmarshal([]byte(m.stdout), &r); err != nil {
		return cpuShares{}, fmt.Errorf("engine output %q: %w", m.stdout, err)
	}
	s, err := readProfile(ctx, o.goTool, b.self, path, profileGroups())
	s.requests, s.cpu = r.Requests, m.cpu
	return s, err
}

// readProfile reads the groups' shares of a CPU profile of bin.
func readProfile(ctx context.Context, goTool, bin, path string, groups []cpuGroup) (cpuShares, error) {
	out, err := exec.CommandContext(ctx, goTool, "tool", "pprof", "-top", "-cum", "-nodecount=100000", bin, path).Output()
	if err != nil {
		return cpuShares{}, fmt.Errorf("go tool pprof %s: %w", path, err)
	}
	return parsePprofTop(string(out), groups)
}

// parsePprofTop reads `go tool pprof -top -cum` output.
func parsePprofTop(out string, groups []cpuGroup) (cpuShares, error) {
	s := cpuShares{groups: groups}
	m := pprofTotal.FindStringSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("no total in pprof's output:\n%s", lastLines(out, 10))
	}
	total, _ := strconv.ParseFloat(m[1], 64)
	if m[2] == "ms" {
		total /= 1000
	}
	s.sampled = time.Duration(total * float64(time.Second))
	for line := range strings.SplitSeq(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasSuffix(fields[4], "%") {
			continue
		}
		cum, err := strconv.ParseFloat(strings.TrimSuffix(fields[4], "%"), 64)
		if err != nil {
			continue
		}
		name := strings.Join(fields[5:], " ")
		for i := range s.groups {
			g := &s.groups[i]
			for _, p := range g.prefixes {
				if strings.HasPrefix(name, p) && cum > g.cum {
					g.cum = cum
				}
			}
		}
	}
	return s, nil
}
