package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
)

// recordingProfiles counts the runs started and the reloads done, so a
// refused request is seen to have changed nothing.
type recordingProfiles struct {
	runs *atomic.Int64
}

func (p recordingProfiles) Statuses() []ProfileStatus {
	return []ProfileStatus{{Profile: config.Profile{Name: "checkout"}}}
}
func (p recordingProfiles) RunNow(string) error { p.runs.Add(1); return nil }

type writeServer struct {
	url           string
	runs, reloads *atomic.Int64
}

func newWriteServer(t *testing.T, lifecycle, adminAPI bool) writeServer {
	t.Helper()
	s := writeServer{runs: &atomic.Int64{}, reloads: &atomic.Int64{}}
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: recordingProfiles{s.runs},
		Reload: func() error { s.reloads.Add(1); return nil }, EnableLifecycle: lifecycle, EnableAdminAPI: adminAPI}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// post sends a POST with extra headers, as a browser or curl would.
func post(t *testing.T, url string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestWriteEndpointsNeedTheirFlag: without --web.enable-lifecycle and
// --web.enable-admin-api the write endpoints answer 403 naming the flag
// and do nothing; with the flag they work; the read endpoints never need
// one.
func TestWriteEndpointsNeedTheirFlag(t *testing.T) {
	tests := []struct {
		path      string
		flag      string
		lifecycle bool
		adminAPI  bool
		status    int
	}{
		{"/-/reload", FlagLifecycle, false, false, 403},
		{"/-/reload", FlagLifecycle, false, true, 403},
		{"/-/reload", "", true, false, 200},
		{"/api/v1/profiles/checkout/run", FlagAdminAPI, false, false, 403},
		{"/api/v1/profiles/checkout/run", FlagAdminAPI, true, false, 403},
		{"/api/v1/profiles/checkout/run", "", false, true, 202},
	}
	for _, tc := range tests {
		s := newWriteServer(t, tc.lifecycle, tc.adminAPI)
		status, body := post(t, s.url+tc.path, nil)
		if status != tc.status {
			t.Errorf("POST %s (lifecycle %v, admin API %v): %d %q, want %d", tc.path, tc.lifecycle, tc.adminAPI, status, body, tc.status)
		}
		if tc.flag != "" && !strings.Contains(body, tc.flag) {
			t.Errorf("POST %s: %q does not name %s", tc.path, body, tc.flag)
		}
		done := s.runs.Load() + s.reloads.Load()
		if want := int64(0); tc.status == 403 && done != want {
			t.Errorf("POST %s refused, yet %d runs or reloads happened", tc.path, done)
		}
		if tc.status != 403 && done != 1 {
			t.Errorf("POST %s accepted, yet %d runs or reloads happened, want 1", tc.path, done)
		}
		// Reads never need a flag.
		for _, path := range []string{"/", "/metrics", "/api/v1/profiles", "/-/healthy"} {
			if status, _ := do(t, "GET", s.url+path); status != 200 {
				t.Errorf("GET %s: %d with lifecycle %v, admin API %v", path, status, tc.lifecycle, tc.adminAPI)
			}
		}
	}
	// The API answers JSON, like its other errors.
	s := newWriteServer(t, false, false)
	if _, body := post(t, s.url+"/api/v1/profiles/checkout/run", nil); !strings.HasPrefix(body, "{") || !strings.Contains(body, `"error": "POST /api/v1/profiles/checkout/run is disabled: start perf-exporter with --web.enable-admin-api to enable it"`) {
		t.Errorf("disabled run now: %q", body)
	}
	// A route that does not exist, or a wrong method, is not a 403.
	if status, _ := post(t, s.url+"/api/v1/nothing", nil); status != 404 {
		t.Errorf("POST to no route: %d, want 404", status)
	}
	if status, _ := post(t, s.url+"/api/v1/profiles", nil); status != 405 {
		t.Errorf("POST to a GET route: %d, want 405", status)
	}
}

// TestWriteEndpointsRefuseCrossOrigin: a browser's cross-origin POST (a page
// on another site submitting a form or calling fetch) gets 403 and changes
// nothing, even with the flags on; the exporter's own page and non-browser
// clients (curl, Prometheus tooling) get through.
func TestWriteEndpointsRefuseCrossOrigin(t *testing.T) {
	s := newWriteServer(t, true, true)
	host := strings.TrimPrefix(s.url, "http://")
	tests := []struct {
		name    string
		headers map[string]string
		allowed bool
	}{
		{"cross-site browser", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, false},
		{"same-site other origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other." + host}, false},
		{"old browser, foreign Origin", map[string]string{"Origin": "http://evil.example"}, false},
		{"own page", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.url}, true},
		{"old browser, own Origin", map[string]string{"Origin": s.url}, true},
		{"curl", nil, true},
	}
	for _, path := range []string{"/-/reload", "/api/v1/profiles/checkout/run"} {
		for _, tc := range tests {
			before := s.runs.Load() + s.reloads.Load()
			status, body := post(t, s.url+path, tc.headers)
			changed := s.runs.Load()+s.reloads.Load() != before
			if tc.allowed {
				if status == 403 || !changed {
					t.Errorf("%s: POST %s: %d %q, want it done", tc.name, path, status, body)
				}
				continue
			}
			if status != 403 || changed || !strings.Contains(body, "cross-origin request refused") {
				t.Errorf("%s: POST %s: %d %q (done: %v), want 403 refusing the cross-origin request", tc.name, path, status, body, changed)
			}
		}
	}
	// Cross-origin reads stay allowed: the pages link to each other and
	// Grafana may link to them.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/profiles", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("cross-site GET: %d", resp.StatusCode)
	}
}

