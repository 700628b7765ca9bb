package collector

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/result"
)

// BenchmarkObserveRequest is the collector's share of every request's cost.
func BenchmarkObserveRequest(b *testing.B) {
	c := NewRuns()
	c.SetProfiles(testProfiles(), nil)
	obs := c.Observer("checkout")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := time.Millisecond
		for pb.Next() {
			obs.ObserveRequest(d, "200")
			d += time.Microsecond
		}
	})
}

// BenchmarkCollect is one scrape of 200 profiles with a last run each.
func BenchmarkCollect(b *testing.B) {
	c := NewRuns()
	profiles := testProfiles()
	base := profiles[0]
	profiles = profiles[:0]
	for i := range 200 {
		p := base
		p.Name = "profile-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		profiles = append(profiles, p)
	}
	c.SetProfiles(profiles, nil)
	for _, p := range profiles {
		doc := testDocument(result.OutcomeSuccess)
		doc.PerfExporter.Profile = p.Name
		c.SetLastRun(doc)
		c.Observer(p.Name).ObserveRequest(time.Millisecond, "200")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
