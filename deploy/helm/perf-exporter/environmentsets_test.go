package chart_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/perf-exporter/perf-exporter/config"
)

const (
	configDir     = "/etc/perf-exporter"
	setsMountPath = configDir + "/environment-sets"
	setsGlob      = "environment-sets/*.yaml"
)

// podConfigDir lays out what the rendered pod sees under /etc/perf-exporter
// in a temporary directory and returns the config file's path there:
// config.yaml, and the chart's ConfigMap of environment set files at its
// mount path, in the kubelet's layout (files are links into a ..data
// directory, beside a timestamped one), so that the config's glob is tried
// against what a ConfigMap volume really holds.
func podConfigDir(t *testing.T, objs manifests) string {
	t.Helper()
	dir := t.TempDir()
	cm := decodeAs[corev1.ConfigMap](t, configMap(t, objs))
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	pod := objs.podTemplate(t)
	for _, m := range container(t, pod).VolumeMounts {
		rel, err := filepath.Rel(configDir, m.MountPath)
		if err != nil || strings.HasPrefix(rel, "..") || m.SubPath != "" {
			continue
		}
		v := volume(t, pod, m.Name)
		if v.ConfigMap == nil {
			continue
		}
		sets := setsConfigMap(t, objs, v.ConfigMap.Name)
		if sets == nil {
			continue // an existing ConfigMap: not the chart's to lay out
		}
		mount := filepath.Join(dir, rel)
		stamped := filepath.Join(mount, "..2026_11_30_04_00_00.000000001")
		if err := os.MkdirAll(stamped, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Base(stamped), filepath.Join(mount, "..data")); err != nil {
			t.Fatal(err)
		}
		for key, content := range sets.Data {
			if err := os.WriteFile(filepath.Join(stamped, key), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join("..data", key), filepath.Join(mount, key)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return file
}

// setsConfigMap is the rendered ConfigMap of that name, or nil.
func setsConfigMap(t *testing.T, objs manifests, name string) *corev1.ConfigMap {
	t.Helper()
	for _, o := range objs.all("ConfigMap") {
		if o.Name == name {
			return decodeAs[corev1.ConfigMap](t, o)
		}
	}
	return nil
}

// renderedConfig decodes the rendered config.yaml.
func renderedConfig(t *testing.T, objs manifests) map[string]any {
	t.Helper()
	cm := decodeAs[corev1.ConfigMap](t, configMap(t, objs))
	var c map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// setFiles is the rendered config's environment_set_files.
func setFiles(t *testing.T, objs manifests) []string {
	t.Helper()
	var files []string
	raw, _ := renderedConfig(t, objs)["environment_set_files"].([]any)
	for _, f := range raw {
		files = append(files, f.(string))
	}
	return files
}

// setsMount is the volume mounted at /etc/perf-exporter/environment-sets.
func setsMount(t *testing.T, pod corev1.PodTemplateSpec) (corev1.VolumeMount, corev1.Volume, bool) {
	t.Helper()
	for _, m := range container(t, pod).VolumeMounts {
		if m.MountPath == setsMountPath {
			return m, volume(t, pod, m.Name), true
		}
	}
	return corev1.VolumeMount{}, corev1.Volume{}, false
}

// Issue 16: environment set files written by `dashboards import` reach the
// pod next to config.yaml, the config includes them, and perf-exporter
// loads the sets from the pod's layout (a profile records the imported set).
func TestEnvironmentSetFilesAreMountedAndIncluded(t *testing.T) {
	t.Parallel()
	var values struct {
		EnvironmentSetFiles map[string]string `json:"environmentSetFiles"`
	}
	raw, err := os.ReadFile(valuesFile("all-features-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	if len(values.EnvironmentSetFiles) == 0 {
		t.Fatal("all-features-values.yaml has no environmentSetFiles, the test needs some")
	}
	objs := render(t, "-f", valuesFile("all-features-values.yaml"))

	m, v, ok := setsMount(t, objs.podTemplate(t))
	if !ok {
		t.Fatalf("nothing is mounted at %s", setsMountPath)
	}
	if !m.ReadOnly || m.SubPath != "" {
		t.Errorf("mount %+v: want a read-only directory (no subPath: the kubelet updates it)", m)
	}
	if v.ConfigMap == nil {
		t.Fatalf("volume %s is not a ConfigMap: %+v", v.Name, v.VolumeSource)
	}
	sets := setsConfigMap(t, objs, v.ConfigMap.Name)
	if sets == nil {
		t.Fatalf("the pod mounts ConfigMap %q, which is not rendered", v.ConfigMap.Name)
	}
	for key, content := range values.EnvironmentSetFiles {
		if sets.Data[key] != content {
			t.Errorf("ConfigMap %s key %q is %q, want the value's content byte for byte %q", sets.Name, key, sets.Data[key], content)
		}
	}
	if len(sets.Data) != len(values.EnvironmentSetFiles) {
		t.Errorf("ConfigMap %s has %d keys, the values %d", sets.Name, len(sets.Data), len(values.EnvironmentSetFiles))
	}
	if files := setFiles(t, objs); !slices.Contains(files, setsGlob) {
		t.Errorf("rendered environment_set_files %q lacks %q", files, setsGlob)
	}

	cfg, err := config.LoadFile(podConfigDir(t, objs))
	if err != nil {
		t.Fatalf("perf-exporter rejects the pod's config: %v", err)
	}
	queries := cfg.EnvironmentSets["checkout_board"]
	var names []string
	for _, q := range queries {
		names = append(names, q.Name)
	}
	if want := []string{"db_connections_a", "request_rate_a"}; !slices.Equal(names, want) {
		t.Errorf("set checkout_board from the mounted file has queries %q, want %q", names, want)
	}
}

// Without set files nothing is mounted and the config is the values' own.
func TestNoEnvironmentSetFilesNoMount(t *testing.T) {
	t.Parallel()
	objs := render(t)
	if _, _, ok := setsMount(t, objs.podTemplate(t)); ok {
		t.Errorf("something is mounted at %s without set files", setsMountPath)
	}
	if files := setFiles(t, objs); len(files) != 0 {
		t.Errorf("environment_set_files %q rendered without set files", files)
	}
	if _, ok := objs.podTemplate(t).Annotations["checksum/environment-sets"]; ok {
		t.Error("checksum/environment-sets without set files")
	}
}

// An existing ConfigMap is mounted whole, none is created, and the config
// includes it; the user's own environment_set_files stay, the chart's glob
// is added once.
func TestExistingEnvironmentSetConfigMapIsMounted(t *testing.T) {
	t.Parallel()
	objs := render(t, "-f", valuesFile("existing-secret-values.yaml"),
		"--set", "config.environment_set_files={extra/*.yaml,"+setsGlob+"}")
	_, v, ok := setsMount(t, objs.podTemplate(t))
	if !ok {
		t.Fatalf("nothing is mounted at %s", setsMountPath)
	}
	if v.ConfigMap == nil || v.ConfigMap.Name != "perf-exporter-environment-sets" {
		t.Errorf("volume %s: %+v, want ConfigMap perf-exporter-environment-sets", v.Name, v.VolumeSource)
	}
	for _, o := range objs.all("ConfigMap") {
		if strings.HasSuffix(o.Name, "-environment-sets") {
			t.Errorf("ConfigMap %s is rendered with existingEnvironmentSetConfigMap", o.Name)
		}
	}
	if files, want := setFiles(t, objs), []string{"extra/*.yaml", setsGlob}; !slices.Equal(files, want) {
		t.Errorf("environment_set_files %q, want %q", files, want)
	}
	// The chart cannot see the existing ConfigMap's content.
	if _, ok := objs.podTemplate(t).Annotations["checksum/environment-sets"]; ok {
		t.Error("checksum/environment-sets with an existing ConfigMap")
	}
}

// A changed set file rolls the pods (perf-exporter reads set files only at
// start and on reload); checksum/config stays the config's own.
func TestEnvironmentSetChecksumFollowsSetFiles(t *testing.T) {
	t.Parallel()
	annotations := func(content string) map[string]string {
		js, err := json.Marshal(map[string]string{"board.yaml": content})
		if err != nil {
			t.Fatal(err)
		}
		return render(t, "--set-json", "environmentSetFiles="+string(js)).podTemplate(t).Annotations
	}
	base := annotations("board: [{name: a, query: up}]")
	if base["checksum/environment-sets"] == "" {
		t.Fatalf("no checksum/environment-sets with set files: %v", base)
	}
	if again := annotations("board: [{name: a, query: up}]"); again["checksum/environment-sets"] != base["checksum/environment-sets"] {
		t.Error("checksum/environment-sets changes between renders of the same files")
	}
	changed := annotations("board: [{name: a, query: up == 1}]")
	if changed["checksum/environment-sets"] == base["checksum/environment-sets"] {
		t.Error("checksum/environment-sets stays the same when a set file changes")
	}
	if changed["checksum/config"] != base["checksum/config"] {
		t.Error("checksum/config changes with a set file's content, not the config's")
	}
}
