// Package chart_test checks the Helm chart with the real helm: every ci/
// scenario lints and renders objects that decode strictly into their
// Kubernetes and Prometheus Operator types, the schema rejects bad values, and
// the bundled rules and boards are exactly their single sources.
package chart_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/perf-exporter/perf-exporter/config"
)

func TestLint(t *testing.T) {
	for _, file := range ciValues {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			// --strict turns lint warnings into failures.
			if out, err := runHelm(t, "lint", "--strict", chartDir, "-f", file); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	for _, file := range ciValues {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			objs := render(t, "-f", file)
			if len(objs) == 0 {
				t.Fatal("rendered nothing")
			}
			seen := map[string]string{}
			for _, o := range objs {
				into, ok := typed(o.Kind)
				if !ok {
					t.Errorf("%s renders kind %q, which the test does not know: add its Go type to typed()", o.Source, o.Kind)
					continue
				}
				if err := strictDecode(o.JSON, into); err != nil {
					t.Errorf("%s %s (%s) does not decode strictly: %v", o.Kind, o.Name, o.Source, err)
				}
				key := o.Kind + "/" + o.Name
				if prev, dup := seen[key]; dup {
					t.Errorf("%s is rendered twice: by %s and %s", key, prev, o.Source)
				}
				seen[key] = o.Source
			}
		})
	}
}

// The config the chart renders is one perf-exporter itself accepts.
func TestRenderedConfigLoads(t *testing.T) {
	for _, file := range ciValues {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			objs := render(t, "-f", file)
			cm := decodeAs[corev1.ConfigMap](t, configMap(t, objs))
			// Loaded from the pod's layout: the set files it includes too.
			if _, err := config.LoadFile(podConfigDir(t, objs)); err != nil {
				t.Fatalf("perf-exporter rejects the rendered config:\n%s\n%v", cm.Data["config.yaml"], err)
			}
		})
	}
}

