package web

import (
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

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/scheduler"
)

// runNowProfiles answers RunNow like the scheduler does.
type runNowProfiles struct {
	statuses []scheduler.Status
	running  map[string]bool
}

func (p runNowProfiles) Statuses() []scheduler.Status { return p.statuses }
func (p runNowProfiles) RunNow(name string) error {
	for _, st := range p.statuses {
		if st.Profile.Name == name {
			if p.running[name] {
				return fmt.Errorf("%w: %q", scheduler.ErrRunning, name)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: %q", scheduler.ErrUnknownProfile, name)
}

func coreServer(t *testing.T, reload func() error, ready *atomic.Bool) *httptest.Server {
	t.Helper()
	p := config.Profile{Name: "checkout", Schedule: "@every 1m",
		Target: config.Target{URL: "https://user:pw@shop/cart?token=abc", Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Test": "1"}}}
	p.ApplyDefaults()
	profiles := runNowProfiles{
		statuses: []scheduler.Status{{Profile: p}, {Profile: config.Profile{Name: "busy"}}},
		running:  map[string]bool{"busy": true},
	}
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: profiles, Reload: reload, Ready: ready}))
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
