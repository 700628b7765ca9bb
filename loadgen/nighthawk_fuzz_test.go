package loadgen

import (
	"testing"

	"github.com/perf-exporter/perf-exporter/config"
)

// FuzzParseNighthawk: no input makes the Nighthawk reader (JSON, fortio
// format, log lines, trailing commas) panic or hang, and what it returns
// is a usable Result. Seeds: every Nighthawk and fortio sample, plus the
// corpus in testdata/fuzz/FuzzParseNighthawk.
func FuzzParseNighthawk(f *testing.F) {
	seedFromTestdata(f, "nighthawk/*", func(b []byte) { f.Add(b) })
	seedFromTestdata(f, "fortio/*.json", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseNighthawk(data, config.DefaultPercentiles)
		if err != nil {
			return
		}
		checkResultInvariants(t, r)
	})
}

// BenchmarkParseNighthawk reads a two-worker JSON output with its log lines
// and a trailing comma.
func BenchmarkParseNighthawk(b *testing.B) {
	data := readTestdata(b, "nighthawk/nighthawk-json-2workers-stderr-trailing-comma.txt")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseNighthawk(data, config.DefaultPercentiles); err != nil {
			b.Fatal(err)
		}
	}
}
