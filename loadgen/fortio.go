package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// resolution of fortio's histograms, in seconds: 100µs keeps sub-millisecond
// latencies apart (fortio's default of 1ms lumps them together) while its
// bucket list still reaches 10 s.
const resolution = 0.0001

// Fortio is the embedded Fortio engine, the default.
type Fortio struct{}

// NewFortio returns the Fortio engine. Fortio's own logging goes to
// fortioLogs, which keeps only the reasons of failed requests.
func NewFortio() *Fortio {
	fortioLogs()
	return &Fortio{}
}

// Run runs one load test. The profile's warmup, if any, is a separate
// unmeasured run at the same rate right before the measured one.
func (f *Fortio) Run(ctx context.Context, p config.Profile, obs result.Observer) (*result.Measurement, error) {
	group := httpGroup(p)
	if p.Target.Protocol == config.ProtocolGRPC {
		dial, err := grpcDialer(p.Target)
		if err != nil {
			return nil, err
		}
		group = grpcGroup(p, dial)
	}
	if w := p.Load.Warmup.D(); w > 0 {
		if _, err := runPhase(ctx, p, w, config.ProfileWarmupRate, nil, group); err != nil {
			return nil, fmt.Errorf("warmup: %w", err)
		}
		if ctx.Err() != nil {
			// Cancelled during the warmup: an aborted run, not an engine failure.
			return &result.Measurement{Engine: config.EngineFortio, Protocol: p.Target.Protocol, URL: config.PublicURL(p.Target.URL), StartTime: time.Now(), Aborted: true}, nil //nolint:nilerr // see above
		}
	}
	ph, err := runPhase(ctx, p, p.Load.Duration.D(), config.ProfileRate, obs, group)
	if err != nil {
		return nil, err
	}
	return ph.measurement(p, ctx.Err() != nil), nil
}

// httpGroup runs one group of connections with fortio's HTTP runner.
func httpGroup(p config.Profile) groupRunner {
	return func(ctx context.Context, o periodic.RunnerOptions, hook func(reason func(thread int) string) periodic.AccessLogger) (*groupResult, error) {
		logs := fortioLogs()
		id := logs.register(o.NumThreads)
		defer logs.unregister(id)
		o.RunID = id
		o.AccessLogger = hook(func(thread int) string { return logs.take(id, thread) })
		ho := &fhttp.HTTPRunnerOptions{RunnerOptions: o, AllowInitialErrors: true}
		ho.URL = p.Target.URL
		ho.HTTPReqTimeOut = p.Target.Timeout.D()
		ho.H2 = p.Target.Protocol == config.ProtocolHTTP2
		ho.Insecure = p.Target.TLS.InsecureSkipVerify
		ho.CACert = p.Target.TLS.CAFile
		ho.Cert = p.Target.TLS.CertFile
		ho.Key = p.Target.TLS.KeyFile
		ho.InitHeaders()
		for k, v := range p.Target.Headers {
			if err := ho.AddAndValidateExtraHeader(k + ": " + v); err != nil {
				// fortio's message quotes the value, which may be a secret.
				return nil, fmt.Errorf("header %q is invalid", k)
			}
		}
		if p.Target.Body != "" {
			ho.Payload = []byte(p.Target.Body)
		}
		if p.Target.Method != "GET" || p.Target.Body != "" {
			ho.MethodOverride = p.Target.Method
		}
		stop := abortOnDone(ctx, ho.Stop)
		retCodes, res, err := runHTTP(ho)
		stop()
		if err != nil {
			return nil, fmt.Errorf("fortio: %w", err)
		}
		codes := make(map[string]int64, len(retCodes))
		for code, n := range retCodes {
			codes[httpCodeLabel(code)] += n
		}
		return &groupResult{res: res, codes: codes}, nil
	}
}

// groupRunner runs one group of connections until the run ends or ctx is
// cancelled: the options are filled in but for the access logger, which
// hook builds given where the runner can tell why a thread's last request
// failed.
type groupRunner func(ctx context.Context, o periodic.RunnerOptions, hook func(reason func(thread int) string) periodic.AccessLogger) (*groupResult, error)

type groupResult struct {
	res   periodic.RunnerResults
	codes map[string]int64
}

// connGroup is connections that each send calls requests over the run (0:
// as many as they can).
type connGroup struct {
	connections int
	calls       int64
}

