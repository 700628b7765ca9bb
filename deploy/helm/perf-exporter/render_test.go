package chart_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

// The tests run in the chart's directory.
const (
	chartDir  = "."
	release   = "perf"
	namespace = "bench"
)

// ciValues are the scenario files `helm lint` and `helm template` run with.
var ciValues = []string{
	"ci/default-values.yaml",
	"ci/all-features-values.yaml",
	"ci/split-3-replicas-persistence-values.yaml",
	"ci/existing-secret-values.yaml",
	"ci/sharded-3-values.yaml",
}

// runHelm runs the real helm; the error carries helm's stderr.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), testutil.Tool(t, "helm"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// object is one rendered manifest, converted to JSON.
type object struct {
	Source string // the template it came from
	Kind   string
	Name   string
	JSON   []byte
}

// manifests is the output of one `helm template`.
type manifests []object

// templateChart renders dir with the given flags (-f FILE, --set K=V ...).
func templateChart(t *testing.T, dir string, flags ...string) (manifests, error) {
	t.Helper()
	args := append([]string{"template", release, dir, "--namespace", namespace}, flags...)
	out, err := runHelm(t, args...)
	if err != nil {
		return nil, err
	}
	return splitManifests(out)
}

// render renders the chart and fails the test on an error.
func render(t *testing.T, flags ...string) manifests {
	t.Helper()
	objs, err := templateChart(t, chartDir, flags...)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

var (
	documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceComment     = regexp.MustCompile(`(?m)^# Source: (.*)$`)
)

func splitManifests(out string) (manifests, error) {
	var objs manifests
	for _, doc := range documentSeparator.Split(out, -1) {
		if strings.TrimSpace(sourceComment.ReplaceAllString(doc, "")) == "" {
			continue
		}
		source := "?"
		if m := sourceComment.FindStringSubmatch(doc); m != nil {
			source = m[1]
		}
		// Strict: a key given twice in one mapping is an error, as in kubectl.
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := k8sjson.UnmarshalCaseSensitivePreserveInts(js, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		objs = append(objs, object{Source: source, Kind: meta.Kind, Name: meta.Metadata.Name, JSON: js})
	}
	return objs, nil
}

// all returns the objects of one kind.
func (m manifests) all(kind string) []object {
	var objs []object
	for _, o := range m {
		if o.Kind == kind {
			objs = append(objs, o)
		}
	}
	return objs
}

// one returns the only object of a kind and fails when there is not exactly one.
func (m manifests) one(t *testing.T, kind string) object {
	t.Helper()
	objs := m.all(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, rendered %d", kind, len(objs))
	}
	return objs[0]
}

// typed maps each kind the chart may render to its Go type. A kind missing
// here is an error: the test must learn every object the chart can emit.
func typed(kind string) (any, bool) {
	switch kind {
	case "ConfigMap":
		return &corev1.ConfigMap{}, true
	case "Secret":
		return &corev1.Secret{}, true
	case "Service":
		return &corev1.Service{}, true
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "Deployment":
		return &appsv1.Deployment{}, true
	case "StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, true
	case "PrometheusRule":
		return &monitoringv1.PrometheusRule{}, true
	}
	return nil, false
}

// strictDecode decodes like the API server's strict field validation:
// case-sensitive, and an unknown or duplicate field is an error.
func strictDecode(js []byte, into any) error {
	strict, err := k8sjson.UnmarshalStrict(js, into, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return fmt.Errorf("%v", strict)
	}
	return nil
}

// decodeAs decodes an object strictly into T and fails the test otherwise.
func decodeAs[T any](t *testing.T, o object) *T {
	t.Helper()
	v := new(T)
	if err := strictDecode(o.JSON, v); err != nil {
		t.Fatalf("%s %s (%s): %v", o.Kind, o.Name, o.Source, err)
	}
	return v
}

// podSpec returns the pod template of the rendered workload, whichever kind.
func (m manifests) podTemplate(t *testing.T) corev1.PodTemplateSpec {
	t.Helper()
	deployments, statefulSets := m.all("Deployment"), m.all("StatefulSet")
	switch {
	case len(deployments) == 1 && len(statefulSets) == 0:
		return decodeAs[appsv1.Deployment](t, deployments[0]).Spec.Template
	case len(statefulSets) == 1 && len(deployments) == 0:
		return decodeAs[appsv1.StatefulSet](t, statefulSets[0]).Spec.Template
	}
	t.Fatalf("want one Deployment or one StatefulSet, rendered %d and %d", len(deployments), len(statefulSets))
	return corev1.PodTemplateSpec{}
}

// container returns the perf-exporter container of a pod.
func container(t *testing.T, pod corev1.PodTemplateSpec) corev1.Container {
	t.Helper()
	for _, c := range pod.Spec.Containers {
		if c.Name == "perf-exporter" {
			return c
		}
	}
	t.Fatalf("no perf-exporter container in %+v", pod.Spec.Containers)
	return corev1.Container{}
}

// valuesFile is a ci/ file's path, for flags.
func valuesFile(name string) string { return filepath.Join("ci", name) }
