package environment

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

// The cluster of testdata/cluster, as Prometheus sees it through the real
// scrape jobs. Namespace shop holds the target, the Deployment checkout,
// in the middle of a move from Istio to Linkerd: its old ReplicaSet's pod
// checkout-7d9f8b6c5-x2x4z has an istio-proxy sidecar, the new one's
// checkout-5c6d7b8f9-q7k2m a linkerd-proxy. Next to it: the StatefulSet
// checkout-db (pod checkout-db-0, same prefix, Istio-injected) and the
// Deployment cart (Linkerd). istio-system holds istiod and the ingress
// gateway (container istio-proxy too), linkerd the destination and
// identity pods with their proxies. The rates and sizes are in the
// testdata files; the truth below is worked out from them by hand.
const mib = 1 << 20

var shapedTruth = []struct {
	key   string
	want  float64
	how   string
	wrong string // what the defects of issue 19 gave
}{
	{"kubernetes/target_cpu_cores", 0.60, "checkout 0.30 + checkout 0.30 (not checkout-db-0's postgres 0.40, not the sidecars, POD, pause or pod cgroups)", "1.00; none at a 1s scrape"},
	{"kubernetes/target_memory_bytes", 420 * mib, "210 + 210 MiB", "932 MiB"},
	{"istio/dataplane_cpu_cores", 0.12, "the target's istio-proxy only", "0.20 in shop (+checkout-db-0's 0.08), 0.45 in every namespace (+gateway 0.25)"},
	{"istio/dataplane_memory_bytes", 64 * mib, "the target's istio-proxy only", "124 MiB in shop, 214 MiB everywhere"},
	{"istio/controlplane_cpu_cores", 0.09, "istiod's discovery", ""},
	{"istio/controlplane_memory_bytes", 180 * mib, "istiod's discovery", ""},
	{"istio/mesh_request_rate", 40, "reporter=destination on checkout: 38 (200) + 2 (503); not the gateway's reporter=source, not checkout-db's", ""},
	// Both series' buckets summed: at le=50 38*0.985+2 = 39.43, at
	// le=100 40; rank 0.99*40 = 39.6: 50 + 50*(39.6-39.43)/(40-39.43).
	{"istio/mesh_p99_latency_seconds", (50 + 50*(39.6-39.43)/(40-39.43)) / 1000, "histogram_quantile over 200 and 503 buckets", ""},
	{"linkerd/dataplane_cpu_cores", 0.05, "the target's linkerd-proxy only", "0.09 in shop (+cart's 0.04), 0.11 everywhere (+control plane proxies)"},
	{"linkerd/dataplane_memory_bytes", 18 * mib, "the target's linkerd-proxy only", "34 MiB in shop, 61 MiB everywhere"},
	{"linkerd/controlplane_cpu_cores", 0.03 + 0.02 + 0.005 + 0.015 + 0.01 + 0.005, "destination, policy, sp-validator, identity and their two proxies", ""},
	{"linkerd/controlplane_memory_bytes", (60 + 40 + 20 + 15 + 25 + 12) * mib, "the same six containers", ""},
	{"linkerd/mesh_request_rate", 12, "inbound on port 8080 only", "12.5 (+0.5/s on the admin port 4191)"},
	// le=40 12*0.985 = 11.82, le=50 12; rank 0.99*12 = 11.88.
	{"linkerd/mesh_p99_latency_seconds", (40 + 10*(11.88-11.82)/(12-11.82)) / 1000, "histogram_quantile over the port-8080 buckets", "43.06 ms with the admin port"},
}

// shapedProfiles name the same target three ways; each must give the
// truth: by name within its namespace, by name in every namespace (the
// default), and by the pod label app through kube-state-metrics.
const shapedProfiles = `
  - name: by-name
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    environment: [kubernetes, istio, linkerd]
    environment_vars: {namespace: shop, workload: checkout}
  - name: by-name-any-namespace
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    environment: [kubernetes, istio, linkerd]
    environment_vars: {workload: checkout}
  - name: by-label
    schedule: "@every 1h"
    target: {url: "http://127.0.0.1:1/"}
    environment: [kubernetes, istio, linkerd]
    environment_vars: {namespace: shop, workload: checkout, pod_label: app}
`

