package loadgen

// Running external engines (wrk, wrk2, nighthawk_client): finding the
// executable, starting it, stopping it with SIGINT when the run is
// cancelled, and keeping its output. Every external engine uses this.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// ErrEngineNotInstalled is matched (errors.Is) by the error an external
// engine returns when its executable cannot be found or run.
var ErrEngineNotInstalled = errors.New("engine not installed")

// missingEngineError says, on one line, which engine is missing, where it
// was looked for and how to install it.
type missingEngineError struct {
	engine, path string
	cause        error
}

func (e *missingEngineError) Error() string {
	where := fmt.Sprintf("executable %q not found on PATH", e.path)
	if strings.ContainsRune(e.path, os.PathSeparator) {
		where = fmt.Sprintf("executable %q not found", e.path)
	}
	if e.cause != nil && !errors.Is(e.cause, exec.ErrNotFound) && !errors.Is(e.cause, os.ErrNotExist) {
		cause := e.cause
		if execErr, ok := errors.AsType[*exec.Error](cause); ok {
			cause = execErr.Err // without exec's repetition of the path
		}
		where = fmt.Sprintf("cannot run %q: %v", e.path, cause)
	}
	return fmt.Sprintf("engine %s: %s (engines.%s.path): %s", e.engine, where, e.engine, installHint(e.engine))
}

func (e *missingEngineError) Is(target error) bool { return target == ErrEngineNotInstalled }

func installHint(engine string) string {
	switch engine {
	case "wrk":
		return `install it with "apt-get install wrk" (Debian, Ubuntu) or from https://github.com/wg/wrk`
	case "wrk2":
		return `build it from https://github.com/giltene/wrk2 ("make" builds ./wrk), install it as wrk2 or set engines.wrk2.path`
	case "nighthawk":
		return `build nighthawk_client from https://github.com/envoyproxy/nighthawk ("bazel build -c opt //:nighthawk_client") or take it from the envoyproxy/nighthawk-dev image`
	}
	return "install it"
}

// lookupEngine resolves an engine's configured path ("wrk", or a path with
// a slash) to an executable.
func lookupEngine(engine, path string) (string, error) {
	if path == "" {
		return "", &missingEngineError{engine: engine, path: path, cause: exec.ErrNotFound}
	}
	bin, err := exec.LookPath(path)
	if err != nil {
		return "", &missingEngineError{engine: engine, path: path, cause: err}
	}
	return bin, nil
}

// externalRun is what running an external engine produced.
type externalRun struct {
	stdout []byte
	stderr string // its last lines, for error messages
	// interrupted is set when the context ended the run: the tool was sent
	// SIGINT (and killed if it did not stop in time).
	interrupted bool
	err         error // start failure or exit status
}

// externalTool is one invocation of an external engine.
type externalTool struct {
	engine string
	bin    string
	args   []string
	logger *slog.Logger
	// resendInterrupt repeats SIGINT every second until the tool exits.
	// wrk ignores SIGINT while it starts its threads; a single early signal
	// would be lost and the run would go on for its whole duration.
	resendInterrupt bool
	// grace is how long the tool may take to print its report after the
	// first SIGINT before it is killed.
	grace time.Duration
	// redact hides secrets in the arguments before they are logged.
	redact func(args []string) []string
}

// maxOutput bounds what is kept of a tool's standard output; Nighthawk's
// JSON for a long run with many workers is a few megabytes.
const maxOutput = 64 << 20

