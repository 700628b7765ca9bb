package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// A replica with --profiles.shard exposes the profiles of its shard only,
// and says in perf_profile_info which shard it is.
func TestShardedServeExposesItsProfilesOnly(t *testing.T) {
	var yaml strings.Builder
	yaml.WriteString("profiles:\n")
	var names []string
	for i := range 12 {
		name := fmt.Sprintf("p%d", i)
		names = append(names, name)
		fmt.Fprintf(&yaml, "  - {name: %s, schedule: \"@every 1h\", target: {url: \"http://127.0.0.1:1/\"}}\n", name)
	}
	addr := testutil.FreeAddr(t)
	f := serveFlagsFor(t, yaml.String(), addr)
	f.shard = "1/3"
	d := startServeFlags(t, f, addr)
	metrics := get(t, d.url+"/metrics")
	owned := 0
	for _, name := range names {
		info := fmt.Sprintf(`perf_profile_info{engine="fortio",profile=%q,protocol="http1",shard="1/3",target="http://127.0.0.1:1/"} 1`, name)
		mine := config.ShardOf(name, 3) == 1
		if mine {
			owned++
		}
		if got := strings.Contains(metrics, info); got != mine {
			t.Errorf("profile %s of shard %d: exposed %v on shard 1/3", name, config.ShardOf(name, 3), got)
		}
		if !mine && strings.Contains(metrics, fmt.Sprintf("profile=%q", name)) {
			t.Errorf("shard 1/3 exposes series of %s, another shard's profile:\n%s", name, grepLines(metrics, name))
		}
	}
	if owned == 0 || owned == len(names) {
		t.Fatalf("shard 1/3 owns %d of %d profiles: the test needs some on each side", owned, len(names))
	}
}

func TestShardFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		shard string
		split int
		want  string
	}{
		{"3/3", 1, "--profiles.shard: \"3/3\": index must be from 0 to 2"},
		{"x", 1, "--profiles.shard: \"x\" is not INDEX/COUNT"},
		{"0/2", 2, "--profiles.shard=0/2 and --load.split=2 exclude each other"},
	} {
		f := serveFlagsFor(t, "profiles: []\n", testutil.FreeAddr(t))
		f.shard, f.split = tc.shard, tc.split
		err := serve(context.Background(), slog.New(slog.DiscardHandler), f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--profiles.shard=%s --load.split=%d: got %v, want %q", tc.shard, tc.split, err, tc.want)
		}
	}
}