// TestBuiltinSetsOnRealClusterShapes serves testdata/cluster's
// expositions (the label shapes of the kubelet's cAdvisor, Istio's
// sidecars, Linkerd's proxies and kube-state-metrics, with counters that
// grow with time and cAdvisor's own sample timestamps) to real Prometheus
// servers configured with the real scrape jobs, and checks every value of
// the kubernetes, istio and linkerd sets against the truth, within 2%, at
// scrape intervals of 1s, 10s and 30s, in parallel.
func TestBuiltinSetsOnRealClusterShapes(t *testing.T) {
	began := time.Now()
	c := startShapedCluster(t)
	t.Cleanup(func() { t.Logf("whole test: %s", time.Since(began).Round(time.Second)) })
	for _, tc := range []struct{ scrape, window time.Duration }{
		// cAdvisor's rate window is 30s at a 1s scrape: six points.
		{time.Second, 35 * time.Second},
		// 40s (four scrapes) at 10s: two points.
		{10 * time.Second, 50 * time.Second},
		// Two scrapes at 30s: one point, the whole window.
		{30 * time.Second, 60 * time.Second},
	} {
		t.Run("scrape="+tc.scrape.String(), func(t *testing.T) {
			t.Parallel()
			prom := testutil.StartPrometheus(t, testutil.PrometheusOptions{
				ScrapeInterval: tc.scrape,
				ScrapeConfigs:  c.scrapeConfigs(),
			})
			cfg := parseConfig(t, fmt.Sprintf(`
global: {environment_window: {margin: 0s}}
prometheus:
  - {name: cluster, url: %q, scrape_interval: %s}
profiles:%s`, prom, tc.scrape, shapedProfiles))
			// The window starts once every target has been scraped, as a
			// run would in a cluster that has been up for a while.
			waitForTargets(t, prom, c.targets, 2*tc.scrape+20*time.Second)
			start := time.Now()
			time.Sleep(tc.window)
			end := time.Now()

			logger, logs := newLogger()
			env := New(cfg, logger, Options{})
			got := map[string]result.EnvironmentValue{}
			for _, p := range cfg.Profiles {
				for _, v := range env.Evaluate(context.Background(), p, start, end) {
					got[p.Name+" "+v.Set+"/"+v.Name] = v
				}
			}
			var table strings.Builder
			fmt.Fprintf(&table, "scrape %s, window %s:\n", tc.scrape, tc.window)
			for _, p := range cfg.Profiles {
				for _, tr := range shapedTruth {
					v, ok := got[p.Name+" "+tr.key]
					if !ok {
						t.Errorf("%s %s: no value", p.Name, tr.key)
						continue
					}
					fmt.Fprintf(&table, "  %-22s %-34s avg %-12.6g max %-12.6g truth %-12.6g %+.2f%% %s\n",
						p.Name, tr.key, v.Avg, v.Max, tr.want, 100*(v.Avg-tr.want)/tr.want, v.Error)
					if v.Error != "" {
						t.Errorf("%s %s: %s\n  query: %s", p.Name, tr.key, v.Error, v.Query)
						continue
					}
					for _, x := range []struct {
						what string
						v    float64
					}{{"avg", v.Avg}, {"max", v.Max}} {
						if math.Abs(x.v-tr.want) > 0.02*tr.want {
							t.Errorf("%s %s %s = %.6g, want %.6g ±2%% (%s)\n  query: %s", p.Name, tr.key, x.what, x.v, tr.want, tr.how, v.Query)
						}
					}
				}
			}
			t.Log(table.String())
			if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("the evaluation logged problems:\n%s", logs)
			}
		})
	}
}

