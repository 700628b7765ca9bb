package loadgen

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	fortiolog "fortio.org/log"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// resolution of fortio's histograms, in seconds: 100µs keeps sub-millisecond
// latencies apart (fortio's default of 1ms lumps them together) while its
// bucket list still reaches 10 s.
const resolution = 0.0001

// Fortio is the embedded Fortio engine, the default.
type Fortio struct{}

// NewFortio returns the Fortio engine. Fortio's logger is process-wide; it is
// set to errors only so a load test never writes per-request noise.
func NewFortio() *Fortio {
	fortiolog.SetLogLevelQuiet(fortiolog.Error)
	return &Fortio{}
}

// Run runs one load test. The profile's warmup, if any, is a separate
// unmeasured run at the same rate right before the measured one.
func (f *Fortio) Run(ctx context.Context, p config.Profile, obs result.Observer) (*result.Measurement, error) {
	if p.Target.Protocol == config.ProtocolGRPC {
		return f.runGRPC(ctx, p, obs)
	}
	if w := p.Load.Warmup.D(); w > 0 {
		if _, _, err := f.runHTTP(ctx, p, w, nil); err != nil {
			return nil, fmt.Errorf("warmup: %w", err)
		}
		if ctx.Err() != nil {
			return &result.Measurement{Engine: config.EngineFortio, Protocol: p.Target.Protocol, URL: config.PublicURL(p.Target.URL), StartTime: time.Now(), Aborted: true}, nil
		}
	}
	res, hook, err := f.runHTTP(ctx, p, p.Load.Duration.D(), obs)
	if err != nil {
		return nil, err
	}
	r := resultFromRunner(p, &res.RunnerResults, ctx.Err() != nil)
	r.Codes = make(map[string]int64, len(res.RetCodes))
	for code, n := range res.RetCodes {
		r.Codes[httpCodeLabel(code)] += n
	}
	hook.finish(r, p.Load.Percentiles)
	return r, nil
}

func (f *Fortio) runHTTP(ctx context.Context, p config.Profile, d time.Duration, obs result.Observer) (*fhttp.HTTPRunnerResults, *requestHook, error) {
	o := &fhttp.HTTPRunnerOptions{AllowInitialErrors: true}
	hook := newRequestHook(obs, p.Load.QPS, p.Load.Connections, d)
	o.RunnerOptions = runnerOptions(p, d, hook)
	o.URL = p.Target.URL
	o.HTTPReqTimeOut = p.Target.Timeout.D()
	o.H2 = p.Target.Protocol == config.ProtocolHTTP2
	o.Insecure = p.Target.TLS.InsecureSkipVerify
	o.CACert = p.Target.TLS.CAFile
	o.Cert = p.Target.TLS.CertFile
	o.Key = p.Target.TLS.KeyFile
	o.InitHeaders()
	for k, v := range p.Target.Headers {
		if err := o.AddAndValidateExtraHeader(k + ": " + v); err != nil {
			// fortio's message quotes the value, which may be a secret.
			return nil, nil, fmt.Errorf("header %q is invalid", k)
		}
	}
	if p.Target.Body != "" {
		o.Payload = []byte(p.Target.Body)
	}
	if p.Target.Method != "GET" || p.Target.Body != "" {
		o.MethodOverride = p.Target.Method
	}
	stop := abortOnDone(ctx, o.Stop)
	defer stop()
	res, err := fhttp.RunHTTPTest(o)
	if err != nil {
		return nil, nil, fmt.Errorf("fortio: %w", err)
	}
	return res, hook, nil
}

// runnerOptions are the periodic runner settings shared by HTTP and gRPC.
// Out goes to io.Discard and Stop is our own Aborter: with its own Aborter
// fortio does not install its SIGINT handler.
func runnerOptions(p config.Profile, d time.Duration, hook *requestHook) periodic.RunnerOptions {
	qps := p.Load.QPS
	if qps <= 0 {
		qps = -1 // fortio's "as fast as possible"
	}
	o := periodic.RunnerOptions{
		QPS:         qps,
		Duration:    d,
		NumThreads:  p.Load.Connections,
		Percentiles: p.Load.Percentiles,
		Resolution:  resolution,
		Out:         io.Discard,
		Stop:        periodic.NewAborter(),
		Labels:      p.Name,
	}
	if hook != nil {
		o.AccessLogger = hook
	}
	return o
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

func resultFromRunner(p config.Profile, rr *periodic.RunnerResults, aborted bool) *result.Measurement {
	return &result.Measurement{
		Engine:            config.EngineFortio,
		Protocol:          p.Target.Protocol,
		URL:               config.PublicURL(p.Target.URL),
		StartTime:         rr.StartTime,
		ActualDuration:    rr.ActualDuration,
		RequestedDuration: p.Load.Duration.D(),
		RequestedQPS:      max(p.Load.QPS, 0),
		ActualQPS:         rr.ActualQPS,
		Connections:       rr.NumThreads,
		Latency:           rr.DurationHistogram,
		Aborted:           aborted,
	}
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
