package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config file, with where it is.
type Error struct {
	File string
	Line int // 0 when the problem has no single place
	Msg  string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in a config file, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadFile reads, decodes, defaults and validates a config file. The error,
// if any, is an Errors listing every problem with its file:line.
func LoadFile(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes, defaults and validates a config document; filename is only
// used in error messages.
func Parse(data []byte, filename string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxErrorIn(filename, data, err)}
	}
	cfg := &Config{}
	var errs Errors
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, Errors{syntaxErrorIn(filename, data, err)}
		}
		for _, msg := range te.Errors {
			errs = append(errs, typeError(filename, msg))
		}
	}
	// The decoder reads the first document only: a second one would be
	// silently ignored, with whatever profiles it holds.
	var next yaml.Node
	if err := dec.Decode(&next); err != nil && !errors.Is(err, io.EOF) {
		errs = append(errs, syntaxErrorIn(filename, data, err))
	} else if err == nil && !emptyDocument(&next) {
		errs = append(errs, Error{File: filename, Line: documentRoot(&next).Line,
			Msg: "a second YAML document (after ---) is not read: put the whole config in one document"})
	}
	origins, ferrs := cfg.includeSetFiles(filename, documentRoot(&root))
	errs = append(errs, ferrs...)
	errs = append(errs, wholeNumbers(filename, documentRoot(&root))...)
	errs = append(errs, explicitZeros(filename, documentRoot(&root))...)
	cfg.ApplyDefaults()
	v := &validator{file: filename, root: documentRoot(&root), origins: origins}
	v.config(cfg)
	errs = append(errs, v.errs...)
	if len(errs) > 0 {
		// The config file's errors first, then each set file's, each in
		// line order.
		sort.SliceStable(errs, func(i, j int) bool {
			if a, b := errs[i].File, errs[j].File; a != b {
				return a == filename || b != filename && a < b
			}
			return errs[i].Line < errs[j].Line
		})
		return nil, errs
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (?s:(.*))$`)

func syntaxError(file string, err error) Error {
	// A value quoted in the message may span lines: one error, one line.
	msg := strings.ReplaceAll(err.Error(), "\n", `\n`)
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: line, Msg: m[2]}
	}
	return Error{File: file, Msg: msg}
}

// syntaxErrorIn is syntaxError for the whole of data: yaml.v3 gives no line
// for what it finds at the end of the input ("found unexpected end of
// stream", an unterminated quote), so that is the line: the last one.
func syntaxErrorIn(file string, data []byte, err error) Error {
	e := syntaxError(file, err)
	if e.Line == 0 {
		e.Line = bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1
	}
	return e
}

var unknownField = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)

// typeError rewrites yaml.v3's decoding messages in the config's own terms.
func typeError(file, msg string) Error {
	e := syntaxError(file, errors.New(msg))
	if m := unknownField.FindStringSubmatch(e.Msg); m != nil {
		e.Msg = fmt.Sprintf("unknown key %q in %s", m[1], sectionName(m[2]))
	}
	e.Msg = strings.ReplaceAll(e.Msg, "config.", "")
	return e
}

func sectionName(goType string) string {
	names := map[string]string{
		"Config": "the top level", "Global": "global", "Limits": "global.limits",
		"Retention": "global.retention", "Engines": "engines", "EnginePath": "an engine",
		"Grafana": "grafana", "BasicAuth": "basic_auth", "Profile": "a profile",
		"Target": "target", "TLS": "target.tls", "Load": "load", "SLO": "slo",
		"EnvironmentQuery": "an environment query", "PrometheusSource": "a prometheus source",
		"GrafanaBoard": "a grafana board", "GrafanaTimeRange": "a board's time",
		"EnvironmentWindow": "global.environment_window", "GrafanaAnnotations": "grafana.annotations",
	}
	if n, ok := names[goType]; ok {
		return n
	}
	return goType
}

// emptyDocument is what a trailing "---" leaves.
func emptyDocument(n *yaml.Node) bool {
	root := documentRoot(n)
	return root == nil || root.Kind == yaml.ScalarNode && root.Tag == "!!null" && root.Value == ""
}

func documentRoot(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}
