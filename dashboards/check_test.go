package dashboards

import (
	"context"
	"strings"
	"testing"

	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

func TestCheck(t *testing.T) {
	const narrow = "glsa_narrow"
	tests := []struct {
		name       string
		setup      func(*grafanatest.Server)
		token      string
		folder     Folder
		datasource string
		want       []string
	}{
		{"all good", func(s *grafanatest.Server) {
			s.AddFolder(1, "perf", "Performance")
			s.AddDatasource(1, grafanatest.Datasource{UID: "prom", Name: "Prometheus"})
		}, testToken, Folder{UID: "perf"}, "prom", []string{
			"ok: Grafana 13.0.0 at URL is healthy (database ok)",
			"ok: credentials accepted",
			`ok: may save boards in folder "Performance" (perf)`,
			`ok: datasource "prom" (Prometheus) is a Prometheus`,
		}},
		{"folder to create, no datasource configured", nil, testToken, Folder{UID: "perf"}, "", []string{
			"ok: Grafana 13.0.0 at URL is healthy (database ok)",
			"ok: credentials accepted",
			`ok: folder "perf" does not exist yet: provisioning creates it (needs folders:create)`,
			"ok: no grafana.datasource_uid: boards use the default Prometheus datasource until one is picked",
		}},
		{"wrong token", nil, "glsa_nope", Folder{UID: "perf"}, "prom", []string{
			"ok: Grafana 13.0.0 at URL is healthy (database ok)",
			`problem: reading folder "perf": Grafana answered 401 Unauthorized: Invalid API key (api-key.invalid); check the token`,
		}},
		{"read-only folder, wrong datasource", func(s *grafanatest.Server) {
			s.AddFolder(1, "perf", "Performance")
			s.AddDatasource(1, grafanatest.Datasource{UID: "loki", Name: "Logs", Type: "loki"})
		}, narrow, Folder{UID: "perf"}, "loki", []string{
			"ok: Grafana 13.0.0 at URL is healthy (database ok)",
			"ok: credentials accepted",
			`problem: may not save boards in folder "Performance" (perf): give the service account the Editor role or edit permission on the folder`,
			`problem: datasource "loki" (Logs) is of type "loki", not prometheus`,
		}},
		{"unhealthy, datasource missing, folder by title", func(s *grafanatest.Server) { s.SetHealthy(false) }, testToken, Folder{Title: "Performance"}, "prom", []string{
			"problem: Grafana at URL is unhealthy (503): its database check fails",
			"ok: credentials accepted",
			`ok: no root folder is titled "Performance" yet: provisioning creates it with uid "perf-exporter" (needs folders:create)`,
			`problem: datasource "prom" does not exist: set grafana.datasource_uid to the uid of the Prometheus that scrapes perf-exporter`,
		}},
		{"default title taken by a folder with another uid", func(s *grafanatest.Server) {
			s.AddFolder(1, "abc123", "Performance")
		}, testToken, Folder{UID: DefaultFolderUID, Title: DefaultFolderTitle}, "", []string{
			"ok: Grafana 13.0.0 at URL is healthy (database ok)",
			"ok: credentials accepted",
			`problem: folder "perf-exporter" does not exist and provisioning cannot create it with title "Performance": a root folder titled "Performance" already exists with uid "abc123": set grafana.folder_uid: abc123 (or --grafana.folder-uid abc123) to provision into it, or grafana.folder to another title`,
			"ok: no grafana.datasource_uid",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{
				testToken: {Role: grafanatest.Editor},
				narrow:    {Role: grafanatest.Editor, WritableFolders: []string{"elsewhere"}},
			}})
			if tc.setup != nil {
				tc.setup(s)
			}
			c := testClient(t, s, func(o *Options) { o.Token = Secret(tc.token) })
			findings := c.Check(context.Background(), tc.folder, tc.datasource)
			if len(findings) != len(tc.want) {
				t.Fatalf("findings:\n%v\nwant:\n%s", findings, strings.Join(tc.want, "\n"))
			}
			for i, f := range findings {
				got := strings.ReplaceAll(f.String(), s.URL, "URL")
				if !strings.HasPrefix(got, tc.want[i]) {
					t.Errorf("finding %d:\n%s\nwant prefix:\n%s", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestCheckUnreachable(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	c := testClient(t, s)
	s.Close()
	findings := c.Check(context.Background(), Folder{UID: "perf"}, "")
	if len(findings) != 1 || !findings[0].Problem || !strings.Contains(findings[0].Text, "cannot reach Grafana") {
		t.Errorf("findings %v", findings)
	}
}
