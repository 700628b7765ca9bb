package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// GrafanaBoardNames are the bundled boards, the keys of grafana.boards. The
// dashboards package embeds exactly these (its tests check it), so a typo
// in a board name is caught by `check config`.
var GrafanaBoardNames = []string{"overview", "profile-detail", "mesh-overhead", "nodes", "regressions"}

var (
	// grafanaUID is Grafana's uid alphabet; longer uids are rejected with 400.
	grafanaUID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	// grafanaTime is a relative time as Grafana's time picker writes it:
	// now, now-6h, now-1d/d, now/w.
	grafanaTime = regexp.MustCompile(`^now(-[0-9]+[smhdwMy])?(/[smhdwMy])?$`)
	// grafanaRefresh is an auto-refresh interval such as 30s or 1m.
	grafanaRefresh = regexp.MustCompile(`^[0-9]+[smhd]$`)
)

// ValidGrafanaUID tells whether Grafana accepts s as a folder, board or
// datasource uid.
func ValidGrafanaUID(s string) bool { return grafanaUID.MatchString(s) }

// grafanaPreferences checks the fields that tailor what is provisioned.
func (v *validator) grafanaPreferences(g *Grafana) {
	at := path("grafana")
	if g.OrgID < 0 {
		v.errorf(append(at, "org_id"), "grafana.org_id must not be negative, got %d", g.OrgID)
	}
	if g.FolderUID != "" && !grafanaUID.MatchString(g.FolderUID) {
		v.errorf(append(at, "folder_uid"), "grafana.folder_uid %q must be 1 to 40 letters, digits, '-' or '_' (Grafana rejects other uids)", g.FolderUID)
	}
	if g.DatasourceUID != "" && !grafanaUID.MatchString(g.DatasourceUID) {
		v.errorf(append(at, "datasource_uid"), "grafana.datasource_uid %q must be 1 to 40 letters, digits, '-' or '_'", g.DatasourceUID)
	}
	names := make([]string, 0, len(g.Boards))
	for name := range g.Boards {
		names = append(names, name)
	}
	sort.Strings(names) // report in a stable order; Parse sorts by line anyway
	for _, name := range names {
		v.grafanaBoard(append(at, "boards", name), name, g.Boards[name])
	}
}

func (v *validator) grafanaBoard(at []any, name string, b GrafanaBoard) {
	if !contains(GrafanaBoardNames, name) {
		v.errorf(at, "grafana.boards: unknown board %q (bundled boards: %s)", name, strings.Join(GrafanaBoardNames, ", "))
		return
	}
	ctx := fmt.Sprintf("grafana.boards.%s", name)
	seen := map[string]bool{}
	for i, title := range b.Panels {
		key := strings.ToLower(strings.TrimSpace(title))
		switch {
		case key == "":
			v.errorf(append(at, "panels", i), "%s.panels: entry %d is empty (list panel titles)", ctx, i+1)
		case seen[key]:
			v.errorf(append(at, "panels", i), "%s.panels: %q is listed twice", ctx, title)
		}
		seen[key] = true
	}
	for key, value := range map[string]string{"from": b.Time.From, "to": b.Time.To} {
		if value != "" && !grafanaTime.MatchString(value) {
			v.errorf(append(at, "time", key), "%s.time.%s %q must be a relative time such as now, now-6h or now-1d/d", ctx, key, value)
		}
	}
	if b.Time.From == "" && b.Time.To != "" {
		v.errorf(append(at, "time"), "%s.time: to is set without from (from alone means from..now)", ctx)
	}
	if b.Refresh != "" && b.Refresh != "off" && !grafanaRefresh.MatchString(b.Refresh) {
		v.errorf(append(at, "refresh"), "%s.refresh %q must be an interval such as 30s, 1m or 1h, or off", ctx, b.Refresh)
	}
}
