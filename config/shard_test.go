package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/1", Shard{0, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{"3/3", Shard{}, "index must be from 0 to 2"},
		{"-1/3", Shard{}, "index must be from 0 to 2"},
		{"0/0", Shard{}, "count must be at least 1"},
		{"1", Shard{}, "not INDEX/COUNT"},
		{"a/3", Shard{}, `index "a" is not a number`},
		{"1/b", Shard{}, `count "b" is not a number`},
	} {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// Every profile belongs to exactly one shard, the shards get about equal
// parts, and growing the fleet by one shard moves only the profiles the new
// shard takes: about 1/(n+1), never from one old shard to another.
func TestShardOfIsBalancedAndMovesFew(t *testing.T) {
	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d-endpoint-%d", i/7, i%7)
	}
	for count := 1; count <= 8; count++ {
		sizes := make([]int, count)
		moved := 0
		for _, name := range names {
			owners := 0
			for i := range count {
				if (Shard{i, count}).Owns(name) {
					owners++
				}
			}
			if owners != 1 {
				t.Fatalf("%s is owned by %d of %d shards", name, owners, count)
			}
			s := ShardOf(name, count)
			sizes[s]++
			if count > 1 {
				if before := ShardOf(name, count-1); before != s {
					moved++
					if s != count-1 {
						t.Errorf("%s moved from shard %d to old shard %d going to %d shards", name, before, s, count)
					}
				}
			}
		}
		for i, size := range sizes {
			if want := n / count; size < want*3/4 || size > want*5/4 {
				t.Errorf("%d shards: shard %d has %d profiles, want about %d", count, i, size, want)
			}
		}
		if count > 1 {
			if want := n / count; moved < want*3/4 || moved > want*5/4 {
				t.Errorf("%d→%d shards moved %d profiles, want about %d", count-1, count, moved, want)
			}
			t.Logf("%d→%d shards: %d of %d profiles move", count-1, count, moved, n)
		}
	}
}

func TestShardFilter(t *testing.T) {
	cfg := &Config{}
	for i := range 30 {
		cfg.Profiles = append(cfg.Profiles, Profile{Name: fmt.Sprintf("p%d", i)})
	}
	if got := (Shard{}).Filter(cfg); got != cfg {
		t.Error("no sharding should return the config itself")
	}
	total := 0
	for i := range 3 {
		part := Shard{i, 3}.Filter(cfg)
		for _, p := range part.Profiles {
			if ShardOf(p.Name, 3) != i {
				t.Errorf("shard %d kept %s of shard %d", i, p.Name, ShardOf(p.Name, 3))
			}
		}
		total += len(part.Profiles)
	}
	if total != 30 || len(cfg.Profiles) != 30 {
		t.Errorf("shards hold %d profiles of 30; original now %d", total, len(cfg.Profiles))
	}
}
