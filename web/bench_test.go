package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Budgets of the landing page with 1 000 stored runs of a profile, all
// charted (since=30d): what it may take to render and how big it may be.
// BenchmarkLandingPage1000Runs checks them (make bench runs it); the
// README states them with what was measured.
const (
	landingPageBudget      = 100 * time.Millisecond
	landingPageBytesBudget = 1 << 20
)

// BenchmarkLandingPage1000Runs renders the landing page of a profile with
// 1 000 runs in its last 30 days (the default retention), every one a
// point on the charts.
func BenchmarkLandingPage1000Runs(b *testing.B) {
	var runs []testRun
	for i := range 1000 {
		runs = append(runs, testRun{id: fmt.Sprintf("checkout-%04d", i), profile: "checkout",
			start: now.Add(-time.Duration(1000-i) * 40 * time.Minute), corrected: true, scale: 1 + float64(i%7)/10})
	}
	h := New(Options{Gatherer: prometheus.NewRegistry(), Profiles: staticProfiles{profileStatus("checkout", nil)},
		History: openHistory(b, runs...), Now: func() time.Time { return now }})
	req := httptest.NewRequest(http.MethodGet, "/?since=30d", nil)
	var size int
	// What a browser transfers: the page gzipped.
	zreq := httptest.NewRequest(http.MethodGet, "/?since=30d", nil)
	zreq.Header.Set("Accept-Encoding", "gzip")
	zrec := httptest.NewRecorder()
	h.ServeHTTP(zrec, zreq)
	if zrec.Header().Get("Content-Encoding") != "gzip" {
		b.Fatal("the landing page is not compressed")
	}
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		size = rec.Body.Len()
	}
	perPage := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(size), "bytes/page")
	b.ReportMetric(float64(zrec.Body.Len()), "gzip-bytes/page")
	b.ReportMetric(float64(perPage.Microseconds())/1000, "ms/page")
	if size > landingPageBytesBudget {
		b.Errorf("the page is %d bytes, over its budget of %d", size, landingPageBytesBudget)
	}
	if perPage > landingPageBudget {
		b.Errorf("the page takes %v to render, over its budget of %v", perPage, landingPageBudget)
	}
}
