package dashboards

import (
	"strings"
	"testing"
)

func TestResolveBoardVariables(t *testing.T) {
	vars := map[string]boardVar{
		"single": {name: "single", typ: "custom", current: []string{"a.b"}},
		"multi":  {name: "multi", typ: "query", multi: true, current: []string{"x|y", "z"}},
		"allval": {name: "allval", typ: "query", all: true, isAll: true, allValue: "shop-.*", current: []string{"$__all"}},
		"auto":   {name: "auto", typ: "interval", current: []string{"$__auto_interval_auto"}},
		"ad":     {name: "ad", typ: "adhoc"},
	}
	tests := []struct{ expr, want, problem string }{
		{`up{a="$single"}`, `up{a="a.b"}`, ""},
		{`up{a=~"${single:regex}"}`, `up{a=~"a\\.b"}`, ""},
		{`up{a=~"$multi"}`, `up{a=~"(x\\|y|z)"}`, ""},
		{`up{a=~"[[multi:pipe]]"}`, `up{a=~"x|y|z"}`, ""},
		{`up{a=~"$allval"}`, `up{a=~"shop-.*"}`, ""},
		{`rate(x[$auto])`, `rate(x[${interval}])`, ""},
		{`rate(x[$__rate_interval]) * $__range_s`, `rate(x[${rate_interval}]) * ${range_s}`, ""},
		{`up{a="${single:json}"}`, "", `format "json" is not supported`},
		{`up{a="$ad"}`, "", "ad hoc filters are not a value"},
		{`up{a="$__user"}`, "", "no meaning for a run's window"},
		{`up{a="${single.text}"}`, "", "field access"},
		{`up{a="$nope"}`, "", `the board has no variable "nope"`},
	}
	for _, tc := range tests {
		r := resolveExpr(tc.expr, vars)
		switch {
		case tc.problem != "":
			if len(r.unresolved) != 1 || !strings.Contains(r.unresolved[0], tc.problem) {
				t.Errorf("%s: unresolved %q, want one saying %q", tc.expr, r.unresolved, tc.problem)
			}
		case len(r.unresolved) > 0 || r.expr != tc.want:
			t.Errorf("%s = %s (unresolved %q), want %s", tc.expr, r.expr, r.unresolved, tc.want)
		}
	}
}
