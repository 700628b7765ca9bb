package collector

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/perf-exporter/perf-exporter/config"
	tools "github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

const (
	acceptText  = "text/plain;version=0.0.4"
	acceptProto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
)

// scrape GETs /metrics from h and decodes the families, by name.
func scrape(t *testing.T, h http.Handler, accept string, gz bool) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.Bytes()
	if got := w.Header().Get("Content-Encoding") == "gzip"; got != gz {
		t.Fatalf("gzip asked %v, Content-Encoding %q", gz, w.Header().Get("Content-Encoding"))
	}
	if gz {
		r, err := gzip.NewReader(bytes.NewReader(body)) // reads every member
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.ResponseFormat(w.Header()))
	out := map[string]*dto.MetricFamily{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding %s: %v", w.Header().Get("Content-Type"), err)
		}
		if out[mf.GetName()] != nil {
			t.Fatalf("family %s twice in the exposition", mf.GetName())
		}
		out[mf.GetName()] = mf
	}
	return out, body
}

// fakeSource is a ProfileSeries: a gauge per profile.
type fakeSource struct {
	values   map[string]float64
	versions map[string]uint64
}

var descFake = prometheus.NewDesc("perf_fake_value", "A per-profile value of another collector.", []string{"profile"}, nil)

func (f *fakeSource) set(profile string, v float64) {
	f.values[profile] = v
	f.versions[profile]++
}

func (f *fakeSource) ProfileVersions(fn func(string, uint64)) {
	for p := range f.values {
		fn(p, f.versions[p])
	}
}

func (f *fakeSource) CollectProfile(p string, emit func(prometheus.Metric)) {
	if v, ok := f.values[p]; ok {
		emit(prometheus.MustNewConstMetric(descFake, prometheus.GaugeValue, v, p))
	}
}

func (f *fakeSource) Describe(ch chan<- *prometheus.Desc) { ch <- descFake }
func (f *fakeSource) Collect(ch chan<- prometheus.Metric) {
	for p := range f.values {
		f.CollectProfile(p, func(m prometheus.Metric) { ch <- m })
	}
}

