package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:18080/echo?delay=20ms
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    20.83ms  303.56us  22.85ms   93.10%
    Req/Sec   189.00     18.06   202.00     75.00%
  Latency Distribution
     50%   20.79ms
     75%   20.92ms
     90%   21.04ms
     99%   22.59ms
  377 requests in 1.00s, 27.61KB read
Requests/sec:    376.67
Transfer/sec:     27.59KB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 376.67 || r.requests != 377 || r.p50 != 20790*time.Microsecond {
		t.Errorf("parsed %+v, want 376.67 req/s, 377 requests, p50 20.79ms", r)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("wrk output without a rate parsed without error")
	}
}
