package environment

import "time"

// Query is one named PromQL template of a set.
type Query struct {
	Name string
	// Template is PromQL with ${variable} placeholders (see Expand).
	Template string
	// ByLabelTemplate, when set, replaces Template for a profile that
	// names its target's pods by label (the pod_label variable): the
	// same figure, with the pods chosen through kube-state-metrics'
	// kube_pod_labels instead of by name.
	ByLabelTemplate string
	// Prometheus names the source to ask; empty means the first source.
	Prometheus string
	// SampleSpacing is how far apart the samples of the series the query
	// reads can be, when the exporter sets their timestamps itself rather
	// than the scrape (cAdvisor through the kubelet: every 10 to 15 s,
	// whatever the scrape interval). The rate window is at least twice
	// this, so that it always holds two samples (see rateInterval).
	SampleSpacing time.Duration
}

// Set is a named list of queries a profile selects with `environment:`.
type Set struct {
	Name    string
	Queries []Query
}

// Template variables. A profile sets them with environment_vars; these are
// the defaults. RateInterval and KubePodLabel are not settable: they are
// derived (see templateVars).
const (
	// VarNamespace is a regex of the target's Kubernetes namespaces.
	VarNamespace = "namespace"
	// VarWorkload is a regex of the target's workload names (Deployment,
	// StatefulSet, DaemonSet): its pods are those whose names Kubernetes
	// generates for it (see targetPodName), or, with VarPodLabel, those
	// whose label matches it.
	VarWorkload = "workload"
	// VarPodLabel is a Kubernetes pod label key (app,
	// app.kubernetes.io/name ...). Empty (the default) selects the
	// target's pods by name; set, by the value of this label, through
	// kube-state-metrics' kube_pod_labels.
	VarPodLabel = "pod_label"
	// VarNode is a regex of node_exporter's instance label.
	VarNode = "node"
	// VarIstioNamespace is where istiod runs.
	VarIstioNamespace = "istio_namespace"
	// VarLinkerdNamespace is where the Linkerd control plane runs.
	VarLinkerdNamespace = "linkerd_namespace"
	// VarLinkerdAdminPort is the proxy's admin port (Linkerd's
	// proxy.ports.admin, annotation config.linkerd.io/admin-port): the
	// requests it serves (metrics scrapes, kubelet probes) are not the
	// target's traffic.
	VarLinkerdAdminPort = "linkerd_admin_port"
	// VarRateInterval is the range of rate() and friends.
	VarRateInterval = "rate_interval"
	// VarKubePodLabel is VarPodLabel as kube-state-metrics names it in
	// kube_pod_labels: label_ and the key with every character outside
	// [a-zA-Z0-9_] replaced by _.
	VarKubePodLabel = "kube_pod_label"
)

// DefaultVars are the template variables a profile did not set: match
// everything, the namespaces and port the meshes install with by default,
// and pods chosen by name.
func DefaultVars() map[string]string {
	return map[string]string{
		VarNamespace:        ".+",
		VarWorkload:         ".+",
		VarPodLabel:         "",
		VarNode:             ".+",
		VarIstioNamespace:   "istio-system",
		VarLinkerdNamespace: "linkerd",
		VarLinkerdAdminPort: "4191",
	}
}

// cadvisorSpacing is the longest time between two cAdvisor samples of a
// container as the kubelet serves them: its housekeeping runs every 10s,
// stretched up to 15s for containers that do not change (cAdvisor's
// --housekeeping_interval and --max_housekeeping_interval defaults as the
// kubelet sets them). The samples carry that time, not the scrape's.
const cadvisorSpacing = 15 * time.Second

// podNameAlphabet is the alphabet of the random parts of the pod names
// Kubernetes generates: k8s.io/apimachinery/pkg/util/rand's alphanums,
// which String(n) draws from and SafeEncodeString maps onto (no vowels,
// no 0, 1 or 3, so no words and no look-alike characters).
const podNameAlphabet = "[bcdfghjklmnpqrstvwxz2456789]"

// targetPodName is a regex of the names of the pods of the workloads
// ${workload}, and of no others: what follows the workload's name is
// exactly what Kubernetes appends for each kind of controller.
//   - Deployment: the ReplicaSet is <name>-<pod-template-hash>, the
//     hash SafeEncodeString of a 32-bit FNV hash in decimal, so 1 to 10
//     characters (controller.ComputeHash); its pods are
//     <ReplicaSet>-<5 random characters> (names.SimpleNameGenerator,
//     rand.String(5)).
//   - StatefulSet: <name>-<ordinal>, the ordinal a decimal without
//     leading zeros.
//   - DaemonSet (and Job): <name>-<5 random characters>.
//
// So "checkout" takes checkout-7d9f8b6c5-x2x4z, checkout-0 and
// checkout-x2x4z, but not checkout-db-0 (the StatefulSet checkout-db) or
// checkout-db-7d9f8b6c5-x2x4z. Two ambiguities remain, both needing a
// neighbour whose name is the target's plus a dash and up to ten
// characters of the alphabet (a DaemonSet or Job "checkout-db" has pods
// checkout-db-x2x4z, which read as a Deployment "checkout"'s); and
// generated names longer than 63 characters are cut, which this does not
// follow. Name the pods by label (pod_label) where that matters.
const targetPodName = `(${workload})-(` +
	podNameAlphabet + `{1,10}-` + podNameAlphabet + `{5}` + // Deployment
	`|0|[1-9][0-9]*` + // StatefulSet
	`|` + podNameAlphabet + `{5})` // DaemonSet, Job

