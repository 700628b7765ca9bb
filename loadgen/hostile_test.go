package loadgen

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// hostileTarget is a target that misbehaves in one way.
type hostileTarget struct {
	name string
	// start serves the target and returns its URL.
	start func(t *testing.T) string
}

// httpTarget serves h.
func httpTarget(h http.HandlerFunc) func(t *testing.T) string {
	return func(t *testing.T) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/"
	}
}

// tcpTarget accepts connections and hands each to handle.
func tcpTarget(handle func(net.Conn)) func(t *testing.T) string {
	return func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var conns []net.Conn
		t.Cleanup(func() {
			l.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				wg.Go(func() { handle(c) })
			}
		})
		return "http://" + l.Addr().String() + "/"
	}
}

var hostileTargets = []hostileTarget{
	{"endless body", httpTarget(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})},
	{"gigabyte body", httpTarget(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < 1<<30 && r.Context().Err() == nil; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})},
	{"trickle, a byte a second", httpTarget(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		for range 100 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
				return
			}
		}
	})},
	{"never answers", tcpTarget(func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})},
	{"resets every connection", tcpTarget(func(c net.Conn) {
		_ = c.(*net.TCPConn).SetLinger(0) // close sends RST (a live TCP socket takes it)
		c.Close()
	})},
}

// peakHeap samples the Go heap until stop, and returns the highest.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// hostileGrace is how much longer than its duration a Fortio run may last
// against a target that does not answer: fortio's first request on each
// connection (before the timed run) and the last one in flight at the end
// each wait up to target.timeout.
func hostileGrace(timeout time.Duration) time.Duration { return 2 * timeout }

// hostileHeapBound is the most the Go heap may grow during such a run: fortio
// reads at most its 128 KiB buffer of a response per connection, whatever
// the body's size.
const hostileHeapBound = 64 << 20

// TestHostileTargetsFortio: against a target that sends an endless or a
// gigabyte body, trickles a byte a second, never answers or resets every
// connection, a Fortio run ends within its duration plus hostileGrace, the
// heap stays under hostileHeapBound, and every request is counted, live and
// in the result: a body cut at fortio's buffer under its status (200), a
// request that got no answer under error with its reason.
func TestHostileTargetsFortio(t *testing.T) {
	const connections = 4
	want := map[string]struct {
		codes   []string // the only codes allowed
		reason  string   // an error reason that must be there; "" = none
		timeout bool     // requests wait for target.timeout
	}{
		"endless body":             {codes: []string{"200"}},
		"gigabyte body":            {codes: []string{"200"}},
		"trickle, a byte a second": {codes: []string{"error"}, reason: "i/o timeout", timeout: true},
		"never answers":            {codes: []string{"error"}, reason: "i/o timeout", timeout: true},
		"resets every connection":  {codes: []string{"error"}, reason: "connection reset by peer"},
	}
	for _, tc := range hostileTargets {
		t.Run(tc.name, func(t *testing.T) {
			w := want[tc.name]
			url := tc.start(t)
			p := testProfile(url, 0, connections, time.Second)
			p.Target.Timeout = config.Duration(time.Second)
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := make(chan struct{})
			peak := peakHeap(stop)
			obs := &countingObserver{}
			start := time.Now()
			r, err := NewFortio().Run(context.Background(), p, obs)
			took := time.Since(start)
			close(stop)
			grown := int64(<-peak) - int64(before.HeapAlloc)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("took %v (run %v), heap grew by at most %.1f MB, codes %v, reasons %v", took, r.ActualDuration, float64(grown)/(1<<20), r.Codes, r.ErrorReasons)
			if limit := p.Load.Duration.D() + hostileGrace(p.Target.Timeout.D()); took > limit+500*time.Millisecond {
				t.Errorf("the run took %v, more than its duration plus the grace (%v)", took, limit)
			}
			if grown > hostileHeapBound {
				t.Errorf("the heap grew by %d MB, more than %d MB", grown>>20, hostileHeapBound>>20)
			}
			var total int64
			for code, n := range r.Codes {
				total += n
				if !slices.Contains(w.codes, code) {
					t.Errorf("code %q (%d requests), want only %v", code, n, w.codes)
				}
			}
			obs.mu.Lock()
			live := maps.Clone(obs.codes)
			obs.mu.Unlock()
			if total == 0 || !maps.Equal(live, r.Codes) {
				t.Errorf("requests counted live %v, in the result %v: want the same, and some", live, r.Codes)
			}
			if w.reason != "" && r.ErrorReasons[w.reason] != r.Codes[result.CodeError] {
				t.Errorf("reasons %v: want all %d errors as %q", r.ErrorReasons, r.Codes[result.CodeError], w.reason)
			}
			if w.timeout && r.Codes[result.CodeError] != 2*connections && r.Codes[result.CodeError] != connections {
				t.Errorf("%d requests timed out, want one or two per connection (%d)", r.Codes[result.CodeError], connections)
			}
		})
	}
}

