package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

func TestWrkInvocation(t *testing.T) {
	base := func(mod func(p *config.Profile)) config.Profile {
		p := testProfile("http://127.0.0.1:8080/echo?delay=1ms", 0, 8, 30*time.Second)
		if mod != nil {
			mod(&p)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		wrk2    bool
		profile config.Profile
		args    []string // with the script at "S" and the duration the profile's
		script  string   // substring of the Lua script; "" = no script
		notes   []string
		err     string
	}{
		{
			name:    "defaults",
			profile: base(nil),
			args:    []string{"-d", "30s", "-t", "2", "-c", "8", "--timeout", "3s", "--latency", "http://127.0.0.1:8080/echo?delay=1ms"},
		},
		{
			name: "wrk2 rate, threads, headers, rounding",
			wrk2: true,
			profile: base(func(p *config.Profile) {
				p.Load.QPS, p.Load.Threads, p.Load.Connections = 99.6, 3, 10
				p.Load.Duration = config.Duration(1500 * time.Millisecond)
				p.Target.Timeout = config.Duration(500 * time.Millisecond)
				p.Target.Headers = map[string]string{"X-B": "2", "X-A": "1"}
			}),
			args: []string{"-d", "2s", "-t", "3", "-c", "10", "--timeout", "1s", "--latency", "-R", "100", "-U", "-H", "X-A: 1", "-H", "X-B: 2", "http://127.0.0.1:8080/echo?delay=1ms"},
			notes: []string{
				"wrk2 opens load.connections/load.threads connections per thread: 9 of the 10 connections asked for",
				"wrk2 takes whole seconds: load.duration 1.5s ran as 2s",
				"wrk2 takes whole seconds: target.timeout 500ms ran as 1s",
				"wrk2 takes a whole rate: load.qps 99.6 ran as 100",
			},
		},
		{
			name: "method, body and secret headers go through the script",
			profile: base(func(p *config.Profile) {
				p.Target.Method, p.Target.Body = "PUT", "{\"a\": \"é\\n\"}"
				p.Target.Headers = map[string]string{"Authorization": "Bearer s3cret", "X-Token": "t0k", "X-Plain": "v"}
				p.Target.SecretHeaders = []string{"x-token"}
			}),
			args:   []string{"-d", "30s", "-t", "2", "-c", "8", "--timeout", "3s", "--latency", "-H", "X-Plain: v", "-s", "S", "http://127.0.0.1:8080/echo?delay=1ms"},
			script: "wrk.headers[\"Authorization\"] = \"Bearer s3cret\"\nwrk.headers[\"X-Token\"] = \"t0k\"\nwrk.method = \"PUT\"\nwrk.body = \"{\\034a\\034: \\034\\195\\169\\092n\\034}\"\n",
		},
		{
			name:    "https without verification",
			profile: base(func(p *config.Profile) { p.Target.URL = "https://example.test/" }),
			args:    []string{"-d", "30s", "-t", "2", "-c", "8", "--timeout", "3s", "--latency", "https://example.test/"},
			notes:   []string{"wrk does not verify the target's TLS certificate"},
		},
		{name: "wrk has no rate", profile: base(func(p *config.Profile) { p.Load.QPS = 10 }), err: "wrk has no rate control, so load.qps must be 0 (got 10); use engine wrk2 or fortio for a fixed rate"},
		{name: "wrk2 needs a rate", wrk2: true, profile: base(nil), err: "wrk2 needs a rate: load.qps must be at least 1, got 0"},
		{name: "http2", profile: base(func(p *config.Profile) { p.Target.Protocol = "http2" }), err: "protocol http2 is not supported: wrk speaks HTTP/1.1 only (use engine fortio, or nighthawk for http2)"},
		{name: "more threads than connections", profile: base(func(p *config.Profile) { p.Load.Threads = 9 }), err: "load.threads 9 must be between 1 and load.connections (8)"},
		{name: "client certificate", profile: base(func(p *config.Profile) { p.Target.URL, p.Target.TLS.CertFile = "https://x.test/", "c.pem" }), err: "wrk cannot present a client certificate"},
		{name: "header injection", profile: base(func(p *config.Profile) { p.Target.Headers = map[string]string{"X": "a\r\nHost: evil"} }), err: `header "X": names cannot hold ':' and neither names nor values line breaks`},
		{name: "not http", profile: base(func(p *config.Profile) { p.Target.URL = "ftp://u:pw@x.test/a?k=v" }), err: `target "ftp://x.test/a" is not an http:// or https:// URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWrk("wrk", nil)
			if tc.wrk2 {
				w = NewWrk2("wrk2", nil)
			}
			inv, err := w.invocation(tc.profile)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			script := ""
			if inv.script != "" {
				script = "S"
			}
			if got := inv.args(script, inv.seconds); !reflect.DeepEqual(got, tc.args) {
				t.Errorf("args\n got %q\nwant %q", got, tc.args)
			}
			if (tc.script == "") != (inv.script == "") || !strings.Contains(inv.script, tc.script) {
				t.Errorf("script %q, want it to hold %q", inv.script, tc.script)
			}
			if !reflect.DeepEqual(inv.notes, tc.notes) {
				t.Errorf("notes\n got %q\nwant %q", inv.notes, tc.notes)
			}
		})
	}
}

func TestLuaString(t *testing.T) {
	for in, want := range map[string]string{
		"":           `""`,
		"plain text": `"plain text"`,
		`q"b\`:       `"q\034b\092"`,
		"tab\tnl\n":  `"tab\009nl\010"`,
		"é":          `"\195\169"`,
		"]]--[[\x00": `"]]--[[\000"`,
	} {
		if got := luaString(in); got != want {
			t.Errorf("luaString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestExternalEngineMissingBinary(t *testing.T) {
	p := testProfile("http://127.0.0.1:1/", 100, 2, time.Second)
	for _, tc := range []struct {
		engine Engine
		want   string
	}{
		{NewWrk("/nonexistent/bin/wrk", nil), `engine wrk: executable "/nonexistent/bin/wrk" not found (engines.wrk.path): install it with "apt-get install wrk" (Debian, Ubuntu) or from https://github.com/wg/wrk`},
		{NewWrk2("wrk2-is-not-installed-here", nil), `engine wrk2: executable "wrk2-is-not-installed-here" not found on PATH (engines.wrk2.path): build it from https://github.com/giltene/wrk2 ("make" builds ./wrk), install it as wrk2 or set engines.wrk2.path`},
		{NewNighthawk("nighthawk_client_is_not_installed_here", nil), `engine nighthawk: executable "nighthawk_client_is_not_installed_here" not found on PATH (engines.nighthawk.path): build nighthawk_client from https://github.com/envoyproxy/nighthawk ("bazel build -c opt //:nighthawk_client") or take it from the envoyproxy/nighthawk-dev image`},
		{NewWrk("testdata/wrk/local-wrk-4.1.0-latency.txt", nil), `engine wrk: cannot run "testdata/wrk/local-wrk-4.1.0-latency.txt": permission denied (engines.wrk.path)`},
	} {
		_, err := tc.engine.Run(context.Background(), p, nil)
		if err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error\n got %v\nwant %s", err, tc.want)
		}
		if !errors.Is(err, ErrEngineNotInstalled) {
			t.Errorf("%v does not match ErrEngineNotInstalled", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans several lines: %q", err)
		}
	}
}

// requestRecorder wraps fortio's echo handler and keeps what the load
// generator sent.
type requestRecorder struct {
	mu                        sync.Mutex
	requests                  int
	method, body, auth, plain string
}

func (rr *requestRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rr.mu.Lock()
	rr.requests++
	rr.method, rr.body, rr.auth, rr.plain = r.Method, string(body), r.Header.Get("Authorization"), r.Header.Get("X-Plain")
	rr.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	fhttp.EchoHandler(w, r)
}

// The real wrk, through the engine, against fortio's echo handler.
func TestWrkRunsTheRealWrk(t *testing.T) {
	wrk := testutil.Tool(t, "wrk")
	rec := &requestRecorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	t.Setenv("TMPDIR", t.TempDir()) // where the Lua script goes

	p := testProfile(srv.URL+"/echo?status=503:10", 0, 4, 2*time.Second)
	p.Target.Method, p.Target.Body = "POST", `{"hello": "wrk"}`
	p.Target.Headers = map[string]string{"Authorization": "Bearer s3cret", "X-Plain": "visible"}
	r, err := NewWrk(wrk, nil).Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkResultInvariants(t, r)
	t.Logf("wrk: %s; codes %v", r.Describe(), r.Codes)
	if r.Requests() == 0 || r.ActualQPS <= 0 || r.Aborted || r.Engine != "wrk" || r.Connections != 4 || r.StartTime.IsZero() {
		t.Fatalf("result %+v", r)
	}
	// About 10% of the echo handler's answers are 503.
	if r.Codes[result.CodeWrkBelow400] == 0 || r.Codes[result.CodeWrkAbove399] == 0 || r.Codes[result.CodeError] != 0 {
		t.Errorf("codes %v, want 2xx and 4xx_5xx", r.Codes)
	}
	for _, pc := range []float64{50, 75, 90, 99} {
		if v, ok := r.Percentile(pc); !ok || v <= 0 {
			t.Errorf("p%g = %g (%v)", pc, v, ok)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if int64(rec.requests) < r.Requests() || rec.method != "POST" || rec.body != `{"hello": "wrk"}` || rec.auth != "Bearer s3cret" || rec.plain != "visible" {
		t.Errorf("the target saw %d requests, last %s %q auth %q x-plain %q", rec.requests, rec.method, rec.body, rec.auth, rec.plain)
	}
	if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
		t.Errorf("the Lua script was left behind: %v", left)
	}
}

// A cancelled run stops wrk with SIGINT and still reads its report.
func TestWrkCancelStopsTheRunAndKeepsItsReport(t *testing.T) {
	wrk := testutil.Tool(t, "wrk")
	srv := httptest.NewServer(http.HandlerFunc(fhttp.EchoHandler))
	t.Cleanup(srv.Close)
	p := testProfile(srv.URL+"/echo", 0, 2, 60*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	r, err := NewWrk(wrk, nil).Run(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Aborted || r.Requests() == 0 || r.ActualDuration >= 60*time.Second || r.RequestedDuration != 60*time.Second {
		t.Errorf("aborted %v, %d requests in %s of %s", r.Aborted, r.Requests(), r.ActualDuration, r.RequestedDuration)
	}
	if _, ok := r.Percentile(50); !ok {
		t.Error("no p50 in the aborted run's report")
	}
}

func TestWrkUnreachableTarget(t *testing.T) {
	wrk := testutil.Tool(t, "wrk")
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	_, err := NewWrk(wrk, nil).Run(context.Background(), testProfile(addr+"/", 0, 2, time.Second), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "wrk failed: exit status 1: unable to connect to 127.0.0.1:") {
		t.Errorf("error %v, want wrk's own reason", err)
	}
}

// fakeEngine points the fake tool at a saved output and returns its path
// and the file where it records its arguments.
func fakeEngine(t *testing.T, output string) (bin, argsFile string) {
	t.Helper()
	bin, err := filepath.Abs("testdata/fake-engine.sh")
	if err != nil {
		t.Fatal(err)
	}
	argsFile = filepath.Join(t.TempDir(), "args")
	t.Setenv("FAKE_ENGINE_ARGS", argsFile)
	if output != "" {
		output, err = filepath.Abs(filepath.Join("testdata", output))
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FAKE_ENGINE_OUTPUT", output)
	return bin, argsFile
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// wrk2 cannot be installed here: a stand-in prints a real wrk2 report, which
// proves the engine's exec, script and parse path.
func TestWrk2EngineWithAStandIn(t *testing.T) {
	bin, argsFile := fakeEngine(t, "wrk2/local-wrk2-4.0.0-errors-U-R400.txt")
	p := testProfile("http://127.0.0.1:18080/?status=503:10", 400, 20, 15*time.Second)
	p.Target.Method = "DELETE"
	r, err := NewWrk2(bin, nil).Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := readLines(t, argsFile)
	if want := []string{"-d", "15s", "-t", "2", "-c", "20", "--timeout", "3s", "--latency", "-R", "400", "-U", "-s"}; !reflect.DeepEqual(args[:len(want)], want) {
		t.Errorf("args %q", args)
	}
	if lua, err := os.ReadFile(argsFile + ".lua"); err != nil || !strings.Contains(string(lua), `wrk.method = "DELETE"`) {
		t.Errorf("script %q %v", lua, err)
	}
	if _, err := os.Stat(args[len(args)-2]); !os.IsNotExist(err) {
		t.Errorf("script %s still there: %v", args[len(args)-2], err)
	}
	if r.RequestedQPS != 400 || r.Requests() != 5873 || r.Corrected == nil || r.URL != "http://127.0.0.1:18080/" || r.Aborted {
		t.Errorf("result %+v", r)
	}
}

func TestExternalToolFailures(t *testing.T) {
	t.Run("exit status with stderr", func(t *testing.T) {
		bin, _ := fakeEngine(t, "")
		t.Setenv("FAKE_ENGINE_STDERR", "unable to connect to 10.0.0.1:80 Connection refused")
		t.Setenv("FAKE_ENGINE_EXIT", "1")
		_, err := NewWrk2(bin, nil).Run(context.Background(), testProfile("http://10.0.0.1/", 10, 2, time.Second), nil)
		if err == nil || err.Error() != "wrk2 failed: exit status 1: unable to connect to 10.0.0.1:80 Connection refused" {
			t.Errorf("error %v", err)
		}
	})
	t.Run("unreadable output", func(t *testing.T) {
		bin, _ := fakeEngine(t, "fortio/local-fortio-1.75.3-http-2s.json")
		_, err := NewWrk2(bin, nil).Run(context.Background(), testProfile("http://10.0.0.1/", 10, 2, time.Second), nil)
		if err == nil || !strings.HasPrefix(err.Error(), `wrk2 output: no "N requests in T" line`) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("report printed, then an error exit", func(t *testing.T) {
		bin, _ := fakeEngine(t, "wrk2/local-wrk2-4.0.0-short-3s-nan.txt")
		t.Setenv("FAKE_ENGINE_EXIT", "3")
		r, err := NewWrk2(bin, nil).Run(context.Background(), testProfile("http://10.0.0.1/", 10, 2, 3*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(r.Notes, "\n"), "wrk2 exited with an error after printing its report: exit status 3") {
			t.Errorf("notes %q", r.Notes)
		}
	})
	t.Run("a tool that ignores SIGINT is killed", func(t *testing.T) {
		bin, err := filepath.Abs("testdata/stubborn-engine.sh")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		tool := externalTool{engine: "wrk", bin: bin, logger: discardLogger(nil), grace: 300 * time.Millisecond}
		out := tool.run(ctx)
		if !out.interrupted || out.err == nil || out.err.Error() != "did not stop within 300ms of SIGINT and was killed" {
			t.Errorf("interrupted %v err %v", out.interrupted, out.err)
		}
		if !strings.Contains(out.failure("wrk", errors.New("x")).Error(), "wrk was interrupted before it printed a report") {
			t.Errorf("failure: %v", out.failure("wrk", errors.New("x")))
		}
	})
}
