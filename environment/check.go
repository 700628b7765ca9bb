package environment

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// CheckResult is the outcome of testing one source's connection. It holds
// no credentials: the URL is scheme://host/path and errors are redacted.
type CheckResult struct {
	Prometheus string `json:"prometheus"`
	URL        string `json:"url"`
	Up         bool   `json:"up"`
	// Version is what the server's build info API reports.
	Version string `json:"version,omitempty"`
	// Reason classifies a failure (dns, refused, tls, unauthorized, ...).
	Reason Reason `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// Seconds is how long the check took.
	Seconds float64 `json:"seconds"`
}

// Check tests every source, concurrently, each within the query timeout:
// it is reachable (name, network, TLS), accepts the credentials, reports
// its version through the build info API, and answers a query. Results
// are in config order; each also becomes the source's perf_prometheus_up.
func (e *Environment) Check(ctx context.Context) []CheckResult {
	sources, _, _ := e.snapshot()
	results := make([]CheckResult, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			results[i] = e.checkSource(ctx, s)
			if ctx.Err() == nil { // a caller that went away says nothing about the server
				e.record(s.name, results[i].Reason, results[i].Error)
			}
		})
	}
	wg.Wait()
	return results
}

func (e *Environment) checkSource(ctx context.Context, s *source) CheckResult {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	res := CheckResult{Prometheus: s.name, URL: s.publicURL}
	fail := func(reason Reason, msg string) CheckResult {
		res.Reason, res.Error, res.Seconds = reason, msg, time.Since(began).Seconds()
		return res
	}

	rec := &statusRecorder{}
	api, err := s.api(rec)
	if err != nil {
		return fail(ReasonConfig, err.Error())
	}
	info, err := api.Buildinfo(ctx)
	if err != nil {
		return fail(classify(err, rec.lastStatus()), "reading the build info: "+s.describe(err, rec.lastStatus()))
	}
	res.Version = info.Version
	val, _, _, err := api.Query(ctx, "vector(1)", time.Now())
	if err != nil {
		return fail(classify(err, rec.lastStatus()), "running the query vector(1): "+s.describe(err, rec.lastStatus()))
	}
	if vec, ok := val.(model.Vector); !ok || len(vec) != 1 || vec[0].Value != 1 {
		return fail(ReasonQuery, fmt.Sprintf("the query vector(1) returned %s, not 1", val))
	}
	res.Up = true
	res.Seconds = time.Since(began).Seconds()
	return res
}
