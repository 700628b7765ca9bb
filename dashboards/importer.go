package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Import fetches a board from Grafana as a Board ready to be saved as a
// file: without the numeric id and version, which belong to that Grafana
// (provisioning the file elsewhere with them would fail), with its uid.
func (c *Client) Import(ctx context.Context, uid string) (Board, error) {
	stored, err := c.getDashboard(ctx, uid)
	if err != nil {
		return Board{}, err
	}
	current, ok := stored.Dashboard.(map[string]any)
	if !ok {
		return Board{}, fmt.Errorf("reading board %q: Grafana returned no dashboard object", uid)
	}
	return Board{Name: uid, Model: withoutInstanceFields(current)}, nil
}

// YAML encodes a board as YAML, for keeping it in git next to the config.
func (b Board) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(b.Model); err != nil {
		return nil, fmt.Errorf("encoding board %q as YAML: %w", b.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LoadFile reads a custom board from a YAML or JSON file (a .json file is
// read as JSON, anything else as YAML, which also reads JSON). Boards
// exported "for sharing externally" carry ${DS_...} inputs; they are
// replaced by datasourceUID, as Grafana's import would do, since posting the
// board as is would leave panels pointing at a datasource named
// "${DS_PROMETHEUS}".
func LoadFile(path, datasourceUID string) (Board, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Board{}, err
	}
	var raw any
	if strings.EqualFold(filepath.Ext(path), ".json") {
		err = json.Unmarshal(data, &raw)
	} else {
		err = yaml.Unmarshal(data, &raw)
	}
	if err != nil {
		return Board{}, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := raw.(map[string]any); !ok {
		return Board{}, fmt.Errorf("%s: not a dashboard: the top level must be a mapping", path)
	}
	model, err := normalize(raw)
	if err != nil {
		return Board{}, fmt.Errorf("%s: %w", path, err)
	}
	if d, ok := model["dashboard"].(map[string]any); ok && model["title"] == nil {
		// The body of Grafana's API ({"dashboard": ..., "meta": ...}).
		model = d
	}
	b := Board{Name: fileStem(path), Model: model}
	if err := b.resolveInputs(datasourceUID); err != nil {
		return Board{}, fmt.Errorf("%s: %w", path, err)
	}
	if b.UID() == "" {
		return Board{}, fmt.Errorf("%s: the board has no uid; set one (letters, digits, - and _) so provisioning finds the board again instead of adding a copy each time", path)
	}
	if b.Title() == "" {
		return Board{}, fmt.Errorf("%s: the board has no title", path)
	}
	return b, nil
}

// resolveInputs does what Grafana's import does with the __inputs of a
// board exported for sharing: every "${NAME}" of a datasource input becomes
// the datasource uid, every constant input its value; then __inputs,
// __requires and __elements are dropped.
func (b *Board) resolveInputs(datasourceUID string) error {
	inputs, _ := b.Model["__inputs"].([]any)
	if elements, _ := b.Model["__elements"].(map[string]any); len(elements) > 0 {
		return fmt.Errorf("the board uses library panels (__elements), which only Grafana's own import can create; import it in the Grafana UI once, then use `dashboards import`")
	}
	values := map[string]string{}
	for _, in := range inputs {
		input, _ := in.(map[string]any)
		name, kind := stringField(input, "name"), stringField(input, "type")
		switch kind {
		case "datasource":
			if datasourceUID == "" {
				return fmt.Errorf("the board asks for datasource input %s (%s); set grafana.datasource_uid or --grafana.datasource-uid", name, stringField(input, "pluginId"))
			}
			values[name] = datasourceUID
		case "constant":
			values[name] = stringField(input, "value")
		default:
			return fmt.Errorf("input %s has type %q, which only Grafana's import understands", name, kind)
		}
	}
	delete(b.Model, "__inputs")
	delete(b.Model, "__requires")
	delete(b.Model, "__elements")
	if len(values) > 0 {
		b.Model = replaceStrings(b.Model, values).(map[string]any)
	}
	if left := leftoverInputs(b.Model); len(left) > 0 {
		return fmt.Errorf("the board refers to %s but declares no such input in __inputs", strings.Join(left, ", "))
	}
	return nil
}

// replaceStrings rewrites ${NAME} in every string of a JSON value.
func replaceStrings(v any, values map[string]string) any {
	switch x := v.(type) {
	case string:
		for name, value := range values {
			x = strings.ReplaceAll(x, "${"+name+"}", value)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = replaceStrings(e, values)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = replaceStrings(e, values)
		}
		return x
	}
	return v
}

// leftoverInputs finds ${DS_...} references that nothing will resolve.
func leftoverInputs(v any) []string {
	found := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for rest := x; ; {
				i := strings.Index(rest, "${DS_")
				if i < 0 {
					break
				}
				j := strings.IndexByte(rest[i:], '}')
				if j < 0 {
					break
				}
				found[rest[i:i+j+1]] = true
				rest = rest[i+j+1:]
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return slices.Sorted(maps.Keys(found))
}
