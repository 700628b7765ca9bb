package dashboards

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-openapi-client-go/client/datasources"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/perf-exporter/perf-exporter/config"
)

// SetImportOptions say which panels of a board become an environment set
// and where their queries run.
type SetImportOptions struct {
	// Set is the environment set's name.
	Set string
	// Panels are the panels to import, in the order the run page lists
	// their values, each renamed if wished; empty imports every panel with
	// a Prometheus query, in board order.
	Panels []PanelChoice
	// Prometheus names the source (of Sources) every query runs on; empty
	// maps each panel's datasource to the source with its URL.
	Prometheus string
	// Sources are the config's prometheus sources.
	Sources []config.PrometheusSource
	// Aggregate reduces each query's series to one (default sum).
	Aggregate string
}

// PanelChoice is one panel to import: its title and, optionally, the name
// its queries get instead of one made from the title.
type PanelChoice struct {
	Title string
	Name  string // [a-z0-9_]+; its queries are Name, or Name_<refId> when it has several
}

// panelName is the rename syntax of --panels: "Title=name".
var panelName = regexp.MustCompile(`^(.*\S)\s*=\s*([a-z0-9_]+)$`)

// ParsePanelChoices reads --panels: titles separated by commas, each
// optionally followed by =name to rename its queries.
func ParsePanelChoices(s string) []PanelChoice {
	var out []PanelChoice
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if m := panelName.FindStringSubmatch(part); m != nil {
			out = append(out, PanelChoice{Title: m[1], Name: m[2]})
			continue
		}
		out = append(out, PanelChoice{Title: part})
	}
	return out
}

// ImportedQuery is one panel query that became a set query.
type ImportedQuery struct {
	Panel, RefID string
	// Original is the panel's expression as Grafana stores it.
	Original string
	// Query is Original with the board's variables resolved and Grafana's
	// interval variables as ${rate_interval}, ${interval}, ${range}.
	Query     string
	Name      string
	Aggregate string // empty for a scalar expression
	// Prometheus is the source it runs on ("" the first source).
	Prometheus string
}

// Skipped is a panel or query that was not imported, and why.
type Skipped struct {
	Panel, RefID, Reason string
}

func (s Skipped) String() string {
	if s.RefID != "" {
		return fmt.Sprintf("panel %q query %s: %s", s.Panel, s.RefID, s.Reason)
	}
	return fmt.Sprintf("panel %q: %s", s.Panel, s.Reason)
}

// SetImport is a board read as an environment set.
type SetImport struct {
	BoardUID, BoardTitle string
	BoardVersion         int64
	Set                  string
	Queries              []ImportedQuery
	Skipped              []Skipped
	// Notes are choices made where Grafana would have asked Prometheus.
	Notes []string
}

// datasourceInfo is what the import needs of a datasource.
type datasourceInfo struct {
	uid, name, typ, url string
	// scrape is the datasource's "Scrape interval" setting
	// (jsonData.timeInterval), which Grafana's $__rate_interval uses.
	scrape string
}

// ImportEnvironmentSet reads a board and turns its panels' Prometheus
// queries into an environment set (see SetImport.YAML for the file).
func (c *Client) ImportEnvironmentSet(ctx context.Context, uid string, opts SetImportOptions) (*SetImport, error) {
	stored, err := c.getDashboard(ctx, uid)
	if err != nil {
		return nil, err
	}
	model, ok := stored.Dashboard.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("reading board %q: Grafana returned no dashboard object", uid)
	}
	if model, err = normalize(model); err != nil {
		return nil, fmt.Errorf("reading board %q: %w", uid, err)
	}
	lookup := func(dsUID string) (datasourceInfo, error) {
		op := fmt.Sprintf("reading datasource %q", dsUID)
		params := datasources.NewGetDataSourceByUIDParamsWithTimeout(noCallDeadline).WithUID(dsUID)
		ds, err := c.api.Datasources.GetDataSourceByUIDWithParams(params, call(ctx, op))
		if err != nil {
			return datasourceInfo{}, opError(op, err)
		}
		info := datasourceInfo{uid: ds.Payload.UID, name: ds.Payload.Name, typ: ds.Payload.Type, url: ds.Payload.URL}
		if jd, ok := ds.Payload.JSONData.(map[string]any); ok {
			info.scrape, _ = jd["timeInterval"].(string)
		}
		return info, nil
	}
	return importSet(model, opts, lookup)
}

