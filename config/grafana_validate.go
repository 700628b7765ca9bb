package config

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	promconfig "github.com/prometheus/common/config"
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

// GrafanaProblem is one invalid Grafana setting.
type GrafanaProblem struct {
	// Path leads from the grafana section to the setting: {"org_id"},
	// {"boards", "overview", "panels", 2}; empty for the section itself.
	Path []any
	// Msg names the setting as the config file spells it (grafana.org_id).
	Msg string
}

// CheckGrafana is the one validation of Grafana settings, wherever they come
// from: the config file's validator reports each problem at its file:line,
// the CLI names the flag that set the value. needURL says whether the
// settings are used to reach Grafana (an export for file provisioning
// needs no URL).
func CheckGrafana(g *Grafana, needURL bool) []GrafanaProblem {
	var out []GrafanaProblem
	problem := func(msg string, path ...any) { out = append(out, GrafanaProblem{Path: path, Msg: msg}) }
	if g.URL != "" || needURL {
		if msg := checkGrafanaURL(g.URL); msg != "" {
			problem(msg, "url")
		}
	}
	if g.TokenFile != "" && g.BasicAuth != nil {
		problem("grafana: set token_file or basic_auth, not both")
	}
	if b := g.BasicAuth; b != nil {
		switch {
		case b.Username == "":
			problem("grafana.basic_auth: username is required", "basic_auth")
		case b.Password != "" && b.PasswordFile != "":
			problem("grafana.basic_auth: set password or password_file, not both", "basic_auth")
		case b.Password == "" && b.PasswordFile == "":
			problem("grafana.basic_auth: set password or password_file (a user without a password cannot log in)", "basic_auth")
		}
	}
	if tc := promconfig.TLSConfig(g.TLSConfig); tc != (promconfig.TLSConfig{}) {
		if err := tc.Validate(); err != nil {
			problem("grafana.tls_config: "+err.Error(), "tls_config")
		} else if strings.HasPrefix(g.URL, "http://") {
			problem("grafana.tls_config is set but grafana.url is http://, so it would be ignored: use https://", "tls_config")
		}
	}
	if g.OrgID < 0 {
		problem(fmt.Sprintf("grafana.org_id must not be negative, got %d", g.OrgID), "org_id")
	}
	if g.FolderUID != "" && !grafanaUID.MatchString(g.FolderUID) {
		problem(fmt.Sprintf("grafana.folder_uid %q must be 1 to 40 letters, digits, '-' or '_' (Grafana rejects other uids)", g.FolderUID), "folder_uid")
	}
	if g.DatasourceUID != "" && !grafanaUID.MatchString(g.DatasourceUID) {
		problem(fmt.Sprintf("grafana.datasource_uid %q must be 1 to 40 letters, digits, '-' or '_'", g.DatasourceUID), "datasource_uid")
	}
	out = append(out, checkGrafanaAnnotations(g.Annotations)...)
	names := slices.Sorted(maps.Keys(g.Boards)) // report in a stable order; Parse sorts by line anyway
	for _, name := range names {
		for _, p := range checkGrafanaBoard(name, g.Boards[name]) {
			out = append(out, GrafanaProblem{Path: append([]any{"boards", name}, p.Path...), Msg: p.Msg})
		}
	}
	return out
}

// checkGrafanaURL is the grafana.url rule: an absolute http(s) URL without
// credentials or a query (credentials go in token_file or basic_auth, where
// they are kept secret). Messages never show credentials.
func checkGrafanaURL(raw string) string {
	if raw == "" {
		return "grafana.url is required"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("grafana.url %q is malformed", PublicURL(raw))
	}
	switch {
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Sprintf("grafana.url %q must be an absolute http:// or https:// URL", PublicURL(raw))
	case u.User != nil || u.RawQuery != "":
		return fmt.Sprintf("grafana.url %q must not carry credentials or a query; use token_file or basic_auth", PublicURL(raw))
	}
	return ""
}

// grafana reports the problems of the grafana section at their lines.
func (v *validator) grafana(g *Grafana) {
	for _, p := range CheckGrafana(g, true) {
		v.errorf(append(path("grafana"), p.Path...), "%s", p.Msg)
	}
}

// checkGrafanaBoard checks the preferences of one board; paths are under
// grafana.boards.<name>.
func checkGrafanaBoard(name string, b GrafanaBoard) []GrafanaProblem {
	var out []GrafanaProblem
	problem := func(msg string, path ...any) { out = append(out, GrafanaProblem{Path: path, Msg: msg}) }
	if !slices.Contains(GrafanaBoardNames, name) {
		problem(fmt.Sprintf("grafana.boards: unknown board %q (bundled boards: %s)", name, strings.Join(GrafanaBoardNames, ", ")))
		return out
	}
	ctx := fmt.Sprintf("grafana.boards.%s", name)
	seen := map[string]bool{}
	for i, title := range b.Panels {
		key := strings.ToLower(strings.TrimSpace(title))
		switch {
		case key == "":
			problem(fmt.Sprintf("%s.panels: entry %d is empty (list panel titles)", ctx, i+1), "panels", i)
		case seen[key]:
			problem(fmt.Sprintf("%s.panels: %q is listed twice", ctx, title), "panels", i)
		}
		seen[key] = true
	}
	for key, value := range map[string]string{"from": b.Time.From, "to": b.Time.To} {
		if value != "" && !grafanaTime.MatchString(value) {
			problem(fmt.Sprintf("%s.time.%s %q must be a relative time such as now, now-6h or now-1d/d", ctx, key, value), "time", key)
		}
	}
	if b.Time.From == "" && b.Time.To != "" {
		problem(fmt.Sprintf("%s.time: to is set without from (from alone means from..now)", ctx), "time")
	}
	if b.Refresh != "" && b.Refresh != "off" && !grafanaRefresh.MatchString(b.Refresh) {
		problem(fmt.Sprintf("%s.refresh %q must be an interval such as 30s, 1m or 1h, or off", ctx, b.Refresh), "refresh")
	}
	return out
}

// checkGrafanaAnnotations checks grafana.annotations.
func checkGrafanaAnnotations(a *GrafanaAnnotations) []GrafanaProblem {
	if a == nil {
		return nil
	}
	var out []GrafanaProblem
	for i, uid := range a.Dashboards {
		if !grafanaUID.MatchString(uid) {
			out = append(out, GrafanaProblem{Path: []any{"annotations", "dashboards", i},
				Msg: fmt.Sprintf("grafana.annotations.dashboards: %q is not a board uid (1 to 40 letters, digits, '-' or '_')", uid)})
		}
	}
	if a.ExternalURL != "" {
		u, err := url.Parse(a.ExternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			out = append(out, GrafanaProblem{Path: []any{"annotations", "external_url"},
				Msg: fmt.Sprintf("grafana.annotations.external_url %q must be an absolute http:// or https:// URL without credentials", PublicURL(a.ExternalURL))})
		}
	}
	return out
}
