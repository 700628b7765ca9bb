package collector

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A sharded replica says in perf_profile_info which shard runs the profile.
func TestProfileInfoNamesTheShard(t *testing.T) {
	c := NewRuns(WithShard("1/3"))
	c.SetProfiles(testProfiles(), nil)
	want := `
# HELP perf_profile_info Configured profiles; the target is scheme://host/path; shard is the INDEX/COUNT of the replica that runs the profile (--profiles.shard), empty without sharding.
# TYPE perf_profile_info gauge
perf_profile_info{engine="fortio",profile="checkout",protocol="http1",shard="1/3",target="http://shop:8080/cart"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "perf_profile_info"); err != nil {
		t.Error(err)
	}
}
