package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/perf-exporter/perf-exporter/result"
)

func TestDocumentIsRealistic(t *testing.T) {
	// The benchmark's write cost is quoted for this document; keep it the
	// size of a real fortio result.
	d := run{id: "a", profile: "p", start: base}.doc()
	if n := len(d.DurationHistogram.Data); n < 35 || n > 45 {
		t.Errorf("test document has %d histogram buckets, want about 40", n)
	}
	if n := len(d.DurationHistogram.Percentiles); n != 5 {
		t.Errorf("test document has %d percentiles, want 5", n)
	}
}

func TestSaveGetList(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	runs := []run{
		{id: "checkout-1", profile: "checkout", start: base},
		{id: "search-1", profile: "search", start: base.Add(time.Minute)},
		{id: "checkout-2", profile: "checkout", start: base.Add(2 * time.Minute), outcome: result.OutcomeSLOMissed},
		{id: "search-2", profile: "search", start: base.Add(3 * time.Minute), outcome: result.OutcomeFailure},
		{id: "checkout-3", profile: "checkout", start: base.Add(4 * time.Minute)},
	}
	save(t, s, runs...)

	for _, r := range runs {
		got, err := s.Get(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		sameDoc(t, got, r.doc())
	}
	if _, err := s.Get(ctx, "checkout-9"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "checkout-9") {
		t.Errorf("Get of an unknown run: got %v, want ErrNotFound naming the id", err)
	}

	list := func(q Query) ([]string, string) {
		t.Helper()
		sums, next, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ids(sums), next
	}
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"all, newest first", Query{}, []string{"checkout-3", "search-2", "checkout-2", "search-1", "checkout-1"}},
		{"one profile", Query{Profile: "search"}, []string{"search-2", "search-1"}},
		{"unknown profile", Query{Profile: "nope"}, nil},
		{"since is inclusive", Query{Since: base.Add(2 * time.Minute)}, []string{"checkout-3", "search-2", "checkout-2"}},
		{"profile and since", Query{Profile: "checkout", Since: base.Add(time.Second)}, []string{"checkout-3", "checkout-2"}},
		{"limit", Query{Limit: 2}, []string{"checkout-3", "search-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := list(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}

	// Pages of two walk every run once, in order, then end.
	var paged []string
	q := Query{Limit: 2}
	for page := 0; ; page++ {
		got, next := list(q)
		paged = append(paged, got...)
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatalf("paging does not end: %v", paged)
		}
		q.Cursor = next
	}
	if want, _ := list(Query{}); !slices.Equal(paged, want) {
		t.Errorf("pages of 2 gave %v, want %v", paged, want)
	}
	// The last full page has no next cursor when nothing follows it.
	if got, next := list(Query{Profile: "search", Limit: 2}); len(got) != 2 || next != "" {
		t.Errorf("a page holding the last runs: got %v and cursor %q, want 2 runs and no cursor", got, next)
	}

	// The summary carries what a listing shows.
	sums, _, err := s.List(ctx, Query{Profile: "checkout", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := runs[4].doc()
	want := Summary{
		RunID: "checkout-3", Profile: "checkout", Engine: "fortio", StartTime: runs[4].start,
		Duration: 30 * time.Second, Outcome: result.OutcomeSuccess, Requests: 3000,
		RequestedQPS: "100", ActualQPS: 99.97, ErrorRatio: d.PerfExporter.ErrorRatio,
	}
	got := sums[0]
	if got.Latency["99"] != d.DurationHistogram.Percentiles[3].Value || len(got.Latency) != 5 {
		t.Errorf("summary latency %v, want the document's five percentiles", got.Latency)
	}
	got.Latency = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}

	for _, bad := range []string{"%%%", "AAAA", "not a cursor!"} {
		if _, _, err := s.List(ctx, Query{Cursor: bad}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("List with cursor %q: got %v, want ErrBadCursor", bad, err)
		}
	}
}

func TestSaveSameIDReplaces(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	save(t, s, run{id: "r", profile: "p", start: base})
	again := run{id: "r", profile: "p", start: base.Add(time.Hour), outcome: result.OutcomeFailure}
	save(t, s, again)
	sums, _, err := s.List(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || !sums[0].StartTime.Equal(again.start) || sums[0].Outcome != result.OutcomeFailure {
		t.Errorf("after saving run r twice, List = %+v, want only the second", sums)
	}
}

func TestSaveRejectsIncompleteDocuments(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := context.Background()
	noID := run{profile: "p", start: base}.doc()
	noProfile := run{id: "r", start: base}.doc()
	for name, d := range map[string]*result.Document{"nil": nil, "no run id": noID, "no profile": noProfile} {
		if err := s.Save(ctx, d); err == nil {
			t.Errorf("Save of a document with %s succeeded", name)
		}
	}
	nan := run{id: "r", profile: "p", start: base}.doc()
	nan.ActualQPS = math.NaN()
	if err := s.Save(ctx, nan); err == nil || !strings.Contains(err.Error(), "run r") {
		t.Errorf("Save of an unencodable document: got %v, want an error naming the run", err)
	}
}

func TestRetentionByCount(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{MaxRuns: 3})
	for i, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		save(t, s, run{id: id, profile: "a", start: base.Add(time.Duration(i) * time.Minute)})
	}
	save(t, s, run{id: "b1", profile: "b", start: base})
	// Saved out of order: an older run than every kept one is dropped at once.
	save(t, s, run{id: "a0", profile: "a", start: base.Add(-time.Hour)})

	sums, _, err := s.List(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(sums), []string{"a5", "a4", "a3", "b1"}; !slices.Equal(got, want) {
		t.Errorf("after 6 runs of a and 1 of b with max_runs 3: %v, want %v", got, want)
	}
	for _, id := range []string{"a0", "a1", "a2"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("run %s beyond max_runs: Get gave %v, want ErrNotFound", id, err)
		}
	}
}

func TestRetentionByAge(t *testing.T) {
	ctx := context.Background()
	now := base.Add(10 * time.Hour)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	s := openStore(t, dir, Options{MaxAge: 2 * time.Hour, Now: clock})
	save(t, s,
		run{id: "old-a", profile: "a", start: now.Add(-3 * time.Hour)}, // dropped by its own save
		run{id: "old-b", profile: "b", start: now.Add(-90 * time.Minute)},
		run{id: "new-a", profile: "a", start: now.Add(-time.Hour)},
	)
	listed := func() []string {
		sums, _, err := s.List(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		return ids(sums)
	}
	if got, want := listed(), []string{"new-a", "old-b"}; !slices.Equal(got, want) {
		t.Errorf("with max_age 2h: %v, want %v", got, want)
	}

	// Time passes; saving to profile a prunes only a, Prune prunes b too.
	now = now.Add(time.Hour)
	save(t, s, run{id: "newer-a", profile: "a", start: now})
	if got, want := listed(), []string{"newer-a", "new-a", "old-b"}; !slices.Equal(got, want) {
		t.Errorf("after saving to a an hour later: %v, want %v", got, want)
	}
	n, err := s.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := listed(), []string{"newer-a", "new-a"}; n != 1 || !slices.Equal(got, want) {
		t.Errorf("Prune dropped %d, left %v; want 1 dropped, %v left", n, got, want)
	}
}

func TestRetentionByCountAndAge(t *testing.T) {
	ctx := context.Background()
	now := base.Add(10 * time.Hour)
	s := openStore(t, t.TempDir(), Options{MaxRuns: 3, MaxAge: time.Hour, Now: func() time.Time { return now }})
	for i := range 6 { // starts 100, 80, 60, 40, 20, 0 minutes ago
		save(t, s, run{id: "r" + string(rune('0'+i)), profile: "p", start: now.Add(-time.Duration(100-20*i) * time.Minute)})
	}
	listed := func() []string {
		sums, _, err := s.List(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		return ids(sums)
	}
	// Age drops r0 and r1 (older than 1h), count drops r2 (60m old, at the
	// age limit).
	if got, want := listed(), []string{"r5", "r4", "r3"}; !slices.Equal(got, want) {
		t.Errorf("max_runs 3 and max_age 1h: %v, want %v", got, want)
	}
	// 50m later r3 is 90m old and r4 70m: the new run makes count drop r3,
	// and age drops r4 among the runs count keeps.
	now = now.Add(50 * time.Minute)
	save(t, s, run{id: "r6", profile: "p", start: now})
	if got, want := listed(), []string{"r6", "r5"}; !slices.Equal(got, want) {
		t.Errorf("max_runs 3 and max_age 1h, 50m later: %v, want %v", got, want)
	}
}

func TestRestartKeepsHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	runs := []run{
		{id: "a1", profile: "a", start: base, scale: 1},
		{id: "a2", profile: "a", start: base.Add(time.Minute), scale: 2},
		{id: "a3", profile: "a", start: base.Add(2 * time.Minute), outcome: result.OutcomeFailure},
		{id: "b1", profile: "b", start: base, outcome: result.OutcomeSLOMissed},
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	save(t, s, runs...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, Options{})
	for _, r := range runs {
		got, err := s.Get(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		sameDoc(t, got, r.doc())
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 {
		t.Fatalf("Latest has %d profiles, want 2: %v", len(latest), latest)
	}
	a := latest["a"]
	if a.Run == nil || a.Run.PerfExporter.RunID != "a3" {
		t.Errorf("Latest run of a: %+v, want a3 (failures count as the last run)", a.Run)
	}
	if a.Success == nil || a.Success.RunID != "a2" || !a.Success.End().Equal(runs[1].start.Add(30*time.Second)) {
		t.Errorf("Latest success of a: %+v, want a2 ending 30s after its start", a.Success)
	}
	if b := latest["b"]; b.Run == nil || b.Run.PerfExporter.RunID != "b1" || b.Success != nil {
		t.Errorf("Latest of b: %+v, want run b1 and no success", b)
	}
	baseline, n, err := s.Baseline(ctx, "a", 10)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := runs[0].doc(), runs[1].doc()
	want := (d1.DurationHistogram.Percentiles[3].Value + d2.DurationHistogram.Percentiles[3].Value) / 2
	if n != 2 || baseline["99"] != want {
		t.Errorf("Baseline of a after restart: %v over %d runs, want p99 %v over 2", baseline, n, want)
	}
}

func TestBaseline(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{})
	// Oldest first; scale multiplies every latency of a run.
	scales := []struct {
		scale   float64
		outcome string
	}{
		{1, result.OutcomeSuccess},
		{3, result.OutcomeSuccess},
		{50, result.OutcomeSLOMissed},
		{2, result.OutcomeSuccess},
		{60, result.OutcomeFailure},
		{70, result.OutcomeAborted},
		{4, result.OutcomeSuccess},
	}
	for i, sc := range scales {
		save(t, s, run{id: "r" + string(rune('0'+i)), profile: "p", start: base.Add(time.Duration(i) * time.Minute), scale: sc.scale, outcome: sc.outcome})
	}
	save(t, s, run{id: "other", profile: "q", start: base, scale: 100})
	p99 := func(scale float64) float64 {
		return run{scale: scale}.doc().DurationHistogram.Percentiles[3].Value
	}
	for _, tc := range []struct {
		n, wantRuns int
		want        float64
	}{
		{1, 1, p99(4)},
		{3, 3, p99(3)},                 // 4, 2, 3: the failed and missed runs between do not count
		{4, 4, (p99(2) + p99(3)) / 2},  // 4, 2, 3, 1
		{10, 4, (p99(2) + p99(3)) / 2}, // fewer kept than asked
		{2, 2, (p99(4) + p99(2)) / 2},  // even count: mean of the middle two
	} {
		got, n, err := s.Baseline(ctx, "p", tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.wantRuns || got["99"] != tc.want || len(got) != 5 {
			t.Errorf("Baseline(p, %d) = %v over %d runs, want p99 %v over %d runs, 5 percentiles", tc.n, got, n, tc.want, tc.wantRuns)
		}
	}
	if got, n, err := s.Baseline(ctx, "unknown", 10); err != nil || n != 0 || len(got) != 0 {
		t.Errorf("Baseline of a profile without runs = %v, %d, %v; want nothing, 0, no error", got, n, err)
	}
	if _, _, err := s.Baseline(ctx, "p", 0); err == nil {
		t.Error("Baseline over 0 runs succeeded")
	}
}

func TestRecoverInFlight(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"crashed", "finished"} {
		if err := s.BeginRun(ctx, pending(id, "p", base)); err != nil {
			t.Fatal(err)
		}
	}
	save(t, s, run{id: "finished", profile: "p", start: base})
	s.Close() // as after a crash: the in-flight mark is on disk

	s = openStore(t, dir, Options{})
	now := base.Add(time.Hour)
	got, err := s.RecoverInFlight(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PerfExporter.RunID != "crashed" {
		t.Fatalf("RecoverInFlight returned %d documents (%v), want only run crashed", len(got), got)
	}
	stored, err := s.Get(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	sameDoc(t, stored, got[0])
	x := stored.PerfExporter
	if x.Outcome != result.OutcomeAborted || x.Error != AbortedByCrash || x.Profile != "p" || !stored.StartTime.Equal(base) {
		t.Errorf("recovered run: outcome %q, error %q, profile %q, start %v; want aborted, %q, p, %v",
			x.Outcome, x.Error, x.Profile, stored.StartTime, AbortedByCrash, base)
	}
	if fin, err := s.Get(ctx, "finished"); err != nil || fin.PerfExporter.Outcome != result.OutcomeSuccess {
		t.Errorf("a saved run was touched by recovery: %v, %v", fin, err)
	}
	if again, err := s.RecoverInFlight(ctx, now); err != nil || len(again) != 0 {
		t.Errorf("second RecoverInFlight = %v, %v; want nothing left in flight", again, err)
	}
}

func TestOpenLockedByAnotherHandle(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, Options{})
	_, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	path := filepath.Join(dir, FileName)
	if err == nil || !strings.Contains(err.Error(), "store "+path+" is locked by another process") {
		t.Errorf("opening a store that is open: got %v, want it locked, naming %s", err, path)
	}
}

func TestOpenCorrupt(t *testing.T) {
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 13)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"a few bytes of garbage", func(t *testing.T, path string) { writeFile(t, path, []byte("not a database\n")) }},
		{"pages of garbage", func(t *testing.T, path string) { writeFile(t, path, garbage(64<<10)) }},
		{"meta pages overwritten", func(t *testing.T, path string) {
			fillStore(t, filepath.Dir(path))
			overwrite(t, path, 0, garbage(8<<10))
		}},
		{"data pages overwritten", func(t *testing.T, path string) {
			fillStore(t, filepath.Dir(path))
			overwrite(t, path, 16<<10, garbage(32<<10))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			tc.damage(t, path)
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open of a damaged store succeeded")
			}
			if !strings.Contains(err.Error(), "store "+path) || !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("Open of a damaged store: %v; want an error saying %s is corrupt", err, path)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

func TestOpenRefusesAnotherBoltDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), path+" is not a perf-exporter store") {
		t.Errorf("Open of someone else's bbolt file: %v; want it refused, naming %s", err, path)
	}
}

// fillStore writes enough runs to span many pages.
func fillStore(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 40 {
		save(t, s, run{id: "r" + string(rune('A'+i)), profile: "p", start: base.Add(time.Duration(i) * time.Minute)})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSavesAndReads(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Options{MaxRuns: 5})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				profile := "p" + string(rune('0'+w))
				r := run{id: fmt.Sprintf("%s-%d", profile, i), profile: profile, start: base.Add(time.Duration(i) * time.Minute)}
				if err := s.Save(ctx, r.doc()); err != nil {
					t.Error(err)
				}
				if _, _, err := s.List(ctx, Query{Limit: 3}); err != nil {
					t.Error(err)
				}
				if _, _, err := s.Baseline(ctx, profile, 3); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for w := range 4 {
		profile := "p" + string(rune('0'+w))
		if got := latest[profile].Run; got == nil || got.PerfExporter.RunID != profile+"-9" {
			t.Errorf("latest run of %s after concurrent saves: %v, want %s-9", profile, got, profile)
		}
		sums, _, err := s.List(ctx, Query{Profile: profile})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 5 {
			t.Errorf("profile %s kept %d runs, want 5", profile, len(sums))
		}
	}
}

func TestCancelledContext(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Save(ctx, run{id: "r", profile: "p", start: base}.doc()); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Get(context.Background(), "r"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a Save cancelled before it began stored the run: %v", err)
	}
}

func TestSetRetentionAppliesToTheNextSave(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{MaxRuns: 10})
	for i, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		save(t, s, run{id: id, profile: "a", start: base.Add(time.Duration(i) * time.Minute)})
	}
	s.SetRetention(2, 0)
	save(t, s, run{id: "a6", profile: "a", start: base.Add(time.Hour)})
	sums, _, err := s.List(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(sums), []string{"a6", "a5"}; !slices.Equal(got, want) {
		t.Errorf("after lowering max_runs to 2: %v, want %v", got, want)
	}
}