// run starts the tool and waits for it. When ctx ends first the tool gets
// SIGINT, on which wrk, wrk2 and Nighthawk stop and still print their
// report, so an aborted run keeps what it measured.
func (t externalTool) run(ctx context.Context) externalRun {
	stdout := &cappedBuffer{max: maxOutput}
	stderr := &cappedBuffer{max: 8 << 10, keepTail: true}
	cmd := exec.Command(t.bin, t.args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group: a Ctrl-C on the terminal reaches only
	// perf-exporter, which then stops the tool through ctx, the one path
	// that records the run as aborted.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Do not wait forever for output pipes a leftover child still holds.
	cmd.WaitDelay = 2 * time.Second
	logged := t.args
	if t.redact != nil {
		logged = t.redact(t.args)
	}
	t.logger.Debug("starting external engine", "engine", t.engine, "path", t.bin, "args", logged)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			err = &missingEngineError{engine: t.engine, path: t.bin, cause: err}
		}
		return externalRun{err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	finish := func(err error, interrupted bool) externalRun {
		return externalRun{stdout: stdout.Bytes(), stderr: stderr.String(), interrupted: interrupted, err: err}
	}
	select {
	case err := <-done:
		return finish(err, false)
	case <-ctx.Done():
	}
	t.logger.Debug("interrupting external engine", "engine", t.engine, "pid", cmd.Process.Pid)
	_ = cmd.Process.Signal(os.Interrupt)
	grace := time.NewTimer(t.grace)
	defer grace.Stop()
	var resend <-chan time.Time
	if t.resendInterrupt {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		resend = tick.C
	}
	for {
		select {
		case err := <-done:
			return finish(err, true)
		case <-resend:
			_ = cmd.Process.Signal(os.Interrupt)
		case <-grace.C:
			t.logger.Warn("external engine did not stop after SIGINT; killing it", "engine", t.engine, "grace", t.grace)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done //nolint:errcheck // killed: the error below says why
			return finish(fmt.Errorf("did not stop within %s of SIGINT and was killed", t.grace), true)
		}
	}
}

// failure explains why a run's output could not be used.
func (o externalRun) failure(engine string, parseErr error) error {
	var missing *missingEngineError
	switch {
	case errors.As(o.err, &missing):
		return missing
	case o.interrupted && o.err != nil:
		return fmt.Errorf("%s was interrupted before it printed a report: %v%s", engine, o.err, o.stderrSuffix())
	case o.err != nil:
		return fmt.Errorf("%s failed: %v%s", engine, o.err, o.stderrSuffix())
	case o.interrupted:
		return fmt.Errorf("%s was interrupted before it printed a usable report: %w", engine, parseErr)
	}
	return fmt.Errorf("%s output: %w%s", engine, parseErr, o.stderrSuffix())
}

// stderrSuffix is the tool's last error line, which usually says what went
// wrong ("unable to connect to 127.0.0.1:1 Connection refused").
func (o externalRun) stderrSuffix() string {
	lines := strings.Split(strings.TrimSpace(o.stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	return ": " + last
}

// exitNote is the note a result gets when the tool printed a usable report
// but exited with an error.
func (o externalRun) exitNote(engine string) []string {
	if o.err == nil || o.interrupted {
		return nil
	}
	return []string{fmt.Sprintf("%s exited with an error after printing its report: %v%s", engine, o.err, o.stderrSuffix())}
}

// redactArgs returns a copy of a command line for logging: the target URL
// (the last argument) without credentials or query string, and the values
// of secret headers given with headerFlag replaced.
func redactArgs(args []string, headerFlag string, t *config.Target) []string {
	out := append([]string(nil), args...)
	for i := 1; i < len(out); i++ {
		if out[i-1] != headerFlag {
			continue
		}
		if name, _, ok := strings.Cut(out[i], ":"); ok && t.IsSecretHeader(strings.TrimSpace(name)) {
			out[i] = name + ": <secret>"
		}
	}
	if n := len(out); n > 0 {
		out[n-1] = config.PublicURL(out[n-1])
	}
	return out
}

// externalPlan is a profile translated for an external engine: how to
// call it, and what its runs need.
type externalPlan struct {
	tool externalTool // without its arguments
	// file is the content of a private temporary file the tool reads (wrk's
	// Lua script, Nighthawk's requests), "" for none; fileExt its extension.
	file, fileExt string
	// args are the tool's arguments for a run of seconds, given the file's
	// path ("" without a file).
	args        func(file string, seconds int64) []string
	seconds     int64 // the measured run's, whole
	connections int   // what the tool really opens
	notes       []string
	// parse reads the tool's report; the warmup's with no percentiles.
	parse func(stdout []byte, percentiles []float64) (*result.Measurement, error)
}

// runExternal runs the profile's warmup, if any, as a separate unmeasured
// run, then the measured one. A run stopped before the tool reported is
// aborted, not failed.
func runExternal(ctx context.Context, p config.Profile, x externalPlan) (*result.Measurement, error) {
	engine := x.tool.engine
	var file string
	if x.file != "" {
		path, remove, err := writeScript(engine, x.fileExt, x.file)
		if err != nil {
			return nil, err
		}
		defer remove()
		file = path
	}
	tool := x.tool
	if warmup := p.Load.Warmup.D(); warmup > 0 {
		secs, _ := wholeSeconds(warmup)
		tool.args = x.args(file, secs)
		out := tool.run(ctx)
		if ctx.Err() != nil {
			return abortedResult(engine, p, time.Now(), "stopped during the warmup"), nil
		}
		if _, err := x.parse(out.stdout, nil); err != nil {
			return nil, fmt.Errorf("warmup: %w", out.failure(engine, err))
		}
	}

	start := time.Now()
	if ctx.Err() != nil {
		return abortedResult(engine, p, start, "stopped before it started"), nil
	}
	tool.args = x.args(file, x.seconds)
	out := tool.run(ctx)
	r, err := x.parse(out.stdout, p.Load.Percentiles)
	if err != nil {
		if out.interrupted {
			return abortedResult(engine, p, start, out.failure(engine, err).Error()), nil
		}
		return nil, out.failure(engine, err)
	}
	return completeExternal(r, engine, p, start, x.connections, x.notes, out), nil
}

// completeExternal fills in what an external tool's report does not say
// about the run: the profile's target and load, and how the run ended.
func completeExternal(r *result.Measurement, engine string, p config.Profile, start time.Time, connections int, notes []string, out externalRun) *result.Measurement {
	if r.StartTime.IsZero() {
		r.StartTime = start
	}
	r.Engine = engine
	r.URL = config.PublicURL(p.Target.URL)
	r.Protocol = p.Target.Protocol
	r.RequestedDuration = p.Load.Duration.D()
	r.RequestedQPS = max(p.Load.QPS, 0)
	r.Connections = connections
	r.Aborted = r.Aborted || out.interrupted
	r.Notes = append(append(notes, r.Notes...), out.exitNote(engine)...)
	return r
}

// abortedResult is the result of a run stopped before the tool printed a
// report: nothing was measured, but the run was aborted, not failed.
func abortedResult(engine string, p config.Profile, start time.Time, note string) *result.Measurement {
	return &result.Measurement{
		Engine: engine, Protocol: p.Target.Protocol, URL: config.PublicURL(p.Target.URL),
		StartTime: start, RequestedDuration: p.Load.Duration.D(), RequestedQPS: max(p.Load.QPS, 0),
		Aborted: true, Notes: []string{note},
	}
}

// wholeSeconds rounds a duration up to whole seconds, at least one: wrk,
// wrk2 and Nighthawk take their duration and timeout in seconds.
func wholeSeconds(d time.Duration) (secs int64, rounded bool) {
	secs = int64(math.Ceil(d.Seconds()))
	secs = max(secs, 1)
	return secs, time.Duration(secs)*time.Second != d
}

// writeScript writes a generated script to a private temporary file and
// returns its path and a function that removes it.
func writeScript(engine, ext, content string) (string, func(), error) {
	f, err := os.CreateTemp("", "perf-exporter-"+engine+"-*"+ext)
	if err != nil {
		return "", nil, fmt.Errorf("%s: script: %w", engine, err)
	}
	remove := func() { _ = os.Remove(f.Name()) }
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		remove()
		return "", nil, fmt.Errorf("%s: script: %w", engine, err)
	}
	if err := f.Close(); err != nil {
		remove()
		return "", nil, fmt.Errorf("%s: script: %w", engine, err)
	}
	return f.Name(), remove, nil
}

// cappedBuffer keeps at most max bytes of what is written to it: the first
// ones, or the last ones with keepTail. Writes never fail, so a chatty tool
// is not killed by a closed pipe.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	keepTail bool
	dropped  bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if c.keepTail {
		c.buf.Write(p)
		if extra := c.buf.Len() - c.max; extra > 0 {
			c.buf.Next(extra)
			c.dropped = true
		}
		return n, nil
	}
	if room := c.max - c.buf.Len(); room < len(p) {
		p = p[:max(room, 0)]
		c.dropped = true
	}
	c.buf.Write(p)
	return n, nil
}

func (c *cappedBuffer) Bytes() []byte  { return c.buf.Bytes() }
func (c *cappedBuffer) String() string { return c.buf.String() }

// discardLogger stands in when an engine is built without a logger.
func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
