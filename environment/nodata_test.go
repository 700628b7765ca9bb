package environment

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// TestExplainNoData: a query that returns nothing says the likely reason,
// from what a real Prometheus holds: a metric name it has never seen, a
// selector no series matches, samples too sparse for the rate window
// (they carry their own timestamps, 2s apart, scraped every second), or
// an expression that joins series which are all there into nothing.
func TestExplainNoData(t *testing.T) {
	began := time.Now()
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		stamp := time.Now().Truncate(2 * time.Second)
		fmt.Fprintf(w, "# TYPE x_total counter\nx_total{pod=\"a\"} %g %d\n# TYPE y gauge\ny{pod=\"z\"} 1\n",
			stamp.Sub(began).Seconds()+100, stamp.UnixMilli())
	}))
	t.Cleanup(fake.Close)
	prom := testutil.StartPrometheus(t, testutil.PrometheusOptions{Targets: []string{strings.TrimPrefix(fake.URL, "http://")}})
	waitForQuery(t, prom, `count_over_time(x_total[1m])`, 3)
	client, err := api.NewClient(api.Config{Address: prom})
	if err != nil {
		t.Fatal(err)
	}
	to := time.Now()
	from := to.Add(-time.Since(began))
	for _, tc := range []struct{ query, want string }{
		{`sum(rate(nope_total[5s]))`, "wrong names? Prometheus holds no series named nope_total"},
		{`sum(rate(x_total{pod="b"}[5s]))`, `no matching workload? x_total has series in the window, but none match x_total{pod="b"}`},
		{`sum(rate(x_total{pod="a"}[1s]))`, "sparse samples: x_total has about one sample every"},
		{`sum(x_total{pod="a"} * on (pod) y)`, "the expression as a whole returned nothing"},
	} {
		got := explainNoData(context.Background(), v1.NewAPI(client), tc.query, from, to)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n  got  %s\n  want it to contain %q", tc.query, got, tc.want)
		}
	}
}
