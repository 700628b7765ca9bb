package dashboards

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
	"github.com/perf-exporter/perf-exporter/result"
)

func runDoc(profile, outcome string, start time.Time) *result.Document {
	return &result.Document{
		StartTime: start, ActualDuration: 30 * time.Second, ActualQPS: 99.87,
		DurationHistogram: &stats.HistogramData{Percentiles: []stats.Percentile{{Percentile: 50, Value: 0.0123}, {Percentile: 99, Value: 0.0456}}},
		PerfExporter:      result.Extras{RunID: profile + "-42", Profile: profile, Outcome: outcome, ErrorRatio: 0.0012},
	}
}

// startAnnotator runs an annotator against the fake until the test ends.
func startAnnotator(t *testing.T, s *grafanatest.Server, token string, a *config.GrafanaAnnotations, opts AnnotatorOptions) (*Annotator, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	an := NewAnnotator(reg, nil, opts)
	getenv := func(string) string { return token }
	if err := an.ApplyConfig(&config.Grafana{URL: s.URL, Annotations: a}, getenv); err != nil {
		t.Fatal(err)
	}
	return an, reg
}

func runAnnotator(t *testing.T, an *Annotator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = an.Run(ctx) }) // nil once cancelled
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitCount waits until the counter of a result reaches n; the test's own
// deadline bounds the wait, nothing is asserted about time.
func waitCount(t *testing.T, an *Annotator, result string, n float64) {
	t.Helper()
	for promtestutil.ToFloat64(an.total.WithLabelValues(result)) < n {
		if result == AnnotationSent && counts(an)[1] > 0 {
			t.Fatalf("waiting for %v sent: an annotation failed (counts %v)", n, counts(an))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func counts(an *Annotator) [3]float64 {
	return [3]float64{promtestutil.ToFloat64(an.total.WithLabelValues(AnnotationSent)),
		promtestutil.ToFloat64(an.total.WithLabelValues(AnnotationFailed)),
		promtestutil.ToFloat64(an.total.WithLabelValues(AnnotationDropped))}
}

// One organization annotation per run, a region from the run's start to
// its end, with the tags and text of the contract; sent again (a retry,
// a restart), it is patched, never duplicated.
func TestAnnotateRunsOrganizationWide(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana11)
	an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true, ExternalURL: "https://perf.example/"}, AnnotatorOptions{})
	runAnnotator(t, an)
	start := time.Date(2026, 11, 30, 4, 0, 0, 123e6, time.UTC)
	doc := runDoc("checkout", result.OutcomeSuccess, start)
	an.RunFinished(doc)
	waitCount(t, an, AnnotationSent, 1)

	got := s.Annotations(1)
	if len(got) != 1 {
		t.Fatalf("annotations = %+v, want one", got)
	}
	a := got[0]
	if a.DashboardUID != "" || a.Time != start.UnixMilli() || a.TimeEnd != start.Add(30*time.Second).UnixMilli() {
		t.Errorf("annotation %+v: want an organization region %d..%d", a, start.UnixMilli(), start.Add(30*time.Second).UnixMilli())
	}
	if want := []string{"perf-exporter", "profile:checkout", "outcome:success"}; !slices.Equal(a.Tags, want) {
		t.Errorf("tags %q, want %q", a.Tags, want)
	}
	if want := `checkout: success, p50 12.3ms, p99 45.6ms, 99.9 req/s, 0.12% errors <a href="https://perf.example/runs/checkout-42">run checkout-42</a>`; a.Text != want {
		t.Errorf("text %q\nwant %q", a.Text, want)
	}

	// The same run again (its outcome changed): patched in place.
	doc.PerfExporter.Outcome = result.OutcomeSLOMissed
	an.RunFinished(doc)
	waitCount(t, an, AnnotationSent, 2)
	// And from a new process that does not know the id: found, patched.
	again, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true}, AnnotatorOptions{})
	runAnnotator(t, again)
	again.RunFinished(doc)
	waitCount(t, again, AnnotationSent, 1)
	got = s.Annotations(1)
	if len(got) != 1 || got[0].ID != a.ID || !slices.Contains(got[0].Tags, "outcome:slo_missed") {
		t.Errorf("after sending the run three times: %+v, want annotation %d patched", got, a.ID)
	}
	if n := len(s.RequestsTo(http.MethodPost, "/api/annotations")); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if n := len(s.RequestsTo(http.MethodPatch, "/api/annotations/"+itoa(a.ID))); n != 2 {
		t.Errorf("%d PATCHes, want 2", n)
	}
	// Another run of the profile is another annotation.
	an.RunFinished(runDoc("checkout", result.OutcomeSuccess, start.Add(10*time.Minute)))
	waitCount(t, an, AnnotationSent, 3)
	if got := s.Annotations(1); len(got) != 2 {
		t.Errorf("two runs: %d annotations", len(got))
	}
	if c := counts(an); c[1] != 0 || c[2] != 0 {
		t.Errorf("failed %v, dropped %v", c[1], c[2])
	}
}

