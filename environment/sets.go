package environment

// Query is one named PromQL template of a set.
type Query struct {
	Name string
	// Template is PromQL with ${variable} placeholders (see Expand).
	Template string
	// Prometheus names the source to ask; empty means the first source.
	Prometheus string
}

// Set is a named list of queries a profile selects with `environment:`.
type Set struct {
	Name    string
	Queries []Query
}

// Template variables. A profile sets them with environment_vars; these are
// the defaults. RateInterval is not settable: it is derived from the window
// and the source's scrape interval (see rateInterval).
const (
	// VarNamespace is a regex of the target's Kubernetes namespaces.
	VarNamespace = "namespace"
	// VarWorkload is a regex of the target's workload (Deployment,
	// StatefulSet) names; its pods are named "<workload>-...".
	VarWorkload = "workload"
	// VarNode is a regex of node_exporter's instance label.
	VarNode = "node"
	// VarIstioNamespace is where istiod runs.
	VarIstioNamespace = "istio_namespace"
	// VarLinkerdNamespace is where the Linkerd control plane runs.
	VarLinkerdNamespace = "linkerd_namespace"
	// VarRateInterval is the range of rate() and friends.
	VarRateInterval = "rate_interval"
)

// DefaultVars are the template variables a profile did not set: match
// everything, and the namespaces the meshes install into by default.
func DefaultVars() map[string]string {
	return map[string]string{
		VarNamespace:        ".+",
		VarWorkload:         ".+",
		VarNode:             ".+",
		VarIstioNamespace:   "istio-system",
		VarLinkerdNamespace: "linkerd",
	}
}

// BuiltinSets are the query sets shipped with perf-exporter, in the order
// of config.BuiltinEnvironmentSets. Every query returns one series (the
// values are averaged and maxed over the window, so they must aggregate).
// Each call returns a fresh copy.
func BuiltinSets() []Set {
	// Selectors shared by the cAdvisor queries. cAdvisor (through the
	// kubelet's /metrics/cadvisor) also exports a pod-level cgroup series
	// with container="" and the pause container as container="POD"; both
	// would count the pod twice.
	const (
		targetPods = `namespace=~"${namespace}", pod=~"(${workload})-.*"`
		// The application's own containers: not the mesh's sidecars or
		// init containers, which the mesh sets report.
		appContainers = `container!~"|POD|istio-proxy|istio-init|istio-validation|linkerd-proxy|linkerd-init|linkerd-network-validator"`
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
		// container by the kubelet.
		{Name: "kubernetes", Queries: []Query{
			{Name: "target_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{` + targetPods + `, ` + appContainers + `}[${rate_interval}]))`},
			{Name: "target_memory_bytes", Template: `sum(container_memory_working_set_bytes{` + targetPods + `, ` + appContainers + `})`},
		}},
		// istio: the sidecar is the container "istio-proxy" and istiod's
		// container is "discovery" (istio/manifests/charts:
		// istio-control/istio-discovery/templates/deployment.yaml and the
		// injection template), cAdvisor metrics as above. Requests are
		// Istio's standard metrics
		// (https://istio.io/latest/docs/reference/config/metrics/):
		// istio_requests_total and the histogram
		// istio_request_duration_milliseconds, labelled reporter,
		// destination_workload, destination_workload_namespace. The server
		// side proxy (reporter="destination") sees every request, also
		// from load generators outside the mesh.
		{Name: "istio", Queries: []Query{
			{Name: "dataplane_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{namespace=~"${namespace}", container="istio-proxy"}[${rate_interval}]))`},
			{Name: "dataplane_memory_bytes", Template: `sum(container_memory_working_set_bytes{namespace=~"${namespace}", container="istio-proxy"})`},
			{Name: "controlplane_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{namespace=~"${istio_namespace}", pod=~"istiod-.*", container="discovery"}[${rate_interval}]))`},
			{Name: "controlplane_memory_bytes", Template: `sum(container_memory_working_set_bytes{namespace=~"${istio_namespace}", pod=~"istiod-.*", container="discovery"})`},
			{Name: "mesh_request_rate", Template: `sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace=~"${namespace}", destination_workload=~"${workload}"}[${rate_interval}]))`},
			{Name: "mesh_p99_latency_seconds", Template: `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace=~"${namespace}", destination_workload=~"${workload}"}[${rate_interval}]))) / 1000`},
		}},
		// linkerd: the sidecar is the container "linkerd-proxy"; the
		// control plane is every container in the linkerd namespace
		// (destination, identity, proxy-injector and their proxies)
		// (https://linkerd.io/2/reference/architecture/). Requests are the
		// proxy's metrics (https://linkerd.io/2/reference/proxy-metrics/):
		// request_total and the histogram response_latency_ms, with
		// direction="inbound" on the server side and the Kubernetes labels
		// namespace and deployment added by linkerd-viz's scrape config.
		{Name: "linkerd", Queries: []Query{
			{Name: "dataplane_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{namespace=~"${namespace}", container="linkerd-proxy"}[${rate_interval}]))`},
			{Name: "dataplane_memory_bytes", Template: `sum(container_memory_working_set_bytes{namespace=~"${namespace}", container="linkerd-proxy"})`},
			{Name: "controlplane_cpu_cores", Template: `sum(rate(container_cpu_usage_seconds_total{namespace=~"${linkerd_namespace}", container!="", container!="POD"}[${rate_interval}]))`},
			{Name: "controlplane_memory_bytes", Template: `sum(container_memory_working_set_bytes{namespace=~"${linkerd_namespace}", container!="", container!="POD"})`},
			{Name: "mesh_request_rate", Template: `sum(rate(request_total{direction="inbound", namespace=~"${namespace}", deployment=~"${workload}"}[${rate_interval}]))`},
			{Name: "mesh_p99_latency_seconds", Template: `histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{direction="inbound", namespace=~"${namespace}", deployment=~"${workload}"}[${rate_interval}]))) / 1000`},
		}},
	}
}
