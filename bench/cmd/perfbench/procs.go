package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// binaries are the programs the suite runs.
type binaries struct {
	perfExporter string
	rawFortio    string
	self         string // this program, for the engine subcommand
}

// build compiles perf-exporter and the raw Fortio driver the way a user
// gets them (`make build` minus the version stamp).
func build(ctx context.Context, o options) (binaries, error) {
	b := binaries{
		perfExporter: filepath.Join(o.work, "perf-exporter"),
		rawFortio:    filepath.Join(o.work, "rawfortio"),
	}
	for _, t := range []struct{ out, pkg string }{
		{b.perfExporter, "./cmd/perf-exporter"},
		{b.rawFortio, "./bench/rawfortio"},
	} {
		cmd := exec.CommandContext(ctx, o.goTool, "build", "-o", t.out, t.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s (run perfbench from the repository root): %w\n%s", t.pkg, err, out)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return b, err
	}
	b.self = self
	return b, nil
}

// process is a started background program: the target or the daemon.
type process struct {
	cmd  *exec.Cmd
	log  string // its stdout and stderr
	done chan error
}

func startProcess(ctx context.Context, logPath, bin string, args ...string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &process{cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		f.Close()
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// stop asks the process to shut down (SIGTERM) and waits for it.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done: //nolint:errcheck // asked to stop: how it exited says nothing
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done //nolint:errcheck // killed: the exit error is known
	}
}

// exited reports an early exit, with the end of the process's log.
func (p *process) exited() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("%s exited (%v); its log ends with:\n%s", filepath.Base(p.cmd.Path), err, tail(p.log, 20))
	default:
		return nil
	}
}

// target is the built-in test server, in its own process so that the
// client's profile and CPU time are the client's alone.
type target struct {
	*process
	addr string // host:port
	url  string // http://host:port
}

func startTarget(ctx context.Context, o options, b binaries) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(ctx, filepath.Join(o.work, "target.log"), b.perfExporter, "target", "--listen", addr)
	if err != nil {
		return nil, err
	}
	t := &target{process: p, addr: addr, url: "http://" + addr}
	if err := waitHTTP(ctx, t.url+"/echo", 10*time.Second, p); err != nil {
		p.stop()
		return nil, err
	}
	return t, nil
}

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitHTTP polls url until it answers 200, p exits, or the timeout.
func waitHTTP(ctx context.Context, url string, timeout time.Duration, p *process) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %s (last error: %v)", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// measured is one finished client run: its output and the CPU time it
// used, from the kernel's accounting of the child.
type measured struct {
	stdout, stderr string
	cpu            time.Duration
}

func runMeasured(ctx context.Context, bin string, args ...string) (measured, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	m := measured{stdout: stdout.String(), stderr: stderr.String()}
	if cmd.ProcessState != nil {
		m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 2 {
			return m, nil // perf-exporter run: a threshold missed, the run itself is fine
		}
		return m, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, lastLines(m.stderr, 10))
	}
	return m, nil
}

// memory is a process's resident set from /proc/PID/status, in bytes.
type memory struct {
	rss, anon, peak int64 // VmRSS, RssAnon, VmHWM
}

func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, value, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "RssAnon":
			m.anon = kb << 10
		case "VmHWM":
			m.peak = kb << 10
		}
	}
	return m, s.Err()
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(data), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
