package dashboards

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestExport(t *testing.T) {
	dir := t.TempDir()
	boards := allBoards(t, nil)
	files, err := Export(dir, boards, ExportOptions{
		Folder: Folder{UID: "perf", Title: "Perf"}, OrgID: 2,
		DatasourceURL: "http://prometheus:9090", DatasourceUID: "prom",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(boards)+2 {
		t.Errorf("files %v", files)
	}
	var provider struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name      string `yaml:"name"`
			OrgID     int    `yaml:"orgId"`
			Folder    string `yaml:"folder"`
			FolderUID string `yaml:"folderUid"`
			Type      string `yaml:"type"`
			Options   struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(dir, "dashboards", "perf-exporter.yaml"), &provider)
	p := provider.Providers
	if provider.APIVersion != 1 || len(p) != 1 || p[0].Type != "file" || p[0].Folder != "Perf" || p[0].FolderUID != "perf" || p[0].OrgID != 2 ||
		p[0].Options.Path != "/etc/grafana/provisioning/dashboards/perf-exporter" {
		t.Errorf("provider %+v", provider)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL string
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(dir, "datasources", "perf-exporter.yaml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].UID != "prom" || ds.Datasources[0].Type != "prometheus" ||
		ds.Datasources[0].Access != "proxy" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasources %+v", ds)
	}
	// The boards are the selected ones, byte for byte what JSON() gives.
	for _, b := range boards {
		got, err := os.ReadFile(filepath.Join(dir, "dashboards", "perf-exporter", b.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := b.JSON()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("board %s differs from the selection", b.Name)
		}
	}
}

func TestExportWithoutDatasource(t *testing.T) {
	dir := t.TempDir()
	files, err := Export(dir, allBoards(t, nil)[:1], ExportOptions{ProvisioningPath: "/grafana"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Errorf("files %v", files)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "dashboards", "perf-exporter.yaml"))
	for _, want := range []string{"path: /grafana/dashboards/perf-exporter", "folderUid: perf-exporter", "folder: Performance"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("provider lacks %q:\n%s", want, data)
		}
	}
	if _, err := Export(dir, nil, ExportOptions{DatasourceURL: "prometheus:9090"}); err == nil || !strings.Contains(err.Error(), "--datasource-url") {
		t.Errorf("bad datasource url: %v", err)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
