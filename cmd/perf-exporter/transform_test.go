package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fortio.org/fortio/fhttp"
)

// A wrk report as wrk 4.1.0 prints it.
const wrkReport = `Running 4s test @ http://127.0.0.1:18080/?status=503:10
  2 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.52ms    2.13ms   6.87ms   81.44%
    Req/Sec   465.26    369.64     1.76k    70.49%
  Latency Distribution
     50%    5.44ms
     75%    5.59ms
     90%    5.77ms
     99%    6.06ms
  2946 requests in 4.01s, 220.42KB read
  Socket errors: connect 0, read 0, write 0, timeout 47
  Non-2xx or 3xx responses: 280
Requests/sec:    735.48
Transfer/sec:     55.03KB
`

func TestTransformFromStdinToJSON(t *testing.T) {
	var out bytes.Buffer
	// kingpin hands a lone "-" over as "".
	for _, file := range []string{"-", ""} {
		out.Reset()
		if err := transform("wrk", "json", file, strings.NewReader(wrkReport), &out); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			RetCodes     map[string]int64
			ActualQPS    float64
			PerfExporter struct {
				Engine   string
				Codes    map[string]int64
				Requests int64
				Outcome  string
			}
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		x := doc.PerfExporter
		if x.Engine != "wrk" || x.Requests != 2946 || x.Codes["4xx_5xx"] != 280 || x.Codes["error"] != 47 || x.Outcome != "success" || doc.ActualQPS != 735.48 {
			t.Errorf("document %+v", doc)
		}
		// RetCodes stays readable by fortio: statuses only.
		if doc.RetCodes["200"] != 2619 || doc.RetCodes["400"] != 280 || doc.RetCodes["-1"] != 47 {
			t.Errorf("RetCodes %v", doc.RetCodes)
		}
	}
}

func TestTransformToFortioLoadsIntoFortio(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wrk.txt")
	if err := os.WriteFile(file, []byte(wrkReport), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := transform("wrk", "fortio", file, nil, &out); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("PerfExporter")) {
		t.Error("--to fortio wrote the PerfExporter part")
	}
	var res fhttp.HTTPRunnerResults
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("fortio cannot read it: %v", err)
	}
	if res.DurationHistogram.Count != 2946-47 || len(res.DurationHistogram.Percentiles) != 4 {
		t.Errorf("histogram %+v", res.DurationHistogram)
	}
}

func TestTransformErrors(t *testing.T) {
	var out bytes.Buffer
	err := transform("wrk2", "json", "-", strings.NewReader(wrkReport), &out)
	if err == nil || err.Error() != "standard input: wrk2 output: this is wrk output (its latency distribution is not an HdrHistogram): read it as wrk" {
		t.Errorf("error %v", err)
	}
	err = transform("wrk", "json", "/nonexistent/wrk.txt", nil, &out)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/wrk.txt") {
		t.Errorf("error %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q on error", out.String())
	}
}
