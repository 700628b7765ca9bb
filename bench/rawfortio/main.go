// Command rawfortio drives Fortio's HTTP runner as a library with no
// per-request hook: the baseline that `perf-exporter run` is compared with
// in `make bench`. It uses the options perf-exporter's engine uses (output
// to io.Discard, its own Aborter, Fortio's logger at errors only, the same
// histogram resolution) and prints one JSON line with the achieved rate.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"fortio.org/fortio/fhttp"
	"fortio.org/fortio/periodic"
	fortiolog "fortio.org/log"
)

type result struct {
	QPS      float64 `json:"qps"`
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
}

func main() {
	url := flag.String("url", "", "target URL")
	connections := flag.Int("connections", 16, "connections (fortio threads)")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	qps := flag.Float64("qps", 0, "requests per second; 0 = as fast as possible")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "rawfortio: --url is required")
		os.Exit(2)
	}
	fortiolog.SetLogLevelQuiet(fortiolog.Error)
	rate := *qps
	if rate <= 0 {
		rate = -1 // fortio's "as fast as possible"
	}
	o := &fhttp.HTTPRunnerOptions{AllowInitialErrors: true}
	o.RunnerOptions = periodic.RunnerOptions{
		QPS:        rate,
		Duration:   *duration,
		NumThreads: *connections,
		Resolution: 0.0001, // as loadgen's engine
		Out:        io.Discard,
		Stop:       periodic.NewAborter(),
	}
	o.URL = *url
	o.HTTPReqTimeOut = 3 * time.Second
	o.InitHeaders()
	res, err := fhttp.RunHTTPTest(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawfortio:", err)
		os.Exit(1)
	}
	out := result{QPS: res.ActualQPS, Requests: res.DurationHistogram.Count, Seconds: res.ActualDuration.Seconds()}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "rawfortio:", err)
		os.Exit(1)
	}
}