// shapedCluster serves testdata/cluster: the kubelets' cAdvisor through
// one "API server", and each pod's metrics port on its own address, as
// the scrape jobs' relabelings expect.
type shapedCluster struct {
	boot      time.Time
	apiserver string            // host:port serving /api/v1/nodes/<node>/proxy/metrics/cadvisor
	pods      map[string]string // testdata file -> host:port
	targets   int               // the targets the jobs keep
}

// shapedEndpoint is one exposition of testdata/cluster. spacing > 0 gives
// its samples their own timestamps, refreshed every spacing from phase on
// (cAdvisor's housekeeping); else they are computed at the scrape.
type shapedEndpoint struct {
	lines          []shapedLine
	spacing, phase time.Duration
}

type shapedLine struct {
	text    string // a comment, or the sample's name and labels
	sample  bool
	counter bool    // value grows by rate per second
	value   float64 // a gauge's value, or a counter's rate
}

func loadShapedEndpoint(t testing.TB, file string, spacing, phase time.Duration) *shapedEndpoint {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "cluster", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := &shapedEndpoint{spacing: spacing, phase: phase}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			e.lines = append(e.lines, shapedLine{text: line})
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("%s:%d: no value", file, n)
		}
		v := line[i+1:]
		l := shapedLine{text: line[:i], sample: true}
		if r, ok := strings.CutSuffix(v, "/s"); ok {
			l.counter, v = true, r
		}
		if l.value, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("%s:%d: %v", file, n, err)
		}
		e.lines = append(e.lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

// write serves the exposition as it is at now: counters have grown at
// their rate since boot, a day before the test, so that rate() has no
// reason to clamp its extrapolation at zero.
func (e *shapedEndpoint) write(w http.ResponseWriter, boot, now time.Time) {
	at, stamp := now, ""
	if e.spacing > 0 {
		since := now.Sub(boot.Add(e.phase))
		at = boot.Add(e.phase + since/e.spacing*e.spacing)
		stamp = " " + strconv.FormatInt(at.UnixMilli(), 10)
		at = time.UnixMilli(at.UnixMilli()) // the time the stamp says
	}
	elapsed := at.Sub(boot).Seconds()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	bw := bufio.NewWriter(w)
	for _, l := range e.lines {
		if !l.sample {
			fmt.Fprintln(bw, l.text)
			continue
		}
		v := l.value
		if l.counter {
			v *= elapsed
		}
		fmt.Fprintf(bw, "%s %s%s\n", l.text, strconv.FormatFloat(v, 'g', -1, 64), stamp)
	}
	_ = bw.Flush()
}

func serveShaped(t testing.TB, boot time.Time, routes map[string]*shapedEndpoint) string {
	t.Helper()
	mux := http.NewServeMux()
	for path, e := range routes {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) { e.write(w, boot, time.Now()) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func startShapedCluster(t testing.TB) *shapedCluster {
	t.Helper()
	c := &shapedCluster{boot: time.Now().Add(-24 * time.Hour).Truncate(time.Second), pods: map[string]string{}}
	// cAdvisor's housekeeping: every 10s on node-a, 15s (its longest, for
	// containers that do not change) on node-b.
	c.apiserver = serveShaped(t, c.boot, map[string]*shapedEndpoint{
		"/api/v1/nodes/node-a/proxy/metrics/cadvisor": loadShapedEndpoint(t, "cadvisor-node-a.prom", 10*time.Second, 3700*time.Millisecond),
		"/api/v1/nodes/node-b/proxy/metrics/cadvisor": loadShapedEndpoint(t, "cadvisor-node-b.prom", 15*time.Second, 8200*time.Millisecond),
	})
	for file, path := range map[string]string{
		"istio-checkout-7d9f8b6c5-x2x4z.prom":       "/stats/prometheus",
		"istio-checkout-db-0.prom":                  "/stats/prometheus",
		"istio-ingressgateway-7f8c9d5b6-h2j4k.prom": "/stats/prometheus",
		"linkerd-checkout-5c6d7b8f9-q7k2m.prom":     "/metrics",
		"linkerd-cart-6b7c8d9f5-p4q5r.prom":         "/metrics",
		"linkerd-destination-7b8c9d6f5-r4t5w.prom":  "/metrics",
		"linkerd-identity-5f6d7c8b9-k2m4n.prom":     "/metrics",
		"kube-state-metrics.prom":                   "/metrics",
	} {
		c.pods[file] = serveShaped(t, c.boot, map[string]*shapedEndpoint{path: loadShapedEndpoint(t, file, 0, 0)})
	}
	c.targets = 2 + 3 + 4 + 1
	return c
}

// port is the port of a pod's listener: what its prometheus.io/port
// annotation says (15020 in a cluster, where every pod has its own IP).
func (c *shapedCluster) port(file string) string {
	_, port, _ := strings.Cut(c.pods[file], ":")
	return port
}

// scrapeConfigs are the real jobs, with static targets carrying the
// labels Kubernetes service discovery would give (role node and pod),
// so that the real relabelings run on them:
//   - kubernetes-nodes-cadvisor: linkerd/linkerd2
//     viz/charts/linkerd-viz/templates/prometheus.yaml @
//     01016ff27b2018a2f8dcbfb1d735f6d535a811d5 (the same job as Istio's
//     samples/addons/prometheus.yaml, plus its metric_relabel_configs).
//     The one change: __address__ is this test's API server, not
//     kubernetes.default.svc:443, over plain HTTP.
//   - kubernetes-pods: istio/istio samples/addons/prometheus.yaml @
//     0474fc13af12c0a4a602e7756a90c589d3c47712, unchanged; the pod IP is
//     127.0.0.1 and the port annotation the pod's listener.
//   - linkerd-proxy: linkerd-viz's prometheus.yaml as above, unchanged,
//     with the chart's defaults filled in (proxyContainerName
//     linkerd-proxy, linkerdNamespace linkerd).
//   - kube-state-metrics: as kube-prometheus-stack scrapes it, with
//     honor_labels so that its namespace and pod labels stay.
//
// Pods that a job's keep rule must drop are listed too.
func (c *shapedCluster) scrapeConfigs() string {
	istioPod := func(file, ns, pod, node string, labels string) string {
		return fmt.Sprintf(`  - targets: ["10.42.0.%d:8080"]
    labels:
      __meta_kubernetes_namespace: %s
      __meta_kubernetes_pod_name: %s
      __meta_kubernetes_pod_ip: 127.0.0.1
      __meta_kubernetes_pod_phase: Running
      __meta_kubernetes_pod_node_name: %s
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true"
      __meta_kubernetes_pod_annotation_prometheus_io_port: "%s"
      __meta_kubernetes_pod_annotation_prometheus_io_path: /stats/prometheus
      __meta_kubernetes_pod_label_security_istio_io_tlsMode: istio
%s`, len(pod), ns, pod, node, c.port(file), labels)
	}
	linkerdPod := func(file, ns, pod, labels string) string {
		return fmt.Sprintf(`  - targets: [%q]
    labels:
      __meta_kubernetes_namespace: %s
      __meta_kubernetes_pod_name: %s
      __meta_kubernetes_pod_phase: Running
      __meta_kubernetes_pod_container_name: linkerd-proxy
      __meta_kubernetes_pod_container_port_name: linkerd-admin
      __meta_kubernetes_pod_label_linkerd_io_control_plane_ns: linkerd
%s`, c.pods[file], ns, pod, labels)
	}
	return fmt.Sprintf(`- job_name: kubernetes-nodes-cadvisor
  static_configs:
  - targets: ["10.0.0.11:10250"]
    labels:
      __meta_kubernetes_node_name: node-a
      __meta_kubernetes_node_label_kubernetes_io_hostname: node-a
      __meta_kubernetes_node_label_kubernetes_io_os: linux
  - targets: ["10.0.0.12:10250"]
    labels:
      __meta_kubernetes_node_name: node-b
      __meta_kubernetes_node_label_kubernetes_io_hostname: node-b
      __meta_kubernetes_node_label_kubernetes_io_os: linux
  relabel_configs:
  - action: labelmap
    regex: __meta_kubernetes_node_label_(.+)
  - target_label: __address__
    replacement: %s
  - source_labels: [__meta_kubernetes_node_name]
    regex: (.+)
    target_label: __metrics_path__
    replacement: /api/v1/nodes/$1/proxy/metrics/cadvisor
  metric_relabel_configs:
  - source_labels: [__name__]
    regex: '(container|machine)_(cpu|memory|network|fs)_(.+)'
    action: keep
  - source_labels: [__name__]
    regex: 'container_memory_failures_total'
    action: drop
- job_name: kubernetes-pods
  honor_labels: true
  static_configs:
%s%s%s  - targets: ["10.42.1.17:8080"]
    labels:
      __meta_kubernetes_namespace: shop
      __meta_kubernetes_pod_name: checkout-5c6d7b8f9-q7k2m
      __meta_kubernetes_pod_ip: 10.42.1.17
      __meta_kubernetes_pod_phase: Running
      __meta_kubernetes_pod_label_app: checkout
  relabel_configs:
  - action: keep
    regex: true
    source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
  - action: drop
    regex: true
    source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape_slow]
  - action: replace
    regex: (https?)
    source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
    target_label: __scheme__
  - action: replace
    regex: (.+)
    source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
    target_label: __metrics_path__
  - action: replace
    regex: (\d+);(([A-Fa-f0-9]{1,4}::?){1,7}[A-Fa-f0-9]{1,4})
    replacement: '[$2]:$1'
    source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
    target_label: __address__
  - action: replace
    regex: (\d+);((([0-9]+?)(\.|$)){4})
    replacement: $2:$1
    source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port, __meta_kubernetes_pod_ip]
    target_label: __address__
  - action: labelmap
    regex: __meta_kubernetes_pod_annotation_prometheus_io_param_(.+)
    replacement: __param_$1
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
  - action: replace
    source_labels: [__meta_kubernetes_namespace]
    target_label: namespace
  - action: replace
    source_labels: [__meta_kubernetes_pod_name]
    target_label: pod
  - action: drop
    regex: Pending|Succeeded|Failed|Completed
    source_labels: [__meta_kubernetes_pod_phase]
  - action: replace
    source_labels: [__meta_kubernetes_pod_node_name]
    target_label: node
- job_name: linkerd-proxy
  static_configs:
%s%s%s%s  - targets: ["10.42.1.17:8080"]
    labels:
      __meta_kubernetes_namespace: shop
      __meta_kubernetes_pod_name: checkout-5c6d7b8f9-q7k2m
      __meta_kubernetes_pod_phase: Running
      __meta_kubernetes_pod_container_name: checkout
      __meta_kubernetes_pod_container_port_name: http
      __meta_kubernetes_pod_label_linkerd_io_control_plane_ns: linkerd
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_phase]
    regex: (Pending|Running)
    action: keep
  - source_labels:
    - __meta_kubernetes_pod_container_name
    - __meta_kubernetes_pod_container_port_name
    - __meta_kubernetes_pod_label_linkerd_io_control_plane_ns
    action: keep
    regex: ^linkerd-proxy;linkerd-admin;linkerd$
  - source_labels: [__meta_kubernetes_namespace]
    action: replace
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    action: replace
    target_label: pod
  - source_labels: [__meta_kubernetes_pod_label_linkerd_io_proxy_job]
    action: replace
    target_label: k8s_job
  - action: labeldrop
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_job
  - action: labelmap
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
  - action: labeldrop
    regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
  - action: labelmap
    regex: __meta_kubernetes_pod_label_linkerd_io_(.+)
  - action: labelmap
    regex: __meta_kubernetes_pod_label_(.+)
    replacement: __tmp_pod_label_$1
  - action: labelmap
    regex: __tmp_pod_label_linkerd_io_(.+)
    replacement:  __tmp_pod_label_$1
  - action: labeldrop
    regex: __tmp_pod_label_linkerd_io_(.+)
  - action: labelmap
    regex: __tmp_pod_label_(.+)
- job_name: kube-state-metrics
  honor_labels: true
  static_configs:
  - targets: [%q]
`,
		c.apiserver,
		istioPod("istio-checkout-7d9f8b6c5-x2x4z.prom", "shop", "checkout-7d9f8b6c5-x2x4z", "node-a", `      __meta_kubernetes_pod_label_app: checkout
      __meta_kubernetes_pod_label_version: v1
      __meta_kubernetes_pod_label_pod_template_hash: 7d9f8b6c5
      __meta_kubernetes_pod_label_service_istio_io_canonical_name: checkout
      __meta_kubernetes_pod_label_service_istio_io_canonical_revision: v1
`),
		istioPod("istio-checkout-db-0.prom", "shop", "checkout-db-0", "node-a", `      __meta_kubernetes_pod_label_app: checkout-db
      __meta_kubernetes_pod_label_controller_revision_hash: checkout-db-6d8b9f7c4d
      __meta_kubernetes_pod_label_statefulset_kubernetes_io_pod_name: checkout-db-0
`),
		istioPod("istio-ingressgateway-7f8c9d5b6-h2j4k.prom", "istio-system", "istio-ingressgateway-7f8c9d5b6-h2j4k", "node-a", `      __meta_kubernetes_pod_label_app: istio-ingressgateway
      __meta_kubernetes_pod_label_istio: ingressgateway
      __meta_kubernetes_pod_label_pod_template_hash: 7f8c9d5b6
`),
		linkerdPod("linkerd-checkout-5c6d7b8f9-q7k2m.prom", "shop", "checkout-5c6d7b8f9-q7k2m", `      __meta_kubernetes_pod_label_app: checkout
      __meta_kubernetes_pod_label_pod_template_hash: 5c6d7b8f9
      __meta_kubernetes_pod_label_linkerd_io_proxy_deployment: checkout
      __meta_kubernetes_pod_label_linkerd_io_workload_ns: shop
`),
		linkerdPod("linkerd-cart-6b7c8d9f5-p4q5r.prom", "shop", "cart-6b7c8d9f5-p4q5r", `      __meta_kubernetes_pod_label_app: cart
      __meta_kubernetes_pod_label_pod_template_hash: 6b7c8d9f5
      __meta_kubernetes_pod_label_linkerd_io_proxy_deployment: cart
      __meta_kubernetes_pod_label_linkerd_io_workload_ns: shop
`),
		linkerdPod("linkerd-destination-7b8c9d6f5-r4t5w.prom", "linkerd", "linkerd-destination-7b8c9d6f5-r4t5w", `      __meta_kubernetes_pod_label_linkerd_io_control_plane_component: destination
      __meta_kubernetes_pod_label_linkerd_io_proxy_deployment: linkerd-destination
      __meta_kubernetes_pod_label_linkerd_io_workload_ns: linkerd
      __meta_kubernetes_pod_label_pod_template_hash: 7b8c9d6f5
`),
		linkerdPod("linkerd-identity-5f6d7c8b9-k2m4n.prom", "linkerd", "linkerd-identity-5f6d7c8b9-k2m4n", `      __meta_kubernetes_pod_label_linkerd_io_control_plane_component: identity
      __meta_kubernetes_pod_label_linkerd_io_proxy_deployment: linkerd-identity
      __meta_kubernetes_pod_label_linkerd_io_workload_ns: linkerd
      __meta_kubernetes_pod_label_pod_template_hash: 5f6d7c8b9
`),
		c.pods["kube-state-metrics.prom"],
	)
}

// waitForTargets waits until Prometheus has scraped n targets
// successfully: up to two scrape intervals after it started, as it
// spreads the first scrapes over one interval.
func waitForTargets(t testing.TB, prom string, n int, within time.Duration) {
	t.Helper()
	client, err := api.NewClient(api.Config{Address: prom})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	var last model.Value
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, _, _, err := v1.NewAPI(client).Query(ctx, `count(up == 1)`, time.Now())
		cancel()
		last = v
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 && int(vec[0].Value) == n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Prometheus did not scrape the %d targets of the cluster within %s (count(up == 1): %v)", n, within, last)
}
