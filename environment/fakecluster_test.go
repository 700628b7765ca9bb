package environment

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeCluster serves what a Prometheus scraping a meshed Kubernetes
// cluster would see from the kubelet's cAdvisor endpoint, Istio's sidecars
// and Linkerd's proxies: the real metric names and labels, with values
// that move. While busy (a run is going on) counters grow at their busy
// rate and gauges take their busy value; otherwise at the idle ones, which
// are much lower, so a window that reached before the run would show.
type fakeCluster struct {
	mu     sync.Mutex
	busy   bool
	since  time.Time // start of the current phase
	last   time.Time // last scrape
	series []*fakeSeries
}

type fakeSeries struct {
	family string // the metric family, as in # TYPE
	typ    string // counter, gauge or histogram
	name   string // the sample's name (family, or family_bucket ...)
	labels string
	// idle and busy are per-second increases of a counter, or a gauge's
	// value; growth is added per second of the busy phase to a gauge.
	idle, busy, growth float64
	value              float64
}

// The busy rates the tests expect back. Label sets follow the sources
// cited in sets.go; two replicas of the checkout workload, one with an
// Istio sidecar and one with a Linkerd proxy, are in namespace shop.
const (
	fakeAppCores          = 0.5  // per checkout container
	fakeIstioProxyCores   = 0.25 // the one istio-proxy in shop
	fakeLinkerdProxyCores = 0.15 // the one linkerd-proxy in shop
	fakeIstiodCores       = 0.1
	fakeLinkerdCPCores    = 0.08 // destination 0.06 + its proxy 0.02
	fakeIstioRPS          = 100.0
	fakeLinkerdRPS        = 50.0
	fakeIstioProxyBytes   = 90 << 20
	fakeIstiodBytes       = 200 << 20 // growing by 1 MiB/s while busy
	// p99 from the bucket fractions below: 98% within 25ms, all within
	// 50ms: 25 + (0.99-0.98)/0.02*25 = 37.5ms. Linkerd: 98% within 30ms,
	// all within 40ms: 35ms.
	fakeIstioP99   = 0.0375
	fakeLinkerdP99 = 0.035
)

