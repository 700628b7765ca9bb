package loadgen

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

func TestParseNighthawkJSON(t *testing.T) {
	r, err := parseNighthawk(readTestdata(t, "nighthawk/nighthawk-json-2workers.json"), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	checkResultInvariants(t, r)
	checkPercentilesRise(t, r)
	want := map[string]int64{"2xx": 950, "5xx": 40, "error": 6 + 2}
	if !reflect.DeepEqual(r.Codes, want) {
		t.Errorf("codes %v, want %v", r.Codes, want)
	}
	if want := map[string]int64{"pool overflow (every connection busy)": 6, "stream reset": 2}; !reflect.DeepEqual(r.ErrorReasons, want) {
		t.Errorf("reasons %v, want %v", r.ErrorReasons, want)
	}
	// --rps 100 and --connections 2 are per worker; there are two.
	if r.RequestedQPS != 200 || r.Connections != 4 || r.RequestedDuration != 5*time.Second {
		t.Errorf("requested %g rps over %d connections for %s", r.RequestedQPS, r.Connections, r.RequestedDuration)
	}
	// 992 requests sent, 990 answered: the rate is of responses (issue 18, item 1).
	if r.ActualDuration != 5000100*time.Microsecond || !near(r.ActualQPS, 990/5.0001) {
		t.Errorf("actual %g rps over %s", r.ActualQPS, r.ActualDuration)
	}
	if r.URL != "http://127.0.0.1:8080/echo" || r.Protocol != config.ProtocolHTTP1 || r.Engine != config.EngineNighthawk {
		t.Errorf("url %q protocol %q engine %q", r.URL, r.Protocol, r.Engine)
	}
	if want := time.Date(2026, 11, 27, 3, 40, 0, 123450789, time.UTC); !r.StartTime.Equal(want) {
		t.Errorf("start %s, want %s", r.StartTime, want)
	}
	h := r.Latency
	if h.Count != 985 || !near(h.Avg, 0.001093421) || !near(h.Min, 0.00045) || !near(h.Max, 0.025113087) {
		t.Errorf("latency %+v", h)
	}
	// p50 of 985 values is the 493rd: the 0.5 row (count 493).
	if v, _ := result.PercentileOf(h, 50); !near(v, 0.000884681) {
		t.Errorf("p50 = %g, want 0.000884681", v)
	}
	// p99 is the 975.15th value: the first row with a count of 976 or more
	// is 0.990625 (count 976).
	if v, _ := result.PercentileOf(h, 99); !near(v, 0.005640089) {
		t.Errorf("p99 = %g, want 0.005640089", v)
	}
	if r.Corrected != nil {
		t.Errorf("Corrected %+v: Nighthawk measures no intended send time", r.Corrected)
	}
	for _, note := range []string{"6 requests were not sent because every connection was busy", "latency statistic holds 985 of the 990 responses"} {
		if !strings.Contains(strings.Join(r.Notes, "\n"), note) {
			t.Errorf("no note says %q: %q", note, r.Notes)
		}
	}
}

// nighthawk_client's output saved with its log lines, and with a trailing
// comma, reads the same as the clean file.
func TestParseNighthawkAcceptsLogLinesAndTrailingCommas(t *testing.T) {
	clean, err := parseNighthawk(readTestdata(t, "nighthawk/nighthawk-json-2workers.json"), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	raw := readTestdata(t, "nighthawk/nighthawk-json-2workers-stderr-trailing-comma.txt")
	if json.Valid(raw) {
		t.Fatal("the fixture should not be strict JSON")
	}
	messy, err := parseNighthawk(raw, config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(clean, messy) {
		t.Errorf("results differ:\n%+v\n%+v", clean, messy)
	}
}

func TestParseNighthawkFortioFormat(t *testing.T) {
	for _, file := range []string{
		"nighthawk/output_formatter.medium.fortio.gold",          // counts as strings
		"nighthawk/output_formatter.medium.fortio-noquirks.gold", // fortio's own types
	} {
		t.Run(file, func(t *testing.T) {
			r, err := parseNighthawk(readTestdata(t, file), config.DefaultPercentiles)
			if err != nil {
				t.Fatal(err)
			}
			checkResultInvariants(t, r)
			checkPercentilesRise(t, r)
			if r.Engine != config.EngineNighthawk || r.Codes["200"] != 56 || r.RequestedQPS != 30 || r.ActualDuration != 2000000429 {
				t.Errorf("result %+v", r)
			}
			// Printed by Nighthawk: kept as is.
			if v, _ := result.PercentileOf(r.Latency, 50); v != 0.065077247 {
				t.Errorf("p50 = %g, want 0.065077247", v)
			}
			// Not printed: computed from the buckets as fortio does.
			if v, ok := result.PercentileOf(r.Latency, 99); !ok || v <= 0.247513087 || v > 0.310886399 {
				t.Errorf("p99 = %g (%v), want within the last bucket", v, ok)
			}
		})
	}
}

func TestParseNighthawkErrors(t *testing.T) {
	for _, tc := range []struct{ name, input, want string }{
		{"empty", "", "no JSON object in the output"},
		{"log lines only", "[21:28:12.690578][27849][I] Starting 2 threads\n", "no JSON object in the output"},
		{"not JSON", "{ nope", "not Nighthawk JSON"},
		{"no results", `{"options": {}}`, `no "results": not Nighthawk output`},
		{"no global", `{"results": [{"name": "worker_0"}, {"name": "worker_1"}]}`, `no "global" result among 2 worker results`},
		{"synthetic formatter input", string(readTestdata(t, "nighthawk/output_formatter.json.gold")), `the "global" result has no benchmark_http_client.request_to_response statistic and no benchmark counters: not the output of a Nighthawk benchmark`},
		{"percentile column overflow", string(readTestdata(t, "nighthawk/percentile-column-overflow.json")), "not the output of a Nighthawk benchmark"},
		{"count not a number", `{"results": [{"name": "global", "counters": [{"name": "upstream_rq_total", "value": "many"}]}]}`, `"many" is not a count`},
		{"negative count", `{"results": [{"name": "global", "counters": [{"name": "upstream_rq_total", "value": "-3"}]}]}`, `"-3" is not a count`},
		{"bad duration", `{"results": [{"name": "global", "execution_duration": "5 seconds", "counters": [{"name": "upstream_rq_total", "value": "3"}]}]}`, `global: execution_duration: "5 seconds" is not a duration like "1.5s"`},
		{"percentiles going down", `{"results": [{"name": "global", "statistics": [{"id": "benchmark_http_client.request_to_response", "count": "2", "percentiles": [{"percentile": 0, "count": "2", "duration": "0.002s"}, {"percentile": 1, "count": "1", "duration": "0.003s"}]}]}]}`, "percentile 1 goes below the one before it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseNighthawk([]byte(tc.input), config.DefaultPercentiles)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A run where every connection failed has counters but no latency.
func TestParseNighthawkNoLatency(t *testing.T) {
	in := `{"results": [{"name": "global", "execution_duration": "2s", "counters": [
		{"name": "benchmark.pool_connection_failure", "value": "7"},
		{"name": "upstream_cx_connect_fail", "value": "7"}]}]}`
	r, err := parseNighthawk([]byte(in), config.DefaultPercentiles)
	if err != nil {
		t.Fatal(err)
	}
	checkResultInvariants(t, r)
	if r.Codes[result.CodeError] != 7 || r.Requests() != 7 || r.ErrorRatio() != 1 || r.Latency == nil || r.Latency.Count != 0 {
		t.Errorf("result %+v", r)
	}
}

func TestDropTrailingCommas(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": [1, 2,], "b": {"c": 1,},}`:                `{"a": [1, 2], "b": {"c": 1}}`,
		"{\"a\": 1,\n  }":                                "{\"a\": 1\n  }",
		`{"s": "a,}", "t": "\",]"}`:                      `{"s": "a,}", "t": "\",]"}`,
		`{"s": "back\\", "x": [1,]}`:                     `{"s": "back\\", "x": [1]}`,
		`[,]`:                                            `[]`,
		`{"a": 1, "b": 2}`:                               `{"a": 1, "b": 2}`,
		`{"unterminated": "string, ] `:                   `{"unterminated": "string, ] `,
		"{\"a\": [1 , \t\r\n ]}":                         "{\"a\": [1  \t\r\n ]}",
		`{"nested": [[1,],[2,],],"z": {"y":{"x":0,},},}`: `{"nested": [[1],[2]],"z": {"y":{"x":0}}}`,
	} {
		if got := string(dropTrailingCommas([]byte(in))); got != want {
			t.Errorf("dropTrailingCommas(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseProtoDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0s":              0,
		"15s":             15 * time.Second,
		"0.000180007s":    180007 * time.Nanosecond,
		"15.000000540s":   15000000540 * time.Nanosecond,
		"1.5s":            1500 * time.Millisecond,
		"5 seconds":       -1,
		"1.5":             -1,
		"s":               -1,
		"-1s":             -1,
		"NaNs":            -1,
		"1e3s":            -1,
		"99999999999999s": -1,
	} {
		got, err := parseProtoDuration(in)
		if (want < 0) != (err != nil) || (want >= 0 && got != want) {
			t.Errorf("parseProtoDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestProtoInt(t *testing.T) {
	for in, want := range map[string]int64{`"53"`: 53, `53`: 53, `53.0`: 53, `"0"`: 0, `null`: 0, `"-1"`: -1, `53.5`: -1, `"x"`: -1, `1e300`: -1, `true`: -1} {
		var p protoInt
		err := json.Unmarshal([]byte(in), &p)
		if (want < 0) != (err != nil) || (want >= 0 && int64(p) != want) {
			t.Errorf("protoInt(%s) = %d, %v; want %d", in, p, err, want)
		}
	}
}