func itoa(n int64) string { return strings.TrimSpace(formatFloat(float64(n))) }

// Tied to listed boards: one annotation per board; change points too.
func TestAnnotateRunsOnDashboards(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	for _, uid := range []string{"team-a", "team-b"} {
		s.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"uid": uid, "title": uid}})
	}
	an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true, Dashboards: []string{"team-a", "team-b"}}, AnnotatorOptions{})
	runAnnotator(t, an)
	start := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	an.RunFinished(runDoc("checkout", result.OutcomeFailure, start))
	an.AnnotateChangePoint(ChangePoint{Profile: "checkout", Metric: "latency_p99", Direction: "regression", RunID: "checkout-42", Time: start, Before: 0.010, After: 0.013})
	waitCount(t, an, AnnotationSent, 4)
	var boards []string
	changePoints := 0
	for _, a := range s.Annotations(1) {
		boards = append(boards, a.DashboardUID)
		if slices.Contains(a.Tags, TagChangePoint) {
			changePoints++
			if a.Time != start.UnixMilli() || a.TimeEnd != a.Time || !slices.Equal(a.Tags[:2], []string{"perf-exporter", "profile:checkout"}) || !strings.Contains(a.Text, "regression change point of latency_p99, 0.01 → 0.013 (×1.30)") {
				t.Errorf("change point annotation %+v", a)
			}
		}
	}
	slices.Sort(boards)
	if !slices.Equal(boards, []string{"team-a", "team-a", "team-b", "team-b"}) || changePoints != 2 {
		t.Errorf("annotations on boards %v with %d change points, want a run and a change point on each of team-a and team-b", boards, changePoints)
	}
}