// TestFortioLargeBodies: a target answering 200 with 1 MiB bodies, whose
// length is given (Content-Length) or not (chunked), gets every one of 100
// requests over 2 connections counted as 200, live and in the result. Fortio
// reads at most its 128 KiB buffer of such a body; it used to keep the
// connection with the rest of the body on it, which the next request then
// read as its answer: about half the requests were errors ("Buffer too small
// for data", "unknown").
func TestFortioLargeBodies(t *testing.T) {
	const size = 1 << 20
	body := make([]byte, size)
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(size))
				}
				for sent := 0; sent < size; sent += 64 << 10 {
					if _, err := w.Write(body[sent : sent+64<<10]); err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			p := testProfile(srv.URL+"/", 100, 2, time.Second)
			obs := &countingObserver{}
			r, err := NewFortio().Run(context.Background(), p, obs)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"200": 100}
			if !maps.Equal(r.Codes, want) || len(r.ErrorReasons) != 0 {
				t.Errorf("codes %v, reasons %v: want %v and no reasons", r.Codes, r.ErrorReasons, want)
			}
			obs.mu.Lock()
			live := maps.Clone(obs.codes)
			obs.mu.Unlock()
			if !maps.Equal(live, want) {
				t.Errorf("codes counted live %v, want %v", live, want)
			}
		})
	}
}

// TestHostileBodyFortioHTTP2: over HTTP/2 fortio uses Go's client, which
// reads every body to its end (into io.Discard): against an endless body
// each request lasts target.timeout and counts as error, "no answer within
// target.timeout", the run ends within its duration plus hostileGrace and
// the heap stays under hostileHeapBound.
func TestHostileBodyFortioHTTP2(t *testing.T) {
	chunk := make([]byte, 64<<10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true) // fortio speaks h2c to http://
	srv.Start()
	t.Cleanup(srv.Close)
	const connections = 4
	p := testProfile(srv.URL+"/", 0, connections, time.Second)
	p.Target.Protocol = config.ProtocolHTTP2
	p.Target.Timeout = config.Duration(time.Second)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peak := peakHeap(stop)
	start := time.Now()
	r, err := NewFortio().Run(context.Background(), p, nil)
	took := time.Since(start)
	close(stop)
	grown := int64(<-peak) - int64(before.HeapAlloc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("took %v, heap grew by at most %.1f MB, codes %v, reasons %v", took, float64(grown)/(1<<20), r.Codes, r.ErrorReasons)
	if limit := p.Load.Duration.D() + hostileGrace(p.Target.Timeout.D()); took > limit+500*time.Millisecond {
		t.Errorf("the run took %v, more than its duration plus the grace (%v)", took, limit)
	}
	if grown > hostileHeapBound {
		t.Errorf("the heap grew by %d MB, more than %d MB", grown>>20, hostileHeapBound>>20)
	}
	if n := r.Codes[result.CodeError]; n == 0 || len(r.Codes) != 1 || r.ErrorReasons[reasonLate] != n {
		t.Errorf("codes %v, reasons %v: want only errors, all %q", r.Codes, r.ErrorReasons, reasonLate)
	}
}
