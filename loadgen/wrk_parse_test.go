package loadgen

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// readTestdata returns a file under testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// near compares measurements read from text: equal to nine significant
// digits.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(math.Abs(want), 1e-9)
}

// checkResultInvariants holds for every Result a parser returns, whatever
// its input: it encodes as a result document (no NaN or infinity), no count
// is negative, and histogram buckets add up to the histogram's count.
func checkResultInvariants(t *testing.T, r *result.Measurement) {
	t.Helper()
	if _, err := json.Marshal(result.NewDocument(r, result.DocumentInfo{})); err != nil {
		t.Errorf("result document does not encode: %v", err)
	}
	for name, h := range map[string]*stats.HistogramData{"Latency": r.Latency, "Corrected": r.Corrected} {
		if h == nil || len(h.Data) == 0 {
			continue
		}
		var sum int64
		for _, b := range h.Data {
			sum += b.Count
			if b.End < b.Start {
				t.Errorf("%s: bucket %+v ends before it starts", name, b)
			}
		}
		if sum != h.Count {
			t.Errorf("%s: buckets hold %d values, Count is %d", name, sum, h.Count)
		}
	}
	for code, n := range r.Codes {
		if n < 0 {
			t.Errorf("code %q counts %d", code, n)
		}
	}
}

// checkPercentilesRise holds for real outputs: a higher percentile is never
// a lower latency.
func checkPercentilesRise(t *testing.T, r *result.Measurement) {
	t.Helper()
	for name, h := range map[string]*stats.HistogramData{"Latency": r.Latency, "Corrected": r.Corrected} {
		if h == nil {
			continue
		}
		for i := 1; i < len(h.Percentiles); i++ {
			a, b := h.Percentiles[i-1], h.Percentiles[i]
			if b.Percentile > a.Percentile && b.Value < a.Value {
				t.Errorf("%s: p%g = %g is below p%g = %g", name, b.Percentile, b.Value, a.Percentile, a.Value)
			}
		}
	}
}

