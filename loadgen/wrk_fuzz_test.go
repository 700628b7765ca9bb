package loadgen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/perf-exporter/perf-exporter/config"
)

func seedFromTestdata(f *testing.F, pattern string, add func(data []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzParseWrk: no input makes the wrk/wrk2 reader panic or hang, and what
// it returns is a usable Result. Seeds: every sample, plus the corpus in
// testdata/fuzz/FuzzParseWrk.
func FuzzParseWrk(f *testing.F) {
	seedFromTestdata(f, "wrk/*.txt", func(b []byte) { f.Add(b, false) })
	seedFromTestdata(f, "wrk2/*.txt", func(b []byte) { f.Add(b, true) })
	f.Fuzz(func(t *testing.T, data []byte, wrk2 bool) {
		flavour := config.EngineWrk
		if wrk2 {
			flavour = config.EngineWrk2
		}
		r, err := parseWrk(data, flavour, config.DefaultPercentiles)
		if err != nil {
			return
		}
		checkResultInvariants(t, r)
	})
}

// BenchmarkParseWrk reads the largest wrk2 report: two HdrHistogram
// blocks with their spectra.
func BenchmarkParseWrk(b *testing.B) {
	data := readTestdata(b, "wrk2/local-wrk2-4.0.0-errors-U-R400.txt")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseWrk(data, config.EngineWrk2, config.DefaultPercentiles); err != nil {
			b.Fatal(err)
		}
	}
}
