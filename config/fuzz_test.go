package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fileLine is how every line of a config error starts: the file (the
// config, or an environment set file it includes) and the line.
var fileLine = regexp.MustCompile(`^[^:\n]+:\d+: `)

// FuzzParse: no config file makes the loader panic or hang, and every error
// names the file and the line. Seeds: every config in testdata, plus the
// corpus in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !fileLine.MatchString(line) {
					t.Errorf("an error line does not start with FILE:LINE: %q\nof:\n%v", line, err)
				}
			}
			return
		}
		if cfg == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
	})
}
