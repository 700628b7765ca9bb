package store

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillInterleaved stores runs of several profiles as a fleet makes them:
// each tick every profile's next run, so the docs of different profiles
// interleave. Batches of ticks share a transaction (not one fsync a run).
func fillInterleaved(t testing.TB, s *Store, profiles, runs int, first time.Time) {
	t.Helper()
	const batch = 20
	for tick := 0; tick < runs; tick += batch {
		err := s.update(func(tx *bolt.Tx) error {
			for i := tick; i < min(tick+batch, runs); i++ {
				for p := range profiles {
					profile := fmt.Sprintf("svc-%04d", p)
					start := first.Add(time.Duration(i) * time.Minute)
					r := run{id: fmt.Sprintf("%s-%s", profile, start.Format("20060102T150405Z")), profile: profile, start: start, scale: 1 + float64((i*7+p)%13)/10}
					rec, err := s.newRecord(r.doc())
					if err != nil {
						return err
					}
					if err := s.put(tx, rec); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A stored run takes at most 2 KB of the file, document, summary, index
// and bbolt's pages included, in steady state: with retention dropping
// the oldest run at every save.
func TestBytesPerStoredRun(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store")
	}
	dir := t.TempDir()
	const profiles, kept = 20, 200
	s := openStore(t, dir, Options{MaxRuns: kept})
	fillInterleaved(t, s, profiles, 2*kept, base)
	info, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	var blocks int64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		blocks = st.Blocks * 512
	}
	perRun := float64(blocks) / (profiles * kept)
	st := s.db.Stats()
	var docsN, docsLeafIn, docsLeafAlloc, idxLeafIn, idxLeafAlloc int
	if err := s.view(func(tx *bolt.Tx) error {
		bs := tx.Bucket(bucketDocs).Stats()
		docsN, docsLeafIn, docsLeafAlloc = bs.KeyN, bs.LeafInuse, bs.LeafAlloc
		ps := tx.Bucket(bucketProfiles).Stats()
		idxLeafIn, idxLeafAlloc = ps.LeafInuse, ps.LeafAlloc
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("free pages %d pending %d; docs %d: leaf inuse %d alloc %d; index leaf inuse %d alloc %d", st.FreePageN, st.PendingPageN, docsN, docsLeafIn, docsLeafAlloc, idxLeafIn, idxLeafAlloc)
	t.Logf("%d runs kept: file %d bytes, %d on disk, %.0f bytes per run", profiles*kept, info.Size(), blocks, perRun)
	if perRun > 2048 {
		t.Errorf("%.0f bytes on disk per stored run, want at most 2048", perRun)
	}
}
