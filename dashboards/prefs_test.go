package dashboards

import (
	"reflect"
	"strings"
	"testing"

	"github.com/perf-exporter/perf-exporter/config"
)

func TestSelect(t *testing.T) {
	names := func(boards []Board) []string {
		var out []string
		for _, b := range boards {
			out = append(out, b.Name)
		}
		return out
	}
	all, err := Select(nil)
	if err != nil || !reflect.DeepEqual(names(all), config.GrafanaBoardNames) {
		t.Errorf("no config: %v %v", names(all), err)
	}
	g := &config.Grafana{DatasourceUID: "prom", Boards: map[string]config.GrafanaBoard{"nodes": {}, "overview": {}}}
	some, err := Select(g)
	if err != nil || !reflect.DeepEqual(names(some), []string{"overview", "nodes"}) {
		t.Errorf("grafana.boards: %v %v", names(some), err)
	}
	flagged, err := Select(g, "regressions")
	if err != nil || !reflect.DeepEqual(names(flagged), []string{"regressions"}) {
		t.Errorf("command line: %v %v", names(flagged), err)
	}
	for _, b := range append(some, flagged...) {
		if got := datasourceCurrent(b); !reflect.DeepEqual(got, map[string]any{"selected": true, "text": "prom", "value": "prom"}) {
			t.Errorf("%s: datasource variable current = %v", b.Name, got)
		}
	}
	if got := datasourceCurrent(all[0]); len(got) != 0 {
		t.Errorf("without datasource_uid the variable keeps Grafana's default: %v", got)
	}
	if _, err := Select(nil, "overveiw"); err == nil || !strings.Contains(err.Error(), `unknown board "overveiw"`) {
		t.Errorf("unknown board: %v", err)
	}
}

func datasourceCurrent(b Board) map[string]any {
	list := b.Model["templating"].(map[string]any)["list"].([]any)
	for _, v := range list {
		if v.(map[string]any)["name"] == "datasource" {
			c, _ := v.(map[string]any)["current"].(map[string]any)
			return c
		}
	}
	return nil
}

func TestTailor(t *testing.T) {
	g := &config.Grafana{Boards: map[string]config.GrafanaBoard{"overview": {
		Panels:  []string{"profiles at a glance", "Config reload"},
		Time:    config.GrafanaTimeRange{From: "now-24h"},
		Refresh: "off",
	}}}
	boards, err := Select(g)
	if err != nil {
		t.Fatal(err)
	}
	b := boards[0]
	if got := b.PanelTitles(); !reflect.DeepEqual(got, []string{"Profiles at a glance", "Exporter", "Config reload"}) {
		t.Errorf("panels %v: want the two chosen and the row holding one", got)
	}
	if !reflect.DeepEqual(b.Model["time"], map[string]any{"from": "now-24h", "to": "now"}) || b.Model["refresh"] != "" {
		t.Errorf("time %v refresh %q", b.Model["time"], b.Model["refresh"])
	}

	g.Boards["overview"] = config.GrafanaBoard{Panels: []string{"Exporter"}}
	boards, _ = Select(g)
	if got := boards[0].PanelTitles(); !reflect.DeepEqual(got, []string{"Exporter", "Environment sources up", "Config reload", "Versions"}) {
		t.Errorf("a listed row keeps its panels: %v", got)
	}

	g.Boards["overview"] = config.GrafanaBoard{Panels: []string{"Profiles at a glance", "p99 latencyy"}}
	_, err = Select(g)
	if err == nil || !strings.Contains(err.Error(), `grafana.boards.overview.panels: no panel titled "p99 latencyy" in board "perf-exporter / Overview" (its panels: Profiles;`) {
		t.Errorf("typo in a title: %v", err)
	}
}

func TestTailorCollapsedRow(t *testing.T) {
	b := Board{Name: "x", Model: map[string]any{"panels": []any{
		map[string]any{"type": "stat", "title": "Top"},
		map[string]any{"type": "row", "title": "Hidden", "collapsed": true, "panels": []any{
			map[string]any{"type": "stat", "title": "Inner A"},
			map[string]any{"type": "stat", "title": "Inner B"},
		}},
		map[string]any{"type": "row", "title": "Empty after", "panels": []any{}},
		map[string]any{"type": "stat", "title": "Below"},
	}}}
	if err := b.Tailor(config.GrafanaBoard{Panels: []string{"inner b", "Top"}}); err != nil {
		t.Fatal(err)
	}
	if got := b.PanelTitles(); !reflect.DeepEqual(got, []string{"Top", "Hidden", "Inner B"}) {
		t.Errorf("panels %v", got)
	}
}
