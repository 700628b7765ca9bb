package dashboards

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Grafana's template variable syntax: $name, [[name]], [[name:format]],
// ${name}, ${name.field} and ${name:format} (the pattern of its template
// service, variableRegex).
var boardVarRef = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// windowVars maps Grafana's built-in interval variables to the environment
// package's, which each run fills from its window and the source's scrape
// interval: $__rate_interval is four scrape intervals (Grafana's own
// max(4 × scrape, $__interval + scrape), with the step of the window's
// range query being one scrape interval), $__interval that step,
// $__range the window.
var windowVars = map[string]string{
	"__rate_interval": "rate_interval",
	"__interval":      "interval",
	"__interval_ms":   "interval_ms",
	"__range":         "range",
	"__range_s":       "range_s",
	"__range_ms":      "range_ms",
}

// boardVar is one variable of a board's templating list, as saved.
type boardVar struct {
	name, typ  string
	multi, all bool   // multi-value; has an All option
	allValue   string // the custom value of All ("" for every option)
	current    []string
	isAll      bool     // the saved selection is All
	options    []string // the saved options, without All
	query      string   // constant value, custom list, plugin id of a datasource variable
}

// boardVars reads templating.list.
func boardVars(model map[string]any) map[string]boardVar {
	out := map[string]boardVar{}
	templating, _ := model["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		v := boardVar{name: stringField(m, "name"), typ: stringField(m, "type"), allValue: stringField(m, "allValue")}
		v.multi, _ = m["multi"].(bool)
		v.all, _ = m["includeAll"].(bool)
		switch q := m["query"].(type) {
		case string:
			v.query = q
		case map[string]any: // newer query variables: {query, refId, qryType}
			v.query = stringField(q, "query")
		}
		current, _ := m["current"].(map[string]any)
		v.current = anyStrings(current["value"])
		for _, c := range v.current {
			v.isAll = v.isAll || c == "$__all"
		}
		opts, _ := m["options"].([]any)
		for _, o := range opts {
			om, _ := o.(map[string]any)
			if val := stringField(om, "value"); val != "" && val != "$__all" {
				v.options = append(v.options, val)
			}
		}
		if v.typ == "custom" && len(v.options) == 0 {
			// "a,b,c" or "label : value" pairs, comma-separated.
			for part := range strings.SplitSeq(v.query, ",") {
				if _, value, ok := strings.Cut(part, " : "); ok {
					part = value
				}
				if part = strings.TrimSpace(part); part != "" {
					v.options = append(v.options, part)
				}
			}
		}
		if v.name != "" {
			out[v.name] = v
		}
	}
	return out
}

func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// resolution is what resolving one expression found.
type resolution struct {
	expr       string
	unresolved []string // why, per variable that could not be resolved
	notes      []string // choices made where Grafana would have asked Prometheus
}

// resolveExpr fills a Prometheus query's variables as Grafana would for the
// board's saved state: the interval variables become the environment's
// placeholders, filled each run; dashboard variables take their saved
// current value, formatted as Grafana's Prometheus datasource does (a
// multi-value or All-able variable as an escaped regex (a|b)); All is the
// variable's custom all value, else a regex of its saved options, else .+
// (Grafana would ask Prometheus for the values; .+ matches every one, plus
// any that appear later).
func resolveExpr(expr string, vars map[string]boardVar) resolution {
	var r resolution
	r.expr = boardVarRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := boardVarRef.FindStringSubmatch(m)
		name, format := sub[1], ""
		switch {
		case sub[2] != "":
			name, format = sub[2], sub[3]
		case sub[4] != "":
			name, format = sub[4], sub[6]
			if sub[5] != "" {
				r.unresolved = append(r.unresolved, fmt.Sprintf("%s: field access ${%s.%s} is not supported", m, name, sub[5]))
				return m
			}
		}
		if v, ok := windowVars[name]; ok {
			return "${" + v + "}"
		}
		if strings.HasPrefix(name, "__") {
			r.unresolved = append(r.unresolved, fmt.Sprintf("%s: Grafana's built-in $%s has no meaning for a run's window", m, name))
			return m
		}
		v, ok := vars[name]
		if !ok {
			r.unresolved = append(r.unresolved, fmt.Sprintf("%s: the board has no variable %q", m, name))
			return m
		}
		value, note, err := v.format(format)
		if err != "" {
			r.unresolved = append(r.unresolved, fmt.Sprintf("%s: %s", m, err))
			return m
		}
		if note != "" && !slices.Contains(r.notes, note) {
			r.notes = append(r.notes, note)
		}
		return value
	})
	return r
}

// format gives the variable's saved value in a format (Grafana's names;
// "" is the Prometheus datasource's default), or why it cannot.
func (v boardVar) format(format string) (value, note, problem string) {
	var values []string
	switch v.typ {
	case "constant":
		values = []string{v.query}
	case "adhoc":
		return "", "", "ad hoc filters are not a value"
	case "interval":
		if len(v.current) == 1 && strings.HasPrefix(v.current[0], "$__auto") {
			return "${interval}", "", ""
		}
		values = v.current
	default:
		values = v.current
		if v.typ == "textbox" && len(values) == 0 {
			values = []string{v.query}
		}
	}
	if v.isAll {
		switch {
		case v.allValue != "":
			// Grafana passes a custom all value as is, unescaped.
			return v.allValue, "", ""
		case len(v.options) > 0:
			values = v.options
		default:
			return ".+", fmt.Sprintf("$%s is All and its options are not saved with the board (Grafana asks Prometheus for them): .+ stands for every value", v.name), ""
		}
	}
	if len(values) == 0 {
		return "", "", "no saved current value"
	}
	regexish := v.multi || v.all
	switch format {
	case "":
		if !regexish {
			return promRegularEscape(values[0]), "", ""
		}
		return promRegex(values), "", ""
	case "regex":
		return promRegex(values), "", ""
	case "raw":
		return strings.Join(values, ","), "", ""
	case "pipe":
		return strings.Join(values, "|"), "", ""
	case "csv":
		return strings.Join(values, ","), "", ""
	}
	return "", "", fmt.Sprintf("format %q is not supported (use regex, pipe, raw or csv)", format)
}

// promRegularEscape and promRegexEscape are Grafana's Prometheus
// datasource escaping of a value going inside a double-quoted label
// matcher: a single value as is (quotes escaped), a value of a regex with
// regex metacharacters escaped for PromQL's string (hence two
// backslashes).
func promRegularEscape(s string) string { return strings.ReplaceAll(s, `'`, `\\'`) }

var regexMeta = regexp.MustCompile(`[$^*{}\[\]'+?.()|]`)

func promRegexEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\\\`)
	return regexMeta.ReplaceAllString(s, `\\$0`)
}

func promRegex(values []string) string {
	escaped := make([]string, len(values))
	for i, v := range values {
		escaped[i] = promRegexEscape(v)
	}
	if len(escaped) == 1 {
		return escaped[0]
	}
	return "(" + strings.Join(escaped, "|") + ")"
}