// targetPodsByLabel is the kube-state-metrics series of the target's pods
// when they are named by label: one per pod (max by drops the duplicates
// of a kube-state-metrics with several replicas), to join on. The label
// is only there when kube-state-metrics exports it
// (--metric-labels-allowlist=pods=[<label>]), and namespace and pod only
// as kube-state-metrics' own labels when it is scraped with honor_labels
// (as kube-prometheus-stack does).
const targetPodsByLabel = `max by (namespace, pod) (kube_pod_labels{namespace=~"${namespace}", ${kube_pod_label}=~"${workload}"})`

// targetContainers returns the by-name and by-label forms of a cAdvisor
// query over the target's pods: sum of metric (rated when rate is true) of
// the containers matching the container matcher.
func targetContainers(metric, containers string, rate bool) (byName, byLabel string) {
	inner := func(sel string) string {
		if rate {
			return `rate(` + metric + `{` + sel + `}[${rate_interval}])`
		}
		return metric + `{` + sel + `}`
	}
	byName = `sum(` + inner(`namespace=~"${namespace}", pod=~"`+targetPodName+`", `+containers) + `)`
	byLabel = `sum(` + inner(`namespace=~"${namespace}", `+containers) + ` * on (namespace, pod) group_left () ` + targetPodsByLabel + `)`
	return byName, byLabel
}

// cadvisorTarget is one query of a cAdvisor figure of the target's pods.
func cadvisorTarget(name, metric, containers string, rate bool) Query {
	byName, byLabel := targetContainers(metric, containers, rate)
	return Query{Name: name, Template: byName, ByLabelTemplate: byLabel, SampleSpacing: cadvisorSpacing}
}