// TestLandingPageShowsWriteButtonsOnlyWhenEnabled: the run-now and reload
// buttons post to their endpoints, and show only with the endpoint's flag.
func TestLandingPageShowsWriteButtonsOnlyWhenEnabled(t *testing.T) {
	for _, tc := range []struct{ lifecycle, adminAPI bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		s := newWriteServer(t, tc.lifecycle, tc.adminAPI)
		status, body := do(t, "GET", s.url+"/")
		if status != 200 {
			t.Fatalf("landing page: %d", status)
		}
		runForm := `<form class="inline" method="post" action="api/v1/profiles/checkout/run"><button type="submit">Run now</button></form>`
		reloadForm := `<form class="inline" method="post" action="-/reload"><button type="submit">Reload config</button></form>`
		if got := strings.Contains(body, runForm); got != tc.adminAPI {
			t.Errorf("admin API %v: run-now button shown %v", tc.adminAPI, got)
		}
		if got := strings.Contains(body, reloadForm); got != tc.lifecycle {
			t.Errorf("lifecycle %v: reload button shown %v", tc.lifecycle, got)
		}
		if n := strings.Count(body, `method="post"`); n != btoi(tc.lifecycle)+btoi(tc.adminAPI) {
			t.Errorf("lifecycle %v, admin API %v: %d write forms", tc.lifecycle, tc.adminAPI, n)
		}
	}
}

// TestWriteButtonsLeadBackToThePage: the landing page's buttons, submitted
// by a browser (Accept: text/html), are answered with a redirect back to
// the page, which resolves to it from the endpoint; API clients get 202 and
// the text as before.
func TestWriteButtonsLeadBackToThePage(t *testing.T) {
	s := newWriteServer(t, true, true)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/-/reload", "/api/v1/profiles/checkout/run"} {
		req, _ := http.NewRequest(http.MethodPost, s.url+path, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/" {
			t.Errorf("browser POST %s: %d to %v (%v), want 303 to the landing page", path, resp.StatusCode, loc, err)
		}
	}
	if s.runs.Load() != 1 || s.reloads.Load() != 1 {
		t.Errorf("%d runs, %d reloads: want one of each", s.runs.Load(), s.reloads.Load())
	}
	if status, body := post(t, s.url+"/api/v1/profiles/checkout/run", nil); status != http.StatusAccepted || !strings.Contains(body, `"started"`) {
		t.Errorf("API POST run: %d %q", status, body)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLandingPageSaysWhenTheHistoryIsNotWritten: a store that cannot be
// written shows one line at the top of the page, with the reason.
func TestLandingPageSaysWhenTheHistoryIsNotWritten(t *testing.T) {
	status := store.Status{Available: true}
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{},
		StoreStatus: func() store.Status { return status }}))
	t.Cleanup(srv.Close)
	if _, body := do(t, "GET", srv.URL+"/"); strings.Contains(body, "store-down") {
		t.Errorf("a working store is reported as down")
	}
	status = store.Status{Reason: "store /data/runs.db: saving run x: write /data/runs.db: no space left on device", WriteFailures: 2}
	_, body := do(t, "GET", srv.URL+"/")
	if !strings.Contains(body, `<p class="bad" id="store-down"><strong>The run history is not being written</strong>`) ||
		!strings.Contains(body, "no space left on device</p>") {
		t.Errorf("landing page with a full disk does not say so:\n%s", body)
	}
}

