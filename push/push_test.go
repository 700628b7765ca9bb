package push

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"fortio.org/fortio/stats"
	"github.com/golang/snappy"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/prompb"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

func testProfile() config.Profile {
	ratio := 0.05
	return config.Profile{Name: "ci", Engine: "fortio",
		Target: config.Target{URL: "http://user:secret@t:8080/echo?token=x", Protocol: "http1"},
		SLO:    config.SLO{Latency: map[string]config.Duration{"99": config.Duration(time.Second)}, ErrorRatio: &ratio}}
}

func finishedSeries(t *testing.T, labels map[string]string) *Series {
	t.Helper()
	s, err := NewSeries(testProfile(), labels)
	if err != nil {
		t.Fatal(err)
	}
	obs := s.Observer()
	h := stats.NewHistogram(0, 0.0001)
	for i := range 10 {
		obs.ObserveRequest(time.Duration(i+1)*time.Millisecond, "200")
		h.Record(float64(i+1) / 1000)
	}
	obs.ObserveRequest(3*time.Millisecond, "503")
	h.Record(0.003)
	m := &result.Measurement{Engine: "fortio", Protocol: "http1", URL: "http://t:8080/echo", ActualDuration: time.Second,
		ActualQPS: 11, Connections: 2, Codes: map[string]int64{"200": 10, "503": 1}, StartTime: time.Unix(1700000000, 0),
		Latency: h.Export().CalcPercentiles([]float64{50, 99})}
	s.Finish(result.NewDocument(m, result.DocumentInfo{Profile: "ci", Outcome: result.OutcomeSuccess}), nil)
	return s
}

// series indexes a write request by its series' labels, written as
// name{a="1",b="2"} with the labels in the request's order.
func seriesOf(req *prompb.WriteRequest) map[string]float64 {
	out := map[string]float64{}
	for _, ts := range req.Timeseries {
		var name string
		var parts []string
		for _, l := range ts.Labels {
			if l.Name == "__name__" {
				name = l.Value
				continue
			}
			parts = append(parts, l.Name+`="`+l.Value+`"`)
		}
		out[name+"{"+strings.Join(parts, ",")+"}"] = ts.Samples[0].Value
	}
	return out
}

// TestWriteRequestHasTheDaemonsSeries: the request carries the collector's
// per-profile series, histograms as classic buckets, the extra labels and
// job on every series, labels sorted (remote write 1.0 requires it), one
// sample each at the push time.
func TestWriteRequestHasTheDaemonsSeries(t *testing.T) {
	s := finishedSeries(t, map[string]string{"branch": "main"})
	families, err := s.Gather()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1800000000, 0)
	req := WriteRequest(families, s.Labels(), at)
	got := seriesOf(req)
	for series, want := range map[string]float64{
		`perf_run_requests_total{branch="main",code="200",job="perf-exporter",profile="ci"}`:                                             10,
		`perf_run_requests_total{branch="main",code="503",job="perf-exporter",profile="ci"}`:                                             1,
		`perf_run_request_duration_seconds_count{branch="main",job="perf-exporter",profile="ci"}`:                                        11,
		`perf_run_request_duration_seconds_bucket{branch="main",job="perf-exporter",le="0.003",profile="ci"}`:                            4,
		`perf_run_request_duration_seconds_bucket{branch="main",job="perf-exporter",le="+Inf",profile="ci"}`:                             11,
		`perf_runs_total{branch="main",job="perf-exporter",profile="ci",result="success"}`:                                               1,
		`perf_runs_total{branch="main",job="perf-exporter",profile="ci",result="failure"}`:                                               0,
		`perf_run_success{branch="main",job="perf-exporter",profile="ci"}`:                                                               1,
		`perf_profile_slo_error_ratio{branch="main",job="perf-exporter",profile="ci"}`:                                                   0.05,
		`perf_profile_info{branch="main",engine="fortio",job="perf-exporter",profile="ci",protocol="http1",target="http://t:8080/echo"}`: 1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	sum := got[`perf_run_request_duration_seconds_sum{branch="main",job="perf-exporter",profile="ci"}`]
	if sum < 0.0579 || sum > 0.0581 {
		t.Errorf("histogram sum %v, want 0.058", sum)
	}
	for _, ts := range req.Timeseries {
		for i := 1; i < len(ts.Labels); i++ {
			if ts.Labels[i-1].Name >= ts.Labels[i].Name {
				t.Errorf("labels not sorted: %v", ts.Labels)
			}
		}
		if len(ts.Samples) != 1 || ts.Samples[0].Timestamp != at.UnixMilli() {
			t.Errorf("samples %v, want one at %d", ts.Samples, at.UnixMilli())
		}
	}
	if len(req.Metadata) == 0 {
		t.Error("no metadata")
	}
}

