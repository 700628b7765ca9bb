package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards"
)

// grafanaCommands are `dashboards provision|export|import|list` and
// `check grafana`. Each reads the grafana: section of --config.file, so the
// daemon and the CLI share one file, and flags override each field.
func grafanaCommands(check, dash *kingpin.CmdClause) []command {
	return []command{
		provisionCommand(dash),
		exportCommand(dash),
		importCommand(dash),
		listCommand(dash),
		checkGrafanaCommand(check),
	}
}

// grafanaFlags locate the grafana section and override its fields.
type grafanaFlags struct {
	configFile    string
	url           string
	tokenFile     string
	orgID         int64
	orgIDSet      bool
	folder        string
	folderUID     string
	datasourceUID string
	timeout       time.Duration
}

func addGrafanaFlags(c *kingpin.CmdClause) *grafanaFlags {
	f := &grafanaFlags{}
	c.Flag("config.file", "perf-exporter configuration file; its grafana: section is used.").PlaceHolder("PATH").StringVar(&f.configFile)
	c.Flag("grafana.url", "Grafana's URL (overrides grafana.url).").PlaceHolder("URL").StringVar(&f.url)
	c.Flag("grafana.token-file", "File holding a service-account token (overrides grafana.token_file and basic_auth; without either, $"+dashboards.TokenEnv+" is used).").PlaceHolder("PATH").StringVar(&f.tokenFile)
	c.Flag("grafana.org-id", "Grafana organisation id (overrides grafana.org_id).").PlaceHolder("ID").IsSetByUser(&f.orgIDSet).Int64Var(&f.orgID)
	c.Flag("grafana.folder", "Title of the folder for the boards (overrides grafana.folder).").PlaceHolder("TITLE").StringVar(&f.folder)
	c.Flag("grafana.folder-uid", "Uid of the folder for the boards (overrides grafana.folder_uid).").PlaceHolder("UID").StringVar(&f.folderUID)
	c.Flag("grafana.datasource-uid", "Uid of the Prometheus datasource the boards default to (overrides grafana.datasource_uid).").PlaceHolder("UID").StringVar(&f.datasourceUID)
	c.Flag("grafana.timeout", "Timeout of each request to Grafana; requests that time out or get a 5xx are retried.").Default("10s").DurationVar(&f.timeout)
	return f
}

// grafanaFlag is the flag that overrides a grafana setting, by the
// setting's key ("" for settings no flag sets).
func grafanaFlag(key string) string {
	switch key {
	case "url", "token_file", "org_id", "folder", "folder_uid", "datasource_uid":
		return "--grafana." + strings.ReplaceAll(key, "_", "-")
	}
	return ""
}

