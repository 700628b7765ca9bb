package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/dashboards"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

const cliToken = "glsa_cli_test_token"

func TestGrafanaCommandsParse(t *testing.T) {
	for _, args := range [][]string{
		{"dashboards", "provision", "--board", "overview", "--board", "nodes", "--no-overwrite", "--dry-run", "--grafana.org-id", "2"},
		{"dashboards", "export", "--dir", "out", "--datasource-url", "http://prometheus:9090"},
		{"dashboards", "import", "--uid", "u", "--out", "board.yaml", "--grafana.url", "http://g:3000"},
		{"dashboards", "list", "--tag", "perf-exporter", "--folder-uid", "a", "--folder-uid", "b"},
		{"check", "grafana", "--config.file", "perf.yaml", "--grafana.timeout", "3s"},
	} {
		app := kingpin.New("perf-exporter", "")
		check := app.Command("check", "")
		dash := app.Command("dashboards", "")
		commands := grafanaCommands(check, dash)
		selected, err := app.Parse(args)
		if err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		found := false
		for _, c := range commands {
			found = found || c.clause.FullCommand() == selected
		}
		if !found || selected != args[0]+" "+args[1] {
			t.Errorf("%v selected %q", args, selected)
		}
	}
}

func TestGrafanaFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "perf.yaml")
	writeTestFile(t, file, `grafana:
  url: http://from-config:3000
  basic_auth: {username: admin, password: pw}
  org_id: 1
  folder: Perf
  datasource_uid: prom
  boards:
    overview: {refresh: 30s}
`)
	f := &grafanaFlags{configFile: file, url: "http://from-flag:3000", tokenFile: filepath.Join(dir, "token"), orgID: 3, orgIDSet: true, folderUID: "perf"}
	g, err := f.section(true)
	if err != nil {
		t.Fatal(err)
	}
	if g.URL != "http://from-flag:3000" || g.BasicAuth != nil || g.TokenFile != f.tokenFile || g.OrgID != 3 ||
		g.FolderUID != "perf" || g.Folder != "Perf" || g.DatasourceUID != "prom" || g.Boards["overview"].Refresh != "30s" {
		t.Errorf("section %+v", g)
	}
	f.folderUID = "not a uid"
	if _, err := f.section(true); err == nil || !strings.Contains(err.Error(), "--grafana.folder-uid") {
		t.Errorf("bad uid flag: %v", err)
	}
	// Flags pass the same validation as the file, and errors name the flag.
	for _, tc := range []struct {
		flags *grafanaFlags
		want  string
	}{
		{&grafanaFlags{configFile: file, orgID: -1, orgIDSet: true}, "--grafana.org-id must not be negative, got -1"},
		{&grafanaFlags{url: "ftp://g"}, `--grafana.url "ftp://g" must be an absolute http:// or https:// URL`},
		{&grafanaFlags{url: "http://admin:pw@g:3000"}, `--grafana.url "http://g:3000" must not carry credentials or a query; use token_file or basic_auth`},
		{&grafanaFlags{url: "http://g", datasourceUID: "a/b"}, `--grafana.datasource-uid "a/b" must be 1 to 40 letters, digits, '-' or '_'`},
		{&grafanaFlags{}, "no Grafana URL: set grafana.url in the config file or --grafana.url"},
	} {
		if _, err := tc.flags.section(true); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %s", tc.flags, err, tc.want)
		}
	}
	if _, err := (&grafanaFlags{}).section(false); err != nil {
		t.Errorf("export needs no URL: %v", err)
	}
	f = &grafanaFlags{configFile: filepath.Join(dir, "missing.yaml")}
	if _, err := f.section(true); err == nil {
		t.Error("missing config file accepted")
	}
}

// TestDashboardsCLI runs every command against a fake Grafana, as a user
// would: provision, provision again, import, provision the import, list,
// check, export.
func TestDashboardsCLI(t *testing.T) {
	s := grafanatest.New(t, grafanatest.Options{Tokens: map[string]grafanatest.Identity{cliToken: {Role: grafanatest.Editor}}})
	s.AddDatasource(1, grafanatest.Datasource{UID: "prom", Name: "Prometheus"})
	t.Setenv(dashboards.TokenEnv, cliToken)
	dir := t.TempDir()
	file := filepath.Join(dir, "perf.yaml")
	writeTestFile(t, file, "grafana:\n  url: "+s.URL+"\n  folder_uid: perf\n  folder: Performance\n  datasource_uid: prom\n")
	flags := &grafanaFlags{configFile: file, timeout: 5e9}
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	run := func(body func(context.Context, *slog.Logger, *bytes.Buffer) error) string {
		t.Helper()
		var out bytes.Buffer
		if err := body(ctx, logger, &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		return out.String()
	}

	provision := &provisionArgs{grafana: flags, overwrite: true}
	out := run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return provision.run(ctx, l, w) })
	if strings.Count(out, "created") != 5 || !strings.Contains(collapse(out), "created perf-exporter-overview version 1 "+s.URL+"/d/perf-exporter-overview/") {
		t.Errorf("first provision:\n%s", out)
	}
	out = run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return provision.run(ctx, l, w) })
	if strings.Count(out, "unchanged") != 5 {
		t.Errorf("second provision:\n%s", out)
	}

	boardFile := filepath.Join(dir, "overview.yaml")
	imp := &importArgs{grafana: flags, uid: "perf-exporter-overview", out: boardFile}
	run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return imp.run(ctx, l, w) })
	custom := &provisionArgs{grafana: flags, overwrite: true, files: []string{boardFile}}
	out = run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return custom.run(ctx, l, w) })
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(collapse(out), "unchanged perf-exporter-overview version 1") {
		t.Errorf("provision of the imported board:\n%s", out)
	}

	list := &listArgs{grafana: flags, tags: []string{"perf-exporter"}, folders: []string{"perf"}}
	out = run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return list.run(ctx, l, w) })
	if !strings.HasPrefix(out, "UID") || strings.Count(out, "\n") != 6 || !strings.Contains(collapse(out), "perf-exporter-nodes perf-exporter / Nodes Performance perf-exporter "+s.URL+"/d/perf-exporter-nodes/") {
		t.Errorf("list:\n%s", out)
	}

	check := &checkGrafanaArgs{grafana: flags}
	out = run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return check.run(ctx, l, w) })
	if !strings.Contains(out, `ok: may save boards in folder "Performance" (perf)`) || !strings.Contains(out, `ok: datasource "prom" (Prometheus) is a Prometheus`) || strings.Contains(out, "problem") {
		t.Errorf("check grafana:\n%s", out)
	}
	var problems bytes.Buffer
	bad := &checkGrafanaArgs{grafana: &grafanaFlags{configFile: file, datasourceUID: "missing", timeout: 5e9}}
	if err := bad.run(ctx, logger, &problems); err != errProblems || !strings.Contains(problems.String(), `problem: datasource "missing" does not exist`) {
		t.Errorf("check grafana with a problem: %v\n%s", err, problems.String())
	}

	export := &exportArgs{grafana: flags, dir: filepath.Join(dir, "provisioning"), provisioning: "/etc/grafana/provisioning", datasourceURL: "http://prometheus:9090", datasourceName: "Prometheus"}
	out = run(func(ctx context.Context, l *slog.Logger, w *bytes.Buffer) error { return export.run(ctx, l, w) })
	if strings.Count(out, "\n") != 7 {
		t.Errorf("export wrote:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "provisioning", "dashboards", "perf-exporter", "overview.json")); err != nil {
		t.Error(err)
	}
}

// collapse turns tabwriter's padding into single spaces.
func collapse(s string) string {
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