// setQueryName makes a query name from a panel title and a refId: lower
// case letters, digits and _, at most 100 characters before the refId.
var nameJunk = regexp.MustCompile(`[^a-z0-9]+`)

func setQueryName(title, refID string) string {
	base := strings.Trim(nameJunk.ReplaceAllString(strings.ToLower(title), "_"), "_")
	if len(base) > 100 {
		base = strings.TrimRight(base[:100], "_")
	}
	if base == "" {
		base = "panel"
	}
	ref := nameRef(refID)
	if ref == "" {
		return base
	}
	return base + "_" + ref
}

func nameRef(refID string) string {
	return strings.Trim(nameJunk.ReplaceAllString(strings.ToLower(refID), "_"), "_")
}

// boardPanel is a panel with the title of the row it is in.
type boardPanel struct {
	model  map[string]any
	title  string
	rename string // the name its queries get, from --panels
}

// boardPanels lists the panels in board order: top-level panels, and the
// panels a collapsed row holds (an open row's panels follow it at the top
// level). Rows themselves hold no queries.
func boardPanels(model map[string]any) []boardPanel {
	var out []boardPanel
	var walk func([]any)
	walk = func(list []any) {
		for _, p := range list {
			m, _ := p.(map[string]any)
			if m == nil {
				continue
			}
			if stringField(m, "type") == "row" {
				nested, _ := m["panels"].([]any)
				walk(nested)
				continue
			}
			out = append(out, boardPanel{model: m, title: stringField(m, "title")})
		}
	}
	panels, _ := model["panels"].([]any)
	walk(panels)
	return out
}