// gathered is what a registry holding only c (and others) gathers, by name.
func gathered(t *testing.T, c *Runs, others ...prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	reg.MustRegister(others...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// canonical prints families comparably: metrics sorted, without what
// the text format does not carry when text is true.
func canonical(mfs map[string]*dto.MetricFamily, text bool) string {
	var names []string
	for n := range mfs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		mf := mfs[n]
		var lines []string
		for _, m := range mf.Metric {
			m.TimestampMs = nil
			if m.Counter != nil {
				m.Counter.CreatedTimestamp = nil
			}
			if h := m.Histogram; h != nil {
				h.CreatedTimestamp = nil
				if text { // native buckets are protobuf-only
					h.Schema, h.ZeroThreshold, h.ZeroCount, h.ZeroCountFloat = nil, nil, nil, nil
					h.NegativeSpan, h.NegativeDelta, h.NegativeCount = nil, nil, nil
					h.PositiveSpan, h.PositiveDelta, h.PositiveCount = nil, nil, nil
					h.Exemplars = nil
					// The text parser adds the +Inf bucket the text carries.
					if n := len(h.Bucket); n > 0 && math.IsInf(h.Bucket[n-1].GetUpperBound(), 1) {
						h.Bucket = h.Bucket[:n-1]
					}
				}
			}
			lines = append(lines, prototext.Format(m))
		}
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s %s %q\n%s\n", n, mf.GetType(), mf.GetHelp(), strings.Join(lines, "\n"))
	}
	return b.String()
}

// The cached exposition is what the Runs collect, in every format, after
// each kind of change: a change the cache missed (a method that changes
// series without touching the profile) shows as a difference.
func TestCachedExpositionMatchesCollect(t *testing.T) {
	c := NewRuns(WithShard("0/1"))
	src := &fakeSource{values: map[string]float64{}, versions: map[string]uint64{}}
	h := c.Handler(prometheus.NewRegistry(), func(err error) { t.Error(err) }, src)
	profiles := make([]config.Profile, 0, 150) // more than two blocks
	for i := range 150 {
		p := testProfiles()[0]
		p.Name = fmt.Sprintf("p%03d", i)
		profiles = append(profiles, p)
	}
	doc := func(p string, outcome string) *result.Document {
		d := testDocument(outcome)
		d.PerfExporter.Profile = p
		d.PerfExporter.RunID = p + "-" + outcome + time.Now().String()
		return d
	}
	steps := []struct {
		name   string
		change func()
	}{
		{"nothing yet", func() {}},
		{"profiles", func() { c.SetProfiles(profiles, map[string]time.Duration{"p001": time.Minute}) }},
		{"requests", func() {
			for i, p := range profiles[:70] {
				c.Observer(p.Name).ObserveRequest(time.Duration(i)*time.Millisecond, "200")
			}
		}},
		{"more requests", func() {
			c.Observer("p003").ObserveRequest(2*time.Millisecond, "503")
			c.Observer("p140").ObserveRequest(time.Millisecond, result.CodeError)
		}},
		{"last runs", func() {
			for _, p := range profiles[:100] {
				c.SetLastRun(doc(p.Name, result.OutcomeSuccess))
				c.CountOutcome(p.Name, result.OutcomeSuccess)
			}
		}},
		{"a failed run", func() {
			c.SetLastRun(doc("p007", result.OutcomeSLOMissed))
			c.CountOutcome("p007", result.OutcomeSLOMissed)
		}},
		{"skipped", func() { c.CountOutcome("p008", result.OutcomeSkipped) }},
		{"baseline", func() { c.SetBaseline("p009", map[string]float64{"99": 0.02}) }},
		{"lateness", func() { c.SetScheduleLateness("p010", 3*time.Millisecond) }},
		{"last success", func() { c.SetLastSuccess("p011", time.Unix(1700000000, 0)) }},
		{"bulk", func() {
			h := stats.NewHistogram(0, 0.0001)
			h.Record(0.004)
			c.RecordBulk("p012", &result.Measurement{Codes: map[string]int64{"200": 1, "418": 2}, Latency: h.Export()})
		}},
		{"misses restored", func() {
			c.RestoreMisses(profiles[13], []RunFigures{{RunID: "x", Outcome: result.OutcomeSLOMissed, Requests: 10, ErrorRatio: 0.5}})
		}},
		{"a profile removed, one changed", func() {
			next := append([]config.Profile(nil), profiles[1:]...)
			next[0].Engine = "wrk2"
			c.SetProfiles(next, nil)
		}},
		{"another collector's series", func() { src.set("p005", 1); src.set("zzz-only-there", 2) }},
		{"another collector's series change", func() { src.set("p005", 3) }},
		{"all removed", func() { c.SetProfiles(nil, nil) }},
	}
	for _, step := range steps {
		step.change()
		for _, accept := range []string{acceptText, acceptProto} {
			for _, gz := range []bool{false, true} {
				got, _ := scrape(t, h, accept, gz)
				want := gathered(t, c, src) // canonical changes what it prints
				if g, w := canonical(got, accept == acceptText), canonical(want, accept == acceptText); g != w {
					t.Fatalf("after %s, %s gzip=%v: the cached exposition differs from Collect:\n--- cached\n%s\n--- collected\n%s", step.name, accept, gz, g, w)
				}
			}
		}
	}
}

// The cached exposition, with another collector's families in front,
// passes promtool check metrics.
func TestCachedExpositionPassesPromtool(t *testing.T) {
	promtool := tools.Tool(t, "promtool")
	others := prometheus.NewPedanticRegistry()
	NewReload(others).Record(true, time.Now())
	c := scrapeFixture(130, true)
	_, body := scrape(t, c.Handler(others, func(err error) { t.Error(err) }), acceptText, true)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	if !bytes.Contains(body, []byte("perf_exporter_config_last_reload_successful 1")) {
		t.Error("the other collectors' families are missing")
	}
}

// The cache keeps the series compressed only: at 1 000 profiles their
// uncompressed text and protobuf were 9 MB of a 70 MB process. What it
// holds after scrapes in both formats is a fraction of the exposition.
func TestCacheKeepsSeriesCompressed(t *testing.T) {
	c := scrapeFixture(200, true)
	h := c.Handler(prometheus.NewRegistry(), func(err error) { t.Error(err) })
	raw := 0
	for _, accept := range []string{acceptText, acceptProto} {
		scrape(t, h, accept, true)
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		raw += w.Body.Len()
	}
	c.cache.mu.Lock()
	held := c.cache.retained()
	c.cache.mu.Unlock()
	if held > raw/4 {
		t.Errorf("the cache holds %d bytes for %d bytes of text and protobuf exposition; want at most a quarter", held, raw)
	}
}
