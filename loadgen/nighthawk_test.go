package loadgen

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
)

func TestNighthawkInvocation(t *testing.T) {
	base := func(mod func(p *config.Profile)) config.Profile {
		p := testProfile("http://127.0.0.1:8080/echo", 100, 8, 30*time.Second)
		if mod != nil {
			mod(&p)
		}
		return p
	}
	common := []string{"--output-format", "json", "--no-default-failure-predicates"}
	for _, tc := range []struct {
		name     string
		profile  config.Profile
		args     []string // after the duration and the common flags; the request file at "R"
		requests string   // the request file; "" = none
		notes    []string
		err      string
	}{
		{
			name:    "defaults: one worker",
			profile: base(nil),
			args:    []string{"--rps", "100", "--connections", "8", "--concurrency", "1", "--request-method", "GET", "http://127.0.0.1:8080/echo"},
		},
		{
			name: "h2, workers, headers, body",
			profile: base(func(p *config.Profile) {
				p.Target.Protocol, p.Load.Threads, p.Load.Connections = config.ProtocolHTTP2, 4, 10
				p.Target.Method, p.Target.Body = "POST", "12345"
				p.Target.Headers = map[string]string{"X-B": "2", "X-A": "1"}
			}),
			args: []string{"--h2", "--rps", "25", "--connections", "2", "--concurrency", "4", "--request-method", "POST",
				"--request-header", "X-A: 1", "--request-header", "X-B: 2", "--request-body-size", "5", "http://127.0.0.1:8080/echo"},
			notes: []string{
				"with HTTP/2 nighthawk multiplexes over one connection per worker: 4 connections, not the 10 asked for",
				"nighthawk sends a body of 5 'a' bytes, not the profile's body: it can only set the body's size",
			},
		},
		{
			// Issue 14: a secret header never goes on the command line.
			name: "secret header: the request goes through a file",
			profile: base(func(p *config.Profile) {
				p.Target.Method, p.Target.Body = "PUT", "12345"
				p.Target.Headers = map[string]string{"X-B": "2", "Authorization": "Bearer s3cret", "X-Token": "t0k"}
				p.Target.SecretHeaders = []string{"x-token"}
			}),
			args: []string{"--rps", "100", "--connections", "8", "--concurrency", "1", "--request-source-plugin-config",
				`{"name":"nighthawk.file-based-request-source-plugin","typed_config":{"@type":"type.googleapis.com/nighthawk.request_source.FileBasedOptionsListRequestSourceConfig","file_path":"R"}}`,
				"http://127.0.0.1:8080/echo"},
			requests: `{
  "options": [
    {
      "request_method": "PUT",
      "request_headers": [
        {
          "header": {
            "key": "Authorization",
            "value": "Bearer s3cret"
          }
        },
        {
          "header": {
            "key": "X-B",
            "value": "2"
          }
        },
        {
          "header": {
            "key": "X-Token",
            "value": "t0k"
          }
        }
      ],
      "request_body_size": 5
    }
  ]
}
`,
			notes: []string{"nighthawk sends a body of 5 'a' bytes, not the profile's body: it can only set the body's size"},
		},
		{
			name:    "no rate",
			profile: base(func(p *config.Profile) { p.Load.QPS = 0 }),
			args:    []string{"--rps", "1000000", "--connections", "8", "--concurrency", "1", "--request-method", "GET", "http://127.0.0.1:8080/echo"},
			notes:   []string{"nighthawk has no unlimited rate: load.qps 0 ran closed-loop at up to 1000000 requests/s per worker, limited by the connections"},
		},
		{name: "rate not divisible", profile: base(func(p *config.Profile) { p.Load.QPS, p.Load.Threads = 5, 2 }), err: "load.qps 5 over 2 workers (load.threads) is 2.5 requests/s each; nighthawk_client --rps takes a whole number from 1 to 1000000 per worker: choose a qps that divides evenly"},
		{name: "grpc", profile: base(func(p *config.Profile) { p.Target.Protocol = config.ProtocolGRPC }), err: "protocol grpc is not supported: nighthawk speaks http1 and http2 (use engine fortio for grpc)"},
		{name: "method", profile: base(func(p *config.Profile) { p.Target.Method = "PATCH" }), err: "nighthawk cannot send method PATCH (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS or TRACE)"},
		{name: "threads", profile: base(func(p *config.Profile) { p.Load.Threads = 9 }), err: "load.threads 9 must be between 1 and load.connections (8): each nighthawk worker needs a connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := nighthawkInvocation(tc.profile)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]string{"--duration", "30"}, common...), tc.args...)
			requestsPath := ""
			if c.requests != "" {
				requestsPath = "R"
			}
			if got := c.args(c.seconds, requestsPath); !reflect.DeepEqual(got, want) {
				t.Errorf("args\n got %q\nwant %q", got, want)
			}
			if c.requests != tc.requests {
				t.Errorf("request file\n got %s\nwant %s", c.requests, tc.requests)
			}
			if !reflect.DeepEqual(c.notes, tc.notes) {
				t.Errorf("notes\n got %q\nwant %q", c.notes, tc.notes)
			}
		})
	}
}

