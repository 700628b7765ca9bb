package config

import (
	"strings"
	"testing"
)

// A URL whose port cannot exist, or with no host before the port, used to
// pass check config and fail every run ("invalid port"); it is an error of
// the file, with its line.
func TestURLWithImpossiblePortOrNoHost(t *testing.T) {
	for name, tc := range map[string]struct{ url, want string }{
		"port above 65535": {"http://127.0.0.1:99999/", `u.yaml:3: profile "a": target.url "http://127.0.0.1:99999/": port 99999 must be from 1 to 65535`},
		"port 0":           {"http://127.0.0.1:0/", `u.yaml:3: profile "a": target.url "http://127.0.0.1:0/": port 0 must be from 1 to 65535`},
		"no host":          {"http://:8080/", `u.yaml:3: profile "a": target.url "http://:8080/" must be an absolute http:// or https:// URL`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(`profiles:
  - name: a
    target: {url: "`+tc.url+`"}
    schedule: "@every 1m"
`), "u.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}