// BuiltinSets are the query sets shipped with perf-exporter, in the order
// of config.BuiltinEnvironmentSets. Every query returns one series (the
// values are averaged and maxed over the window, so they must aggregate).
// Each call returns a fresh copy.
func BuiltinSets() []Set {
	// cAdvisor (through the kubelet's /metrics/cadvisor) also exports a
	// pod-level cgroup series with container="" and, with some runtimes,
	// the pause container as container="POD"; both would count the pod
	// twice.
	const (
		// The application's own containers: not the mesh's sidecars or
		// init containers, which the mesh sets report.
		appContainers = `container!~"|POD|istio-proxy|istio-init|istio-validation|linkerd-proxy|linkerd-init|linkerd-network-validator"`
		// Every container of a pod, once.
		allContainers = `container!="", container!="POD"`
	)
	return []Set{
		// nodes: node_exporter's cpu, meminfo, loadavg and netdev
		// collectors (https://github.com/prometheus/node_exporter,
		// collector/cpu_linux.go, meminfo.go, loadavg.go, netdev_common.go):
		// node_cpu_seconds_total{cpu,mode}, node_memory_MemAvailable_bytes,
		// node_memory_MemTotal_bytes, node_load1,
		// node_network_{receive,transmit}_bytes_total{device}. The CPU and
		// memory formulas are those of the node-mixin's recording rules
		// (instance:node_cpu_utilisation:rate5m and
		// instance:node_memory_utilisation:ratio): idle, iowait and steal
		// are not work done on the node.
		{Name: "nodes", Queries: []Query{
			{Name: "cpu_utilisation_ratio", Template: `1 - avg(sum without (mode) (rate(node_cpu_seconds_total{mode=~"idle|iowait|steal", instance=~"${node}"}[${rate_interval}])))`},
			{Name: "memory_utilisation_ratio", Template: `1 - sum(node_memory_MemAvailable_bytes{instance=~"${node}"}) / sum(node_memory_MemTotal_bytes{instance=~"${node}"})`},
			// Averaged over the selected nodes: load is per node.
			{Name: "load1", Template: `avg(node_load1{instance=~"${node}"})`},
			// Virtual interfaces (loopback, pod veths, bridges, overlays)
			// carry the same bytes as the physical ones a second time.
			{Name: "network_receive_bytes_per_second", Template: `sum(rate(node_network_receive_bytes_total{instance=~"${node}", device!~"lo|veth.*|cali.*|lxc.*|cilium.*|flannel.*|cni.*|docker.*|br-.*|virbr.*|vxlan.*|tunl.*|kube-.*"}[${rate_interval}]))`},
			{Name: "network_transmit_bytes_per_second", Template: `sum(rate(node_network_transmit_bytes_total{instance=~"${node}", device!~"lo|veth.*|cali.*|lxc.*|cilium.*|flannel.*|cni.*|docker.*|br-.*|virbr.*|vxlan.*|tunl.*|kube-.*"}[${rate_interval}]))`},
		}},
		// kubernetes: cAdvisor as served by the kubelet
		// (https://github.com/google/cadvisor/blob/master/docs/storage/prometheus.md):
		// container_cpu_usage_seconds_total and
		// container_memory_working_set_bytes (the figure the kubelet
		// evicts and `kubectl top` reports on), labelled namespace, pod,
		// container by the kubelet. The target's pods: see targetPodName
		// and targetPodsByLabel.
		{Name: "kubernetes", Queries: []Query{
			cadvisorTarget("target_cpu_cores", "container_cpu_usage_seconds_total", appContainers, true),
			cadvisorTarget("target_memory_bytes", "container_memory_working_set_bytes", appContainers, false),
		}},
		// istio: the sidecar is the container "istio-proxy" and istiod's
		// container is "discovery" (istio/manifests/charts:
		// istio-control/istio-discovery/templates/deployment.yaml and the
		// injection template), cAdvisor metrics as above. The data plane
		// is the target's own sidecars: not the other workloads' nor the
		// gateways' (whose container is istio-proxy too). Requests are
		// Istio's standard metrics
		// (https://istio.io/latest/docs/reference/config/metrics/):
		// istio_requests_total and the histogram
		// istio_request_duration_milliseconds, labelled reporter,
		// destination_workload, destination_workload_namespace. The server
		// side proxy (reporter="destination") sees every request, also
		// from load generators outside the mesh.
		{Name: "istio", Queries: []Query{
			cadvisorTarget("dataplane_cpu_cores", "container_cpu_usage_seconds_total", `container="istio-proxy"`, true),
			cadvisorTarget("dataplane_memory_bytes", "container_memory_working_set_bytes", `container="istio-proxy"`, false),
			{Name: "controlplane_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{namespace=~"${istio_namespace}", pod=~"istiod-.*", container="discovery"}[${rate_interval}]))`, SampleSpacing: cadvisorSpacing},
			{Name: "controlplane_memory_bytes", Template: `sum(container_memory_working_set_bytes{namespace=~"${istio_namespace}", pod=~"istiod-.*", container="discovery"})`, SampleSpacing: cadvisorSpacing},
			{Name: "mesh_request_rate", Template: `sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace=~"${namespace}", destination_workload=~"${workload}"}[${rate_interval}]))`},
			{Name: "mesh_p99_latency_seconds", Template: `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace=~"${namespace}", destination_workload=~"${workload}"}[${rate_interval}]))) / 1000`},
		}},
		// linkerd: the sidecar is the container "linkerd-proxy"; the data
		// plane is the target's own proxies; the control plane is every
		// container in the linkerd namespace (destination, identity,
		// proxy-injector and their proxies)
		// (https://linkerd.io/2/reference/architecture/). Requests are the
		// proxy's metrics (https://linkerd.io/2/reference/proxy-metrics/):
		// request_total and the histogram response_latency_ms, with
		// direction="inbound" on the server side and the Kubernetes labels
		// namespace and deployment added by linkerd-viz's scrape config.
		// Inbound also counts what the proxy's own admin server answers
		// (target_port = the admin port: metrics scrapes, kubelet probes);
		// those are left out. The proxy labels target_port since September
		// 2021 (linkerd/linkerd2-proxy#1238); an older one without it
		// counts everything.
		{Name: "linkerd", Queries: []Query{
			cadvisorTarget("dataplane_cpu_cores", "container_cpu_usage_seconds_total", `container="linkerd-proxy"`, true),
			cadvisorTarget("dataplane_memory_bytes", "container_memory_working_set_bytes", `container="linkerd-proxy"`, false),
			{Name: "controlplane_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{namespace=~"${linkerd_namespace}", ` + allContainers + `}[${rate_interval}]))`, SampleSpacing: cadvisorSpacing},
			{Name: "controlplane_memory_bytes", Template: `sum(container_memory_working_set_bytes{namespace=~"${linkerd_namespace}", ` + allContainers + `})`, SampleSpacing: cadvisorSpacing},
			{Name: "mesh_request_rate", Template: `sum(rate(request_total{direction="inbound", target_port!="${linkerd_admin_port}", namespace=~"${namespace}", deployment=~"${workload}"}[${rate_interval}]))`},
			{Name: "mesh_p99_latency_seconds", Template: `histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{direction="inbound", target_port!="${linkerd_admin_port}", namespace=~"${namespace}", deployment=~"${workload}"}[${rate_interval}]))) / 1000`},
		}},
	}
}