// nighthawk_client cannot be installed here: a stand-in records the command
// line and prints a saved output, which proves the exec and parse path.
func TestNighthawkEngineWithAStandIn(t *testing.T) {
	bin, argsFile := fakeEngine(t, "nighthawk/nighthawk-json-2workers-stderr-trailing-comma.txt")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the request file goes
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := testProfile("http://127.0.0.1:8080/echo?size=10&status=503:4", 200, 4, 5*time.Second)
	p.Load.Threads = 2
	p.Target.Headers = map[string]string{"Authorization": "Bearer s3cret"}
	r, err := NewNighthawk(bin, logger).Run(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := readLines(t, argsFile)
	want := []string{"--duration", "5", "--output-format", "json", "--no-default-failure-predicates", "--rps", "100", "--connections", "2",
		"--concurrency", "2", "--request-source-plugin-config"}
	if len(args) != len(want)+2 || !reflect.DeepEqual(args[:len(want)], want) || args[len(args)-1] != "http://127.0.0.1:8080/echo?size=10&status=503:4" {
		t.Errorf("args\n got %q\nwant %q, the request source and the URL", args, want)
	}
	// The secret header is in the request file, never on the command line.
	if strings.Contains(strings.Join(args, " "), "s3cret") {
		t.Errorf("the secret header is on nighthawk_client's command line: %q", args)
	}
	requests, err := os.ReadFile(argsFile + ".requests")
	if err != nil || !strings.Contains(string(requests), `"value": "Bearer s3cret"`) || !strings.Contains(string(requests), `"request_method": "GET"`) {
		t.Errorf("request file %s (%v)", requests, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the request file was left behind: %v", left)
	}
	if strings.Contains(logs.String(), "s3cret") ||
		strings.Contains(logs.String(), "status=503") || !strings.Contains(logs.String(), "http://127.0.0.1:8080/echo") {
		t.Errorf("secret header or query string in the logs, or nothing redacted:\n%s", logs.String())
	}
	checkResultInvariants(t, r)
	if r.Engine != "nighthawk" || r.RequestedQPS != 200 || r.Connections != 4 || r.Requests() != 998 || r.Aborted || r.URL != "http://127.0.0.1:8080/echo" {
		t.Errorf("result %+v", r)
	}
	if v, ok := r.Percentile(99); !ok || !near(v, 0.005640089) {
		t.Errorf("p99 = %g (%v)", v, ok)
	}
}

// A cancelled run sends SIGINT; the tool prints its report and the result
// is marked aborted.
func TestNighthawkCancelKeepsTheReport(t *testing.T) {
	bin, _ := fakeEngine(t, "nighthawk/nighthawk-json-2workers.json")
	t.Setenv("FAKE_ENGINE_SLEEP", "30")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	r, err := NewNighthawk(bin, nil).Run(ctx, testProfile("http://127.0.0.1:8080/echo", 200, 4, 30*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Aborted || r.Requests() != 998 {
		t.Errorf("aborted %v requests %d", r.Aborted, r.Requests())
	}
}

// Stopped before the tool printed anything, or before it started: the run
// is aborted, not failed.
func TestNighthawkCancelBeforeAReport(t *testing.T) {
	bin, argsFile := fakeEngine(t, "")
	p := testProfile("http://127.0.0.1:8080/echo", 200, 4, 30*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := NewNighthawk(bin, nil).Run(ctx, p, nil)
	if err != nil || !r.Aborted || r.Requests() != 0 || !reflect.DeepEqual(r.Notes, []string{"stopped before it started"}) {
		t.Errorf("result %+v, error %v", r, err)
	}
	if _, err := os.Stat(argsFile); !os.IsNotExist(err) {
		t.Errorf("the tool ran: %v", err)
	}

	t.Setenv("FAKE_ENGINE_SLEEP", "30")
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	r, err = NewNighthawk(bin, nil).Run(ctx, p, nil)
	if err != nil || !r.Aborted || r.Requests() != 0 || len(r.Notes) != 1 || !strings.HasPrefix(r.Notes[0], "nighthawk was interrupted before it printed a usable report") {
		t.Errorf("result %+v, error %v", r, err)
	}
}

// A blocked sequencer means the asked rate was not held, unless no rate
// was asked for (the engine's qps 0 runs at nighthawk's largest --rps).
func TestParseNighthawkBlockingAndMaxRate(t *testing.T) {
	blocked := strings.Replace(string(readTestdata(t, "nighthawk/nighthawk-json-2workers.json")),
		`"count": "0",
     "id": "sequencer.blocking"`, `"count": "12",
     "id": "sequencer.blocking"`, 1)
	r, err := parseNighthawk([]byte(blocked), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestedQPS != 200 || !strings.Contains(strings.Join(r.Notes, "\n"), "Nighthawk's sequencer was blocked 12 times") {
		t.Errorf("requested %g, notes %q", r.RequestedQPS, r.Notes)
	}
	maxRate := strings.Replace(blocked, `"requests_per_second": 100,`, `"requests_per_second": 1000000,`, 1)
	r, err = parseNighthawk([]byte(maxRate), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestedQPS != 0 || strings.Contains(strings.Join(r.Notes, "\n"), "sequencer was blocked") {
		t.Errorf("requested %g, notes %q", r.RequestedQPS, r.Notes)
	}
}
