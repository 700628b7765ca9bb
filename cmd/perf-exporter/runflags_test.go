package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

// parseRunFlags parses a `run` command line as main does, and returns the
// config it would run (or the error that stops it before anything runs).
func parseRunFlags(t *testing.T, args ...string) error {
	t.Helper()
	app := kingpin.New("perf-exporter", "")
	f := &runFlags{}
	f.register(app.Command("run", ""))
	if _, err := app.Parse(append([]string{"run"}, args...)); err != nil {
		t.Fatalf("kingpin: %v", err)
	}
	_, err := f.config()
	return err
}

// Out-of-range flags are errors naming the flag, never a silent default
// (--connections 0 used 8, --duration 0s ran 10s) or a silent "no
// threshold" (--max-error-ratio=-0.5), and NaN passes no check.
func TestRunFlagsOutOfRange(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--qps", "NaN"}, "run: --qps must be a finite number, 0 (as fast as possible) or more, got NaN"},
		{[]string{"--qps", "+Inf"}, "run: --qps must be a finite number, 0 (as fast as possible) or more, got +Inf"},
		{[]string{"--qps=-5"}, "run: --qps must be a finite number, 0 (as fast as possible) or more, got -5"},
		{[]string{"--connections", "0"}, "run: --connections must be at least 1, got 0"},
		{[]string{"--duration", "0s"}, "run: --duration must be at least 10ms, got 0s"},
		{[]string{"--duration", "1ns"}, "run: --duration must be at least 10ms, got 1ns"},
		{[]string{"--warmup=-1s"}, "run: --warmup must not be negative, got -1s"},
		{[]string{"--timeout", "0s"}, "run: --timeout must be positive, got 0s"},
		{[]string{"--max-error-ratio=-0.5"}, "run: --max-error-ratio must be between 0 and 1, got -0.5"},
		{[]string{"--max-error-ratio", "NaN"}, "run: --max-error-ratio must be between 0 and 1, got NaN"},
		{[]string{"--max-error-ratio", "1.5"}, "run: --max-error-ratio must be between 0 and 1, got 1.5"},
		{[]string{"--max-latency", "pNaN=1s"}, `run: --max-latency "pNaN=1s": the percentile must be a number above 0 and below 100`},
		{[]string{"--max-latency", "p100=1s"}, `run: --max-latency "p100=1s": the percentile must be a number above 0 and below 100`},
		{[]string{"--max-latency", "p99=0s"}, `run: --max-latency "p99=0s": the latency must be positive`},
		{[]string{"--json", filepath.Join(dir, "missing", "out.json")},
			"run: --json " + filepath.Join(dir, "missing", "out.json") + ": open " + filepath.Join(dir, "missing", "out.json") + ": no such file or directory"},
		// Runs that cannot last their duration at their rate (issue 18, item 3).
		{[]string{"--qps", "1", "--connections", "50", "--duration", "1s"}, "run: --qps 1 over --duration 1s is 1 request(s): a run needs at least 2 (one at its start, one at its end); raise --qps or --duration"},
		{[]string{"--qps", "0.2", "--duration", "1s"}, "run: --qps 0.2 over --duration 1s is 0 request(s): a run needs at least 2 (one at its start, one at its end); raise --qps or --duration"},
		{[]string{"--qps", "20", "--duration", "10s", "--warmup", "500ms"}, "run: --qps 20 over --warmup 500ms is 10 requests, fewer than 2 for each of the 8 --connections (each connection sends at the run's start and at its end): use at most 5 connections, or raise --qps or --warmup"},
		{[]string{"--engine", "wrk", "--protocol", "http2"}, `run: profile "run": protocol http2 needs engine fortio or nighthawk (wrk speaks HTTP/1.1 only)`},
	} {
		err := parseRunFlags(t, append([]string{"--url", "http://127.0.0.1:1/"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("run %s: error %v\nwant %s", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestRunFlagsInRange(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.json")
	for _, args := range [][]string{
		{},
		{"--qps", "0", "--duration", "10ms", "--max-error-ratio", "0", "--max-latency", "p99.9=250ms"},
		{"--qps", "20", "--duration", "1s"},
		{"--json", out},
		{"--json", "-"},
	} {
		if err := parseRunFlags(t, append([]string{"--url", "http://127.0.0.1:1/"}, args...)...); err != nil {
			t.Errorf("run %s: %v", strings.Join(args, " "), err)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("checking that --json %s can be written left the file behind", out)
	}
}

// An unwritable --json fails before the run, not after it: the target sees
// no request.
func TestRunUnwritableJSONFailsBeforeTheRun(t *testing.T) {
	var requests atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(target.Close)
	f := &runFlags{url: target.URL, engine: "fortio", protocol: "http1", qps: 20, connections: 1,
		duration: 500e6, timeout: 3e9, jsonOut: filepath.Join(t.TempDir(), "no", "such", "dir.json")}
	if code := runOnce(t.Context(), slog.New(slog.DiscardHandler), f); code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the run sent %d requests before failing on --json", n)
	}
}

// What only the config validation catches is reported in the flags'
// names too: `run` has no file to point into, so "load.connections" or
// "target.url" would send the user looking for a setting they never wrote.
func TestRunFlagsCheckedByTheConfigNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--connections", "100000", "--qps", "0"}, `run: profile "run": --connections 100000 is above global.limits.max_connections 1024`},
		{[]string{"--qps", "1e9"}, `run: profile "run": --qps 1e+09 is above global.limits.max_qps 50000`},
		{[]string{"--duration", "100h"}, `run: profile "run": --duration 100h0m0s is above global.limits.max_duration 15m0s`},
		{[]string{"--url", "http://127.0.0.1:99999/"}, `run: profile "run": --url "http://127.0.0.1:99999/": port 99999 must be from 1 to 65535`},
		{[]string{"--engine", "wrk", "--max-latency", "p99.9=1s"}, `run: profile "run": engine wrk reports only percentiles [50 75 90 99], not 99.9 (use wrk2 or fortio)`},
	} {
		args := tc.args
		if !slices.Contains(args, "--url") {
			args = append([]string{"--url", "http://127.0.0.1:1/"}, args...)
		}
		err := parseRunFlags(t, args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("run %s: error %v\nwant %s", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