// importSet is the import without Grafana: lookup reads a datasource.
func importSet(model map[string]any, opts SetImportOptions, lookup func(uid string) (datasourceInfo, error)) (*SetImport, error) {
	if opts.Aggregate == "" {
		opts.Aggregate = "sum"
	}
	if !slices.Contains(config.EnvironmentAggregates[1:], opts.Aggregate) {
		return nil, fmt.Errorf("--aggregate %q must be one of %s", opts.Aggregate, strings.Join(config.EnvironmentAggregates[1:], ", "))
	}
	if opts.Prometheus != "" && len(opts.Sources) > 0 && !slices.ContainsFunc(opts.Sources, func(s config.PrometheusSource) bool { return s.Name == opts.Prometheus }) {
		return nil, fmt.Errorf("--prometheus %q is none of the config's prometheus sources (%s)", opts.Prometheus, sourceNames(opts.Sources))
	}
	imp := &SetImport{BoardUID: stringField(model, "uid"), BoardTitle: stringField(model, "title"), Set: opts.Set}
	if v, ok := model["version"].(float64); ok {
		imp.BoardVersion = int64(v)
	}
	vars := boardVars(model)
	panels := boardPanels(model)
	if len(opts.Panels) > 0 {
		var titles []string
		for _, p := range panels {
			titles = append(titles, p.title)
		}
		var chosen []boardPanel
		for _, want := range opts.Panels {
			found := false
			for _, p := range panels {
				if p.title == want.Title {
					p.rename = want.Name
					chosen, found = append(chosen, p), true
				}
			}
			if !found {
				return nil, fmt.Errorf("--panels: board %q has no panel titled %q (its panels: %s)", imp.BoardUID, want.Title, quoteList(titles))
			}
		}
		panels = chosen
	}

	datasourcesSeen := map[string]datasourceInfo{}
	names := map[string]bool{}
	for _, p := range panels {
		title := p.title
		if lib, ok := p.model["libraryPanel"].(map[string]any); ok {
			imp.Skipped = append(imp.Skipped, Skipped{Panel: title, Reason: fmt.Sprintf("library panel %q: its queries are kept in Grafana's library, not on the board", stringField(lib, "name"))})
			continue
		}
		panelType := stringField(p.model, "type")
		targets, _ := p.model["targets"].([]any)
		panelQueries := 0
		if len(targets) == 0 {
			imp.Skipped = append(imp.Skipped, Skipped{Panel: title, Reason: fmt.Sprintf("no queries (a %s panel)", cmp.Or(panelType, "typeless"))})
			continue
		}
		for _, t := range targets {
			target, _ := t.(map[string]any)
			refID := stringField(target, "refId")
			skip := func(format string, args ...any) {
				imp.Skipped = append(imp.Skipped, Skipped{Panel: title, RefID: refID, Reason: fmt.Sprintf(format, args...)})
			}
			ref := target["datasource"]
			if ref == nil || isMixed(ref) {
				ref = p.model["datasource"]
			}
			ds, err := resolveDatasource(ref, vars, datasourcesSeen, opts.Prometheus != "", lookup)
			switch {
			case err != nil:
				skip("%v", err)
				continue
			case ds.typ != "prometheus":
				skip("datasource %s is of type %s, not prometheus", dsName(ds), ds.typ)
				continue
			}
			if hidden, _ := target["hide"].(bool); hidden {
				skip("hidden query")
				continue
			}
			if panelType == "heatmap" || stringField(target, "format") == "heatmap" {
				skip("a heatmap's buckets do not reduce to one value")
				continue
			}
			original := stringField(target, "expr")
			if strings.TrimSpace(original) == "" {
				skip("no expression")
				continue
			}
			source, err := mapSource(ds, opts)
			if err != nil {
				skip("%v", err)
				continue
			}
			if source == "" {
				addNote(imp, "no prometheus sources to map the datasources to (no --config.file or --prometheus): the queries name no source and run on the config's first")
			}
			if n := scrapeNote(ds, source, opts.Sources); n != "" && strings.Contains(original, "$__") && !slices.Contains(imp.Notes, n) {
				imp.Notes = append(imp.Notes, n)
			}
			res := resolveExpr(original, vars)
			if len(res.unresolved) > 0 {
				skip("cannot resolve %s", strings.Join(res.unresolved, "; "))
				continue
			}
			for _, n := range res.notes {
				if !slices.Contains(imp.Notes, n) {
					imp.Notes = append(imp.Notes, n)
				}
			}
			expr, err := config.ParsePromQL(config.ReplacePlaceholders(res.expr, standIn))
			if err != nil {
				skip("not valid PromQL: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
				continue
			}
			q := ImportedQuery{Panel: title, RefID: refID, Original: original, Query: res.expr, Prometheus: source}
			switch expr.Type() {
			case parser.ValueTypeVector:
				q.Aggregate = opts.Aggregate
			case parser.ValueTypeScalar:
			case parser.ValueTypeMatrix:
				skip("the expression is a range vector, not a number per point")
				continue
			default:
				skip("the expression is a %s, not a number per point", expr.Type())
				continue
			}
			q.Name = setQueryName(title, refID)
			if p.rename != "" {
				q.Name = strings.TrimSuffix(p.rename+"_"+nameRef(refID), "_")
			}
			for i := 2; names[q.Name]; i++ {
				q.Name = fmt.Sprintf("%s_%d", setQueryName(title, refID), i)
			}
			names[q.Name] = true
			imp.Queries = append(imp.Queries, q)
			panelQueries++
		}
		// A renamed panel with one query gets the name itself.
		if p.rename != "" && panelQueries == 1 {
			last := &imp.Queries[len(imp.Queries)-1]
			delete(names, last.Name)
			if !names[p.rename] {
				last.Name = p.rename
			}
			names[last.Name] = true
		}
	}
	return imp, nil
}

func addNote(imp *SetImport, n string) {
	if !slices.Contains(imp.Notes, n) {
		imp.Notes = append(imp.Notes, n)
	}
}

// standIn replaces the environment's placeholders for a syntax check.
func standIn(name string) string {
	switch name {
	case "interval_ms", "range_s", "range_ms":
		return "60"
	}
	return "1m"
}

func isMixed(ref any) bool {
	uid, _ := datasourceRef(ref)
	return uid == "-- Mixed --"
}

// datasourceRef reads a datasource reference: {type, uid}, or a name or
// uid as a string (older boards).
func datasourceRef(ref any) (uid, typ string) {
	switch r := ref.(type) {
	case string:
		return r, ""
	case map[string]any:
		return stringField(r, "uid"), stringField(r, "type")
	}
	return "", ""
}

// resolveDatasource follows a panel's or query's datasource reference,
// through a datasource variable, to a datasource. Grafana is asked only
// what the reference does not say: the type when missing, the URL when
// the source is mapped by URL.
func resolveDatasource(ref any, vars map[string]boardVar, seen map[string]datasourceInfo, explicitSource bool, lookup func(string) (datasourceInfo, error)) (datasourceInfo, error) {
	uid, typ := datasourceRef(ref)
	if m := boardVarRef.FindStringSubmatch(uid); m != nil && m[0] == uid {
		name := m[1] + m[2] + m[4]
		v, ok := vars[name]
		if !ok || v.typ != "datasource" {
			return datasourceInfo{}, fmt.Errorf("datasource %s: the board has no datasource variable %q", uid, name)
		}
		if len(v.current) == 0 || v.current[0] == "" || v.current[0] == "default" {
			return datasourceInfo{}, fmt.Errorf("datasource variable $%s has no saved datasource", name)
		}
		uid = v.current[0]
		if typ == "" {
			typ = v.query // the variable's plugin id
		}
	}
	switch uid {
	case "":
		return datasourceInfo{}, fmt.Errorf("no datasource (Grafana's default, which the board does not name): set one on the panel")
	case "-- Grafana --", "grafana":
		return datasourceInfo{uid: uid, typ: "grafana"}, nil
	case "-- Dashboard --":
		return datasourceInfo{uid: uid, typ: "dashboard"}, nil
	case "__expr__":
		return datasourceInfo{uid: uid, typ: "expression"}, nil
	}
	if typ != "" && typ != "prometheus" {
		return datasourceInfo{uid: uid, typ: typ}, nil
	}
	if typ == "prometheus" && explicitSource {
		return datasourceInfo{uid: uid, typ: typ}, nil
	}
	if ds, ok := seen[uid]; ok {
		return ds, nil
	}
	ds, err := lookup(uid)
	if err != nil {
		if IsStatus(err, http.StatusForbidden) {
			return datasourceInfo{}, fmt.Errorf("%v; pass --prometheus NAME to say which source the queries run on", err)
		}
		return datasourceInfo{}, err
	}
	seen[uid] = ds
	return ds, nil
}

func dsName(ds datasourceInfo) string {
	if ds.name != "" {
		return fmt.Sprintf("%q", ds.name)
	}
	return fmt.Sprintf("%q", ds.uid)
}

// mapSource picks the prometheus source a datasource's queries run on: the
// one named, else the one with the datasource's URL; with no sources known
// (no config), none: queries without a source run on the first.
func mapSource(ds datasourceInfo, opts SetImportOptions) (string, error) {
	if opts.Prometheus != "" {
		return opts.Prometheus, nil
	}
	if len(opts.Sources) == 0 {
		return "", nil // no config to map to: the first source, as the header says
	}
	for _, s := range opts.Sources {
		if sameURL(s.URL, ds.url) {
			return s.Name, nil
		}
	}
	return "", fmt.Errorf("datasource %s (%s) has the URL of none of the prometheus sources (%s): pass --prometheus NAME", dsName(ds), config.PublicURL(ds.url), sourceNames(opts.Sources))
}

// scrapeNote says when the datasource's scrape interval, which Grafana's
// interval variables use, differs from the source's scrape_interval, which
// each run's use.
func scrapeNote(ds datasourceInfo, source string, sources []config.PrometheusSource) string {
	if ds.scrape == "" {
		return ""
	}
	grafana, err := model.ParseDuration(ds.scrape)
	if err != nil {
		return ""
	}
	for _, s := range sources {
		if s.Name == source && time.Duration(grafana) != s.ScrapeIntervalOrDefault() {
			return fmt.Sprintf("datasource %s scrapes every %s in Grafana, source %s has scrape_interval %s: runs derive $__rate_interval and $__interval from %s; set scrape_interval to match",
				dsName(ds), ds.scrape, s.Name, model.Duration(s.ScrapeIntervalOrDefault()), model.Duration(s.ScrapeIntervalOrDefault()))
		}
	}
	return ""
}

// sameURL compares URLs as addresses: scheme and host without case, the
// path without a trailing slash.
func sameURL(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimSuffix(ua.Path, "/") == strings.TrimSuffix(ub.Path, "/")
}

func sourceNames(sources []config.PrometheusSource) string {
	var names []string
	for _, s := range sources {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// setFileQuery is one query as the set file holds it (config.EnvironmentQuery's keys).
type setFileQuery struct {
	Name       string `yaml:"name"`
	Query      string `yaml:"query"`
	Aggregate  string `yaml:"aggregate,omitempty"`
	Prometheus string `yaml:"prometheus,omitempty"`
}

// YAML is the environment set file: a header saying where it comes from,
// the set with each query under a comment holding the panel's own
// expression, and the skipped panels at the end.
func (imp *SetImport) YAML() ([]byte, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, q := range imp.Queries {
		var item yaml.Node
		if err := item.Encode(setFileQuery{Name: q.Name, Query: q.Query, Aggregate: q.Aggregate, Prometheus: q.Prometheus}); err != nil {
			return nil, err
		}
		item.HeadComment = commentLines(fmt.Sprintf("panel %q, query %s: %s", q.Panel, q.RefID, q.Original))
		seq.Content = append(seq.Content, &item)
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Value: imp.Set}
	var head strings.Builder
	fmt.Fprintf(&head, "Environment set %q, imported by perf-exporter from the Grafana board %q (uid %s, version %d).\n", imp.Set, imp.BoardTitle, imp.BoardUID, imp.BoardVersion)
	head.WriteString("Include this file with environment_set_files in the config; import again after the board changes.\n")
	head.WriteString("Each query runs over every run's window as aggregate(query); its comment is the panel's own expression.")
	for _, n := range imp.Notes {
		head.WriteString("\nNote: " + n)
	}
	key.HeadComment = commentLines(head.String())
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{key, seq}}
	if len(imp.Skipped) > 0 {
		var foot strings.Builder
		foot.WriteString("Not imported:")
		for _, s := range imp.Skipped {
			foot.WriteString("\n- " + s.String())
		}
		doc.FootComment = commentLines(foot.String())
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding environment set %q: %w", imp.Set, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// commentLines makes every line of s a YAML comment line.
func commentLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("# "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// Summary says what the import did, for the command's output.
func (imp *SetImport) Summary(file string) string {
	var b strings.Builder
	panels := map[string]bool{}
	for _, q := range imp.Queries {
		panels[q.Panel] = true
	}
	fmt.Fprintf(&b, "imported %d queries of %d panels of board %q into environment set %q", len(imp.Queries), len(panels), imp.BoardUID, imp.Set)
	if file != "" {
		fmt.Fprintf(&b, " (%s)", file)
	}
	b.WriteString("\n")
	for _, n := range imp.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, s := range imp.Skipped {
		fmt.Fprintf(&b, "skipped %s\n", s)
	}
	return b.String()
}
