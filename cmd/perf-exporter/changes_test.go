package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
	"github.com/perf-exporter/perf-exporter/store"
	pweb "github.com/perf-exporter/perf-exporter/web"
)

// The API and `changes list|accept` over a daemon's handler: a regression
// is listed open, accepted by the CLI, then listed accepted.
func TestChangesListAndAccept(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tracker := regression.New(st, nil, nil)
	if err := tracker.ApplyConfig(&config.Config{Profiles: []config.Profile{{Name: "checkout"}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 36 {
		p99 := 0.010
		if i >= 30 {
			p99 = 0.015
		}
		p99 *= 1 + 0.01*float64(i%3-1)
		m := &result.Measurement{
			Engine: "fortio", Protocol: "http1", StartTime: start.Add(time.Duration(i) * time.Minute),
			RequestedQPS: 100, ActualQPS: 100, Codes: map[string]int64{"200": 1000},
			Latency: &stats.HistogramData{Count: 1000, Percentiles: []stats.Percentile{{Percentile: 99, Value: p99}}},
		}
		doc := result.NewDocument(m, result.DocumentInfo{RunID: fmt.Sprintf("checkout-%02d", i), Profile: "checkout", Outcome: result.OutcomeSuccess})
		if err := st.Save(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tracker.Observe(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	server := httptest.NewServer(pweb.New(pweb.Options{Gatherer: prometheus.NewRegistry(), Profiles: noProfiles{}, Changes: tracker, EnableAdminAPI: true}))
	defer server.Close()

	var out bytes.Buffer
	if code := changesCall(ctx, &out, "GET", server.URL, "checkout", ""); code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	if !strings.Contains(out.String(), "latency_p99@checkout-30") || !strings.Contains(out.String(), "regression\topen") {
		t.Fatalf("list:\n%s", out.String())
	}
	out.Reset()
	if code := changesCall(ctx, &out, "POST", server.URL+"/", "checkout", "latency_p99@checkout-30"); code != 0 {
		t.Fatalf("accept: exit %d", code)
	}
	if !strings.Contains(out.String(), "regression\taccepted") {
		t.Errorf("accept:\n%s", out.String())
	}
	cs, err := tracker.Changes(ctx, "checkout")
	if err != nil || len(cs) != 1 || cs[0].Status != "accepted" {
		t.Errorf("after accept: %+v, %v", cs, err)
	}
	for _, bad := range [][2]string{{"nope", ""}, {"checkout", "latency_p99@nope"}} {
		method := "GET"
		if bad[1] != "" {
			method = "POST"
		}
		if code := changesCall(ctx, &out, method, server.URL, bad[0], bad[1]); code != 1 {
			t.Errorf("%v: exit %d, want 1", bad, code)
		}
	}
}

type noProfiles struct{}

func (noProfiles) Statuses() []pweb.ProfileStatus { return nil }
func (noProfiles) RunNow(string) error            { return nil }