// section is the grafana section of the config file with the flags applied,
// validated as the config file is (config.CheckGrafana). needURL says
// whether the command talks to Grafana.
func (f *grafanaFlags) section(needURL bool) (*config.Grafana, error) {
	g := &config.Grafana{}
	if f.configFile != "" {
		cfg, err := config.LoadFile(f.configFile)
		if err != nil {
			return nil, err
		}
		if cfg.Grafana != nil {
			copied := *cfg.Grafana
			g = &copied
		}
	}
	override := func(field *string, flag string) {
		if flag != "" {
			*field = flag
		}
	}
	override(&g.URL, f.url)
	override(&g.Folder, f.folder)
	override(&g.FolderUID, f.folderUID)
	override(&g.DatasourceUID, f.datasourceUID)
	if f.tokenFile != "" {
		g.TokenFile, g.BasicAuth = f.tokenFile, nil
	}
	if f.orgIDSet {
		g.OrgID = f.orgID
	}
	// The file's values passed the same check when it was loaded, so what
	// fails now was set by a flag (or is missing): name the flag.
	var errs []string
	for _, p := range config.CheckGrafana(g, needURL) {
		msg := p.Msg
		if len(p.Path) > 0 {
			key, _ := p.Path[0].(string)
			switch flag := grafanaFlag(key); {
			case key == "url" && g.URL == "":
				msg = "no Grafana URL: set grafana.url in the config file or --grafana.url"
			case flag != "":
				msg = strings.Replace(msg, "grafana."+key, flag, 1)
			}
		}
		errs = append(errs, msg)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return g, nil
}

func (f *grafanaFlags) client(logger *slog.Logger) (*dashboards.Client, *config.Grafana, error) {
	g, err := f.section(true)
	if err != nil {
		return nil, nil, err
	}
	opts, err := dashboards.OptionsFromConfig(g, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	opts.Timeout = f.timeout
	c, err := dashboards.NewClient(opts, logger)
	return c, g, err
}

// runWith adapts a command body that writes to stdout and returns an error
// to a command: the error is one line on standard error and exit code 1.
func runWith(name string, c *kingpin.CmdClause, body func(ctx context.Context, logger *slog.Logger, stdout io.Writer) error) command {
	return command{clause: c, run: func(ctx context.Context, logger *slog.Logger) int {
		if err := body(ctx, logger, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter %s: %v\n", name, err)
			return 1
		}
		return 0
	}}
}

type provisionArgs struct {
	grafana   *grafanaFlags
	boards    []string
	files     []string
	overwrite bool
	dryRun    bool
	message   string
}

func provisionCommand(dash *kingpin.CmdClause) command {
	c := dash.Command("provision", "Provision the bundled boards (or custom boards from files) into Grafana through its HTTP API. Unchanged boards are not written again.")
	a := &provisionArgs{grafana: addGrafanaFlags(c)}
	c.Flag("board", "Bundled board to provision (repeatable; default: grafana.boards, else all): "+strings.Join(config.GrafanaBoardNames, ", ")+".").PlaceHolder("NAME").StringsVar(&a.boards)
	c.Flag("file", "Custom board to provision from a YAML or JSON file, e.g. one saved by `dashboards import` or exported for sharing (repeatable).").PlaceHolder("PATH").ExistingFilesVar(&a.files)
	c.Flag("overwrite", "Replace boards changed in Grafana; --no-overwrite refuses them (Grafana answers 412) and keeps the edits.").Default("true").BoolVar(&a.overwrite)
	c.Flag("dry-run", "Only show what would be created or updated.").BoolVar(&a.dryRun)
	c.Flag("message", "Version message shown in the boards' history.").StringVar(&a.message)
	return runWith("dashboards provision", c, a.run)
}

func (a *provisionArgs) run(ctx context.Context, logger *slog.Logger, stdout io.Writer) error {
	client, g, err := a.grafana.client(logger)
	if err != nil {
		return err
	}
	var selected []dashboards.Board
	if len(a.files) == 0 || len(a.boards) > 0 {
		if selected, err = dashboards.Select(g, a.boards...); err != nil {
			return err
		}
	}
	for _, file := range a.files {
		b, err := dashboards.LoadFile(file, g.DatasourceUID)
		if err != nil {
			return err
		}
		selected = append(selected, b)
	}
	results, err := client.Provision(ctx, selected, dashboards.ProvisionOptions{
		Folder: dashboards.FolderFromConfig(g), Overwrite: a.overwrite, Message: a.message, DryRun: a.dryRun,
	})
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\tversion %d\t%s\n", r.Outcome, r.UID, r.Version, r.URL)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

type exportArgs struct {
	grafana        *grafanaFlags
	dir            string
	boards         []string
	provisioning   string
	datasourceURL  string
	datasourceName string
}

func exportCommand(dash *kingpin.CmdClause) command {
	c := dash.Command("export", "Write the boards and a dashboards provider file (and optionally a datasource file) for Grafana's file provisioning; mount DIR as Grafana's provisioning directory.")
	a := &exportArgs{grafana: addGrafanaFlags(c)}
	c.Flag("dir", "Directory to write into (created if missing).").Required().StringVar(&a.dir)
	c.Flag("board", "Bundled board to export (repeatable; default: grafana.boards, else all).").PlaceHolder("NAME").StringsVar(&a.boards)
	c.Flag("provisioning-path", "Where Grafana sees DIR; the provider's options.path points below it.").Default("/etc/grafana/provisioning").StringVar(&a.provisioning)
	c.Flag("datasource-url", "Also write a Prometheus datasource for this URL (uid from grafana.datasource_uid, default prometheus).").PlaceHolder("URL").StringVar(&a.datasourceURL)
	c.Flag("datasource-name", "Name of the written datasource.").Default("Prometheus").StringVar(&a.datasourceName)
	return runWith("dashboards export", c, a.run)
}

func (a *exportArgs) run(_ context.Context, _ *slog.Logger, stdout io.Writer) error {
	g, err := a.grafana.section(false)
	if err != nil {
		return err
	}
	selected, err := dashboards.Select(g, a.boards...)
	if err != nil {
		return err
	}
	written, err := dashboards.Export(a.dir, selected, dashboards.ExportOptions{
		Folder: dashboards.FolderFromConfig(g), OrgID: g.OrgID, ProvisioningPath: a.provisioning,
		DatasourceURL: a.datasourceURL, DatasourceUID: g.DatasourceUID, DatasourceName: a.datasourceName,
	})
	for _, file := range written {
		fmt.Fprintln(stdout, file)
	}
	return err
}

type importArgs struct {
	grafana *grafanaFlags
	uid     string
	out     string
	// The environment-set mode: the board's panels become a set.
	set        string
	panels     string
	prometheus string
	aggregate  string
	// annotations adds the query of the runs' annotations to the board.
	annotations bool
}

func importCommand(dash *kingpin.CmdClause) command {
	c := dash.Command("import", "Save a board of Grafana as YAML (or JSON with --out FILE.json), without its instance-specific id and version, ready for `dashboards provision --file`; "+
		"or, with --environment-set, turn its panels' Prometheus queries into an environment set file that every run evaluates (include it with environment_set_files).")
	a := &importArgs{grafana: addGrafanaFlags(c)}
	c.Flag("uid", "Uid of the board (see `dashboards list`).").Required().StringVar(&a.uid)
	c.Flag("out", "File to write; - writes standard output.").Default("-").PlaceHolder("PATH").StringVar(&a.out)
	c.Flag("annotations", "Add to the saved board the annotation query that shows perf-exporter's runs and change points (Grafana datasource, tag "+dashboards.TagRuns+"), so that provisioning it back marks the runs on it.").BoolVar(&a.annotations)
	c.Flag("environment-set", "Write an environment set of this name from the board's Prometheus panels instead of the board.").PlaceHolder("NAME").StringVar(&a.set)
	c.Flag("panels", "With --environment-set: the titles of the panels to import, comma-separated, in the order the run page shows them; Title=name renames a panel's queries (default: every panel with a Prometheus query, in board order).").PlaceHolder("TITLE[=name],...").StringVar(&a.panels)
	c.Flag("prometheus", "With --environment-set: the prometheus source (of --config.file) the queries run on (default: the source with the URL of each panel's datasource).").PlaceHolder("NAME").StringVar(&a.prometheus)
	c.Flag("aggregate", "With --environment-set: how a query's series reduce to one value: sum, avg, max or min.").Default("sum").EnumVar(&a.aggregate, "sum", "avg", "max", "min")
	return runWith("dashboards import", c, a.run)
}

func (a *importArgs) run(ctx context.Context, logger *slog.Logger, stdout io.Writer) error {
	if a.set != "" && a.annotations {
		return errors.New("--annotations changes the saved board; --environment-set saves no board")
	}
	if a.set == "" {
		switch {
		case a.panels != "":
			return errors.New("--panels selects panels for --environment-set; give that too")
		case a.prometheus != "":
			return errors.New("--prometheus names the source of --environment-set's queries; give that too")
		}
	}
	client, _, err := a.grafana.client(logger)
	if err != nil {
		return err
	}
	if a.set != "" {
		return a.runSet(ctx, client, stdout)
	}
	b, err := client.Import(ctx, a.uid)
	if err != nil {
		return err
	}
	if a.annotations {
		b.AddRunAnnotations()
	}
	encode := b.YAML
	if strings.EqualFold(filepath.Ext(a.out), ".json") {
		encode = b.JSON
	}
	data, err := encode()
	if err != nil {
		return err
	}
	return a.write(data, stdout)
}

func (a *importArgs) write(data []byte, stdout io.Writer) error {
	if a.out == "-" || a.out == "" { // kingpin hands over a lone "-" as ""
		_, err := stdout.Write(data)
		return err
	}
	return os.WriteFile(a.out, data, 0o644)
}

// runSet writes the environment set file and says what was imported and
// what was not; it fails when nothing was imported.
func (a *importArgs) runSet(ctx context.Context, client *dashboards.Client, stdout io.Writer) error {
	if len(a.set) > config.MaxNameLength {
		return fmt.Errorf("--environment-set is %d characters long, more than %d (it becomes the set label)", len(a.set), config.MaxNameLength)
	}
	opts := dashboards.SetImportOptions{Set: a.set, Prometheus: a.prometheus, Aggregate: a.aggregate}
	opts.Panels = dashboards.ParsePanelChoices(a.panels)
	if a.grafana.configFile != "" {
		cfg, err := config.LoadFile(a.grafana.configFile)
		if err != nil {
			return err
		}
		opts.Sources = cfg.Prometheus
	}
	imp, err := client.ImportEnvironmentSet(ctx, a.uid, opts)
	if err != nil {
		return err
	}
	// The report goes where the set does not.
	var report io.Writer = os.Stderr
	file := ""
	if a.out != "-" && a.out != "" {
		file, report = a.out, stdout
	}
	if len(imp.Queries) == 0 {
		fmt.Fprint(report, imp.Summary(""))
		return fmt.Errorf("no query of board %q could be imported (see above); nothing written", a.uid)
	}
	data, err := imp.YAML()
	if err != nil {
		return err
	}
	if err := a.write(data, stdout); err != nil {
		return err
	}
	fmt.Fprint(report, imp.Summary(file))
	return nil
}

type listArgs struct {
	grafana *grafanaFlags
	tags    []string
	folders []string
	query   string
}

func listCommand(dash *kingpin.CmdClause) command {
	c := dash.Command("list", "List the boards of Grafana, by tag, folder or title.")
	a := &listArgs{grafana: addGrafanaFlags(c)}
	c.Flag("tag", "Only boards with this tag (repeatable: all must match), e.g. "+dashboards.Tag+".").StringsVar(&a.tags)
	c.Flag("folder-uid", "Only boards in this folder (repeatable: any matches).").PlaceHolder("UID").StringsVar(&a.folders)
	c.Flag("query", "Only boards whose title contains this.").StringVar(&a.query)
	return runWith("dashboards list", c, a.run)
}

func (a *listArgs) run(ctx context.Context, logger *slog.Logger, stdout io.Writer) error {
	client, _, err := a.grafana.client(logger)
	if err != nil {
		return err
	}
	hits, err := client.List(ctx, dashboards.ListOptions{Tags: a.tags, FolderUIDs: a.folders, Query: a.query})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "UID\tTITLE\tFOLDER\tTAGS\tURL")
	for _, h := range hits {
		folder := h.FolderTitle
		if h.FolderUID == "" {
			folder = "General"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", h.UID, h.Title, folder, strings.Join(h.Tags, ","), h.URL)
	}
	return w.Flush()
}

// errProblems makes check grafana exit 1 after printing its findings.
var errProblems = errors.New("Grafana is not ready for provisioning (see the problems above)") //nolint:staticcheck // ST1005: Grafana is a name

type checkGrafanaArgs struct{ grafana *grafanaFlags }

func checkGrafanaCommand(check *kingpin.CmdClause) command {
	c := check.Command("grafana", "Check the connection to Grafana: health, credentials, permission to write into the folder, the datasource. One line per finding; exit 1 on a problem.")
	a := &checkGrafanaArgs{grafana: addGrafanaFlags(c)}
	return runWith("check grafana", c, a.run)
}

func (a *checkGrafanaArgs) run(ctx context.Context, logger *slog.Logger, stdout io.Writer) error {
	client, g, err := a.grafana.client(logger)
	if err != nil {
		return err
	}
	problems := false
	for _, finding := range client.Check(ctx, dashboards.FolderFromConfig(g), g.DatasourceUID) {
		fmt.Fprintln(stdout, finding)
		problems = problems || finding.Problem
	}
	if problems {
		return errProblems
	}
	return nil
}
