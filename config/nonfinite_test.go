package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fullConfig sets every float the config has, with valid values.
const fullConfig = `
global: {limits: {max_qps: 1000}}
prometheus: [{name: p, url: "http://127.0.0.1:9090"}]
grafana: {url: "http://127.0.0.1:3000"}
profiles:
  - name: a
    schedule: "@every 1m"
    target: {url: "http://127.0.0.1:8080/"}
    load: {qps: 10, percentiles: [50, 99]}
    slo: {latency: {"99": 250ms}, error_ratio: 0.01}
    environment: [nodes]
`

// floatSlots returns every settable float64 in v, walking structs,
// pointers, slices and maps of structs.
func floatSlots(v reflect.Value, at string, out map[string]reflect.Value) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if v.CanSet() {
			out[at] = v
		}
	case reflect.Pointer:
		if !v.IsNil() {
			floatSlots(v.Elem(), at, out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				floatSlots(v.Field(i), at+"."+v.Type().Field(i).Name, out)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			floatSlots(v.Index(i), fmt.Sprintf("%s[%d]", at, i), out)
		}
	}
}

// No path lets NaN or an infinity into a config that validates, so neither
// the API (encoding/json cannot write them: /api/v1/profiles answered an
// empty 200) nor /metrics (percentile="NaN") ever sees one. Every way in
// validates: files and reloads through Parse, configs built in code (run,
// the demo) through Validate; this checks every float the types have, so
// a float added later is covered too.
func TestNoNonFiniteNumberValidates(t *testing.T) {
	parse := func() *Config {
		cfg, err := Parse([]byte(fullConfig), "full.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	slots := map[string]reflect.Value{}
	floatSlots(reflect.ValueOf(parse()), "config", slots)
	if len(slots) < 4 { // max_qps, qps, percentiles, error_ratio
		t.Fatalf("found only %d floats: %v", len(slots), slots)
	}
	for at := range slots {
		for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			cfg := parse()
			fresh := map[string]reflect.Value{}
			floatSlots(reflect.ValueOf(cfg), "config", fresh)
			fresh[at].SetFloat(bad)
			if err := Validate(cfg, "code"); err == nil {
				t.Errorf("%s = %g validates", at, bad)
			}
		}
	}
}

// A reload with a non-finite number is refused and the config in force
// stays.
func TestReloadRefusesNonFiniteNumbers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(fullConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"qps: .nan", "qps: .inf", "percentiles: [50, .nan]", "error_ratio: -.inf", "max_qps: .nan"} {
		key, _, _ := strings.Cut(bad, ":")
		var changed string
		for line := range strings.SplitSeq(fullConfig, "\n") {
			if i := strings.Index(line, key+": "); i >= 0 {
				// Replace the value, up to the next comma or closing brace.
				rest := line[i+len(key)+2:]
				end := strings.IndexAny(rest, ",}")
				if strings.HasPrefix(rest, "[") {
					end = strings.Index(rest, "]") + 1
				}
				line = line[:i] + bad + rest[end:]
			}
			changed += line + "\n"
		}
		if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := f.Reload()
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("reload with %s: %v, want an error naming %s", bad, err, key)
		}
		if cfg.Profiles[0].Load.QPS != 10 || cfg != f.Current() {
			t.Errorf("reload with %s changed the config in force", bad)
		}
	}
}
