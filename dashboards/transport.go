package dashboards

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// maxResponseBody bounds a response read into memory (search results and
// dashboards are well below it). A larger answer is an error saying so,
// never cut short to fail as malformed JSON.
const maxResponseBody = 16 << 20

// errResponseTooLarge is the read error of an answer over maxResponseBody.
var errResponseTooLarge = fmt.Errorf("Grafana's answer is larger than %d MiB", maxResponseBody>>20) //nolint:staticcheck // ST1005: Grafana is a name

// retryTransport sends each request with its own timeout and retries, with
// exponential backoff, only where a retry can help: a 5xx answer or a
// timeout. 4xx answers are final: the same request would fail the same way.
//
// The generated client has a retrying transport of its own, but it sleeps
// without watching the context, retries every transport error (a typo in the
// URL would be retried for seconds) and is built on http.DefaultTransport,
// whose TLS settings it overwrites; so we bring ours.
type retryTransport struct {
	next     http.RoundTripper
	attempts int           // at least 1
	timeout  time.Duration // per attempt
	backoff  time.Duration // before the second attempt, doubled after each
	logger   *slog.Logger
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
	}
	wait := t.backoff
	for attempt := 1; ; attempt++ {
		resp, err := t.try(req, body)
		retry := attempt < t.attempts && req.Context().Err() == nil &&
			(err != nil && isTimeout(err) || err == nil && resp.StatusCode >= 500)
		if !retry {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return resp, err
		}
		t.logger.Warn("Grafana request failed, retrying", "method", req.Method, "path", req.URL.Path,
			"attempt", attempt, "of", t.attempts, "err", describe(resp, err), "wait", wait)
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		wait *= 2
	}
}

// try sends one attempt under its own timeout. The body is read before the
// attempt's context ends, so the response stays readable.
func (t *retryTransport) try(req *http.Request, body []byte) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	defer cancel()
	r := req.Clone(ctx)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		if ctx.Err() != nil && req.Context().Err() == nil {
			return nil, &attemptTimeout{after: t.timeout, err: err}
		}
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err == nil && len(data) > maxResponseBody {
		data, err = nil, errResponseTooLarge // not handed on: nobody reads it
	}
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil && req.Context().Err() == nil {
			return nil, &attemptTimeout{after: t.timeout, err: err}
		}
		// Grafana answered: the body's failure goes on with the status,
		// for errorReader to report as a bad answer rather than as
		// Grafana being out of reach.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), failingReader{err}))
		resp.ContentLength = -1
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	return resp, nil
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// attemptTimeout is one attempt that took longer than its timeout.
type attemptTimeout struct {
	after time.Duration
	err   error
}

func (e *attemptTimeout) Error() string { return fmt.Sprintf("no answer within %s", e.after) }
func (e *attemptTimeout) Unwrap() error { return e.err }
func (e *attemptTimeout) Timeout() bool { return true }

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func describe(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}
