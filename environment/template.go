package environment

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// labelValueEscaper makes a value safe inside a double-quoted PromQL string
// (the label matchers the variables are meant for): a regex such as
// `shop\d+` must reach Prometheus with its backslash, and a quote must not
// end the string early.
var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// Expand fills the ${name} placeholders of a query template. vars are the
// profile's environment_vars over DefaultVars, plus rate_interval. A
// placeholder without a value is an error naming it, never an empty string
// that would silently match nothing.
func Expand(template string, vars map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(template, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return labelValueEscaper.Replace(v)
	})
	if len(missing) > 0 {
		known := make([]string, 0, len(vars))
		for k := range vars {
			known = append(known, k)
		}
		sort.Strings(known)
		return "", fmt.Errorf("unknown template variable ${%s} (set it in the profile's environment_vars; known: %s)",
			strings.Join(missing, "}, ${"), strings.Join(known, ", "))
	}
	return out, nil
}

// templateVars merges a profile's variables over the defaults and adds the
// rate interval for one source and window.
func templateVars(profileVars map[string]string, rateInterval time.Duration) map[string]string {
	vars := DefaultVars()
	for k, v := range profileVars {
		vars[k] = v
	}
	vars[VarRateInterval] = model.Duration(rateInterval).String()
	return vars
}

// rateInterval is the range of rate() in the templates: four scrape
// intervals, as Grafana's $__rate_interval, so one late or missed scrape
// still leaves two samples; but never longer than the window, so that no
// point's range reaches before the run (see Environment.Evaluate). It is
// whole milliseconds, PromQL's resolution.
func rateInterval(scrape, window time.Duration) time.Duration {
	ri := 4 * scrape
	if window < ri {
		ri = window
	}
	return ri.Truncate(time.Millisecond)
}
