package config

import (
	"fmt"
	"regexp"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"gopkg.in/yaml.v3"
)

// UnmarshalYAML reads name and url, and hands every other key to
// prometheus/common's HTTPClientConfig through its own strict decoder, so
// its defaults and validation apply exactly as they do in Prometheus.
func (s *PrometheusSource) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a prometheus source must be a mapping with name and url", node.Line)}}
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		switch key.Value {
		case "name":
			s.Name = value.Value
		case "url":
			s.URL = value.Value
		case "scrape_interval":
			if err := value.Decode(&s.ScrapeInterval); err != nil {
				return err
			}
		default:
			rest.Content = append(rest.Content, key, value)
		}
	}
	raw, err := yaml.Marshal(rest)
	if err != nil {
		return err
	}
	if err := yamlv2.UnmarshalStrict(raw, &s.HTTPClientConfig); err != nil {
		// The v2 decoder's lines count from the re-encoded keys, not the file:
		// report the source's own line and the decoder's words without them.
		var msgs []string
		for m := range strings.SplitSeq(err.Error(), "\n") {
			m = strings.TrimSpace(strings.TrimPrefix(m, "yaml: unmarshal errors:"))
			if m != "" {
				msgs = append(msgs, strings.Replace(v2Line.ReplaceAllString(m, ""), "in type config.plain", "in the HTTP client settings", 1))
			}
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: prometheus source %q: %s", node.Line, s.Name, strings.Join(msgs, "; "))}}
	}
	return nil
}

var v2Line = regexp.MustCompile(`^line \d+: `)
