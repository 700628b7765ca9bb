package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

const shardProfiles, shardTick = 60, 5 * time.Second

// shardConfig is 60 short profiles on one aligned 5 s schedule.
func shardConfig() string {
	var b strings.Builder
	b.WriteString("global: {max_concurrent_runs: 4}\nprofiles:\n")
	for i := range shardProfiles {
		fmt.Fprintf(&b, "  - {name: svc-%02d, schedule: \"@every 5s\", target: {url: \"%%[1]s/echo\"}, load: {qps: 20, connections: 1, duration: 200ms}}\n", i)
	}
	return b.String()
}

// Three replicas with --profiles.shard=i/3 share the profiles: over several
// ticks every profile ran exactly once per tick across the fleet, on one
// replica only. Going to four shards moves about a quarter of the profiles.
func TestShardAcrossThreeReplicas(t *testing.T) {
	bin := testutil.BuildBinary(t)
	dir := t.TempDir()
	cfgFile := writeConfig(t, dir, shardConfig(), startTarget(t, bin))
	start := func(index, count int) (string, *testutil.Process) {
		addr := testutil.FreeAddr(t)
		proc := testutil.StartProcess(t, bin, "--config.file", cfgFile, "--web.listen-address", addr,
			fmt.Sprintf("--profiles.shard=%d/%d", index, count), "--storage.path", filepath.Join(dir, fmt.Sprintf("data-%d", index)))
		testutil.WaitHTTP(t, "http://"+addr+"/-/ready", 10*time.Second)
		return addr, proc
	}
	var replicas []string
	var procs []*testutil.Process
	for i := range 3 {
		addr, proc := start(i, 3)
		replicas, procs = append(replicas, addr), append(procs, proc)
	}
	prom := promAPI(t, testutil.StartPrometheus(t, testutil.PrometheusOptions{Targets: replicas, JobName: "perf-exporter", ScrapeInterval: time.Second}))

	// Count the runs of ticks first..first+ticks-1, all after every replica
	// was up: read the counters in the middle of the intervals before and
	// after them, when the runs (200 ms) are over and scraped.
	const ticks = 3
	first := time.Now().Truncate(shardTick).Add(shardTick)
	before, after := first.Add(-shardTick/2), first.Add(ticks*shardTick-shardTick/2)
	time.Sleep(time.Until(after.Add(time.Second)))
	runs := `sum by (profile) (perf_runs_total{result=~"success|slo_missed|failure"})`
	n0, n1 := queryAt(t, prom, runs, "profile", before), queryAt(t, prom, runs, "profile", after)
	skipped := query(t, prom, `sum by (profile) (perf_runs_total{result="skipped"}) > 0`)
	owners := query(t, prom, `count by (profile) (perf_profile_info)`)
	if len(n1) != shardProfiles || len(owners) != shardProfiles {
		t.Fatalf("the fleet exposes %d profiles' runs and %d profiles' info, want %d", len(n1), len(owners), shardProfiles)
	}
	for i := range shardProfiles {
		p := fmt.Sprintf("svc-%02d", i)
		if got := n1[p] - n0[p]; got != ticks {
			t.Errorf("%s ran %v times across the fleet in %d ticks, want once per tick", p, got, ticks)
		}
		if owners[p] != 1 {
			t.Errorf("%s is exposed by %v replicas, want 1", p, owners[p])
		}
	}
	if len(skipped) > 0 {
		t.Errorf("skipped runs: %v", skipped)
	}
	shard3 := map[string]string{}
	maps.Copy(shard3, queryLabelPair(t, prom, `perf_profile_info`, "profile", "shard"))
	perShard := map[string]int{}
	for _, s := range shard3 {
		perShard[s]++
	}
	t.Logf("3 shards: profiles per shard %v", perShard)

	// Four shards: every profile still has exactly one owner, and only the
	// profiles the new shard takes moved.
	for _, p := range procs {
		if err := p.Stop(20 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	shard4 := map[string]string{}
	for i := range 4 {
		addr, _ := start(i, 4)
		for p, s := range profileShards(t, "http://"+addr+"/metrics") {
			if other, dup := shard4[p]; dup {
				t.Errorf("%s is exposed by shards %s and %s", p, other, s)
			}
			shard4[p] = s
		}
	}
	moved := 0
	for p, s := range shard3 {
		if shard4[p] == "" {
			t.Errorf("%s has no shard of 4", p)
		}
		if strings.Split(shard4[p], "/")[0] != strings.Split(s, "/")[0] {
			moved++
			if shard4[p] != "3/4" {
				t.Errorf("%s moved from %s to %s, not to the new shard", p, s, shard4[p])
			}
		}
	}
	if moved < shardProfiles/8 || moved > shardProfiles*3/8 {
		t.Errorf("3→4 shards moved %d of %d profiles, want about a quarter", moved, shardProfiles)
	}
	t.Logf("3→4 shards moved %d of %d profiles (a quarter is %d)", moved, shardProfiles, shardProfiles/4)
}

// queryLabelPair evaluates PromQL now and returns, for each sample, one
// label's value by another's.
func queryLabelPair(t *testing.T, prom v1.API, q, key, value string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, _, err := prom.Query(ctx, q, time.Now())
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	out := map[string]string{}
	for _, s := range v.(model.Vector) {
		out[string(s.Metric[model.LabelName(key)])] = string(s.Metric[model.LabelName(value)])
	}
	return out
}

// profileShards reads perf_profile_info's shard label by profile from a
// replica's /metrics.
func profileShards(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	if f := families["perf_profile_info"]; f != nil {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["profile"]] = labels["shard"]
		}
	}
	return out
}
