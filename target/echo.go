package target

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// echoHandler serves fortio's echo query parameters: delay, status and size, each either a
// single value or a weighted list such as "5ms:80,1200ms:2".
//
// It is written here rather than reusing fortio's fhttp.EchoHandler because that handler is
// driven by process-wide fortio state that the daemon's fortio engine shares: it logs every
// request whenever fortio's global log level is Verbose or Debug, logs a warning per request
// for a malformed or oversized parameter and then silently ignores or clamps it, caps delays
// at a global dynamic flag (1.5s) and bodies at a global 256 KiB buffer. Importing fhttp also
// registers net/http/pprof on http.DefaultServeMux. Here limits are per server, a bad
// parameter is a 400 with the reason, and nothing is ever logged per request.
type echoHandler struct {
	maxDelay time.Duration
	maxSize  int
	// payload is the source of ?size= bodies, random so compression cannot shrink them.
	payload []byte
}

// payloadChunk is how much random data a server keeps for ?size= bodies; larger bodies
// repeat it.
const payloadChunk = 64 << 10

func newEchoHandler(maxDelay time.Duration, maxSize int) *echoHandler {
	payload := make([]byte, payloadChunk)
	_, _ = rand.Read(payload) // never fails since Go 1.24
	return &echoHandler{maxDelay: maxDelay, maxSize: maxSize, payload: payload}
}

// echoParams are the parsed query parameters of one request.
type echoParams struct {
	delay  weighted[time.Duration]
	status weighted[int]
	size   weighted[int]
}

func (h *echoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p echoParams
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			err = fmt.Errorf("query string: %w", err)
		} else {
			p, err = h.parseParams(q)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	size := p.size.pick(-1) // -1: echo the request body back
	var body []byte
	if size < 0 {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, int64(h.maxSize)))
		if err != nil {
			if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
				http.Error(w, fmt.Sprintf("request body exceeds the echo limit of %d bytes", h.maxSize),
					http.StatusRequestEntityTooLarge)
			}
			return // otherwise the client went away
		}
	} else if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return
	}
	if !sleep(r.Context(), p.delay.pick(0)) {
		return
	}
	status := p.status.pick(http.StatusOK)
	if size >= 0 {
		h.writePayload(w, status, size)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if !bodyAllowed(status) {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (h *echoHandler) writePayload(w http.ResponseWriter, status, size int) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if !bodyAllowed(status) {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(status)
	for size > 0 {
		n := min(size, len(h.payload))
		if _, err := w.Write(h.payload[:n]); err != nil {
			return
		}
		size -= n
	}
}

// bodyAllowed reports whether net/http lets a response with this status carry a body.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// sleep waits for d, or less if the client goes away; it reports whether the full delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h *echoHandler) parseParams(q url.Values) (echoParams, error) {
	var p echoParams
	var err error
	if p.delay, err = parseWeighted("delay", q.Get("delay"), h.parseDelay); err != nil {
		return p, err
	}
	if p.status, err = parseWeighted("status", q.Get("status"), parseStatus); err != nil {
		return p, err
	}
	p.size, err = parseWeighted("size", q.Get("size"), h.parseSize)
	return p, err
}

func (h *echoHandler) parseDelay(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, err
	case d < 0:
		return 0, fmt.Errorf("negative delay %v", d)
	case d > h.maxDelay:
		return 0, fmt.Errorf("delay %v exceeds the maximum %v", d, h.maxDelay)
	}
	return d, nil
}

func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	// 1xx are interim responses and net/http panics outside 100-999.
	if code < 200 || code > 599 {
		return 0, fmt.Errorf("status %d is not in 200-599", code)
	}
	return code, nil
}

func (h *echoHandler) parseSize(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, err
	case n < 0:
		return 0, fmt.Errorf("negative size %d", n)
	case n > h.maxSize:
		return 0, fmt.Errorf("size %d exceeds the maximum %d", n, h.maxSize)
	}
	return n, nil
}

// weighted is a parsed fortio-style value list: "v" means v for every request;
// "v1:p1,v2:p2" means v1 for p1 percent of requests, v2 for p2 percent, and the
// caller's default for the remaining percentage.
type weighted[T any] struct {
	values     []T
	cumulative []float64 // ascending percentages, the last at most 100
}

// parseWeighted parses raw (the value of query parameter param; empty means unset).
func parseWeighted[T any](param, raw string, parseValue func(string) (T, error)) (weighted[T], error) {
	var w weighted[T]
	if raw == "" {
		return w, nil
	}
	if !strings.Contains(raw, ":") {
		v, err := parseValue(raw)
		if err != nil {
			return weighted[T]{}, fmt.Errorf("%s=%q: %w", param, raw, err)
		}
		return weighted[T]{values: []T{v}, cumulative: []float64{100}}, nil
	}
	total := 0.0
	for entry := range strings.SplitSeq(raw, ",") {
		valueStr, percentStr, ok := strings.Cut(entry, ":")
		if !ok {
			return weighted[T]{}, fmt.Errorf("%s=%q: entry %q is not value:percent", param, raw, entry)
		}
		v, err := parseValue(valueStr)
		if err != nil {
			return weighted[T]{}, fmt.Errorf("%s=%q: entry %q: %w", param, raw, entry, err)
		}
		percent, err := strconv.ParseFloat(strings.TrimSuffix(percentStr, "%"), 64)
		if err != nil || !(percent >= 0 && percent <= 100) {
			return weighted[T]{}, fmt.Errorf("%s=%q: entry %q: percentage must be a number from 0 to 100", param, raw, entry)
		}
		total += percent
		// The tolerance absorbs float rounding of lists like "a:33.3,b:33.3,c:33.4".
		if total > 100+1e-9 {
			return weighted[T]{}, fmt.Errorf("%s=%q: percentages add up to more than 100", param, raw)
		}
		w.values = append(w.values, v)
		w.cumulative = append(w.cumulative, math.Min(total, 100))
	}
	return w, nil
}

// pick draws a value according to the weights, or def for the unweighted remainder.
func (w weighted[T]) pick(def T) T {
	if len(w.values) == 0 {
		return def
	}
	if len(w.values) == 1 && w.cumulative[0] >= 100 { // the common unweighted case needs no roll
		return w.values[0]
	}
	roll := 100 * randv2.Float64()
	for i, c := range w.cumulative {
		if roll < c {
			return w.values[i]
		}
	}
	return def
}
