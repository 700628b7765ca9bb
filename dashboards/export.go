package dashboards

import (
	"bytes"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// ExportOptions shape the file-provisioning files.
type ExportOptions struct {
	Folder Folder
	OrgID  int64 // 0 means 1, Grafana's default org
	// ProvisioningPath is where Grafana will see the export directory:
	// the provider's options.path points below it. Default
	// /etc/grafana/provisioning, Grafana's own provisioning directory.
	ProvisioningPath string
	// DatasourceURL, when set, adds a Prometheus datasource provisioning
	// file for this URL, with DatasourceUID and DatasourceName.
	DatasourceURL  string
	DatasourceUID  string // default "prometheus", kube-prometheus-stack's uid
	DatasourceName string // default "Prometheus"
}

// Layout of the export directory, mountable as Grafana's provisioning
// directory: Grafana reads the *.yaml of dashboards/ and datasources/ and
// ignores the sub-directory holding the boards.
const (
	exportProviderFile   = "dashboards/perf-exporter.yaml"
	exportBoardsDir      = "dashboards/perf-exporter"
	exportDatasourceFile = "datasources/perf-exporter.yaml"
)

// Export writes the boards and a dashboards provider file (and a
// datasource file when asked) below dir, and returns the files written.
func Export(dir string, boards []Board, o ExportOptions) ([]string, error) {
	if o.ProvisioningPath == "" {
		o.ProvisioningPath = "/etc/grafana/provisioning"
	}
	if o.OrgID == 0 {
		o.OrgID = 1
	}
	if o.Folder.UID == "" && o.Folder.Title == "" {
		o.Folder = Folder{UID: DefaultFolderUID, Title: DefaultFolderTitle}
	}
	files := map[string][]byte{}
	for _, b := range boards {
		data, err := b.JSON()
		if err != nil {
			return nil, err
		}
		files[path.Join(exportBoardsDir, b.Name+".json")] = data
	}
	provider := map[string]any{
		"apiVersion": 1,
		"providers": []map[string]any{{
			"name":                  "perf-exporter",
			"orgId":                 o.OrgID,
			"folder":                o.Folder.Title,
			"folderUid":             o.Folder.UID,
			"type":                  "file",
			"disableDeletion":       false,
			"allowUiUpdates":        false,
			"updateIntervalSeconds": 60,
			"options":               map[string]any{"path": path.Join(o.ProvisioningPath, exportBoardsDir)},
		}},
	}
	var err error
	if files[exportProviderFile], err = yamlFile("Dashboards of perf-exporter, provisioned from files.", provider); err != nil {
		return nil, err
	}
	if o.DatasourceURL != "" {
		u, err := url.Parse(o.DatasourceURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--datasource-url %q must be an absolute http:// or https:// URL", o.DatasourceURL)
		}
		if o.DatasourceUID == "" {
			o.DatasourceUID = "prometheus"
		}
		if o.DatasourceName == "" {
			o.DatasourceName = "Prometheus"
		}
		ds := map[string]any{
			"apiVersion": 1,
			"datasources": []map[string]any{{
				"name":     o.DatasourceName,
				"uid":      o.DatasourceUID,
				"type":     "prometheus",
				"access":   "proxy",
				"url":      o.DatasourceURL,
				"orgId":    o.OrgID,
				"jsonData": map[string]any{"httpMethod": "POST"},
				"editable": false,
			}},
		}
		if files[exportDatasourceFile], err = yamlFile("The Prometheus that scrapes perf-exporter, for its boards.", ds); err != nil {
			return nil, err
		}
	}
	names := slices.Sorted(maps.Keys(files))
	var written []string
	for _, name := range names {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(target, files[name], 0o644); err != nil {
			return written, err
		}
		written = append(written, target)
	}
	return written, nil
}

func yamlFile(comment string, v any) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# %s\n# Written by `perf-exporter dashboards export`.\n", comment)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
