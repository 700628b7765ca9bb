// Package dashboards ships perf-exporter's Grafana boards and gets them into
// the user's Grafana whichever way it is run: through the Grafana HTTP API
// (Client.Provision), as file-provisioning files (Export), or as the raw JSON
// the Helm chart puts into ConfigMaps (Boards). It also imports existing
// boards from a Grafana so they can be kept and provisioned as files.
package dashboards

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/perf-exporter/perf-exporter/config"
)

// Tag is carried by every bundled board; boards link to each other by it.
const Tag = "perf-exporter"

// boardFiles holds the bundled boards, one JSON file per board, named after
// the board (the keys of the config's grafana.boards).
//
//go:embed boards/*.json
var boardFiles embed.FS

// Boards returns the bundled boards' JSON exactly as shipped, keyed by
// board name ("overview"). The Helm chart and file provisioning use these
// bytes; they carry a datasource variable, so they need no editing.
func Boards() (map[string][]byte, error) {
	out := make(map[string][]byte, len(config.GrafanaBoardNames))
	for _, name := range config.GrafanaBoardNames {
		data, err := fs.ReadFile(boardFiles, "boards/"+name+".json")
		if err != nil {
			return nil, fmt.Errorf("bundled board %q: %w", name, err)
		}
		out[name] = data
	}
	return out, nil
}

// Board is one Grafana dashboard ready to provision or export.
type Board struct {
	// Name is the bundled board's name ("overview"), or the file a custom
	// board came from.
	Name string
	// Model is the dashboard JSON, decoded. Numbers are float64, as
	// encoding/json decodes them, so models compare with reflect.DeepEqual.
	Model map[string]any
}

// UID is the board's uid, which makes provisioning idempotent.
func (b Board) UID() string { s, _ := b.Model["uid"].(string); return s }

// Title is the board's title.
func (b Board) Title() string { s, _ := b.Model["title"].(string); return s }

// JSON encodes the model the way Grafana exports boards: indented, keys in
// order, and PromQL's <, > and & left readable.
func (b Board) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b.Model); err != nil {
		return nil, fmt.Errorf("encoding board %q: %w", b.Name, err)
	}
	return buf.Bytes(), nil
}

// Bundled decodes every bundled board, in the order of
// config.GrafanaBoardNames.
func Bundled() ([]Board, error) {
	raw, err := Boards()
	if err != nil {
		return nil, err
	}
	boards := make([]Board, 0, len(raw))
	for _, name := range config.GrafanaBoardNames {
		model, err := decodeModel(raw[name])
		if err != nil {
			return nil, fmt.Errorf("bundled board %q: %w", name, err)
		}
		boards = append(boards, Board{Name: name, Model: model})
	}
	return boards, nil
}

// Select returns the bundled boards to provision or export, tailored by the
// grafana section's preferences, with the configured datasource as the
// default of each board's datasource variable. Boards named on the command
// line win; otherwise the boards listed under grafana.boards; otherwise all.
// A nil section means every board as shipped.
func Select(g *config.Grafana, names ...string) ([]Board, error) {
	all, err := Bundled()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !slices.Contains(config.GrafanaBoardNames, n) {
			return nil, fmt.Errorf("unknown board %q (bundled boards: %s)", n, strings.Join(config.GrafanaBoardNames, ", "))
		}
	}
	var prefs map[string]config.GrafanaBoard
	datasource := ""
	if g != nil {
		prefs, datasource = g.Boards, g.DatasourceUID
	}
	var out []Board
	for _, b := range all {
		pref, listed := prefs[b.Name]
		switch {
		case len(names) > 0 && !slices.Contains(names, b.Name):
			continue
		case len(names) == 0 && len(prefs) > 0 && !listed:
			continue
		}
		if err := b.Tailor(pref); err != nil {
			return nil, err
		}
		if datasource != "" {
			b.SetDatasource(datasource)
		}
		out = append(out, b)
	}
	return out, nil
}

// decodeModel decodes a dashboard object, rejecting anything else.
func decodeModel(data []byte) (map[string]any, error) {
	var model map[string]any
	if err := json.Unmarshal(data, &model); err != nil {
		return nil, fmt.Errorf("not a dashboard JSON object: %w", err)
	}
	if model == nil {
		return nil, fmt.Errorf("not a dashboard JSON object: null")
	}
	return model, nil
}

// normalize round-trips a value through JSON, so values that came from
// YAML or were built in Go compare equal to decoded JSON.
func normalize(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeModel(data)
}

// fileStem is a file name without directory and extension.
func fileStem(p string) string {
	base := path.Base(strings.ReplaceAll(p, `\`, "/"))
	return strings.TrimSuffix(base, path.Ext(base))
}
