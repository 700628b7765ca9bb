package main

import "testing"

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkRequestHook/max-2         	83598182	        14.35 ns/op	       0 B/op	       0 allocs/op
BenchmarkSave-2   	     300	   3456789 ns/op	      5120 doc-bytes	   12000 B/op	      80 allocs/op
BenchmarkLatencyRecord   	351875706	         3.333 ns/op
PASS
`
	got := parseGoBench(out)
	if g := got["BenchmarkRequestHook/max"]; g.metrics["ns/op"] != 14.35 || g.metrics["allocs/op"] != 0 || len(g.units) != 3 {
		t.Errorf("RequestHook/max parsed as %+v", g)
	}
	if g := got["BenchmarkSave"]; g.metrics["doc-bytes"] != 5120 || g.String() != "3.46 ms/op, 5120 doc-bytes, 12000 B/op, 80 allocs/op" {
		t.Errorf("Save parsed as %+v (%s)", g, g)
	}
	if g := got["BenchmarkLatencyRecord"]; g.metrics["ns/op"] != 3.333 {
		t.Errorf("LatencyRecord without a GOMAXPROCS suffix parsed as %+v", g)
	}
}
