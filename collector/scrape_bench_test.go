package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// BenchmarkScrape is GET /metrics of 200 profiles through promhttp, as
// the daemon serves it: every profile with a last run (latency, send
// lateness and corrected percentiles), a baseline, a schedule lateness and
// live request series. "live-only" has the live series alone (the
// cumulative histograms and counters): what a scrape would still cost if
// the unchanged gauges cost nothing.
func BenchmarkScrape(b *testing.B) {
	const (
		text     = "text/plain;version=0.0.4"
		protobuf = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
	)
	for _, bc := range []struct {
		name, accept string
		lastRuns     bool
	}{
		{"text-gzip", text, true},
		{"protobuf-gzip", protobuf, true},
		{"text-gzip-live-only", text, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(scrapeFixture(200, bc.lastRuns))
			h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			b.ReportAllocs()
			var size int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept", bc.accept)
				req.Header.Set("Accept-Encoding", "gzip")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "gzip-bytes")
		})
	}
}

func scrapeFixture(n int, lastRuns bool) *Runs {
	c := NewRuns()
	base := testProfiles()[0]
	profiles := make([]config.Profile, 0, n)
	for i := range n {
		p := base
		p.Name = fmt.Sprintf("profile-%03d", i)
		profiles = append(profiles, p)
	}
	if lastRuns {
		c.SetProfiles(profiles, nil)
	}
	for _, p := range profiles {
		obs := c.Observer(p.Name)
		for i := range 100 {
			obs.ObserveRequest(time.Duration(i)*100*time.Microsecond, "200")
		}
		if !lastRuns {
			continue
		}
		doc := testDocument(result.OutcomeSuccess)
		doc.PerfExporter.Profile = p.Name
		doc.PerfExporter.SendLateness = doc.DurationHistogram
		doc.PerfExporter.CorrectedDurationHistogram = doc.DurationHistogram
		c.SetLastRun(doc)
		c.SetBaseline(p.Name, map[string]float64{"50": 0.01, "75": 0.01, "90": 0.01, "99": 0.01, "99.9": 0.01})
		c.SetScheduleLateness(p.Name, time.Millisecond)
	}
	return c
}
