package chart_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
)

var tlsFlags = []string{"--set", "webConfig.enabled=true",
	"--set", "webConfig.config.tls_server_config.cert_file=/etc/perf-exporter/web/tls.crt",
	"--set", "webConfig.config.tls_server_config.key_file=/etc/perf-exporter/web/tls.key",
	"--set", "webConfig.config.tls_server_config.client_ca_file=/etc/perf-exporter/web/ca.crt"}

// A web config that requires a client certificate refuses the kubelet's
// HTTPS probes (it has no certificate): such pods are probed on the TCP
// port, as with basic auth. Every client_auth_type exporter-toolkit accepts.
func TestProbesWithClientCertificates(t *testing.T) {
	for _, tc := range []struct {
		authType string
		tcp      bool
	}{
		{"", false},
		{"NoClientCert", false},
		{"RequestClientCert", false},
		{"VerifyClientCertIfGiven", false},
		{"RequireAnyClientCert", true},
		{"RequireClientCert", true}, // exporter-toolkit's old name of RequireAnyClientCert
		{"RequireAndVerifyClientCert", true},
	} {
		t.Run("client_auth_type="+tc.authType, func(t *testing.T) {
			t.Parallel()
			flags := slices.Clone(tlsFlags)
			if tc.authType != "" {
				flags = append(flags, "--set", "webConfig.config.tls_server_config.client_auth_type="+tc.authType)
			}
			checkProbes(t, container(t, render(t, flags...).podTemplate(t)), tc.tcp)
		})
	}
	t.Run("existingSecretClientCert", func(t *testing.T) {
		t.Parallel()
		c := container(t, render(t, "--set", "webConfig.enabled=true", "--set", "webConfig.existingSecret=web",
			"--set", "webConfig.existingSecretTLS=true", "--set", "webConfig.existingSecretClientCert=true").podTemplate(t))
		checkProbes(t, c, true)
	})
}

func checkProbes(t *testing.T, c corev1.Container, tcp bool) {
	t.Helper()
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		switch {
		case p == nil:
			t.Errorf("no %s probe", name)
		case handlers(p.ProbeHandler) != 1:
			t.Errorf("%s probe has %d handlers", name, handlers(p.ProbeHandler))
		case tcp && (p.TCPSocket == nil || p.TCPSocket.Port.String() != "http-metrics"):
			t.Errorf("%s probe %+v, want TCP on http-metrics: the kubelet has no client certificate", name, p.ProbeHandler)
		case !tcp && (p.HTTPGet == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS):
			t.Errorf("%s probe %+v, want HTTPS", name, p.ProbeHandler)
		}
	}
}

// With the credentials the web config asks for, the ServiceMonitor renders
// and carries them.
func TestServiceMonitorCarriesWebConfigCredentials(t *testing.T) {
	t.Parallel()
	flags := append(slices.Clone(tlsFlags),
		"--set", "webConfig.config.tls_server_config.client_auth_type=RequireAndVerifyClientCert",
		"--set", "webConfig.config.basic_auth_users.prometheus=$2y$10$x",
		"--set", "serviceMonitor.enabled=true",
		"--set", "serviceMonitor.tlsConfig.ca.secret.name=scrape", "--set", "serviceMonitor.tlsConfig.ca.secret.key=ca.crt",
		"--set", "serviceMonitor.tlsConfig.cert.secret.name=scrape", "--set", "serviceMonitor.tlsConfig.cert.secret.key=tls.crt",
		"--set", "serviceMonitor.tlsConfig.keySecret.name=scrape", "--set", "serviceMonitor.tlsConfig.keySecret.key=tls.key",
		"--set", "serviceMonitor.basicAuth.username.name=scrape", "--set", "serviceMonitor.basicAuth.username.key=user",
		"--set", "serviceMonitor.basicAuth.password.name=scrape", "--set", "serviceMonitor.basicAuth.password.key=password")
	sm := decodeAs[monitoringv1.ServiceMonitor](t, render(t, flags...).one(t, "ServiceMonitor"))
	ep := sm.Spec.Endpoints[0]
	if ep.TLSConfig == nil || ep.TLSConfig.Cert.Secret == nil || ep.TLSConfig.KeySecret == nil || ep.BasicAuth == nil {
		t.Fatalf("endpoint %+v lacks the client certificate or the basic auth", ep)
	}
	if ep.Scheme == nil || strings.ToLower(string(*ep.Scheme)) != "https" {
		t.Errorf("scheme %v, want https", ep.Scheme)
	}
}

// Only user:password in a URL is refused: a user name alone, a port or an @
// in the path are not credentials.
func TestURLsWithoutPasswordsRender(t *testing.T) {
	t.Parallel()
	render(t, "--set", "config.profiles[0].name=x", "--set", "config.profiles[0].schedule=@hourly",
		"--set", "config.profiles[0].target.url=http://shop:8080/users/a@b.example?x=1:2@3",
		"--set", "config.prometheus[0].name=p", "--set", "config.prometheus[0].url=https://perf@prometheus:9090",
		"--set", "config.prometheus[0].proxy_url=http://proxy:3128")
}

// The schema's securityContext and podSecurityContext are Kubernetes's
// SecurityContext and PodSecurityContext, field for field (nested objects
// too), and reject unknown keys: a misspelt hardening setting would
// otherwise be dropped silently by the API server's defaulting.
func TestSchemaSecurityContextsAreKubernetes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties  map[string]schemaObject `json:"properties"`
		Definitions map[string]schemaObject `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	var check func(at string, o schemaObject, typ reflect.Type)
	check = func(at string, o schemaObject, typ reflect.Type) {
		if ref, ok := strings.CutPrefix(o.Ref, "#/definitions/"); ok {
			o = schema.Definitions[ref]
		}
		if string(o.AdditionalProperties) != "false" {
			t.Errorf("%s: additionalProperties is not false", at)
		}
		var inSchema, inGo []string
		for k := range o.Properties {
			inSchema = append(inSchema, k)
		}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			inGo = append(inGo, name)
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if sub, ok := o.Properties[name]; ok && ft.Kind() == reflect.Struct {
				if sub.Items != nil {
					sub = *sub.Items
				}
				check(at+"."+name, sub, ft)
			}
		}
		slices.Sort(inSchema)
		slices.Sort(inGo)
		if !slices.Equal(inSchema, inGo) {
			t.Errorf("%s: schema properties %v, Kubernetes %s has %v", at, inSchema, typ.Name(), inGo)
		}
	}
	check("securityContext", schema.Properties["securityContext"], reflect.TypeFor[corev1.SecurityContext]())
	check("podSecurityContext", schema.Properties["podSecurityContext"], reflect.TypeFor[corev1.PodSecurityContext]())
}

type schemaObject struct {
	Ref                  string                  `json:"$ref"`
	Properties           map[string]schemaObject `json:"properties"`
	AdditionalProperties json.RawMessage         `json:"additionalProperties"` // false, or a schema
	Items                *schemaObject           `json:"items"`
}