// acceptingChanges counts accepted change points.
type acceptingChanges struct{ accepted *atomic.Int64 }

func (acceptingChanges) BaselineWindow(context.Context, string) (time.Time, time.Time, error) {
	return time.Time{}, time.Time{}, nil
}

func (acceptingChanges) Changes(context.Context, string) ([]regression.Change, error) {
	return nil, nil
}
func (c acceptingChanges) Accept(_ context.Context, _, id string) (regression.Change, error) {
	c.accepted.Add(1)
	return regression.Change{ID: id, Status: "accepted"}, nil
}

// TestAcceptChangeNeedsTheAdminAPI: accepting a change point is one of the
// API's write endpoints: 403 naming --web.enable-admin-api without it,
// refused cross-origin with it, done otherwise.
func TestAcceptChangeNeedsTheAdminAPI(t *testing.T) {
	const path = "/api/v1/profiles/checkout/changes/latency_p99@checkout-30/accept"
	for _, adminAPI := range []bool{false, true} {
		accepted := &atomic.Int64{}
		srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{},
			Changes: acceptingChanges{accepted}, EnableAdminAPI: adminAPI}))
		t.Cleanup(srv.Close)
		if status, body := post(t, srv.URL+path, map[string]string{"Sec-Fetch-Site": "cross-site"}); status != 403 || !strings.Contains(body, "cross-origin request refused") {
			t.Errorf("admin API %v: cross-site accept: %d %q", adminAPI, status, body)
		}
		status, body := post(t, srv.URL+path, nil)
		switch {
		case !adminAPI && (status != 403 || !strings.Contains(body, FlagAdminAPI)):
			t.Errorf("accept without %s: %d %q, want 403 naming the flag", FlagAdminAPI, status, body)
		case adminAPI && status != 200:
			t.Errorf("accept with %s: %d %q", FlagAdminAPI, status, body)
		}
		if want := int64(btoi(adminAPI)); accepted.Load() != want {
			t.Errorf("admin API %v: %d change points accepted, want %d", adminAPI, accepted.Load(), want)
		}
		if status, _ := do(t, "GET", srv.URL+"/api/v1/profiles/checkout/changes"); status != 200 {
			t.Errorf("listing the changes needs no flag: %d", status)
		}
	}
}

// unavailableHistory is a store that could not be opened.
type unavailableHistory struct{}

func (unavailableHistory) List(context.Context, store.Query) ([]store.Summary, string, error) {
	return nil, "", fmt.Errorf("%w: store /data/runs.db is corrupt", store.ErrUnavailable)
}
func (unavailableHistory) Get(context.Context, string) (*result.Document, error) {
	return nil, fmt.Errorf("%w: store /data/runs.db is corrupt", store.ErrUnavailable)
}
func (unavailableHistory) BaselineWithin(context.Context, string, int, time.Time, time.Time) (map[string]float64, int, error) {
	return nil, 0, fmt.Errorf("%w: store /data/runs.db is corrupt", store.ErrUnavailable)
}

// TestResultsAPIWithoutHistory: with no store open (a corrupt file kept
// as it is) the results API answers 503 with the reason, not 500.
func TestResultsAPIWithoutHistory(t *testing.T) {
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{}, History: unavailableHistory{}}))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/api/v1/results", "/api/v1/results/x"} {
		if status, body := do(t, "GET", srv.URL+path); status != http.StatusServiceUnavailable || !strings.Contains(body, "the run history is unavailable: store /data/runs.db is corrupt") {
			t.Errorf("GET %s: %d %q, want 503 with the reason", path, status, body)
		}
	}
}