func TestParseWrkSamples(t *testing.T) {
	ms := func(v float64) float64 { return v / 1e3 }
	type pct struct{ p50, p99 float64 } // seconds; 0 = not reported
	for _, tc := range []struct {
		file        string
		codes       map[string]int64
		rps         float64
		duration    time.Duration
		requested   time.Duration
		connections int
		count       int64 // Latency.Count
		latency     pct   // service time (wrk; wrk2 -U)
		corrected   pct   // wrk2's main latency
		aborted     bool
		notes       []string // substrings, one note each
	}{
		{
			file:  "wrk/local-wrk-4.1.0-latency.txt",
			codes: map[string]int64{"2xx": 23148}, rps: 7710.89, duration: 3 * time.Second, requested: 3 * time.Second,
			connections: 10, count: 23148, latency: pct{ms(1.27), ms(1.88)},
			notes: []string{"rebuilt from them", "does not report p99.9", "wrk corrects its latency percentiles for coordinated omission itself"},
		},
		{
			file:  "wrk/local-wrk-4.1.0-errors-latency.txt",
			codes: map[string]int64{"2xx": 2946 - 280 - 47, "4xx_5xx": 280, "error": 47}, rps: 735.48,
			duration: 4010 * time.Millisecond, requested: 4 * time.Second, connections: 20,
			count: 2946 - 47, latency: pct{ms(5.44), ms(6.06)},
			notes: []string{"47 responses were slower than --timeout"},
		},
		{
			file:  "wrk/local-wrk-4.1.0-nolatency.txt",
			codes: map[string]int64{"2xx": 82744}, rps: 39404.68, duration: 2100 * time.Millisecond, requested: 2 * time.Second,
			connections: 2, count: 82744,
			notes: []string{"wrk ran without --latency"},
		},
		{
			file:  "wrk/local-wrk-4.1.0-sigint-after-3s.txt",
			codes: map[string]int64{"2xx": 113450}, rps: 37815.80, duration: 3 * time.Second, requested: 30 * time.Second,
			connections: 2, count: 113450, latency: pct{ms(0.039), ms(3.05)}, aborted: true,
			notes: []string{"stopped after 3s of the 30s"},
		},
		{
			file:  "wrk2/giltene-wrk2-README-basic.txt",
			codes: map[string]int64{"2xx": 60017}, rps: 2000.15, duration: 30010 * time.Millisecond, requested: 30 * time.Second,
			connections: 100, count: 0,
			notes: []string{"wrk2 ran without --latency", "wrk2 ran without -U", "latency statistics leave out the first ~10 s"},
		},
		{
			// The old calibration format (usec / msec), no -U.
			file:  "wrk2/giltene-wrk2-README-latency.txt",
			codes: map[string]int64{"2xx": 60018}, rps: 2000.28, duration: 30 * time.Second, requested: 30 * time.Second,
			connections: 100, count: 39500, latency: pct{ms(6.67), ms(11.18)}, corrected: pct{ms(6.67), ms(11.18)},
			notes: []string{"wrk2 ran without -U", "cover the last 39500 of the 60018 requests"},
		},
		{
			file:  "wrk2/local-wrk2-4.0.0-latency-R500.txt",
			codes: map[string]int64{"2xx": 7500}, rps: 499.94, duration: 15 * time.Second, requested: 15 * time.Second,
			connections: 10, count: 2486, latency: pct{ms(2.03), ms(3.11)}, corrected: pct{ms(2.03), ms(3.11)},
			notes: []string{"cover the last 2486 of the 7500 requests"},
		},
		{
			// -U: service time and corrected latency differ by orders of
			// magnitude on a target that stalls 2% of requests for 1.2 s.
			file:  "wrk2/local-wrk2-4.0.0-errors-U-R400.txt",
			codes: map[string]int64{"2xx": 5873 - 585 - 10, "4xx_5xx": 585, "error": 10}, rps: 391.21,
			duration: 15010 * time.Millisecond, requested: 15 * time.Second, connections: 20, count: 2152,
			latency: pct{ms(5.41), 1.20}, corrected: pct{ms(170.75), 2.71},
			notes: []string{"cover the last 2152 of the 5873 requests", "wrk2 reported 10 timeouts"},
		},
		{
			file:  "wrk2/local-wrk2-4.0.0-short-3s-nan.txt",
			codes: map[string]int64{"2xx": 301}, rps: 100.25, duration: 3 * time.Second, requested: 3 * time.Second,
			connections: 2, count: 301,
			notes: []string{"wrk2 ran without --latency", "wrk2 ran without -U"},
		},
		{
			file:  "wrk2/local-wrk2-4.0.0-sigint-after-3s.txt",
			codes: map[string]int64{"2xx": 402}, rps: 100.24, duration: 4010 * time.Millisecond, requested: 30 * time.Second,
			connections: 2, count: 402, latency: pct{ms(0.841), ms(1.67)}, corrected: pct{ms(0.841), ms(1.67)}, aborted: true,
			notes: []string{"stopped after 4.01s of the 30s", "wrk2 ran without -U"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			flavour, _, _ := strings.Cut(tc.file, "/")
			r, err := parseWrk(readTestdata(t, tc.file), flavour, config.DefaultPercentiles)
			if err != nil {
				t.Fatal(err)
			}
			checkResultInvariants(t, r)
			checkPercentilesRise(t, r)
			if r.Engine != flavour || r.URL == "" || r.Protocol != config.ProtocolHTTP1 {
				t.Errorf("engine %q url %q protocol %q", r.Engine, r.URL, r.Protocol)
			}
			if len(r.Codes) != len(tc.codes) {
				t.Errorf("codes %v, want %v", r.Codes, tc.codes)
			}
			for code, n := range tc.codes {
				if r.Codes[code] != n {
					t.Errorf("codes %v, want %v", r.Codes, tc.codes)
				}
			}
			if !near(r.ActualQPS, tc.rps) || r.ActualDuration != tc.duration || r.RequestedDuration != tc.requested {
				t.Errorf("rps %g duration %s of %s, want %g, %s of %s", r.ActualQPS, r.ActualDuration, r.RequestedDuration, tc.rps, tc.duration, tc.requested)
			}
			if r.Connections != tc.connections || r.Aborted != tc.aborted {
				t.Errorf("connections %d aborted %v, want %d %v", r.Connections, r.Aborted, tc.connections, tc.aborted)
			}
			if r.Latency == nil || r.Latency.Count != tc.count {
				t.Fatalf("latency %+v, want count %d", r.Latency, tc.count)
			}
			checkPct := func(name string, h *stats.HistogramData, want pct) {
				t.Helper()
				for p, w := range map[float64]float64{50: want.p50, 99: want.p99} {
					got, ok := result.PercentileOf(h, p)
					if w == 0 && ok {
						t.Errorf("%s p%g = %g, want none (not in the output)", name, p, got)
					}
					if w != 0 && (!ok || !near(got, w)) {
						t.Errorf("%s p%g = %g (%v), want %g", name, p, got, ok, w)
					}
				}
			}
			checkPct("Latency", r.Latency, tc.latency)
			if flavour == config.EngineWrk2 {
				if r.Corrected == nil {
					t.Fatal("wrk2 result without Corrected latency")
				}
				checkPct("Corrected", r.Corrected, tc.corrected)
			} else if r.Corrected != nil {
				t.Errorf("wrk result with Corrected latency %+v: wrk measures no intended send time", r.Corrected)
			}
			for _, want := range tc.notes {
				found := false
				for _, n := range r.Notes {
					found = found || strings.Contains(n, want)
				}
				if !found {
					t.Errorf("no note says %q; notes: %q", want, r.Notes)
				}
			}
		})
	}
}

