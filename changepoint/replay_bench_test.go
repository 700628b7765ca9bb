package changepoint

import "testing"

func benchReplay(b *testing.B, n int, all bool) {
	base := loadCorpus(b, "corpus-1s", "base")
	runs := make([]Run, n)
	for i := range runs {
		runs[i] = base[i%len(base)]
	}
	b.ResetTimer()
	for range b.N {
		h := NewHistory(DefaultParams())
		if all {
			h.AddAll(runs)
		} else {
			for _, r := range runs {
				h.Add(r)
			}
		}
		_ = h.Changes()
	}
}

func BenchmarkReplay200(b *testing.B)     { benchReplay(b, 200, false) }
func BenchmarkReplay1000(b *testing.B)    { benchReplay(b, 1000, false) }
func BenchmarkReplayAll200(b *testing.B)  { benchReplay(b, 200, true) }
func BenchmarkReplayAll1000(b *testing.B) { benchReplay(b, 1000, true) }
