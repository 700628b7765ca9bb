package dashboards

import (
	"fmt"
	"strings"

	"github.com/perf-exporter/perf-exporter/config"
)

// Tailor applies the preferences of one board: which panels to keep (by
// title), the default time range and the refresh interval. Zero fields keep
// the board's own choice.
func (b *Board) Tailor(pref config.GrafanaBoard) error {
	if len(pref.Panels) > 0 {
		if err := b.keepPanels(pref.Panels); err != nil {
			return err
		}
	}
	if pref.Time.From != "" {
		to := pref.Time.To
		if to == "" {
			to = "now"
		}
		b.Model["time"] = map[string]any{"from": pref.Time.From, "to": to}
	}
	switch pref.Refresh {
	case "":
	case "off":
		b.Model["refresh"] = ""
	default:
		b.Model["refresh"] = pref.Refresh
	}
	return nil
}

// keepPanels drops every panel whose title is not listed. A row stays when
// it is listed itself (with all its panels) or holds a kept panel. Titles
// match case-insensitively; a title that matches nothing is an error, since
// it is most likely a typo that would silently drop the panel meant.
func (b *Board) keepPanels(titles []string) error {
	wanted := map[string]bool{}
	for _, t := range titles {
		wanted[titleKey(t)] = false
	}
	panels, _ := b.Model["panels"].([]any)
	var kept []any
	// An expanded row is followed by its panels at the top level; they are
	// gathered until the next row so an emptied row can be dropped.
	var row map[string]any
	var rowAll bool
	var rowPanels []any
	flush := func() {
		if row != nil && len(rowPanels) > 0 {
			kept = append(kept, row)
		}
		kept = append(kept, rowPanels...)
		row, rowAll, rowPanels = nil, false, nil
	}
	for _, p := range panels {
		panel, ok := p.(map[string]any)
		if !ok {
			continue
		}
		listed := markWanted(wanted, titleKey(stringField(panel, "title")))
		if panel["type"] != "row" {
			if listed || rowAll {
				rowPanels = append(rowPanels, panel)
			}
			continue
		}
		flush()
		nested, _ := panel["panels"].([]any)
		if len(nested) == 0 { // expanded row
			row, rowAll = panel, listed
			continue
		}
		var keepNested []any // collapsed row: its panels are inside it
		for _, n := range nested {
			np, _ := n.(map[string]any)
			if markWanted(wanted, titleKey(stringField(np, "title"))) || listed {
				keepNested = append(keepNested, n)
			}
		}
		if len(keepNested) > 0 {
			panel["panels"] = keepNested
			kept = append(kept, panel)
		}
	}
	flush()
	var missing []string
	for _, t := range titles {
		if !wanted[titleKey(t)] {
			missing = append(missing, fmt.Sprintf("%q", t))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("grafana.boards.%s.panels: no panel titled %s in board %q (its panels: %s)",
			b.Name, strings.Join(missing, ", "), b.Title(), strings.Join(b.PanelTitles(), "; "))
	}
	b.Model["panels"] = kept
	return nil
}

// markWanted tells whether a title is wanted and records that it was found.
func markWanted(wanted map[string]bool, title string) bool {
	if _, ok := wanted[title]; !ok {
		return false
	}
	wanted[title] = true
	return true
}

// PanelTitles lists the titles of every panel and row, in board order.
func (b Board) PanelTitles() []string {
	var titles []string
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			panel, _ := p.(map[string]any)
			if t := stringField(panel, "title"); t != "" {
				titles = append(titles, t)
			}
			if nested, ok := panel["panels"].([]any); ok {
				walk(nested)
			}
		}
	}
	panels, _ := b.Model["panels"].([]any)
	walk(panels)
	return titles
}

// SetDatasource makes the datasource with this uid the default of the
// board's datasource variable, so the board shows data without a choice
// in the picker. Boards without such a variable are left alone.
func (b *Board) SetDatasource(uid string) {
	templating, _ := b.Model["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, v := range list {
		variable, _ := v.(map[string]any)
		if variable["type"] == "datasource" && variable["name"] == "datasource" {
			variable["current"] = map[string]any{"selected": true, "text": uid, "value": uid}
		}
	}
}

func titleKey(t string) string { return strings.ToLower(strings.TrimSpace(t)) }

func stringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
