package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvironmentAggregates are the values of an environment query's aggregate
// ("": none, the query returns one series itself).
var EnvironmentAggregates = []string{"", "sum", "avg", "max", "min"}

// includedFile is an environment set file as read.
type includedFile struct {
	path string
	data []byte
}

// setOrigin is where a set from an environment set file is defined: errors
// about it name that file and line, not the config's.
type setOrigin struct {
	file string
	root *yaml.Node // the file's top-level mapping: set name -> queries
}

// includeSetFiles reads the files environment_set_files names (globs
// relative to the config file's folder; a pattern without wildcards must
// name an existing file, a wildcard may match nothing: no board imported
// yet) and merges their sets into EnvironmentSets. A set defined twice is
// an error: re-importing a board must replace its set, never shadow a
// hand-written one silently.
func (c *Config) includeSetFiles(configFile string, root *yaml.Node) (map[string]setOrigin, Errors) {
	if len(c.EnvironmentSetFiles) == 0 {
		return nil, nil
	}
	var errs Errors
	at := func(p ...any) int { return lineOf(root, append([]any{"environment_set_files"}, p...)) }
	base := filepath.Dir(configFile)
	var files []string
	for i, pattern := range c.EnvironmentSetFiles {
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(base, pattern)
		}
		matches, err := filepath.Glob(full)
		switch {
		case err != nil:
			errs = append(errs, Error{File: configFile, Line: at(i), Msg: fmt.Sprintf("environment_set_files: bad pattern %q: %v", pattern, err)})
		case len(matches) == 0 && !strings.ContainsAny(pattern, `*?[\`):
			errs = append(errs, Error{File: configFile, Line: at(i), Msg: fmt.Sprintf("environment_set_files: %s does not exist", full)})
		}
		for _, m := range matches {
			if !slices.Contains(files, m) {
				files = append(files, m)
			}
		}
	}
	sort.Strings(files)
	origins := map[string]setOrigin{}
	if c.EnvironmentSets == nil {
		c.EnvironmentSets = map[string][]EnvironmentQuery{}
	}
	for _, file := range files {
		data, err := readSetFile(file)
		if err != nil {
			errs = append(errs, Error{File: configFile, Line: at(), Msg: fmt.Sprintf("environment_set_files: %v", err)})
			continue
		}
		c.included = append(c.included, includedFile{path: file, data: data})
		sets, fileRoot, ferrs := decodeSetFile(file, data)
		errs = append(errs, ferrs...)
		names := slices.Sorted(maps.Keys(sets))
		for _, name := range names {
			line := lineOf(fileRoot, path(name))
			if prev, ok := origins[name]; ok {
				errs = append(errs, Error{File: file, Line: line, Msg: fmt.Sprintf("environment set %q is also defined in %s", name, prev.file)})
				continue
			}
			if _, ok := c.EnvironmentSets[name]; ok {
				errs = append(errs, Error{File: file, Line: line, Msg: fmt.Sprintf("environment set %q is also defined under environment_sets in %s", name, configFile)})
				continue
			}
			origins[name] = setOrigin{file: file, root: fileRoot}
			c.EnvironmentSets[name] = sets[name]
		}
	}
	return origins, errs
}

// decodeSetFile decodes one set file strictly: a mapping of set names to
// lists of queries, as under environment_sets.
func decodeSetFile(file string, data []byte) (map[string][]EnvironmentQuery, *yaml.Node, Errors) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, Errors{syntaxError(file, err)}
	}
	doc := documentRoot(&root)
	if emptyDocument(&root) {
		return nil, doc, Errors{{File: file, Msg: "the file is empty: it should map a set name to its queries"}}
	}
	if doc.Kind != yaml.MappingNode {
		return nil, doc, Errors{{File: file, Line: doc.Line, Msg: "an environment set file maps set names to lists of queries (name, query, prometheus, aggregate)"}}
	}
	sets := map[string][]EnvironmentQuery{}
	var errs Errors
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sets); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, doc, Errors{syntaxError(file, err)}
		}
		for _, msg := range te.Errors {
			errs = append(errs, typeError(file, msg))
		}
	}
	return sets, doc, errs
}

// environmentAggregates checks each query's aggregate.
func (v *validator) environmentAggregates(c *Config) {
	for name, queries := range c.EnvironmentSets {
		for i, q := range queries {
			if !slices.Contains(EnvironmentAggregates, q.Aggregate) {
				v.errorf(path("environment_sets", name, i, "aggregate"), "environment set %q: query %q: aggregate %q must be one of %s",
					name, q.Name, q.Aggregate, strings.Join(EnvironmentAggregates[1:], ", "))
			}
		}
	}
}

// where is the file and line of a path: a set from a set file is found in
// that file.
func (v *validator) where(p []any) (string, int) {
	if len(p) >= 2 && p[0] == "environment_sets" {
		if name, ok := p[1].(string); ok {
			if o, ok := v.origins[name]; ok {
				return o.file, lineOf(o.root, p[1:])
			}
		}
	}
	return v.file, lineOf(v.root, p)
}

// readSetFile reads a set file that a pattern matched, as readConfigFile
// does, but only a regular file: a pattern that also matches a named pipe
// must not block the loader, nor one matching /dev/zero read it.
func readSetFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return readConfigFile(path)
}