func newFakeCluster() *fakeCluster {
	f := &fakeCluster{since: time.Now(), last: time.Now()}
	add := func(family, typ, name, labels string, idle, busy, growth float64) {
		f.series = append(f.series, &fakeSeries{family: family, typ: typ, name: name, labels: labels, idle: idle, busy: busy, growth: growth, value: idle})
	}
	const (
		istioPod   = `namespace="shop",pod="checkout-7d9f8b6c5-x2x4z"`
		linkerdPod = `namespace="shop",pod="checkout-5c6d7b8f9-q7k2m"`
		istiodPod  = `namespace="istio-system",pod="istiod-6c9d8f7b5-q8w2r"`
		destPod    = `namespace="linkerd",pod="linkerd-destination-7b8c9d6e5-r4t5y"`
		noisePod   = `namespace="batch",pod="report-28c4f-x9z8w"`
	)
	cpu := func(labels string, idle, busy float64) {
		add("container_cpu_usage_seconds_total", "counter", "container_cpu_usage_seconds_total", labels, idle, busy, 0)
	}
	mem := func(labels string, idle, busy, growth float64) {
		add("container_memory_working_set_bytes", "gauge", "container_memory_working_set_bytes", labels, idle, busy, growth)
	}
	// cAdvisor: every container, the pause container (POD) and the pod's
	// own cgroup (container="").
	cpu(istioPod+`,container="checkout"`, 0.02, fakeAppCores)
	cpu(istioPod+`,container="istio-proxy"`, 0.01, fakeIstioProxyCores)
	cpu(istioPod+`,container="POD"`, 0.0001, 0.0001)
	cpu(istioPod+`,container=""`, 0.03, fakeAppCores+fakeIstioProxyCores)
	cpu(linkerdPod+`,container="checkout"`, 0.02, fakeAppCores)
	cpu(linkerdPod+`,container="linkerd-proxy"`, 0.005, fakeLinkerdProxyCores)
	cpu(linkerdPod+`,container=""`, 0.025, fakeAppCores+fakeLinkerdProxyCores)
	cpu(istiodPod+`,container="discovery"`, 0.02, fakeIstiodCores)
	cpu(destPod+`,container="destination"`, 0.01, 0.06)
	cpu(destPod+`,container="linkerd-proxy"`, 0.005, 0.02)
	cpu(noisePod+`,container="report"`, 2, 2)
	mem(istioPod+`,container="checkout"`, 150<<20, 180<<20, 0)
	mem(istioPod+`,container="istio-proxy"`, 60<<20, fakeIstioProxyBytes, 0)
	mem(linkerdPod+`,container="checkout"`, 150<<20, 180<<20, 0)
	mem(linkerdPod+`,container="linkerd-proxy"`, 20<<20, 30<<20, 0)
	mem(istiodPod+`,container="discovery"`, 180<<20, fakeIstiodBytes, 1<<20)
	mem(destPod+`,container="destination"`, 40<<20, 45<<20, 0)
	mem(destPod+`,container="linkerd-proxy"`, 10<<20, 12<<20, 0)
	mem(noisePod+`,container="report"`, 4<<30, 4<<30, 0)

	// Istio standard metrics of the server-side proxy, and of a client
	// proxy (reporter="source") that must not be counted twice.
	istioLabels := `reporter="destination",source_workload="unknown",source_workload_namespace="unknown",destination_workload="checkout",destination_workload_namespace="shop",destination_service="checkout.shop.svc.cluster.local",request_protocol="http",response_code="200",connection_security_policy="none"`
	add("istio_requests_total", "counter", "istio_requests_total", istioLabels, 0, fakeIstioRPS, 0)
	add("istio_requests_total", "counter", "istio_requests_total",
		strings.Replace(istioLabels, `reporter="destination",source_workload="unknown"`, `reporter="source",source_workload="frontend"`, 1), 0, fakeIstioRPS, 0)
	histogram := func(family, labels string, rps float64, cumulative map[string]float64, meanMs float64) {
		les := make([]string, 0, len(cumulative))
		for le := range cumulative {
			les = append(les, le)
		}
		sort.Slice(les, func(i, j int) bool { return leLess(les[i], les[j]) })
		for _, le := range les {
			add(family, "histogram", family+"_bucket", labels+`,le="`+le+`"`, 0, rps*cumulative[le], 0)
		}
		add(family, "histogram", family+"_sum", labels, 0, rps*meanMs, 0)
		add(family, "histogram", family+"_count", labels, 0, rps, 0)
	}
	// Istio's default buckets (ms), truncated where everything is counted.
	histogram("istio_request_duration_milliseconds", istioLabels, fakeIstioRPS, map[string]float64{
		"1": 0.1, "5": 0.5, "10": 0.9, "25": 0.98, "50": 1, "100": 1, "250": 1, "+Inf": 1}, 8)

	// Linkerd proxy metrics, inbound (server side) and outbound.
	linkerdLabels := `direction="inbound",namespace="shop",deployment="checkout",pod="checkout-5c6d7b8f9-q7k2m",tls="true",authority="checkout.shop.svc.cluster.local:8080"`
	add("request_total", "counter", "request_total", linkerdLabels, 0, fakeLinkerdRPS, 0)
	add("request_total", "counter", "request_total",
		`direction="outbound",namespace="shop",deployment="checkout",pod="checkout-5c6d7b8f9-q7k2m",dst_namespace="shop",dst_deployment="inventory",tls="true"`, 0, 3*fakeLinkerdRPS, 0)
	histogram("response_latency_ms", linkerdLabels, fakeLinkerdRPS, map[string]float64{
		"1": 0, "5": 0.2, "10": 0.5, "20": 0.9, "30": 0.98, "40": 1, "50": 1, "100": 1, "+Inf": 1}, 12)
	return f
}

func leLess(a, b string) bool {
	if a == "+Inf" || b == "+Inf" {
		return b == "+Inf" && a != "+Inf"
	}
	// The fake's own bucket bounds: always numbers.
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return x < y
}

// setBusy starts or ends a run.
func (f *fakeCluster) setBusy(busy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance(time.Now())
	f.busy, f.since = busy, time.Now()
}

// advance brings counters and gauges up to now.
func (f *fakeCluster) advance(now time.Time) {
	dt := now.Sub(f.last).Seconds()
	f.last = now
	for _, s := range f.series {
		rate := s.idle
		if f.busy {
			rate = s.busy
		}
		if s.typ == "gauge" {
			s.value = rate
			if f.busy {
				s.value += s.growth * now.Sub(f.since).Seconds()
			}
			continue
		}
		s.value += rate * dt
	}
}

// ServeHTTP writes every sample with the time its value was computed, as
// cAdvisor does: on a loaded machine the scrape's own timestamp can be
// hundreds of milliseconds off, which would blur the rates the tests check.
func (f *fakeCluster) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().Truncate(time.Millisecond)
	f.advance(now)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	family := ""
	for _, s := range f.series {
		if s.family != family {
			family = s.family
			fmt.Fprintf(w, "# TYPE %s %s\n", s.family, s.typ)
		}
		fmt.Fprintf(w, "%s{%s} %g %d\n", s.name, s.labels, s.value, now.UnixMilli())
	}
}
