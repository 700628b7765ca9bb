package dashboards

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

// roundTrip imports a board into a file and provisions the file back, and
// checks the board is left exactly as it was: same content, same folder,
// same version (nothing was written).
func roundTrip(t *testing.T, s *grafanatest.Server, c *Client, uid, ext string) {
	t.Helper()
	before, _ := s.Dashboard(1, uid)
	b, err := c.Import(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	if ext == ".json" {
		data, err = b.JSON()
	} else {
		data, err = b.YAML()
	}
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "board"+ext)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadFile(file, "")
	if err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	results, err := c.Provision(context.Background(), []Board{loaded}, defaultOpts)
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Outcome != Unchanged {
		t.Errorf("round trip of %s through %s: %s, want unchanged", uid, ext, results[0].Outcome)
	}
	if n := len(s.RequestsTo(http.MethodPost, "/api/dashboards/db")); n != 0 {
		t.Errorf("round trip wrote the board %d times", n)
	}
	after, _ := s.Dashboard(1, uid)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("board changed by the round trip:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestImportRoundTripOfBundledBoards(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	c := testClient(t, s)
	if _, err := c.Provision(context.Background(), allBoards(t, nil), defaultOpts); err != nil {
		t.Fatal(err)
	}
	for _, b := range allBoards(t, nil) {
		roundTrip(t, s, c, b.UID(), ".yaml")
	}
	roundTrip(t, s, c, "perf-exporter-overview", ".json")
}

// A board made by someone else, with the values YAML likes to reinterpret.
func TestImportRoundTripOfForeignBoard(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	s.AddFolder(1, DefaultFolderUID, DefaultFolderTitle)
	var model map[string]any
	err := json.Unmarshal([]byte(`{
		"uid": "team-board", "title": "Team: checkout latency", "tags": ["team", "yes", "no", "on", "null", "1.0"],
		"schemaVersion": 41, "editable": false, "graphTooltip": 0, "timezone": "",
		"time": {"from": "now-7d/d", "to": "now"}, "refresh": "",
		"description": "multi\nline: text # not a comment\n  indented",
		"templating": {"list": [{"type": "custom", "name": "env", "query": "prod,staging", "current": {"text": ["prod"], "value": ["prod"]}}]},
		"panels": [
			{"id": 1, "type": "timeseries", "title": "p99", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
			 "datasource": {"type": "prometheus", "uid": "abc"},
			 "targets": [{"refId": "A", "expr": "histogram_quantile(0.99, sum by (le) (rate(x_bucket{env=~\"$env\"}[5m]))) > 0.25 and on() vector(1)", "legendFormat": "{{le}}"}],
			 "fieldConfig": {"defaults": {"min": 0, "max": 1e-9, "decimals": 3, "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": null}, {"color": "red", "value": 0.25}]}}, "overrides": []},
			 "options": {"legend": {"calcs": []}, "big": 12345678901234, "date": "2024-01-02", "emoji": "⏱ ü"}}
		]}`), &model)
	if err != nil {
		t.Fatal(err)
	}
	s.AddDashboard(1, grafanatest.Dashboard{Model: model, FolderUID: DefaultFolderUID, Version: 7})
	c := testClient(t, s)
	roundTrip(t, s, c, "team-board", ".yaml")
	roundTrip(t, s, c, "team-board", ".json")
}

func TestImportMissingBoard(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	_, err := testClient(t, s).Import(context.Background(), "nope")
	if want := `reading board "nope": Grafana answered 404 Not Found: Dashboard not found (not-found)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

// sharedExport is a board as Grafana's "Export for sharing externally"
// writes it.
const sharedExport = `{
  "__inputs": [
    {"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"},
    {"name": "VAR_TEAM", "type": "constant", "label": "team", "value": "payments"}
  ],
  "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "11.2.0"}],
  "__elements": {},
  "id": null, "uid": "shared-board", "title": "Shared ${VAR_TEAM}",
  "panels": [{"id": 1, "type": "stat", "title": "up", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
    "targets": [{"refId": "A", "expr": "up", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}}]}]
}`

func TestLoadFileResolvesSharingInputs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shared.json")
	writeFile(t, file, sharedExport)
	b, err := LoadFile(file, "prom")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := b.JSON()
	for _, gone := range []string{"${DS_PROMETHEUS}", "__inputs", "__requires", "__elements", "${VAR_TEAM}"} {
		if strings.Contains(string(data), gone) {
			t.Errorf("%s left in the board:\n%s", gone, data)
		}
	}
	if b.Title() != "Shared payments" || !strings.Contains(string(data), `"uid": "prom"`) {
		t.Errorf("inputs not substituted:\n%s", data)
	}

	// Provisioned as is, the panels would look for a datasource called
	// "${DS_PROMETHEUS}": without a datasource uid it is an error.
	_, err = LoadFile(file, "")
	if err == nil || !strings.Contains(err.Error(), "datasource input DS_PROMETHEUS") || !strings.Contains(err.Error(), "grafana.datasource_uid") {
		t.Errorf("error %v", err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, content, want string }{
		{"undeclared.json", `{"uid": "u", "title": "t", "panels": [{"datasource": {"uid": "${DS_PROM}"}}]}`, "refers to ${DS_PROM} but declares no such input"},
		{"library.json", `{"uid": "u", "title": "t", "__elements": {"x": {"name": "lib"}}}`, "library panels"},
		{"nouid.yaml", "title: t\npanels: []\n", "the board has no uid"},
		{"notitle.yaml", "uid: u\n", "the board has no title"},
		{"list.yaml", "- a\n- b\n", "the top level must be a mapping"},
		{"broken.json", `{"uid": `, "unexpected end of JSON input"},
	}
	for _, tc := range tests {
		file := filepath.Join(dir, tc.name)
		writeFile(t, file, tc.content)
		_, err := LoadFile(file, "prom")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), file) {
			t.Errorf("%s: error %v, want %q with the file name", tc.name, err, tc.want)
		}
	}
}

func TestLoadFileAcceptsAPIEnvelope(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api.json")
	writeFile(t, file, `{"dashboard": {"id": 12, "uid": "u", "title": "t", "version": 3}, "meta": {"folderUid": "x"}}`)
	b, err := LoadFile(file, "")
	if err != nil {
		t.Fatal(err)
	}
	if b.UID() != "u" || b.Title() != "t" {
		t.Errorf("board %v", b.Model)
	}
}
