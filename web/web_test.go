package web

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/perf-exporter/perf-exporter/config"
)

// runNowProfiles answers RunNow like the scheduler does.
type runNowProfiles struct {
	statuses []ProfileStatus
	running  map[string]bool
	stopping bool
}

func (p runNowProfiles) Statuses() []ProfileStatus { return p.statuses }
func (p runNowProfiles) RunNow(name string) error {
	for _, st := range p.statuses {
		if st.Profile.Name == name {
			if p.running[name] {
				return fmt.Errorf("%w: %q", ErrRunning, name)
			}
			if p.stopping {
				return fmt.Errorf("%w: %q", ErrStopping, name)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownProfile, name)
}

func coreServer(t *testing.T, reload func() error, ready *atomic.Bool) *httptest.Server {
	t.Helper()
	p := config.Profile{Name: "checkout", Schedule: "@every 1m",
		Target: config.Target{URL: "https://user:pw@shop/cart?token=abc", Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Test": "1"}}}
	p.ApplyDefaults()
	profiles := runNowProfiles{
		statuses: []ProfileStatus{{Profile: p}, {Profile: config.Profile{Name: "busy"}}},
		running:  map[string]bool{"busy": true},
	}
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: profiles, Reload: reload, Ready: ready,
		EnableLifecycle: true, EnableAdminAPI: true}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestCoreEndpoints(t *testing.T) {
	var ready atomic.Bool
	reloadErr := errors.New("config.yaml:3: profile \"x\": schedule \"nope\": bad")
	srv := coreServer(t, func() error { return reloadErr }, &ready)
	tests := []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/-/healthy", 200, "Healthy"},
		{"GET", "/-/ready", 503, "Not ready"},
		{"POST", "/-/reload", 500, "config.yaml:3"},
		{"GET", "/-/reload", 405, ""},
		{"POST", "/api/v1/profiles/checkout/run", 202, `"started"`},
		{"POST", "/api/v1/profiles/busy/run", 409, "already running"},
		{"POST", "/api/v1/profiles/nope/run", 404, "no such profile"},
		{"GET", "/metrics", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, body := do(t, tc.method, srv.URL+tc.path)
			if status != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("%d %q, want %d containing %q", status, body, tc.status, tc.contains)
			}
		})
	}
	ready.Store(true)
	if status, _ := do(t, "GET", srv.URL+"/-/ready"); status != 200 {
		t.Errorf("ready after start-up: %d", status)
	}
}

func TestProfilesAPIShowsNoSecrets(t *testing.T) {
	srv := coreServer(t, func() error { return nil }, nil)
	status, body := do(t, "GET", srv.URL+"/api/v1/profiles")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	for _, secret := range []string{"s3cret", "pw@", "token=abc"} {
		if strings.Contains(body, secret) {
			t.Errorf("profiles API leaks %q:\n%s", secret, body)
		}
	}
	var views []ProfileView
	if err := json.Unmarshal([]byte(body), &views); err != nil {
		t.Fatal(err)
	}
	if views[0].Target != "https://shop/cart" || views[0].Headers["X-Test"] != "1" || views[0].Headers["Authorization"] != "<secret>" {
		t.Errorf("profile view %+v", views[0])
	}
}

func TestMetricsAreGzippedOnlyWhenAccepted(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "perf_test_gauge", Help: "A gauge."}))
	srv := httptest.NewServer(New(Options{Gatherer: reg, Profiles: runNowProfiles{}}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		acceptEncoding string
		gzipped        bool
	}{{"gzip", true}, {"br, gzip;q=0.8", true}, {"gzip;q=0", false}, {"identity", false}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		req.Header.Set("Accept-Encoding", tc.acceptEncoding)
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
			t.Errorf("Accept-Encoding %q: gzipped %v, want %v", tc.acceptEncoding, got, tc.gzipped)
		}
		if tc.gzipped {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		text, _ := io.ReadAll(body)
		resp.Body.Close()
		if !strings.Contains(string(text), "perf_test_gauge 0") {
			t.Errorf("Accept-Encoding %q: body %q", tc.acceptEncoding, text)
		}
	}
}

// failingGatherer makes promhttp answer 500.
type failingGatherer struct{}

func (failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	return nil, errors.New("collector exploded")
}

func TestMetricsErrorIsReadableWithGzip(t *testing.T) {
	srv := httptest.NewServer(New(Options{Gatherer: failingGatherer{}, Profiles: runNowProfiles{}}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || resp.Header.Get("Content-Encoding") != "" || !strings.Contains(string(body), "collector exploded") {
		t.Errorf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
	}
}

func TestRunNowWhileShuttingDown(t *testing.T) {
	profiles := runNowProfiles{statuses: []ProfileStatus{{Profile: config.Profile{Name: "checkout"}}}, stopping: true}
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: profiles, EnableAdminAPI: true}))
	t.Cleanup(srv.Close)
	if status, body := do(t, "POST", srv.URL+"/api/v1/profiles/checkout/run"); status != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("%d %q, want 503 saying the exporter is shutting down", status, body)
	}
}
