package loadgen

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fortio.org/fortio/fhttp"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

func TestParseOutputFortio(t *testing.T) {
	for _, tc := range []struct {
		file       string
		codes      map[string]int64
		protocol   string
		conns      int
		qps        float64
		p50, p99   float64
		p99listed  bool // fortio listed p99 itself
		durationNs int64
	}{
		{"fortio/local-fortio-1.75.3-http-2s.json", map[string]int64{"200": 391, "503": 9}, config.ProtocolHTTP1, 4, 200, 0.0020761421319796954, 0.021020899733333334, true, 2003316378},
		{"fortio/local-fortio-1.75.3-http-aborted.json", map[string]int64{"200": 135, "503": 1}, config.ProtocolHTTP1, 4, 200, 0, 0, false, 679947479},
		{"fortio/fortio-README-rest-run-result.json", map[string]int64{"200": 4}, config.ProtocolHTTP1, 2, 40, 0, 0, false, 104035637},
		// fortio 0.9 keyed gRPC serving statuses by number: 1 is SERVING.
		{"fortio/fortio-README-grpc-ping-result-v0.9.json", map[string]int64{"SERVING": 40}, config.ProtocolGRPC, 8, 8, 0.2772881634102564, 0.28053863092820513, true, 5285144740},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r, err := ParseOutput("fortio", bytes.NewReader(readTestdata(t, tc.file)), config.DefaultPercentiles)
			if err != nil {
				t.Fatal(err)
			}
			checkResultInvariants(t, r)
			checkPercentilesRise(t, r)
			if !reflect.DeepEqual(r.Codes, tc.codes) || r.Protocol != tc.protocol || r.Connections != tc.conns || r.RequestedQPS != tc.qps || int64(r.ActualDuration) != tc.durationNs {
				t.Errorf("result %+v", r)
			}
			if r.Latency.Count != r.Requests() {
				t.Errorf("latency count %d, requests %d", r.Latency.Count, r.Requests())
			}
			for _, p := range config.DefaultPercentiles {
				if _, ok := result.PercentileOf(r.Latency, p); !ok {
					t.Errorf("p%g missing", p)
				}
			}
			if tc.p50 != 0 {
				if v, _ := result.PercentileOf(r.Latency, 50); v != tc.p50 {
					t.Errorf("p50 = %g, want fortio's %g", v, tc.p50)
				}
				if v, _ := result.PercentileOf(r.Latency, 99); v != tc.p99 {
					t.Errorf("p99 = %g, want fortio's %g", v, tc.p99)
				}
			}
		})
	}
}