// planGroups splits a run's requests over its connections. Fortio's
// periodic runner gives every thread of a runner the same number of calls
// (rate × duration / threads, truncated) and spaces them by threads / rate,
// which sends 16 requests in 0.8 s for 20 per second over 1 s on 8
// connections, and stretches a run whose rate is too low for its
// connections (one request per 10 s for 1 s runs 10 s). So the requests,
// rate × duration rounded, are split into at most two groups of
// connections, one sending one more request than the other, each its own
// runner with the rate that spreads its calls evenly from the start of the
// duration to its end. A run that cannot give every connection two
// requests is refused (config.CheckRateShape).
func planGroups(p config.Profile, d time.Duration, fields config.RateFields) ([]connGroup, error) {
	l := p.Load
	if l.QPS <= 0 {
		return []connGroup{{connections: l.Connections}}, nil
	}
	if err := config.CheckRateShape(l.QPS, l.Connections, d, fields); err != nil {
		return nil, err
	}
	n := config.RateRequests(l.QPS, d)
	c := int64(l.Connections)
	per, extra := n/c, n%c
	var groups []connGroup
	if extra > 0 {
		groups = append(groups, connGroup{connections: int(extra), calls: per + 1})
	}
	if c > extra {
		groups = append(groups, connGroup{connections: int(c - extra), calls: per})
	}
	return groups, nil
}

// phase is one fortio run of a profile: its groups run side by side.
type phase struct {
	hook       *requestHook
	start, end time.Time
	codes      map[string]int64
	threads    int
}

// runPhase runs the profile's load for d on its connections, split into
// groups. A group that fails stops the others.
func runPhase(ctx context.Context, p config.Profile, d time.Duration, fields config.RateFields, obs result.Observer, run groupRunner) (*phase, error) {
	groups, err := planGroups(p, d, fields)
	if err != nil {
		return nil, err
	}
	hook := newRequestHook(obs, p.Load.Connections)
	hook.timeout = p.Target.Timeout.D()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*groupResult, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	offset := 0
	for i, g := range groups {
		o := runnerOptions(p, d, g)
		first := offset
		wg.Go(func() {
			results[i], errs[i] = run(ctx, o, func(reason func(int) string) periodic.AccessLogger {
				return hook.group(first, g, d, reason)
			})
			if errs[i] != nil {
				cancel()
			}
		})
		offset += g.connections
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the others were stopped by it, or failed alike
		}
	}
	ph := &phase{hook: hook, codes: map[string]int64{}}
	for _, r := range results {
		if ph.start.IsZero() || r.res.StartTime.Before(ph.start) {
			ph.start = r.res.StartTime
		}
		if end := r.res.StartTime.Add(r.res.ActualDuration); end.After(ph.end) {
			ph.end = end
		}
		ph.threads += r.res.NumThreads
		for code, n := range r.codes {
			ph.codes[code] += n
		}
	}
	return ph, nil
}

// measurement is what the phase measured, as the profile's result.
func (ph *phase) measurement(p config.Profile, aborted bool) *result.Measurement {
	r := &result.Measurement{
		Engine:            config.EngineFortio,
		Protocol:          p.Target.Protocol,
		URL:               config.PublicURL(p.Target.URL),
		StartTime:         ph.start,
		ActualDuration:    ph.end.Sub(ph.start),
		RequestedDuration: p.Load.Duration.D(),
		RequestedQPS:      max(p.Load.QPS, 0),
		Connections:       ph.threads,
		Codes:             ph.codes,
		Aborted:           aborted,
	}
	ph.hook.finish(r, p.Load.Percentiles, p.Target.Redact)
	return r
}

// runnerOptions are the periodic runner settings of one group of
// connections, shared by HTTP and gRPC. Out goes to io.Discard and Stop is
// our own Aborter: with its own Aborter fortio does not install its SIGINT
// handler.
func runnerOptions(p config.Profile, d time.Duration, g connGroup) periodic.RunnerOptions {
	qps := -1.0 // fortio's "as fast as possible"
	if g.calls > 0 {
		// fortio computes its calls as int64(qps × seconds): nudged up so
		// that rounding never loses one.
		qps = float64(int64(g.connections)*g.calls) / d.Seconds()
		qps = math.Nextafter(math.Nextafter(qps, math.Inf(1)), math.Inf(1))
	}
	return periodic.RunnerOptions{
		QPS:         qps,
		Duration:    d,
		NumThreads:  g.connections,
		Percentiles: p.Load.Percentiles,
		Resolution:  resolution,
		Out:         io.Discard,
		Stop:        periodic.NewAborter(),
		Labels:      p.Name,
	}
}

// abortOnDone aborts the fortio run when ctx is cancelled. The returned
// function stops the watcher once the run is over.
func abortOnDone(ctx context.Context, a *periodic.Aborter) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// Abort(true) waits for the run to have started, so an abort
			// that races the start is not lost.
			a.Abort(true)
		case <-done:
		}
	}()
	return func() { close(done) }
}

// httpCodeLabel turns fortio's status (-1 for a transport error) into the
// code label.
func httpCodeLabel(code int) string {
	if code < 0 {
		return result.CodeError
	}
	return strconv.Itoa(code)
}

func codeFromDetails(details string, ok bool) string {
	if details == "" {
		if ok {
			return "OK"
		}
		return result.CodeError
	}
	if strings.HasPrefix(details, "-") {
		return result.CodeError
	}
	return details
}
