package dashboards

import (
	"fmt"
	"regexp"
	"strings"
)

// Query is one PromQL expression of a board and where it sits.
type Query struct {
	Where string // board, panel title and refId, or annotation name
	Panel string // panel title ("" for annotations)
	Expr  string // with Grafana's variables ($profile, $__rate_interval ...)
}

// Queries lists every PromQL expression of a board: the targets of every
// panel (inside collapsed rows too) and of the annotations. Tests use it to
// lint the boards and to run every panel's query against a Prometheus.
func (b Board) Queries() []Query {
	var out []Query
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			panel, _ := p.(map[string]any)
			title := stringField(panel, "title")
			targets, _ := panel["targets"].([]any)
			for _, tg := range targets {
				target, _ := tg.(map[string]any)
				out = append(out, Query{
					Where: fmt.Sprintf("%s: panel %q target %s", b.Name, title, stringField(target, "refId")),
					Panel: title, Expr: stringField(target, "expr"),
				})
			}
			if nested, ok := panel["panels"].([]any); ok {
				walk(nested)
			}
		}
	}
	panels, _ := b.Model["panels"].([]any)
	walk(panels)
	annotations, _ := b.Model["annotations"].(map[string]any)
	list, _ := annotations["list"].([]any)
	for _, a := range list {
		ann, _ := a.(map[string]any)
		if expr := stringField(ann, "expr"); expr != "" {
			out = append(out, Query{Where: fmt.Sprintf("%s: annotation %q", b.Name, stringField(ann, "name")), Expr: expr})
		}
	}
	return out
}

var templateVariable = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// ExpandVariables fills Grafana's variables ($profile, ${profile},
// $__rate_interval ...) into a query from values, e.g. {"profile":
// "checkout", "__rate_interval": "1m"}, so it can be sent to Prometheus. A
// variable without a value is an error naming it.
func ExpandVariables(expr string, values map[string]string) (string, error) {
	var unknown []string
	out := templateVariable.ReplaceAllStringFunc(expr, func(m string) string {
		sub := templateVariable.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := values[name]
		if !ok {
			unknown = append(unknown, "$"+name)
		}
		return v
	})
	if len(unknown) > 0 {
		return out, fmt.Errorf("unknown template variable %s", strings.Join(unknown, ", "))
	}
	return out, nil
}
