package main

import (
	"testing"
	"time"
)

func TestParsePprofTop(t *testing.T) {
	out := `File: perfbench
Type: cpu
Duration: 10.01s, Total samples = 4.97s (49.68%)
Showing nodes accounting for 4.50s, 90.54% of 4.97s total
      flat  flat%   sum%        cum   cum%
     0.01s   0.2%   0.2%      3.98s 80.08%  fortio.org/fortio/periodic.runOne
     0.04s   0.8%   1.0%      3.48s 70.02%  fortio.org/fortio/fhttp.(*FastClient).StreamFetch
         0     0%   1.0%      0.20s  4.02%  github.com/perf-exporter/perf-exporter/loadgen.(*requestHook).Report
     0.02s  0.4%    1.4%      0.07s  1.41%  internal/sync.(*HashTrieMap[go.shape.interface {},go.shape.interface {}]).Load
         0     0%   1.4%      0.17s  3.42%  fortio.org/fortio/stats.(*Histogram).Record (inline)
     0.02s  0.4%    1.8%      0.16s  3.22%  fortio.org/fortio/stats.(*Histogram).RecordN
`
	s, err := parsePprofTop(out, profileGroups())
	if err != nil {
		t.Fatal(err)
	}
	s.requests, s.cpu = 100000, 4970*time.Millisecond
	if s.sampled != 4970*time.Millisecond {
		t.Errorf("sampled %s, want 4.97s", s.sampled)
	}
	for name, want := range map[string]float64{
		groupHook: 4.02,
		"Fortio's HTTP/1.1 client (FastClient.StreamFetch)": 70.02,
		"Fortio's own per-thread histograms":                3.42, // the larger of the two matches
		groupObserver:                                       0,    // absent from the profile
	} {
		if got := s.group(name).cum; got != want {
			t.Errorf("%s: %g %%, want %g %%", name, got, want)
		}
	}
	if got := s.nsPerRequest(4.02); got < 1997 || got > 1999 {
		t.Errorf("4.02 %% of 4.97s over 100000 requests = %g ns, want 1998", got)
	}
	if _, err := parsePprofTop("no profile here", profileGroups()); err == nil {
		t.Error("output without a total parsed without error")
	}
}
