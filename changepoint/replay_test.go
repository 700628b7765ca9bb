package changepoint

import (
	"fmt"
	"reflect"
	"testing"
)

// replayHistories are real-shaped histories: the recorded corpora as they
// are, with a latency step and its recovery, with a throughput drop and an
// error burst, and the base corpus repeated to 1 000 runs with steps (past
// many windows, where the split step's cache drops windows).
func replayHistories(t *testing.T) map[string][]Run {
	out := map[string][]Run{}
	for _, dir := range []string{"corpus-1s", "corpus-3s"} {
		base := loadCorpus(t, dir, "base")
		for _, name := range []string{"base", "heavytail", "errors"} {
			out[dir+"/"+name] = loadCorpus(t, dir, name)
		}
		runs := cloneRuns(base)
		scale(runs, len(runs)/3, 1.3, latencyMetrics...)
		scale(runs, 2*len(runs)/3, 1/1.3, latencyMetrics...)
		out[dir+"/base, latency +30 % then back"] = runs
		runs = cloneRuns(base)
		scale(runs, len(runs)/2, 0.8, AchievedRPS)
		errs := loadCorpus(t, dir, "errors")
		for i := range 20 {
			runs[100+i] = errs[i]
		}
		out[dir+"/base, throughput -20 %, errors"] = runs
		long := make([]Run, 1000)
		for i := range long {
			long[i] = base[i%len(base)]
		}
		long = cloneRuns(long)
		for i, at := range []int{150, 420, 700, 910} {
			scale(long, at, []float64{1.2, 0.9, 1.5, 0.6}[i], latencyMetrics...)
		}
		out[dir+"/base ×1 000 runs, four steps"] = long
	}
	return out
}

// The batch replay of a stored history (AddAll, at start) leaves the
// detector exactly as appending its runs one by one at the end of each run
// did: the same weak change points, change points, levels, p-values and
// statuses. The reference appends without the split step's window cache,
// as before it existed.
func TestAddAllIsAddOneByOne(t *testing.T) {
	found := 0
	for name, runs := range replayHistories(t) {
		t.Run(name, func(t *testing.T) {
			p := DefaultParams()
			ref := NewHistory(p)
			for _, r := range runs {
				for _, s := range ref.series {
					s.windows = nil
				}
				ref.Add(r)
			}
			live := NewHistory(p)
			for _, r := range runs {
				live.Add(r)
			}
			batch := NewHistory(p)
			batch.AddAll(runs)
			halves := NewHistory(p) // a replay, then the runs of a while
			halves.AddAll(runs[:len(runs)/2])
			for _, r := range runs[len(runs)/2:] {
				halves.Add(r)
			}
			found += len(ref.Changes())
			for how, h := range map[string]*History{"Add with the cache": live, "AddAll": batch, "AddAll then Add": halves} {
				if got, want := h.Changes(), ref.Changes(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: change points\n%v\nwant (Add one by one)\n%v", how, got, want)
				}
				if !reflect.DeepEqual(h.runs, ref.runs) {
					t.Errorf("%s: runs differ", how)
				}
				for _, metric := range Metrics() {
					got, want := h.series[metric], ref.series[metric]
					if (got == nil) != (want == nil) {
						t.Fatalf("%s: %s: series present %v, want %v", how, metric, got != nil, want != nil)
					}
					if got == nil {
						continue
					}
					if fmt.Sprint(got.weak, got.changes, got.run, got.y, got.sum, got.sumSq) != fmt.Sprint(want.weak, want.changes, want.run, want.y, want.sum, want.sumSq) {
						t.Errorf("%s: %s: detector state differs: weak %v, want %v", how, metric, got.weak, want.weak)
					}
				}
			}
		})
	}
	if found < 10 {
		t.Fatalf("%d change points in all the histories: they test little", found)
	}
}