// TestRemoteWriterSendsSnappyProtobuf decodes what a receiver gets.
func TestRemoteWriterSendsSnappyProtobuf(t *testing.T) {
	var mu sync.Mutex
	var got *prompb.WriteRequest
	var headers http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got, headers = &req, r.Header
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	s := finishedSeries(t, nil)
	if err := (RemoteWriter{URL: srv.URL, Client: srv.Client()}).Write(context.Background(), s, time.Now()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if headers.Get("Content-Encoding") != "snappy" || headers.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		t.Errorf("headers %v", headers)
	}
	if v := seriesOf(got)[`perf_run_requests_total{code="200",job="perf-exporter",profile="ci"}`]; v != 10 {
		t.Errorf("received requests %v, want 10", v)
	}
}

// TestRemoteWriterSaysWhyOnOneLine: a refused write is an error with the
// status and the first line of the receiver's answer.
func TestRemoteWriterSaysWhyOnOneLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "out of order sample\nmore detail", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	err := (RemoteWriter{URL: srv.URL, Client: srv.Client()}).Write(context.Background(), finishedSeries(t, nil), time.Now())
	want := "remote write to " + srv.URL + ": 400 Bad Request: out of order sample"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// TestPushgatewayGroupsByProfileAndLabels: the push goes to the group of
// job, profile and extra labels, the series without those labels (the
// Pushgateway adds them), and gathering again still has them: the push
// must not change the collector's own label pairs.
func TestPushgatewayGroupsByProfileAndLabels(t *testing.T) {
	var mu sync.Mutex
	var path, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		path, body = r.URL.Path, string(b)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	s := finishedSeries(t, map[string]string{"branch": "main", "job": "ci"})
	if err := (Pushgateway{URL: srv.URL, Client: srv.Client()}).Push(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(path, "/metrics/"), "/")
	group := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		group[parts[i]] = parts[i+1]
	}
	if len(parts) != 6 || group["job"] != "ci" || group["profile"] != "ci" || group["branch"] != "main" {
		t.Errorf("pushed to %s, want the group job=ci, profile=ci, branch=main", path)
	}
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	names := map[string]bool{}
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names[f.GetName()] = true
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if group[l.GetName()] != "" {
					t.Errorf("%s pushed with the grouping label %s", f.GetName(), l.GetName())
				}
			}
		}
	}
	if !names["perf_run_requests_total"] || !names["perf_run_latency_seconds"] {
		t.Errorf("pushed %v", names)
	}
	again := WriteRequest(must(s.Gather()), s.Labels(), time.Now())
	if v := seriesOf(again)[`perf_run_requests_total{branch="main",code="200",job="ci",profile="ci"}`]; v != 10 {
		t.Errorf("after the push the series lost labels: %v", seriesOf(again))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestCheckLabels(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"branch": "main", "job": "ci"}, ""},
		{map[string]string{"profile": "x"}, `label "profile" is set by perf-exporter itself`},
		{map[string]string{"le": "x"}, `label "le" is set by perf-exporter itself`},
		{map[string]string{"9x": "x"}, `label name "9x" is not a valid Prometheus label name`},
		{map[string]string{"__x": "x"}, `label name "__x" is not a valid Prometheus label name`},
		{map[string]string{"branch": ""}, `label "branch" has an empty value`},
	} {
		err := CheckLabels(tc.labels)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%v: %q, want %q", tc.labels, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%v: no error, want %q", tc.labels, tc.want)
		}
	}
}