// configMap is the ConfigMap holding config.yaml (not a dashboard's).
func configMap(t *testing.T, objs manifests) object {
	t.Helper()
	var found []object
	for _, o := range objs.all("ConfigMap") {
		cm := decodeAs[corev1.ConfigMap](t, o)
		if _, ok := cm.Data["config.yaml"]; ok && cm.Labels["grafana_dashboard"] == "" {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one ConfigMap with config.yaml, rendered %d", len(found))
	}
	return found[0]
}

func TestSchemaRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string // in helm's error: names the offending value
	}{
		{"negative replicas", []string{"replicaCount=-1"}, "/replicaCount"},
		{"zero replicas", []string{"replicaCount=0"}, "/replicaCount"},
		{"replicas not a number", []string{"replicaCount=three"}, "/replicaCount"},
		{"unknown top-level key", []string{"replicas=3"}, "'replicas' not allowed"},
		{"misspelt nested key", []string{"serviceMonitor.enable=true"}, "'enable' not allowed"},
		{"loadSplit not a bool", []string{"loadSplit.enabled=yes"}, "/loadSplit/enabled"},
		{"negative shards", []string{"sharding.shards=-1"}, "/sharding/shards"},
		{"shards not a number", []string{"sharding.shards=three"}, "/sharding/shards"},
		{"split and shard", []string{"sharding.shards=3", "loadSplit.enabled=true"}, "/sharding/shards"},
		{"pull policy", []string{"image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{"port out of range", []string{"service.port=70000"}, "/service/port"},
		{"service type", []string{"service.type=Ingress"}, "/service/type"},
		{"log level", []string{"logLevel=verbose"}, "/logLevel"},
		{"volume size", []string{"persistence.enabled=true", "persistence.size=lots"}, "/persistence/size"},
		{"access mode", []string{"persistence.accessModes[0]=ReadWriteSometimes"}, "/persistence/accessModes/0"},
		{"scrape interval", []string{"serviceMonitor.interval=often"}, "/serviceMonitor/interval"},
		{"probe period", []string{"livenessProbe.periodSeconds=0"}, "/livenessProbe/periodSeconds"},
		{"probe handler", []string{"livenessProbe.exec.command[0]=true"}, "'exec' not allowed"},
		{"secret file name", []string{"secretFiles.a/b=x"}, "invalid propertyName 'a/b'"},
		{"web config file name", []string{"webConfig.files.web-config\\.yml=x"}, "invalid propertyName 'web-config.yml'"},
		{"misspelt config section", []string{"config.profile[0].name=x"}, "'profile' not allowed"},
		{"profile without schedule", []string{"config.profiles[0].name=x", "config.profiles[0].target.url=http://a"}, "'schedule'"},
		{"profile name", []string{"config.profiles[0].name=Check Out", "config.profiles[0].schedule=@hourly", "config.profiles[0].target.url=http://a"}, "/config/profiles/0/name"},
		// Checks in templates/_validate.tpl: credentials never go into the ConfigMap.
		{"inline prometheus password", []string{"config.prometheus[0].name=p", "config.prometheus[0].url=http://p", "config.prometheus[0].basic_auth.username=u", "config.prometheus[0].basic_auth.password=hunter2"}, "config.prometheus[0].basic_auth.password: a secret would be stored in the ConfigMap"},
		{"inline prometheus credentials", []string{"config.prometheus[0].name=p", "config.prometheus[0].url=http://p", "config.prometheus[0].authorization.credentials=abc"}, "use credentials_file"},
		{"inline oauth2 secret", []string{"config.prometheus[0].name=p", "config.prometheus[0].url=http://p", "config.prometheus[0].oauth2.client_secret=abc"}, "use client_secret_file"},
		{"inline TLS key", []string{"config.prometheus[0].name=p", "config.prometheus[0].url=http://p", "config.prometheus[0].tls_config.key=abc"}, "use key_file"},
		{"inline grafana password", []string{"config.grafana.url=http://g", "config.grafana.basic_auth.username=u", "config.grafana.basic_auth.password=x"}, "config.grafana.basic_auth.password"},
		{"credential target header", []string{"config.profiles[0].name=x", "config.profiles[0].schedule=@hourly", "config.profiles[0].target.url=http://a", "config.profiles[0].target.headers.authorization=Bearer x"}, "target.headers.authorization: a credential header"},
		{"declared secret header", []string{"config.profiles[0].name=x", "config.profiles[0].schedule=@hourly", "config.profiles[0].target.url=http://a", "config.profiles[0].target.headers.X-Api-Key=k", "config.profiles[0].target.secret_headers[0]=x-api-key"}, "target.headers.X-Api-Key"},
		{"secret both ways", []string{"existingSecret=s", "secretFiles.a=b"}, "set existingSecret or secretFiles, not both"},
		{"empty web config", []string{"webConfig.enabled=true"}, "webConfig.enabled needs webConfig.config"},
		// Issue 18 item 18: settings that would be silently ignored or break every scrape.
		{"existing web config secret not enabled", []string{"webConfig.existingSecret=s", "webConfig.existingSecretTLS=true"}, "webConfig.existingSecret is set but webConfig.enabled is false"},
		{"web config not enabled", []string{"webConfig.config.basic_auth_users.u=$2y$10$x"}, "webConfig.config is set but webConfig.enabled is false"},
		{"TLS flag without existing secret", []string{"webConfig.enabled=true", "webConfig.config.tls_server_config.cert_file=/etc/perf-exporter/web/tls.crt", "webConfig.config.tls_server_config.key_file=/etc/perf-exporter/web/tls.key", "webConfig.existingSecretTLS=true"}, "webConfig.existingSecretTLS describes webConfig.existingSecret, which is not set"},
		{"unknown client_auth_type", []string{"webConfig.enabled=true", "webConfig.config.tls_server_config.cert_file=/etc/perf-exporter/web/tls.crt", "webConfig.config.tls_server_config.key_file=/etc/perf-exporter/web/tls.key", "webConfig.config.tls_server_config.client_auth_type=RequireVerifiedCert"}, `client_auth_type: "RequireVerifiedCert" is not one of`},
		{"ServiceMonitor without basic auth", []string{"webConfig.enabled=true", "webConfig.config.basic_auth_users.prometheus=$2y$10$x", "serviceMonitor.enabled=true"}, "serviceMonitor.basicAuth: the web config requires basic auth"},
		{"ServiceMonitor without basic auth, existing secret", []string{"webConfig.enabled=true", "webConfig.existingSecret=s", "webConfig.existingSecretBasicAuth=true", "serviceMonitor.enabled=true"}, "serviceMonitor.basicAuth"},
		{"ServiceMonitor without client certificate", []string{"webConfig.enabled=true", "webConfig.config.tls_server_config.cert_file=/etc/perf-exporter/web/tls.crt", "webConfig.config.tls_server_config.key_file=/etc/perf-exporter/web/tls.key", "webConfig.config.tls_server_config.client_auth_type=RequireAndVerifyClientCert", "webConfig.config.tls_server_config.client_ca_file=/etc/perf-exporter/web/ca.crt", "serviceMonitor.enabled=true", "serviceMonitor.tlsConfig.insecureSkipVerify=true"}, "serviceMonitor.tlsConfig.cert and serviceMonitor.tlsConfig.keySecret"},
		{"password in target URL", []string{"config.profiles[0].name=x", "config.profiles[0].schedule=@hourly", "config.profiles[0].target.url=http://user:hunter2@shop/cart"}, "config.profiles[0].target.url: the URL's user:password would be stored in the ConfigMap; remove it from the URL and send them in an Authorization header"},
		{"password in Prometheus URL", []string{"config.prometheus[0].name=p", "config.prometheus[0].url=https://perf:hunter2@prometheus:9090"}, "config.prometheus[0].url: the URL's user:password would be stored in the ConfigMap; remove it from the URL and use basic_auth"},
		{"password in proxy_url", []string{"config.prometheus[0].name=p", "config.prometheus[0].url=https://prometheus:9090", "config.prometheus[0].proxy_url=http://perf:hunter2@proxy:3128"}, "config.prometheus[0].proxy_url: the URL's user:password would be stored in the ConfigMap; remove it from the URL and a proxy's credentials cannot be given as a file: set proxy_from_environment"},
		{"password in Grafana URL", []string{"config.grafana.url=https://admin:hunter2@grafana"}, "config.grafana.url: the URL's user:password"},
		{"unknown securityContext key", []string{"securityContext.runAsUsr=1000"}, "at '/securityContext': additional properties 'runAsUsr' not allowed"},
		{"unknown capabilities key", []string{"securityContext.capabilities.dropp[0]=NET_RAW"}, "'dropp' not allowed"},
		{"unknown podSecurityContext key", []string{"podSecurityContext.fsgroup=1000"}, "at '/podSecurityContext': additional properties 'fsgroup' not allowed"},
		{"securityContext type", []string{"securityContext.privileged=maybe"}, "/securityContext/privileged"},
		// Issue 14 item 1: write endpoints only behind basic auth.
		{"webEndpoints key", []string{"webEndpoints.reload=true"}, "'reload' not allowed"},
		{"lifecycle without web config", []string{"webEndpoints.lifecycle=true"}, "webEndpoints.lifecycle: --web.enable-lifecycle would let anyone who reaches the port reload the config; turn on basic auth in the web config"},
		{"admin API with TLS only", []string{"webEndpoints.adminAPI=true", "webConfig.enabled=true", "webConfig.config.tls_server_config.cert_file=/etc/perf-exporter/web/tls.crt", "webConfig.config.tls_server_config.key_file=/etc/perf-exporter/web/tls.key"}, "webEndpoints.adminAPI: --web.enable-admin-api would let anyone who reaches the port start load tests"},
		{"admin API through extraArgs", []string{"extraArgs[0]=--web.enable-admin-api"}, "extraArgs: --web.enable-admin-api: set webEndpoints.adminAPI: true instead"},
		{"lifecycle through extraArgs", []string{"extraArgs[0]=--web.enable-lifecycle=true"}, "extraArgs: --web.enable-lifecycle=true: set webEndpoints.lifecycle: true instead"},
		// Config keys of today: misspelt keys fail the install, not the pod's start.
		{"misspelt global key", []string{"config.global.regresions.window=10"}, "'regresions' not allowed"},
		{"misspelt regressions key", []string{"config.global.regressions.threshold=0.1"}, "'threshold' not allowed"},
		{"regressions window not a number", []string{"config.global.regressions.window=many"}, "/config/global/regressions/window"},
		{"misspelt profile regressions key", []string{"config.profiles[0].name=x", "config.profiles[0].schedule=@hourly", "config.profiles[0].target.url=http://a", "config.profiles[0].regressions.min_magnitde=0.1"}, "'min_magnitde' not allowed"},
		{"misspelt grafana key", []string{"config.grafana.url=https://g", "config.grafana.anotations.enabled=true"}, "'anotations' not allowed"},
		{"misspelt annotations key", []string{"config.grafana.url=https://g", "config.grafana.annotations.dashboard[0]=abc"}, "'dashboard' not allowed"},
		{"annotations enabled not a bool", []string{"config.grafana.url=https://g", "config.grafana.annotations.enabled=yes"}, "/config/grafana/annotations/enabled"},
		{"misspelt grafana tls_config key", []string{"config.grafana.url=https://g", "config.grafana.tls_config.ca_fle=/etc/perf-exporter/secrets/ca.crt"}, "'ca_fle' not allowed"},
		{"inline grafana TLS key", []string{"config.grafana.url=https://g", "config.grafana.tls_config.key=abc"}, "config.grafana.tls_config.key: a secret would be stored in the ConfigMap; put it into secretFiles (or existingSecret) and use key_file"},
		// Issue 16: environment set files.
		{"set file not .yaml", []string{`environmentSetFiles.board\.yml=board: []`}, "'board.yml' does not match pattern"},
		{"set file in a folder", []string{`environmentSetFiles.sets/board\.yaml=board: []`}, "invalid propertyName 'sets/board.yaml'"},
		{"empty set file", []string{`environmentSetFiles.board\.yaml=`}, "/environmentSetFiles/board.yaml"},
		{"set file not YAML", []string{`environmentSetFiles.board\.yaml=board: [`}, "environmentSetFiles.board.yaml: not a YAML mapping of set names to lists of queries"},
		{"set file a list", []string{`environmentSetFiles.board\.yaml=- name: a`}, "environmentSetFiles.board.yaml: not a YAML mapping"},
		{"set files both ways", []string{"existingEnvironmentSetConfigMap=sets", `environmentSetFiles.board\.yaml=board: []`}, "set existingEnvironmentSetConfigMap or environmentSetFiles, not both"},
		{"set file names not strings", []string{"config.environment_set_files[0]=1"}, "/config/environment_set_files/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var flags []string
			for _, s := range tc.set {
				flags = append(flags, "--set", s)
			}
			objs, err := templateChart(t, chartDir, flags...)
			if err == nil {
				t.Fatalf("helm template accepted --set %s and rendered %d objects", strings.Join(tc.set, " --set "), len(objs))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// The schema's config sections are perf-exporter's: when config.Config gains
// or loses a top-level key, the chart's schema must follow, or helm would
// reject a valid config (or accept a misspelt section).
func TestSchemaConfigSectionsMatchConfigPackage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Config struct {
				Properties map[string]any `json:"properties"`
			} `json:"config"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	var inSchema []string
	for k := range schema.Properties.Config.Properties {
		inSchema = append(inSchema, k)
	}
	var inGo []string
	ct := reflect.TypeFor[config.Config]()
	for field := range ct.Fields() {
		name, _, _ := strings.Cut(field.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			inGo = append(inGo, name)
		}
	}
	slices.Sort(inSchema)
	slices.Sort(inGo)
	if !slices.Equal(inSchema, inGo) {
		t.Fatalf("values.schema.json config sections %v, config.Config has %v", inSchema, inGo)
	}
}

// Below the top level, the schema's global, grafana and regressions sections
// have additionalProperties false: their keys must be exactly the config
// package's, or helm would reject a valid config (or pass a misspelt key to
// a pod that then cannot start).
func TestSchemaConfigKeysMatchConfigPackage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string // properties below config, "items" for a list's element, "*" for a map's value
		typ  reflect.Type
	}{
		{"global", reflect.TypeFor[config.Global]()},
		{"global.limits", reflect.TypeFor[config.Limits]()},
		{"global.retention", reflect.TypeFor[config.Retention]()},
		{"global.environment_window", reflect.TypeFor[config.EnvironmentWindow]()},
		{"global.regressions", reflect.TypeFor[config.Regressions]()},
		{"profiles.items.regressions", reflect.TypeFor[config.Regressions]()},
		{"grafana", reflect.TypeFor[config.Grafana]()},
		{"grafana.basic_auth", reflect.TypeFor[config.BasicAuth]()},
		{"grafana.tls_config", reflect.TypeFor[config.GrafanaTLSConfig]()},
		{"grafana.annotations", reflect.TypeFor[config.GrafanaAnnotations]()},
		{"grafana.boards.*", reflect.TypeFor[config.GrafanaBoard]()},
		{"grafana.boards.*.time", reflect.TypeFor[config.GrafanaTimeRange]()},
	} {
		t.Run(tc.path, func(t *testing.T) {
			node := schema["properties"].(map[string]any)["config"].(map[string]any)
			for step := range strings.SplitSeq(tc.path, ".") {
				var next any
				switch step {
				case "items":
					next = node["items"]
				case "*":
					next = node["additionalProperties"]
				default:
					props, _ := node["properties"].(map[string]any)
					next = props[step]
				}
				n, ok := next.(map[string]any)
				if !ok {
					t.Fatalf("the schema has no object at config.%s (step %q)", tc.path, step)
				}
				node = n
			}
			if node["additionalProperties"] != false {
				t.Errorf("config.%s: additionalProperties is %v, want false (else a misspelt key passes)", tc.path, node["additionalProperties"])
			}
			props, _ := node["properties"].(map[string]any)
			var inSchema []string
			for k := range props {
				inSchema = append(inSchema, k)
			}
			inGo := yamlKeys(tc.typ)
			slices.Sort(inSchema)
			slices.Sort(inGo)
			if !slices.Equal(inSchema, inGo) {
				t.Errorf("values.schema.json config.%s has keys %v, %s has %v", tc.path, inSchema, tc.typ, inGo)
			}
		})
	}
}

// The config keys that landed with change points, Grafana annotations and
// TLS, and the mesh variables render as given (a port given as a number
// too, as --set makes it) and perf-exporter loads them.
func TestNewConfigKeysRenderAndLoad(t *testing.T) {
	t.Parallel()
	objs := render(t,
		"--set", "config.global.regressions.window=20",
		"--set", "config.grafana.url=https://grafana.monitoring",
		"--set", "config.grafana.tls_config.insecure_skip_verify=true",
		"--set", "config.grafana.annotations.enabled=true",
		"--set", "config.grafana.annotations.dashboards={checkout-svc}",
		"--set", "config.profiles[0].name=checkout",
		"--set", "config.profiles[0].schedule=@hourly",
		"--set", "config.profiles[0].target.url=http://checkout.shop",
		"--set", "config.profiles[0].regressions.min_magnitude=0",
		"--set", "config.profiles[0].environment_vars.pod_label=app.kubernetes.io/name",
		"--set", "config.profiles[0].environment_vars.linkerd_admin_port=4191",
	)
	cfg, err := config.LoadFile(podConfigDir(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.Regressions.Window != 20 {
		t.Errorf("global.regressions.window %d, want 20", cfg.Global.Regressions.Window)
	}
	if a := cfg.Grafana.Annotations; a == nil || !a.Enabled || !slices.Equal(a.Dashboards, []string{"checkout-svc"}) {
		t.Errorf("grafana.annotations %+v, want enabled on checkout-svc", a)
	}
	if !cfg.Grafana.TLSConfig.InsecureSkipVerify {
		t.Error("grafana.tls_config.insecure_skip_verify is lost")
	}
	p := cfg.Profiles[0]
	if m := p.Regressions.MinMagnitude; m == nil || *m != 0 {
		t.Errorf("profile regressions.min_magnitude %v, want 0 (every significant change)", m)
	}
	if v := p.EnvironmentVars["linkerd_admin_port"]; v != "4191" {
		t.Errorf("environment_vars.linkerd_admin_port %q, want 4191", v)
	}
	if v := p.EnvironmentVars["pod_label"]; v != "app.kubernetes.io/name" {
		t.Errorf("environment_vars.pod_label %q", v)
	}
}

// yamlKeys are the YAML keys of a struct, inline fields' included.
func yamlKeys(typ reflect.Type) []string {
	var keys []string
	for field := range typ.Fields() {
		name, opts, _ := strings.Cut(field.Tag.Get("yaml"), ",")
		switch {
		case name == "-" || !field.IsExported():
		case opts == "inline" || strings.Contains(opts, "inline"):
			keys = append(keys, yamlKeys(field.Type)...)
		case name != "":
			keys = append(keys, name)
		default:
			keys = append(keys, strings.ToLower(field.Name))
		}
	}
	return keys
}

func TestPodIsHardened(t *testing.T) {
	for _, file := range ciValues {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			objs := render(t, "-f", file)
			pod := objs.podTemplate(t)
			ps := pod.Spec.SecurityContext
			if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
				t.Errorf("pod securityContext.runAsNonRoot is not true: %+v", ps)
			}
			if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod seccompProfile is not RuntimeDefault: %+v", ps)
			}
			if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
				t.Error("the service account token is mounted, but perf-exporter never calls the Kubernetes API")
			}
			if pod.Spec.HostNetwork || pod.Spec.HostPID || pod.Spec.HostIPC {
				t.Error("pod shares a host namespace")
			}
			for _, v := range pod.Spec.Volumes {
				if v.HostPath != nil {
					t.Errorf("volume %s is a hostPath", v.Name)
				}
			}
			c := container(t, pod)
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Fatal("container has no securityContext")
			case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
				t.Error("container runAsNonRoot is not true")
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Error("container root filesystem is writable")
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Error("container allows privilege escalation")
			case sc.Privileged != nil && *sc.Privileged:
				t.Error("container is privileged")
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
				t.Errorf("capabilities are not drop [ALL] and add none: %+v", sc.Capabilities)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[res]; !ok {
					t.Errorf("no %s request", res)
				}
				if _, ok := c.Resources.Limits[res]; !ok && res == corev1.ResourceMemory {
					t.Errorf("no %s limit", res)
				}
			}
			// Everything the process writes is a volume: /data and /tmp.
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m
			}
			for _, p := range []string{"/data", "/tmp"} {
				if m, ok := mounts[p]; !ok || m.ReadOnly {
					t.Errorf("%s is not a writable volume: %+v", p, m)
				}
			}
			if len(c.EnvFrom) > 0 {
				t.Errorf("envFrom %+v: secrets are files, never environment", c.EnvFrom)
			}
		})
	}
}

func TestProbesAndArgs(t *testing.T) {
	base := []string{"--config.file=/etc/perf-exporter/config.yaml", "--web.listen-address=:9479", "--storage.path=/data"}
	for _, tc := range []struct {
		file      string
		scheme    corev1.URIScheme // "" = TCP probes (basic auth)
		extraArgs []string
		noArgs    []string
	}{
		{"default-values.yaml", corev1.URISchemeHTTP, nil, []string{"--load.split", "--web.config.file", "--web.enable-"}},
		{"all-features-values.yaml", corev1.URISchemeHTTPS, []string{"--load.split=2", "--web.config.file=/etc/perf-exporter/web/web-config.yml"}, nil},
		{"split-3-replicas-persistence-values.yaml", corev1.URISchemeHTTP, []string{"--load.split=3"}, []string{"--web.config.file"}},
		{"existing-secret-values.yaml", "", []string{"--web.config.file=/etc/perf-exporter/web/web-config.yml", "--web.enable-lifecycle", "--web.enable-admin-api"}, []string{"--load.split"}},
		{"sharded-3-values.yaml", corev1.URISchemeHTTP, []string{"--profiles.shard=$(PERF_EXPORTER_SHARD_INDEX)/3"}, []string{"--load.split", "--web.config.file"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			c := container(t, render(t, "-f", valuesFile(tc.file)).podTemplate(t))
			for _, want := range append(base, tc.extraArgs...) {
				if !slices.Contains(c.Args, want) {
					t.Errorf("args %q lack %q", c.Args, want)
				}
			}
			for _, flag := range tc.noArgs {
				for _, a := range c.Args {
					if strings.HasPrefix(a, flag) {
						t.Errorf("unexpected %q in args", a)
					}
				}
			}
			if len(c.Ports) != 1 || c.Ports[0].Name != "http-metrics" || c.Ports[0].ContainerPort != 9479 {
				t.Errorf("ports %+v, want http-metrics 9479", c.Ports)
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"liveness", c.LivenessProbe, "/-/healthy"}, {"readiness", c.ReadinessProbe, "/-/ready"}} {
				switch {
				case p.probe == nil:
					t.Errorf("no %s probe", p.name)
				case handlers(p.probe.ProbeHandler) != 1:
					t.Errorf("%s probe %+v has %d handlers; the API server accepts exactly one", p.name, p.probe.ProbeHandler, handlers(p.probe.ProbeHandler))
				case tc.scheme == "":
					if p.probe.TCPSocket == nil || p.probe.TCPSocket.Port.String() != "http-metrics" {
						t.Errorf("%s probe %+v, want TCP on http-metrics (basic auth refuses HTTP probes)", p.name, p.probe.ProbeHandler)
					}
				default:
					g := p.probe.HTTPGet
					if g == nil || g.Path != p.path || g.Port.String() != "http-metrics" || g.Scheme != tc.scheme {
						t.Errorf("%s probe %+v, want %s %s on http-metrics", p.name, p.probe.ProbeHandler, tc.scheme, p.path)
					}
				}
			}
		})
	}
}

// handlers counts the handlers a probe sets.
func handlers(h corev1.ProbeHandler) int {
	n := 0
	for _, set := range []bool{h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, h.GRPC != nil} {
		if set {
			n++
		}
	}
	return n
}

func TestWorkloadKindFollowsPersistence(t *testing.T) {
	t.Parallel()
	t.Run("emptyDir without persistence", func(t *testing.T) {
		t.Parallel()
		objs := render(t, "-f", valuesFile("all-features-values.yaml"))
		d := decodeAs[appsv1.Deployment](t, objs.one(t, "Deployment"))
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("replicas %v, want 2", d.Spec.Replicas)
		}
		if len(objs.all("StatefulSet")) != 0 || len(objs.all("PersistentVolumeClaim")) != 0 {
			t.Error("a StatefulSet or PVC is rendered without persistence")
		}
		data := volume(t, d.Spec.Template, "data")
		if data.EmptyDir == nil {
			t.Errorf("data volume %+v is not an emptyDir", data)
		}
		// Split load: a surge pod would run an extra share of every profile.
		if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxSurge == nil || ru.MaxSurge.IntValue() != 0 {
			t.Errorf("rolling update %+v surges with load split on", ru)
		}
	})
	t.Run("one volume per replica with persistence", func(t *testing.T) {
		t.Parallel()
		objs := render(t, "-f", valuesFile("split-3-replicas-persistence-values.yaml"))
		if len(objs.all("Deployment")) != 0 {
			t.Error("a Deployment is rendered with persistence")
		}
		s := decodeAs[appsv1.StatefulSet](t, objs.one(t, "StatefulSet"))
		if s.Spec.Replicas == nil || *s.Spec.Replicas != 3 {
			t.Errorf("replicas %v, want 3", s.Spec.Replicas)
		}
		if len(s.Spec.VolumeClaimTemplates) != 1 {
			t.Fatalf("volumeClaimTemplates %+v, want one", s.Spec.VolumeClaimTemplates)
		}
		claim := s.Spec.VolumeClaimTemplates[0]
		size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
		if claim.Name != "data" || size.String() != "2Gi" || claim.Spec.StorageClassName == nil || *claim.Spec.StorageClassName != "standard" ||
			!slices.Equal(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
			t.Errorf("claim template %s: %s %v %v, want data: 2Gi standard [ReadWriteOnce]", claim.Name, size.String(), claim.Spec.StorageClassName, claim.Spec.AccessModes)
		}
		for _, v := range s.Spec.Template.Spec.Volumes {
			if v.Name == "data" {
				t.Errorf("pod volume data %+v shadows the claim template", v)
			}
		}
		if !slices.ContainsFunc(container(t, s.Spec.Template).VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "data" && m.MountPath == "/data" }) {
			t.Error("the claim is not mounted at /data")
		}
		var governing *corev1.Service
		for _, o := range objs.all("Service") {
			if svc := decodeAs[corev1.Service](t, o); svc.Name == s.Spec.ServiceName {
				governing = svc
			}
		}
		if governing == nil || governing.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("serviceName %q is not a rendered headless Service", s.Spec.ServiceName)
		}
	})
}

// Sharded pods are a StatefulSet with one pod per shard, each taking its
// shard index from its ordinal (the pod-index label), without persistence too.
func TestShardingRunsAStatefulSetIndexedByOrdinal(t *testing.T) {
	t.Parallel()
	objs := render(t, "-f", valuesFile("sharded-3-values.yaml"))
	if len(objs.all("Deployment")) != 0 {
		t.Error("a Deployment is rendered with sharding")
	}
	s := decodeAs[appsv1.StatefulSet](t, objs.one(t, "StatefulSet"))
	if s.Spec.Replicas == nil || *s.Spec.Replicas != 3 {
		t.Errorf("replicas %v, want one per shard (3)", s.Spec.Replicas)
	}
	if len(s.Spec.VolumeClaimTemplates) != 0 {
		t.Errorf("volume claims %+v without persistence", s.Spec.VolumeClaimTemplates)
	}
	if data := volume(t, s.Spec.Template, "data"); data.EmptyDir == nil {
		t.Errorf("data volume %+v is not an emptyDir", data)
	}
	c := container(t, s.Spec.Template)
	var index *corev1.EnvVar
	for i, e := range c.Env {
		if e.Name == "PERF_EXPORTER_SHARD_INDEX" {
			index = &c.Env[i]
		}
	}
	if index == nil || index.ValueFrom == nil || index.ValueFrom.FieldRef == nil ||
		index.ValueFrom.FieldRef.FieldPath != "metadata.labels['apps.kubernetes.io/pod-index']" {
		t.Errorf("PERF_EXPORTER_SHARD_INDEX %+v does not come from the pod-index label", index)
	}
	// Either/or, also when the schema is skipped; the pod count is the shards.
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"sharding.shards=3", "loadSplit.enabled=true"}, "loadSplit.enabled and sharding.shards=3 exclude each other"},
		{[]string{"sharding.shards=3", "replicaCount=2"}, "replicaCount=2 with sharding.shards=3"},
	} {
		args := []string{"template", "r", chartDir, "--skip-schema-validation"}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		out, err := runHelm(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("helm %v: %v, want an error containing %q:\n%s", tc.set, err, tc.want, out)
		}
	}
}

func volume(t *testing.T, pod corev1.PodTemplateSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %q", name)
	return corev1.Volume{}
}

// The ServiceMonitor scrapes each pod once: its selector matches exactly one
// Service (not the StatefulSet's headless one), whose port it names.
func TestServiceMonitorSelectsTheMetricsService(t *testing.T) {
	for _, tc := range []struct {
		file, scheme string
	}{
		{"all-features-values.yaml", "https"},
		{"split-3-replicas-persistence-values.yaml", "http"},
		{"existing-secret-values.yaml", "https"},
		{"sharded-3-values.yaml", "http"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			objs := render(t, "-f", valuesFile(tc.file))
			sm := decodeAs[monitoringv1.ServiceMonitor](t, objs.one(t, "ServiceMonitor"))
			selector := labels.SelectorFromSet(sm.Spec.Selector.MatchLabels)
			var matched []*corev1.Service
			for _, o := range objs.all("Service") {
				if svc := decodeAs[corev1.Service](t, o); selector.Matches(labels.Set(svc.Labels)) {
					matched = append(matched, svc)
				}
			}
			if len(matched) != 1 {
				t.Fatalf("selector %s matches %d Services, want 1", selector, len(matched))
			}
			if len(sm.Spec.Endpoints) != 1 {
				t.Fatalf("endpoints %+v, want 1", sm.Spec.Endpoints)
			}
			ep := sm.Spec.Endpoints[0]
			if ep.Port != matched[0].Spec.Ports[0].Name {
				t.Errorf("endpoint port %q, service port %q", ep.Port, matched[0].Spec.Ports[0].Name)
			}
			if ep.Scheme == nil || strings.ToLower(string(*ep.Scheme)) != tc.scheme {
				t.Errorf("scheme %v, want %s", ep.Scheme, tc.scheme)
			}
			if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
				t.Errorf("namespaceSelector %+v, want the release namespace", sm.Spec.NamespaceSelector)
			}
			// The pods behind the Service are the workload's.
			pod := objs.podTemplate(t)
			if !labels.SelectorFromSet(matched[0].Spec.Selector).Matches(labels.Set(pod.Labels)) {
				t.Errorf("service selector %v does not select pod labels %v", matched[0].Spec.Selector, pod.Labels)
			}
		})
	}
}

func TestNetworkPolicySelectsThePods(t *testing.T) {
	t.Parallel()
	objs := render(t, "-f", valuesFile("all-features-values.yaml"))
	np := decodeAs[networkingv1.NetworkPolicy](t, objs.one(t, "NetworkPolicy"))
	pod := objs.podTemplate(t)
	if !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(labels.Set(pod.Labels)) {
		t.Errorf("podSelector %v does not select pod labels %v", np.Spec.PodSelector.MatchLabels, pod.Labels)
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != "http-metrics" {
		t.Errorf("ingress %+v, want the metrics port only", np.Spec.Ingress)
	}
	// Egress is restricted in this scenario: DNS must stay reachable.
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || len(np.Spec.Egress) < 2 ||
		np.Spec.Egress[0].Ports[0].Port.IntValue() != 53 {
		t.Errorf("egress %+v, want DNS first, then the configured rules", np.Spec.Egress)
	}
}

// The pods roll when, and only when, the config changes.
func TestConfigChecksumFollowsConfig(t *testing.T) {
	t.Parallel()
	checksum := func(flags ...string) (annotation, content string) {
		objs := render(t, flags...)
		cm := decodeAs[corev1.ConfigMap](t, configMap(t, objs))
		return objs.podTemplate(t).Annotations["checksum/config"], cm.Data["config.yaml"]
	}
	base, content := checksum()
	sum := sha256.Sum256([]byte(strings.TrimSuffix(content, "\n")))
	if base != hex.EncodeToString(sum[:]) {
		t.Errorf("checksum/config %q is not the sha256 of the ConfigMap's config.yaml", base)
	}
	if again, _ := checksum(); again != base {
		t.Errorf("checksum changes between renders of the same values: %s, %s", base, again)
	}
	if other, _ := checksum("--set", "replicaCount=3"); other != base {
		t.Error("checksum changes with a value that is not in the config")
	}
	if changed, _ := checksum("--set", "config.global.max_concurrent_runs=2"); changed == base {
		t.Error("checksum stays the same when the config changes")
	}
}

// Credentials reach the pod only as files of a Secret: no ConfigMap, no
// environment variable, no argument and no other object carries them.
func TestSecretsOnlyInSecrets(t *testing.T) {
	t.Parallel()
	var values struct {
		SecretFiles map[string]string `json:"secretFiles"`
		WebConfig   struct {
			Files map[string]string `json:"files"`
		} `json:"webConfig"`
	}
	raw, err := os.ReadFile(valuesFile("all-features-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for k, v := range values.SecretFiles {
		secrets["secretFiles."+k] = v
	}
	for k, v := range values.WebConfig.Files {
		secrets["webConfig.files."+k] = v
	}
	if len(secrets) < 3 {
		t.Fatalf("all-features-values.yaml has %d secret values, the test needs some", len(secrets))
	}

	objs := render(t, "-f", valuesFile("all-features-values.yaml"))
	inSecrets := map[string]bool{}
	for _, o := range objs {
		if o.Kind == "Secret" {
			for _, v := range decodeAs[corev1.Secret](t, o).Data {
				inSecrets[string(v)] = true
			}
			continue
		}
		for name, v := range secrets {
			// The value, its base64, and each line of a multi-line one (a PEM
			// block re-indented into YAML would not match as a whole).
			forms := []string{v, base64.StdEncoding.EncodeToString([]byte(v))}
			for line := range strings.SplitSeq(v, "\n") {
				if line = strings.TrimSpace(line); len(line) >= 16 {
					forms = append(forms, line)
				}
			}
			for _, form := range forms {
				if bytes.Contains(o.JSON, []byte(form)) {
					t.Errorf("%s %s (%s) contains the value of %s", o.Kind, o.Name, o.Source, name)
				}
			}
		}
	}
	for name, v := range secrets {
		if !inSecrets[v] {
			t.Errorf("the value of %s is in no Secret", name)
		}
	}
	c := container(t, objs.podTemplate(t))
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("env %s reads a Secret", e.Name)
		}
	}
}

// Every file the config names under the mounted secret directories is a key
// of the Secret mounted there, so the pod does not start with a dangling path.
func TestConfigFilesAreMounted(t *testing.T) {
	t.Parallel()
	objs := render(t, "-f", valuesFile("all-features-values.yaml"))
	pod := objs.podTemplate(t)
	c := container(t, pod)
	keysAt := map[string]map[string][]byte{} // mount path -> keys of its Secret
	for _, m := range c.VolumeMounts {
		v := volume(t, pod, m.Name)
		if v.Secret == nil {
			continue
		}
		for _, o := range objs.all("Secret") {
			if s := decodeAs[corev1.Secret](t, o); s.Name == v.Secret.SecretName {
				keysAt[m.MountPath] = s.Data
			}
		}
		if keysAt[m.MountPath] == nil {
			t.Errorf("volume %s mounts Secret %q, which is not rendered", m.Name, v.Secret.SecretName)
		}
	}
	cm := decodeAs[corev1.ConfigMap](t, configMap(t, objs))
	web := keysAt["/etc/perf-exporter/web"]
	var paths []string
	collectStrings(t, []byte(cm.Data["config.yaml"]), &paths)
	collectStrings(t, web["web-config.yml"], &paths)
	checked := 0
	for _, p := range paths {
		dir, key := filepath.Split(p)
		keys, mounted := keysAt[strings.TrimSuffix(dir, "/")]
		if !mounted {
			continue
		}
		checked++
		if _, ok := keys[key]; !ok {
			t.Errorf("the config names %s, but the Secret mounted at %s has no key %q", p, dir, key)
		}
	}
	if checked < 5 {
		t.Errorf("checked %d file paths, all-features-values.yaml names 5 (3 credentials, a certificate and its key)", checked)
	}
}

// collectStrings appends every string value of a YAML document.
func collectStrings(t *testing.T, doc []byte, into *[]string) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			*into = append(*into, v)
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
}

// The PrometheusRule carries the rule file's groups unchanged (templates in
// annotations included), and those groups are valid for the operator.
func TestPrometheusRuleIsTheRuleFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(chartDir, "rules", "perf-exporter.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := strictDecode(js, &file); err != nil {
		t.Fatalf("the rule file does not decode into the operator's rule groups: %v", err)
	}
	if len(file.Groups) == 0 {
		t.Fatal("the rule file has no groups")
	}

	objs := render(t, "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kube-prometheus-stack")
	rule := objs.one(t, "PrometheusRule")
	pr := decodeAs[monitoringv1.PrometheusRule](t, rule)
	if pr.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("labels %v lack prometheusRule.labels", pr.Labels)
	}
	var rendered struct {
		Spec struct {
			Groups any `json:"groups"`
		} `json:"spec"`
	}
	var want struct {
		Groups any `json:"groups"`
	}
	if err := json.Unmarshal(rule.JSON, &rendered); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rendered.Spec.Groups, want.Groups) {
		got, _ := yaml.Marshal(rendered.Spec.Groups)
		t.Errorf("the PrometheusRule's groups differ from rules/perf-exporter.rules.yaml; rendered:\n%s", got)
	}
	if len(render(t).all("PrometheusRule")) != 0 {
		t.Error("a PrometheusRule is rendered by default, which fails on clusters without the operator's CRDs")
	}
}

func TestDashboardConfigMapsAreTheBoards(t *testing.T) {
	t.Parallel()
	boards := readBoards(t, filepath.Join(chartDir, "dashboards"))
	objs := render(t, "-f", valuesFile("all-features-values.yaml"))
	checkDashboards(t, objs, boards, "monitoring", "grafana_folder", "Performance")
}

// The template copies any board byte for byte, whatever it contains: a chart
// copy with a tricky board, since the real boards may not have landed yet.
func TestDashboardTemplateKeepsBoardsByteForByte(t *testing.T) {
	t.Parallel()
	dir := copyChart(t)
	boards := map[string][]byte{
		"tricky.json":      []byte("{\n  \"title\": \"Latency {{ $labels.profile }} ${datasource} «p99»\",\t\n  \"expr\": \"histogram_quantile(0.99, sum by (le) (rate(x[5m])))\"  \n}"),
		"Other_Board.json": []byte("{}\n\n"),
	}
	for name, data := range boards {
		if err := os.WriteFile(filepath.Join(dir, "dashboards", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name := range readBoards(t, filepath.Join(chartDir, "dashboards")) {
		boards[name], _ = os.ReadFile(filepath.Join(dir, "dashboards", name))
	}
	objs, err := templateChart(t, dir, "--set", "dashboards.enabled=true", "--set", "dashboards.folder=Perf Team", "--set", "dashboards.folderAnnotation=k8s-sidecar-target-directory")
	if err != nil {
		t.Fatal(err)
	}
	checkDashboards(t, objs, boards, namespace, "k8s-sidecar-target-directory", "Perf Team")
	if len(render(t).all("ConfigMap")) != 1 {
		t.Error("dashboard ConfigMaps are rendered by default")
	}
}

func checkDashboards(t *testing.T, objs manifests, boards map[string][]byte, wantNamespace, folderAnnotation, wantFolder string) {
	t.Helper()
	got := map[string]bool{}
	for _, o := range objs.all("ConfigMap") {
		cm := decodeAs[corev1.ConfigMap](t, o)
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		if cm.Namespace != wantNamespace {
			t.Errorf("%s is in namespace %q, want %q", cm.Name, cm.Namespace, wantNamespace)
		}
		if cm.Annotations[folderAnnotation] != wantFolder {
			t.Errorf("%s annotations %v, want %s: %q", cm.Name, cm.Annotations, folderAnnotation, wantFolder)
		}
		if len(cm.Data) != 1 {
			t.Errorf("%s holds %d boards, want one", cm.Name, len(cm.Data))
		}
		for name, data := range cm.Data {
			want, ok := boards[name]
			switch {
			case !ok:
				t.Errorf("%s holds %s, which is not a board of the chart", cm.Name, name)
			case data != string(want):
				t.Errorf("%s: %s differs from the board file:\n got %q\nwant %q", cm.Name, name, data, want)
			}
			got[name] = true
		}
	}
	for name := range boards {
		if !got[name] {
			t.Errorf("board %s has no ConfigMap", name)
		}
	}
}

// readBoards reads the *.json files of a directory, none if it is missing.
func readBoards(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	boards := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		boards[filepath.Base(f)] = data
	}
	return boards
}

// copyChart copies the chart into a temporary directory. Reading every file
// here also lets `go test`'s cache see the templates, which only the helm
// subprocess reads otherwise: a changed template must rerun the tests.
func copyChart(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(chartDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, path)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// The chart's boards are copies of dashboards/boards (make chart-assets):
// a board changed, added or removed there without a copy fails here.
func TestChartBoardsAreFresh(t *testing.T) {
	t.Parallel()
	source := filepath.Join("..", "..", "..", "dashboards", "boards")
	want := readBoards(t, source)
	got := readBoards(t, filepath.Join(chartDir, "dashboards"))
	if len(want) == 0 && len(got) == 0 {
		t.Skipf("no boards in %s yet, and none in the chart", source)
	}
	for name, data := range want {
		switch copied, ok := got[name]; {
		case !ok:
			t.Errorf("board %s is missing from the chart: run make chart-assets", name)
		case !bytes.Equal(copied, data):
			t.Errorf("the chart's copy of %s is stale: run make chart-assets", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("the chart has board %s, which %s does not: run make chart-assets", name, source)
		}
	}
}

// NOTES.txt is what users read after `helm install`. helm template does not
// render it, so a copy of the chart renders it into a ConfigMap.
func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
		not   []string
	}{
		{"defaults", nil, []string{"port-forward service/perf-perf-exporter 9479", "http://127.0.0.1:9479/", "No profile is configured yet"}, []string{"WARNING", "--load.split"}},
		{"replicas without split", []string{"--set", "replicaCount=3"}, []string{"WARNING: 3 replicas without loadSplit.enabled", "3 times the configured load"}, []string{"Load is split"}},
		{"split", []string{"-f", valuesFile("split-3-replicas-persistence-values.yaml")}, []string{"StatefulSet", "--load.split=3", "sum by (le, profile)"}, []string{"WARNING", "No profile", "emptyDir"}},
		{"sharded", []string{"-f", valuesFile("sharded-3-values.yaml")}, []string{"StatefulSet", "(3 replicas)", "--profiles.shard=N/3", `perf_profile_info{shard="N/3"}`}, []string{"WARNING", "--load.split", "No profile"}},
		{"all features", []string{"-f", valuesFile("all-features-values.yaml")}, []string{"https://127.0.0.1:9479/", "ServiceMonitor created", "grafana_dashboard=\"1\" in namespace monitoring", "Alert rules"}, []string{"WARNING"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			notes := renderNotes(t, tc.flags...)
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(notes, n) {
					t.Errorf("NOTES contain %q:\n%s", n, notes)
				}
			}
		})
	}
}

func renderNotes(t *testing.T, flags ...string) string {
	t.Helper()
	dir := copyChart(t)
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"NOTES.txt":       "",
		"_notes_test.tpl": `{{- define "notes-under-test" -}}` + string(notes) + `{{- end -}}`,
		"notes-test.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes-under-test}\ndata:\n  notes: {{ include \"notes-under-test\" . | toJson }}\n",
	}
	for name, content := range files {
		path := filepath.Join(dir, "templates", name)
		if content == "" {
			err = os.Remove(path)
		} else {
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	objs, err := templateChart(t, dir, append(flags, "--show-only", "templates/notes-test.yaml")...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAs[corev1.ConfigMap](t, objs.one(t, "ConfigMap")).Data["notes"]
}

// With existing Secrets the chart creates none and mounts the named ones;
// without any secret there is no secrets volume at all.
func TestExistingSecretsAreMounted(t *testing.T) {
	t.Parallel()
	objs := render(t, "-f", valuesFile("existing-secret-values.yaml"))
	if n := len(objs.all("Secret")); n != 0 {
		t.Errorf("rendered %d Secrets with existing ones given", n)
	}
	pod := objs.podTemplate(t)
	c := container(t, pod)
	for mount, secret := range map[string]string{
		"/etc/perf-exporter/secrets": "perf-exporter-credentials",
		"/etc/perf-exporter/web":     "perf-exporter-web-config",
	} {
		i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == mount })
		if i < 0 {
			t.Errorf("nothing is mounted at %s", mount)
			continue
		}
		m := c.VolumeMounts[i]
		if v := volume(t, pod, m.Name); v.Secret == nil || v.Secret.SecretName != secret || !m.ReadOnly || m.SubPath != "" {
			t.Errorf("%s mounts %+v (subPath %q, readOnly %v), want all of Secret %s read-only", mount, v.VolumeSource, m.SubPath, m.ReadOnly, secret)
		}
	}

	pod = render(t).podTemplate(t)
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			t.Errorf("default values mount Secret %s", v.Secret.SecretName)
		}
	}
}