// A Grafana that fails: 500s are retried until they pass; a 403 is final
// at once; a hang times out each attempt and fails; a full queue drops.
// RunFinished returns at once throughout: it only queues.
func TestAnnotateWhenGrafanaFails(t *testing.T) {
	start := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	t.Run("500", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana11)
		s.FailNext(http.MethodPost, "/api/annotations", 2, http.StatusInternalServerError, "Failed to save annotation")
		an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true}, AnnotatorOptions{Attempts: 3})
		runAnnotator(t, an)
		an.RunFinished(runDoc("p", result.OutcomeSuccess, start))
		waitCount(t, an, AnnotationSent, 1)
		if c := counts(an); c != [3]float64{1, 0, 0} || len(s.Annotations(1)) != 1 {
			t.Errorf("counts %v, annotations %d", c, len(s.Annotations(1)))
		}
		if n := len(s.RequestsTo(http.MethodPost, "/api/annotations")); n != 3 {
			t.Errorf("%d POSTs, want 3", n)
		}
	})
	t.Run("500 every time", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana11)
		s.FailNext(http.MethodPost, "/api/annotations", 100, http.StatusServiceUnavailable, "down")
		an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true}, AnnotatorOptions{Attempts: 3})
		runAnnotator(t, an)
		an.RunFinished(runDoc("p", result.OutcomeSuccess, start))
		waitCount(t, an, AnnotationFailed, 1)
		if n := len(s.RequestsTo(http.MethodPost, "/api/annotations")); n != 3 || len(s.Annotations(1)) != 0 {
			t.Errorf("%d POSTs (want 3), %d annotations", n, len(s.Annotations(1)))
		}
	})
	t.Run("403", func(t *testing.T) {
		s := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{testToken: {Role: grafanatest.Viewer}}})
		an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true}, AnnotatorOptions{Attempts: 5})
		runAnnotator(t, an)
		an.RunFinished(runDoc("p", result.OutcomeSuccess, start))
		waitCount(t, an, AnnotationFailed, 1)
		if n := len(s.RequestsTo(http.MethodPost, "/api/annotations")); n != 1 {
			t.Errorf("a 403 was sent %d times, want once", n)
		}
		if c := counts(an); c != [3]float64{0, 1, 0} {
			t.Errorf("counts %v", c)
		}
	})
	t.Run("hang and a full queue", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana11)
		s.HangNext(http.MethodGet, "/api/annotations", 100)
		an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true}, AnnotatorOptions{Attempts: 2, QueueSize: 1, Timeout: 20 * time.Millisecond})
		// Five runs end while nothing is sent: one waits, four are dropped.
		for i := range 5 {
			an.RunFinished(runDoc("p", result.OutcomeSuccess, start.Add(time.Duration(i)*time.Minute)))
		}
		if c := counts(an); c != [3]float64{0, 0, 4} {
			t.Errorf("counts %v, want 4 dropped", c)
		}
		runAnnotator(t, an)
		waitCount(t, an, AnnotationFailed, 1)
		if n := len(s.RequestsTo(http.MethodGet, "/api/annotations")); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
		if len(s.Annotations(1)) != 0 {
			t.Error("an annotation was made")
		}
	})
}

// Disabled (no annotations section, or enabled: false): nothing is queued
// or counted.
func TestAnnotatorDisabled(t *testing.T) {
	an := NewAnnotator(nil, nil, AnnotatorOptions{})
	for _, g := range []*config.Grafana{nil, {URL: "http://g:3000"}, {URL: "http://g:3000", Annotations: &config.GrafanaAnnotations{}}} {
		if err := an.ApplyConfig(g, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		an.RunFinished(runDoc("p", result.OutcomeSuccess, time.Now()))
	}
	if len(an.queue) != 0 || counts(an) != [3]float64{} {
		t.Errorf("queued %d, counts %v", len(an.queue), counts(an))
	}
}

// Every bundled board shows the annotations: a Grafana-datasource query
// filtered by the tag every annotation carries.
func TestBundledBoardsShowTheAnnotations(t *testing.T) {
	for _, b := range allBoards(t, nil) {
		annotations, _ := b.Model["annotations"].(map[string]any)
		list, _ := annotations["list"].([]any)
		found := false
		for _, a := range list {
			m, _ := a.(map[string]any)
			ds, _ := m["datasource"].(map[string]any)
			target, _ := m["target"].(map[string]any)
			tags, _ := target["tags"].([]any)
			found = found || ds["uid"] == "-- Grafana --" && target["type"] == "tags" && len(tags) == 1 && tags[0] == TagRuns && m["enable"] == true
		}
		if !found {
			t.Errorf("board %s has no enabled annotation query for tag %s", b.Name, TagRuns)
		}
	}
}

// An imported board gains the annotation query once, and equals the
// bundled boards' query.
func TestImportedBoardGainsTheAnnotationQuery(t *testing.T) {
	b := Board{Name: "team", Model: map[string]any{"uid": "team", "title": "Team"}}
	if !b.AddRunAnnotations() || b.AddRunAnnotations() {
		t.Fatal("added not exactly once")
	}
	list := b.Model["annotations"].(map[string]any)["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("list %v", list)
	}
	for _, bundled := range allBoards(t, nil) {
		if bundled.AddRunAnnotations() {
			t.Errorf("board %s lacked the query", bundled.Name)
		}
		for _, a := range bundled.Model["annotations"].(map[string]any)["list"].([]any) {
			if m := a.(map[string]any); m["name"] == "perf-exporter annotations" && !reflect.DeepEqual(m, list[0]) {
				t.Errorf("board %s: %v, want %v", bundled.Name, m, list[0])
			}
		}
	}
}
