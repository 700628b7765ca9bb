package config

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is this replica's part of the profiles (--profiles.shard=INDEX/COUNT):
// it runs the profiles whose hash falls to INDEX of COUNT shards. The zero
// Shard is no sharding: it owns every profile.
type Shard struct {
	Index, Count int
}

// ParseShard reads INDEX/COUNT, 0 ≤ INDEX < COUNT.
func ParseShard(s string) (Shard, error) {
	i, c, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("%q is not INDEX/COUNT (e.g. 0/3)", s)
	}
	index, err := strconv.Atoi(strings.TrimSpace(i))
	if err != nil {
		return Shard{}, fmt.Errorf("%q: index %q is not a number", s, i)
	}
	count, err := strconv.Atoi(strings.TrimSpace(c))
	if err != nil {
		return Shard{}, fmt.Errorf("%q: count %q is not a number", s, c)
	}
	if count < 1 {
		return Shard{}, fmt.Errorf("%q: count must be at least 1", s)
	}
	if index < 0 || index >= count {
		return Shard{}, fmt.Errorf("%q: index must be from 0 to %d", s, count-1)
	}
	return Shard{Index: index, Count: count}, nil
}

// Enabled says whether profiles are sharded at all.
func (s Shard) Enabled() bool { return s.Count > 0 }

// String is INDEX/COUNT, empty without sharding.
func (s Shard) String() string {
	if !s.Enabled() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns says whether this shard runs the profile.
func (s Shard) Owns(profile string) bool {
	return !s.Enabled() || ShardOf(profile, s.Count) == s.Index
}

// Filter returns cfg with only the profiles this shard owns; cfg itself is
// left alone. Without sharding it is cfg.
func (s Shard) Filter(cfg *Config) *Config {
	if !s.Enabled() || cfg == nil {
		return cfg
	}
	out := *cfg
	out.Profiles = make([]Profile, 0, len(cfg.Profiles)/s.Count+1)
	for _, p := range cfg.Profiles {
		if s.Owns(p.Name) {
			out.Profiles = append(out.Profiles, p)
		}
	}
	return &out
}

// ShardOf is the shard, of count, that owns a profile: Lamping and Veach's
// jump consistent hash of the profile's name. When count grows from n to
// n+1, only the profiles that move to the new shard change owner (1/(n+1)
// of them), unlike hash % n, which moves nearly all. Never change the hash:
// every fleet would reshuffle its profiles on upgrade.
func ShardOf(profile string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(profile))
	return jumpHash(mix64(h.Sum64()), count)
}

// mix64 is SplitMix64's finaliser: FNV of names that differ in their last
// byte differ in few bits, which the jump hash would not spread.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func jumpHash(key uint64, buckets int) int {
	b, j := int64(-1), int64(0)
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