// Our own result document read back keeps what fortio has no field for.
func TestParseOutputKeepsPerfExporterPart(t *testing.T) {
	orig, err := parseWrk(readTestdata(t, "wrk2/local-wrk2-4.0.0-errors-U-R400.txt"), config.EngineWrk2, config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(result.NewDocument(orig, result.DocumentInfo{Outcome: result.OutcomeSuccess}))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseOutput("fortio", bytes.NewReader(doc), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	if back.Engine != "wrk2" || !reflect.DeepEqual(back.Codes, orig.Codes) || !reflect.DeepEqual(back.Notes, orig.Notes) {
		t.Errorf("read back %+v", back)
	}
	if !reflect.DeepEqual(back.Corrected.Percentiles, orig.Corrected.Percentiles) || !reflect.DeepEqual(back.Latency.Percentiles, orig.Latency.Percentiles) {
		t.Errorf("percentiles changed:\n%+v\n%+v", back.Corrected.Percentiles, orig.Corrected.Percentiles)
	}
}

// What `transform --to fortio` writes loads into fortio's own result type,
// so `fortio report` can browse it, for every sample of every engine.
func TestFortioShapedLoadsIntoFortio(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*")
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, f := range files {
		from := filepath.Base(filepath.Dir(f))
		if from == "fuzz" || strings.HasSuffix(f, ".sh") || strings.HasSuffix(f, ".md") {
			continue
		}
		r, err := ParseOutput(from, bytes.NewReader(readTestdata(t, strings.TrimPrefix(f, "testdata/"))), config.DefaultPercentiles)
		if err != nil {
			continue // the inputs that are not benchmark results; see TestParseNighthawkErrors
		}
		read++
		doc := result.NewDocument(r, result.DocumentInfo{Profile: "p", Outcome: result.OutcomeSuccess})
		out, err := json.Marshal(result.FortioShaped(doc))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if bytes.Contains(out, []byte("PerfExporter")) {
			t.Errorf("%s: the fortio view has a PerfExporter part", f)
		}
		var fr fhttp.HTTPRunnerResults
		if r.Protocol != config.ProtocolGRPC {
			if err := json.Unmarshal(out, &fr); err != nil {
				t.Errorf("%s: fortio cannot read it: %v", f, err)
				continue
			}
			var total int64
			for _, n := range fr.RetCodes {
				total += n
			}
			if total != r.Requests() || fr.DurationHistogram == nil {
				t.Errorf("%s: fortio sees %d requests of %d", f, total, r.Requests())
			}
		}
	}
	if read < 15 {
		t.Errorf("only %d samples read", read)
	}
}

// Nighthawk's 2019 fortio output says Count 48 but lists buckets for 47
// (it left out the minimum): the buckets win, and a note says so.
func TestParseOutputPrefersBucketCounts(t *testing.T) {
	r, err := ParseOutput("nighthawk", bytes.NewReader(readTestdata(t, "nighthawk/samples_fortio_data_small.json")), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	checkResultInvariants(t, r)
	checkPercentilesRise(t, r)
	notes := strings.Join(r.Notes, "\n")
	if r.Latency.Count != 47 || !strings.Contains(notes, "DurationHistogram.Count is 48 but its buckets hold 47: the buckets' count is used") {
		t.Errorf("count %d, notes %q", r.Latency.Count, r.Notes)
	}
	// Its ActualDuration of 5 cannot be nanoseconds of a 5 s run.
	if !strings.Contains(notes, "ActualDuration 5 is read as nanoseconds") {
		t.Errorf("notes %q", r.Notes)
	}
}

func TestFortioRetCodes(t *testing.T) {
	got := result.FortioRetCodes(map[string]int64{"2xx": 5, "4xx_5xx": 2, "5xx": 1, "error": 3, "503": 4, "xxx": 1, "1xx": 1}, config.ProtocolHTTP1)
	want := map[string]int64{"200": 5, "400": 2, "500": 1, "-1": 3, "503": 4, "0": 1, "100": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("http: %v, want %v", got, want)
	}
	got = result.FortioRetCodes(map[string]int64{"SERVING": 5, "error": 1}, config.ProtocolGRPC)
	if want := map[string]int64{"SERVING": 5, "-1": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("grpc: %v, want %v", got, want)
	}
}

func TestParseOutputErrors(t *testing.T) {
	for _, tc := range []struct{ from, input, want string }{
		{"ab", "x", `unknown output format "ab" (fortio, wrk, wrk2, nighthawk)`},
		{"fortio", `{"RunType": "HTTP"}`, "fortio output: no DurationHistogram: not a fortio result"},
		{"fortio", `{"DurationHistogram": {}, "RetCodes": {"OK!": 1}}`, `fortio output: RetCodes: "OK!" is not a status code`},
		{"fortio", `{"DurationHistogram": {}, "RequestedQPS": "lots"}`, `fortio output: RequestedQPS "lots" is neither a rate nor "max"`},
		{"fortio", `{"DurationHistogram": {"Count": "NaN"}}`, "fortio output: not a fortio result"},
		{"wrk", "", "wrk output: no \"N requests in T\" line"},
		{"nighthawk", "{}", `nighthawk output: no "results"`},
	} {
		_, err := ParseOutput(tc.from, strings.NewReader(tc.input), config.DefaultPercentiles)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: error %v, want %q", tc.from, tc.input, err, tc.want)
		}
	}
}

// A fortio run against a closed port (fortio 1.75.3's own result) counts
// every refused request in its ActualQPS and DurationHistogram: read as
// ours, it has no latency and achieved 0 (issue 18, item 1).
func TestParseOutputFortioWithNoResponse(t *testing.T) {
	r, err := ParseOutput("fortio", bytes.NewReader(readTestdata(t, "fortio/local-fortio-1.75.3-http-refused.json")), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	if r.Codes[result.CodeError] != 100 || r.Requests() != 100 {
		t.Fatalf("codes %v", r.Codes)
	}
	if r.ActualQPS != 0 {
		t.Errorf("achieved %g req/s with no response", r.ActualQPS)
	}
	if _, ok := r.Percentile(50); ok || (r.Latency != nil && r.Latency.Count != 0) {
		t.Errorf("latency %+v with no response", r.Latency)
	}
	if len(r.Notes) == 0 {
		t.Error("no note says fortio's figures were left out")
	}
}