// Every sample file of the shared set is read by some case above; a new
// sample without a case fails here.
func TestParseWrkCoversEverySample(t *testing.T) {
	files, err := filepath.Glob("testdata/wrk*/*.txt")
	if err != nil || len(files) < 10 {
		t.Fatalf("samples: %v %v", files, err)
	}
	for _, f := range files {
		flavour := filepath.Base(filepath.Dir(f))
		if _, err := parseWrk(readTestdata(t, strings.TrimPrefix(f, "testdata/")), flavour, config.DefaultPercentiles); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestParseWrkSpectrumBuckets(t *testing.T) {
	r, err := parseWrk(readTestdata(t, "wrk2/local-wrk2-4.0.0-latency-R500.txt"), config.EngineWrk2, []float64{95})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Corrected
	// 60 spectrum rows, of which those with a new count make a bucket.
	if len(h.Data) < 40 || h.Data[0].Start != 0.001106 || h.Data[0].Count != 1 || h.Data[len(h.Data)-1].End != 0.005411 {
		t.Fatalf("buckets: first %+v last %+v (%d)", h.Data[0], h.Data[len(h.Data)-1], len(h.Data))
	}
	// p95 is not among wrk2's printed percentiles: it comes from the
	// spectrum, whose 0.95 row says 2.757 ms.
	if v, ok := result.PercentileOf(h, 95); !ok || !near(v, 0.002757) {
		t.Errorf("p95 from the spectrum = %g, want 0.002757", v)
	}
	if !near(h.Avg, 0.002037) || !near(h.StdDev, 0.000426) || !near(h.Max, 0.005408) || !near(h.Min, 0.001106) {
		t.Errorf("footer: %+v", h)
	}
}

func TestParseWrkErrors(t *testing.T) {
	wrk2 := string(readTestdata(t, "wrk2/local-wrk2-4.0.0-latency-R500.txt"))
	wrk := string(readTestdata(t, "wrk/local-wrk-4.1.0-latency.txt"))
	for _, tc := range []struct {
		name, flavour, input, want string
	}{
		{"empty", "wrk", "", `no "N requests in T" line: wrk did not finish a run (is this wrk output?)`},
		{"not wrk", "wrk", "unable to connect to 127.0.0.1:1 Connection refused\n", `no "N requests in T" line`},
		{"wrk2 read as wrk", "wrk", wrk2, "this is wrk2 output (it has thread calibration lines or HdrHistogram blocks): read it as wrk2"},
		{"wrk read as wrk2", "wrk2", wrk, "this is wrk output (its latency distribution is not an HdrHistogram): read it as wrk"},
		{"bad socket errors", "wrk", strings.Replace(wrk, "Requests/sec", "  Socket errors: connect x, read 0\nRequests/sec", 1), `line 12: cannot read "Socket errors: connect x, read 0"`},
		{"bad latency unit", "wrk", strings.Replace(wrk, "1.27ms", "1.27parsecs", 1), `line 7: percentile 50%: "1.27parsecs" has an unknown time unit`},
		{"spectrum going down", "wrk2", strings.Replace(wrk2, "1.471     0.100000          249", "1.471     0.100000          0", 1), `line 22: spectrum row "1.471     0.100000          0         1.11" goes below the row before it`},
		{"spectrum outside a block", "wrk2", "Detailed Percentile spectrum:\n", "line 1: a percentile spectrum outside an HdrHistogram block"},
		{"huge count", "wrk", strings.Replace(wrk, "23148 requests", "99999999999999999999 requests", 1), `"99999999999999999999" is not a count`},
		{"unknown flavour", "wrk3", wrk, `unknown wrk flavour "wrk3"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseWrk([]byte(tc.input), tc.flavour, config.DefaultPercentiles)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseWrkTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
		err  bool
	}{
		{"180.08us", 180.08e-6, true, false},
		{"1.29ms", 0.00129, true, false},
		{"3.37s", 3.37, true, false},
		{"1.00m", 60, true, false},
		{"2h", 7200, true, false},
		{"-nan", 0, false, false},
		{"nan", 0, false, false},
		{"1.2.3ms", 0, false, true},
		{"ms", 0, false, true},
		{"-1ms", 0, false, true},
		{"1e3ms", 0, false, true},
		{"1ns", 0, false, true},
		{"99999999999h", 0, false, true},
	} {
		got, ok, err := parseWrkTime(tc.in)
		if (err != nil) != tc.err || ok != tc.ok || !near(got, tc.want) {
			t.Errorf("parseWrkTime(%q) = %g, %v, %v; want %g, %v, error %v", tc.in, got, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}

func TestApproximateBucketsHoldEveryRequest(t *testing.T) {
	printed := []stats.Percentile{{Percentile: 50, Value: 1}, {Percentile: 75, Value: 2}, {Percentile: 90, Value: 3}, {Percentile: 99, Value: 4}}
	for _, count := range []int64{1, 3, 7, 100, 23148} {
		b := approximateBuckets(printed, 5, count)
		var sum int64
		for _, x := range b {
			sum += x.Count
		}
		if sum != count || b[len(b)-1].End != 5 || b[len(b)-1].Percent != 100 {
			t.Errorf("count %d: buckets %+v", count, b)
		}
	}
}

// The rebuilt wrk histogram passes through every printed percentile: some
// bucket ends at the printed value with that cumulative share.
func TestApproximateBucketsKeepPrintedPercentiles(t *testing.T) {
	r, err := parseWrk(readTestdata(t, "wrk/local-wrk-4.1.0-errors-latency.txt"), config.EngineWrk, config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	h := r.Latency
	if len(h.Data) < 40 || h.Data[0].Start != 0.00544 || h.Data[len(h.Data)-1].End != 0.00687 {
		t.Fatalf("buckets: %d, first %+v, last %+v", len(h.Data), h.Data[0], h.Data[len(h.Data)-1])
	}
	for _, pc := range h.Percentiles {
		found := false
		for _, b := range h.Data {
			found = found || (b.End == pc.Value && math.Abs(b.Percent-pc.Percentile) < 0.05)
		}
		if !found {
			t.Errorf("no bucket ends at p%g = %g", pc.Percentile, pc.Value)
		}
	}
}
