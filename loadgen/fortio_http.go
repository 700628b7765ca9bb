package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
)

// runHTTP runs fortio's HTTP load as fhttp.RunHTTPTest does (a client per
// connection, one unmeasured request on each before the run, then the
// periodic runner) with one difference: a connection whose response did
// not fit in the fast client's buffer (fhttp.BufferSizeKb) is closed, and
// the next request opens a new one. The fast client reads such a body only
// up to its buffer, counts the response under its status and keeps the
// connection with the rest of the body on it, which the next request then
// read as its own answer ("Buffer too small for data", or bytes of the body
// taken for a status): about half the requests against a target with large
// bodies were errors. Memory stays one buffer per connection.
func runHTTP(o *fhttp.HTTPRunnerOptions) (map[int]int64, periodic.RunnerResults, error) {
	r := periodic.NewPeriodicRunner(&o.RunnerOptions)
	opts := r.Options()
	defer opts.Abort()
	o.HTTPOptions.Resolution = opts.Resolution
	o.HTTPOptions.Offset = opts.Offset
	o.UniqueID = opts.RunID
	conns := make([]*httpConn, opts.NumThreads)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.client.Close()
			}
		}
	}()
	for i := range conns {
		o.HTTPOptions.ID = i // fortio's log lines name the connection by it
		client, err := fhttp.NewClient(&o.HTTPOptions)
		if err != nil {
			// An abort waiting for the run to start (abortOnDone) returns.
			opts.Stop.RecordStart()
			return nil, periodic.RunnerResults{}, err
		}
		conns[i] = &httpConn{client: client, codes: map[int]int64{}}
		opts.Runners[i] = conns[i]
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.fetch(context.Background()) })
	}
	wg.Wait()
	res := r.Run()
	opts.ReleaseRunners()
	codes := map[int]int64{}
	for _, c := range conns {
		for code, n := range c.codes {
			codes[code] += n
		}
	}
	return codes, res, nil
}

// httpConn is one connection's client and the codes of its measured
// requests; only the goroutine fortio runs the connection on touches it.
type httpConn struct {
	client fhttp.Fetcher
	codes  map[int]int64
}

// Run implements periodic.Runnable: one measured request.
func (c *httpConn) Run(ctx context.Context, _ periodic.ThreadID) (bool, string) {
	code := c.fetch(ctx)
	c.codes[code]++
	// fortio's own test of a good answer (its codeIsOK).
	ok := code >= 200 && code <= 299 || code == http.StatusTeapot
	return ok, strconv.Itoa(code)
}

// fetch sends one request and closes the connection when the response was
// cut at the fast client's buffer.
func (c *httpConn) fetch(ctx context.Context) int {
	if !c.client.HasBuffer() {
		// The standard library's client (HTTP/2) reads every body to its
		// end, into io.Discard.
		code, _, _ := c.client.StreamFetch(ctx)
		return code
	}
	// Fetch, unlike StreamFetch, shows the bytes read; it copies nothing.
	code, data, headerLen := c.client.Fetch(ctx) //nolint:staticcheck // see above
	if cutResponse(data, headerLen) {
		c.client.Close()
	}
	return code
}

var (
	// lastChunk ends a chunked body (fortio reads no trailers).
	lastChunk = []byte("\r\n0\r\n\r\n")
	// chunkedHeader is how fortio finds a chunked response (case folded).
	chunkedHeader = []byte("\r\nTransfer-Encoding: chunked")
)

// cutResponse tells whether the fast client stopped reading a response
// before its end, leaving the rest on the connection. Fortio reads a body
// with a Content-Length up to its buffer, so a cut one fills the buffer;
// it reads a chunked body chunk by chunk and stops at the first chunk that
// would not fit, so a cut one lacks the last chunk. Any other response it
// read to its end, or closed its connection itself (no length, an error
// status, Connection: close).
func cutResponse(data []byte, headerLen int) bool {
	if len(data) >= fhttp.BufferSizeKb*1024 {
		return true
	}
	if bytes.HasSuffix(data, lastChunk) || headerLen <= 0 || headerLen > len(data) {
		return false
	}
	found, _ := fhttp.FoldFind(data[:headerLen], chunkedHeader)
	return found
}
