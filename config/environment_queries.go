package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// EnvironmentBuiltinVars are the template variables a query may use without
// the profile setting them: the defaults of environment.DefaultVars, and
// rate_interval, kube_pod_label and the window variables
// (environment.WindowVarNames), which are derived. A test keeps the two
// lists equal.
var EnvironmentBuiltinVars = []string{"interval", "interval_ms", "istio_namespace", "kube_pod_label", "linkerd_admin_port", "linkerd_namespace", "namespace", "node", "pod_label", "range", "range_ms", "range_s", "rate_interval", "workload"}

// environmentPlaceholder is the ${name} syntax of environment queries.
var environmentPlaceholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ReplacePlaceholders replaces each ${name} of an environment query with
// value(name): environment.Expand fills them, the config check and the
// board import put stand-ins.
func ReplacePlaceholders(query string, value func(name string) string) string {
	return environmentPlaceholder.ReplaceAllStringFunc(query, func(m string) string { return value(m[2 : len(m)-1]) })
}

// promqlEscaper makes a value safe inside a double-quoted PromQL string
// (the label matchers the variables are meant for): a regex such as
// `shop\d+` must reach Prometheus with its backslash, and a quote must not
// end the string early.
var promqlEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// EscapePromQLString escapes a variable's value for a double-quoted PromQL
// string.
func EscapePromQLString(v string) string { return promqlEscaper.Replace(v) }

// promql parses with every optional syntax on: whether the server has a
// feature enabled is for the server to say; a syntax error is not.
var promql = parser.NewParser(parser.Options{EnableExperimentalFunctions: true, EnableBinopFillModifiers: true, EnableUnquotedUTF8Names: true})

// ParsePromQL parses a query as the config check does.
func ParsePromQL(query string) (parser.Expr, error) { return promql.ParseExpr(query) }

// environmentQueries checks user-defined queries now rather than at every
// run, where they only warned: each query parses as PromQL, and each
// profile that uses it defines every ${variable} it names.
func (v *validator) environmentQueries(c *Config) {
	names := slices.Sorted(maps.Keys(c.EnvironmentSets))
	for _, set := range names {
		for i, q := range c.EnvironmentSets[set] {
			if q.Query == "" {
				continue // reported with the set
			}
			at := path("environment_sets", set, i, "query")
			expr := q.Expr()
			if !slices.Contains(EnvironmentAggregates, q.Aggregate) {
				expr = q.Query // the aggregate is reported on its own
			}
			ctx := fmt.Sprintf("environment set %s: query %q", shorten(set), q.Name)
			reported := map[string]bool{}
			users := 0
			for _, p := range c.Profiles {
				if !slices.Contains(p.Environment, set) {
					continue
				}
				users++
				vars := p.EnvironmentVars
				if vars == nil { // nil stands for "no profile uses the set" below
					vars = map[string]string{}
				}
				expanded, missing := expandForCheck(expr, vars)
				if len(missing) > 0 {
					v.errorf(at, "%s: unknown template variable ${%s} for profile %q (set it in its environment_vars; built in: %s)",
						ctx, strings.Join(missing, "}, ${"), p.Name, strings.Join(EnvironmentBuiltinVars, ", "))
					continue
				}
				if err := checkPromQL(expanded); err != "" && !reported[err] {
					reported[err] = true
					v.errorf(at, "%s: %s", ctx, err)
				}
			}
			if users == 0 { // no variables to judge by, but the syntax can be checked
				expanded, _ := expandForCheck(expr, nil)
				if err := checkPromQL(expanded); err != "" {
					v.errorf(at, "%s: %s", ctx, err)
				}
			}
		}
	}
}

// expandForCheck fills the placeholders as a run would, with the profile's
// values and stand-ins for the built-in ones (the defaults are regexes for
// label matchers, rate_interval a duration). It returns the names with no
// value; an unused set (vars nil) gets stand-ins for every name.
func expandForCheck(query string, vars map[string]string) (string, []string) {
	var missing []string
	out := ReplacePlaceholders(query, func(name string) string {
		if v, ok := vars[name]; ok {
			return EscapePromQLString(v)
		}
		switch {
		case name == "rate_interval" || name == "interval" || name == "range":
			return "1m"
		case name == "interval_ms" || name == "range_ms" || name == "range_s":
			return "60"
		case slices.Contains(EnvironmentBuiltinVars, name) || vars == nil:
			return "x"
		}
		if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return "${" + name + "}"
	})
	return out, missing
}

// checkPromQL returns the parser's complaint, or "".
func checkPromQL(query string) string {
	if _, err := ParsePromQL(query); err != nil {
		return "not valid PromQL: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return ""
}
