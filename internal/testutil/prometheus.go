package testutil

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// readyTimeout bounds how long a real server may take to start. Prometheus
// replays an empty TSDB in well under a second; 20s leaves room for a loaded
// CI machine without hiding a server that will never come up.
const readyTimeout = 20 * time.Second

// PrometheusOptions configures a real Prometheus started by StartPrometheus.
type PrometheusOptions struct {
	// Targets are host:port addresses scraped at /metrics by one job (see
	// JobName). Ignored when ScrapeConfigs is set.
	Targets []string
	// JobName of the Targets job; "test" when empty.
	JobName string
	// ScrapeConfigs is the YAML of a scrape_configs list, for several jobs
	// or anything Targets cannot express. It replaces Targets.
	ScrapeConfigs string
	// ScrapeInterval is the global scrape and evaluation interval; 1s when 0.
	ScrapeInterval time.Duration
	// WebConfig is the content of a --web.config.file (tls_server_config,
	// basic_auth_users). With tls_server_config the base URL is https.
	WebConfig string
	// ReadyClient probes /-/ready; needed when WebConfig serves TLS with a
	// certificate the default client does not trust. Nil: a plain client
	// that skips verification when WebConfig serves TLS.
	ReadyClient *http.Client
	// ReadyUsername and ReadyPassword authenticate the readiness probe when
	// WebConfig sets basic_auth_users.
	ReadyUsername, ReadyPassword string
	// Flags are extra command-line flags, e.g. "--enable-feature=...".
	Flags []string
}

// StartPrometheus runs Debian's prometheus (found with Tool) on a free
// 127.0.0.1 port with its own config and data directory, waits until it is
// ready and returns its base URL ("http://127.0.0.1:PORT"). The process is
// killed at the end of the test. If it does not become ready within 20s
// the test fails with the process's output.
func StartPrometheus(t testing.TB, opts PrometheusOptions) string {
	t.Helper()
	bin := Tool(t, "prometheus")
	dir := t.TempDir()

	configFile := filepath.Join(dir, "prometheus.yml")
	writeFile(t, configFile, prometheusConfig(t, opts))
	scheme := "http"
	args := []string{
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
	}
	if opts.WebConfig != "" {
		webFile := filepath.Join(dir, "web.yml")
		writeFile(t, webFile, opts.WebConfig)
		args = append(args, "--web.config.file="+webFile)
		if servesTLS(t, opts.WebConfig) {
			scheme = "https"
		}
	}
	args = append(args, opts.Flags...)

	client := opts.ReadyClient
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
		if scheme == "https" {
			client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		}
	}
	return startServer(t, bin, args, scheme, httpProbe(client, "/-/ready", opts.ReadyUsername, opts.ReadyPassword))
}

// StartNodeExporter runs Debian's prometheus-node-exporter on a free
// 127.0.0.1 port and returns its host:port, ready to be scraped. Extra
// flags (e.g. "--collector.disable-defaults", "--collector.cpu") are passed
// on. The process is killed at the end of the test.
func StartNodeExporter(t testing.TB, flags ...string) string {
	t.Helper()
	bin := Tool(t, "prometheus-node-exporter")
	base := startServer(t, bin, flags, "http", httpProbe(http.DefaultClient, "/metrics", "", ""))
	return strings.TrimPrefix(base, "http://")
}

// httpProbe is ready when GET path answers 200.
func httpProbe(client *http.Client, path, username, password string) func(ctx context.Context, base string) error {
	return func(ctx context.Context, base string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		if username != "" {
			req.SetBasicAuth(username, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
}

// startServer starts bin with args plus --web.listen-address on a free
// port, and waits until probe succeeds. Picking a free port and binding it
// are two steps, so another process may take the port in between: the start
// is retried on a fresh port when the process exits before it is ready.
func startServer(t testing.TB, bin string, args []string, scheme string, probe func(ctx context.Context, base string) error) string {
	t.Helper()
	var lastErr error
	for range 3 {
		addr := FreeAddr(t)
		base := scheme + "://" + addr
		out := &SyncBuffer{}
		cmd := exec.Command(bin, append(append([]string(nil), args...), "--web.listen-address="+addr)...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		// exited is closed when the process has ended; waitErr is set by then.
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}

		err := waitReady(exited, &waitErr, base, probe)
		if err == nil {
			t.Cleanup(stop)
			return base
		}
		stop()
		lastErr = fmt.Errorf("%s %s: %w\n--- output ---\n%s", filepath.Base(bin), strings.Join(cmd.Args[1:], " "), err, out.String())
		if !strings.Contains(out.String(), "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return ""
}

func waitReady(exited <-chan struct{}, waitErr *error, base string, probe func(ctx context.Context, base string) error) error {
	deadline := time.Now().Add(readyTimeout)
	var probeErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready: %v", *waitErr)
		case <-time.After(100 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		probeErr = probe(ctx, base)
		cancel()
		if probeErr == nil {
			return nil
		}
	}
	return fmt.Errorf("not ready after %s (last probe: %v)", readyTimeout, probeErr)
}

// FreeAddr returns a 127.0.0.1:PORT that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func prometheusConfig(t testing.TB, opts PrometheusOptions) string {
	t.Helper()
	interval := opts.ScrapeInterval
	if interval == 0 {
		interval = time.Second
	}
	scrape := opts.ScrapeConfigs
	if scrape == "" && len(opts.Targets) > 0 {
		job := opts.JobName
		if job == "" {
			job = "test"
		}
		cfg := []map[string]any{{
			"job_name":       job,
			"static_configs": []map[string]any{{"targets": opts.Targets}},
		}}
		b, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("encoding scrape config: %v", err)
		}
		scrape = string(b)
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", interval, interval)
	if scrape != "" {
		doc.WriteString("scrape_configs:\n")
		for line := range strings.SplitSeq(strings.TrimRight(scrape, "\n"), "\n") {
			doc.WriteString("  " + line + "\n")
		}
	}
	return doc.String()
}

func servesTLS(t testing.TB, webConfig string) bool {
	t.Helper()
	var web map[string]any
	if err := yaml.Unmarshal([]byte(webConfig), &web); err != nil {
		t.Fatalf("web config is not YAML: %v", err)
	}
	_, ok := web["tls_server_config"]
	return ok
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
