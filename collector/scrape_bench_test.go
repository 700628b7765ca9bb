package collector

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// BenchmarkScrape is GET /metrics of 200 and 1 000 profiles as the daemon
// serves it (Runs.Handler, the exposition cache, gzip): every profile with
// a last run (latency, send lateness and corrected percentiles), a
// baseline, a schedule lateness and live request series. "idle" changes
// nothing between scrapes; "run" has 4 profiles (max_concurrent_runs: 4)
// record requests between scrapes, so their live series are encoded and
// compressed again. "uncached" is promhttp over a registry, as before the
// cache.
func BenchmarkScrape(b *testing.B) {
	const (
		text     = "text/plain;version=0.0.4"
		protobuf = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
	)
	for _, n := range []int{200, 1000} {
		for _, bc := range []struct {
			name, accept string
			run          bool
			uncached     bool
		}{
			{"text-idle", text, false, false},
			{"protobuf-idle", protobuf, false, false},
			{"text-run", text, true, false},
			{"protobuf-run", protobuf, true, false},
			{"text-uncached", text, false, true},
			{"protobuf-uncached", protobuf, false, true},
		} {
			b.Run(fmt.Sprintf("profiles=%d/%s", n, bc.name), func(b *testing.B) {
				c := scrapeFixture(n, true)
				var h http.Handler
				if bc.uncached {
					reg := prometheus.NewRegistry()
					reg.MustRegister(c)
					h = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
				} else {
					h = c.Handler(prometheus.NewRegistry(), func(err error) { b.Error(err) })
				}
				mustScrape(b, h, bc.accept) // the first scrape encodes every profile: start-up, not a scrape
				b.ReportAllocs()
				var size, raw int
				i := 0
				for b.Loop() {
					if bc.run {
						for k := range 4 {
							obs := c.Observer(fmt.Sprintf("profile-%03d", (k*97+i)%n))
							for j := range 100 {
								obs.ObserveRequest(time.Duration(j)*100*time.Microsecond, "200")
							}
						}
						i++
					}
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
				if zr, err := gzip.NewReader(bytes.NewReader(mustScrape(b, h, bc.accept))); err == nil {
					body, _ := io.ReadAll(zr)
					raw = len(body)
				}
				b.ReportMetric(float64(size), "gzip-bytes")
				b.ReportMetric(float64(raw)/float64(n), "bytes/profile")
			})
		}
	}
}

func mustScrape(_ testing.TB, h http.Handler, accept string) []byte {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Body.Bytes()
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
