package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// wholeNumbers reports every fraction written where the config wants an
// integer: yaml.v3 truncates it silently ("connections: 2.9" runs with 2,
// "max_runs: 0.5" becomes 0 and then the default). It walks the document
// along the Config type, so it knows which keys are integers.
func wholeNumbers(file string, root *yaml.Node) Errors {
	w := &numberWalker{file: file}
	w.walk(root, reflect.TypeFor[Config](), nil)
	return w.errs
}

type numberWalker struct {
	file string
	errs Errors
}

// walk visits node as a value of type t; at is the path of keys and
// indexes that leads to it, for the message.
func (w *numberWalker) walk(n *yaml.Node, t reflect.Type, at []string) {
	if n == nil {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // decodes (and checks) itself: Duration, PrometheusSource
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!float" {
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsInf(f, 0) || f == math.Trunc(f) {
			return // .nan, .inf: the decoder reports them; 8.0, 1e3: whole, decoded exactly
		}
		w.errs = append(w.errs, Error{File: w.file, Line: n.Line,
			Msg: fmt.Sprintf("%s must be a whole number, got %s", describe(at), n.Value)})
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if f, ok := fieldByKey(t, key); ok {
				w.walk(n.Content[i+1], f.Type, append(at, key))
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			step := fmt.Sprintf("[%d]", i)
			if len(at) == 1 && at[0] == "profiles" {
				step = profileStep(item, i)
			}
			w.walk(item, t.Elem(), append(at, step))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), append(at, n.Content[i].Value))
		}
	}
}

// fieldByKey finds the struct field a YAML key decodes into.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// profileStep names a profile by its name, as the validator's messages do.
func profileStep(item *yaml.Node, i int) string {
	if name := child(item, "name"); name != nil {
		return "profile " + shorten(name.Value)
	}
	return fmt.Sprintf("profile %d", i+1)
}

// describe writes a path the way messages name settings:
// `profile "a": load.connections`, `global.retention.max_runs`.
func describe(at []string) string {
	if len(at) >= 2 && at[0] == "profiles" {
		return at[1] + ": " + joinKeys(at[2:])
	}
	return joinKeys(at)
}

func joinKeys(keys []string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 && !strings.HasPrefix(k, "[") {
			b.WriteByte('.')
		}
		b.WriteString(k)
	}
	return b.String()
}

// zeroIsUnset lists the settings whose zero means "not set": ApplyDefaults
// replaces it. Written out, 0 is a mistake or a wish for "unlimited", and
// must not silently become the default (max_runs: 0 kept 1000 runs,
// connections: 0 opened 8).
var zeroIsUnset = []struct {
	key       []string // under global, or under a profile
	inProfile bool
	def       string
}{
	{key: []string{"max_concurrent_runs"}, def: "1"},
	{key: []string{"limits", "max_qps"}, def: fmt.Sprint(DefaultMaxQPS)},
	{key: []string{"limits", "max_connections"}, def: fmt.Sprint(DefaultMaxConns)},
	{key: []string{"limits", "max_duration"}, def: DefaultMaxDuration.String()},
	{key: []string{"retention", "max_runs"}, def: fmt.Sprint(DefaultRetainRuns)},
	{key: []string{"baseline_runs"}, def: fmt.Sprint(DefaultBaselineRuns)},
	{key: []string{"load", "connections"}, inProfile: true, def: fmt.Sprint(DefaultConnections)},
	{key: []string{"load", "duration"}, inProfile: true, def: DefaultDuration.String()},
	{key: []string{"target", "timeout"}, inProfile: true, def: DefaultTimeout.String()},
	{key: []string{"load", "percentiles"}, inProfile: true, def: "50, 75, 90, 99, 99.9 (wrk: 50, 75, 90, 99)"},
	{key: []string{"regressions", "significance"}, def: fmt.Sprint(DefaultRegressionSignificance)},
	{key: []string{"regressions", "window"}, def: fmt.Sprint(DefaultRegressionWindow)},
	{key: []string{"regressions", "significance"}, inProfile: true, def: "global.regressions.significance"},
	{key: []string{"regressions", "window"}, inProfile: true, def: "global.regressions.window"},
}

// explicitZeros reports every zero written where zero means the default.
func explicitZeros(file string, root *yaml.Node) Errors {
	var errs Errors
	check := func(n *yaml.Node, what, def string) {
		switch {
		case n != nil && n.Kind == yaml.ScalarNode && isZero(n.Value):
			errs = append(errs, Error{File: file, Line: n.Line,
				Msg: fmt.Sprintf("%s must not be %s: leave it out for the default, %s", what, n.Value, def)})
		case n != nil && n.Kind == yaml.SequenceNode && len(n.Content) == 0:
			errs = append(errs, Error{File: file, Line: n.Line,
				Msg: fmt.Sprintf("%s must not be empty: leave it out for the default, %s", what, def)})
		}
	}
	if sources := child(root, "prometheus"); sources != nil && sources.Kind == yaml.SequenceNode {
		for i, src := range sources.Content {
			what := fmt.Sprintf("prometheus source %d", i+1)
			if name := child(src, "name"); name != nil && name.Kind == yaml.ScalarNode {
				what = "prometheus source " + shorten(name.Value)
			}
			check(child(src, "scrape_interval"), what+": scrape_interval", DefaultScrapeInterval.String())
		}
	}
	for _, z := range zeroIsUnset {
		if !z.inProfile {
			check(child(root, append([]string{"global"}, z.key...)...), "global."+strings.Join(z.key, "."), z.def)
			continue
		}
		profiles := child(root, "profiles")
		if profiles == nil || profiles.Kind != yaml.SequenceNode {
			continue
		}
		for i, p := range profiles.Content {
			check(child(p, z.key...), profileStep(p, i)+": "+strings.Join(z.key, "."), z.def)
		}
	}
	return errs
}

// child follows mapping keys from n; nil when one is missing.
func child(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		if n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isZero tells a written 0, 0.0 or 0s.
func isZero(s string) bool {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f == 0
	}
	d, err := time.ParseDuration(s)
	return err == nil && d == 0
}
