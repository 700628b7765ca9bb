package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// onDisk is the space a file takes on disk (bbolt grows its file sparsely).
func onDisk(t testing.TB, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}

// checkKept fails unless each of the profiles holds exactly its newest
// kept runs of runs, every document readable.
func checkKept(t *testing.T, s *Store, profiles, runs, kept int) {
	t.Helper()
	ctx := context.Background()
	for p := range profiles {
		profile := fmt.Sprintf("svc-%04d", p)
		sums, _, err := s.List(ctx, Query{Profile: profile, Limit: runs + 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != kept {
			t.Fatalf("%s holds %d runs, want %d", profile, len(sums), kept)
		}
		newest := base.Add(time.Duration(runs-1) * time.Minute)
		for i, sum := range sums {
			if want := newest.Add(-time.Duration(i) * time.Minute); !sum.StartTime.Equal(want) {
				t.Fatalf("%s: run %d started %s, want %s", profile, i, sum.StartTime, want)
			}
			if _, err := s.Get(ctx, sum.RunID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Retention drops runs; the pages they held go back to the file system
// when the store prunes at start, and every kept run is still there.
func TestFileShrinksAfterRetention(t *testing.T) {
	dir := t.TempDir()
	const profiles, runs, kept = 20, 400, 100
	s := openStore(t, dir, Options{})
	fillInterleaved(t, s, profiles, runs, base)
	full := onDisk(t, s.Path())
	s.Close()

	s = openStore(t, dir, Options{MaxRuns: kept})
	dropped, err := s.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if dropped != profiles*(runs-kept) {
		t.Fatalf("pruned %d runs, want %d", dropped, profiles*(runs-kept))
	}
	after := onDisk(t, s.Path())
	t.Logf("%d runs: %d bytes on disk; %d kept after retention: %d bytes (%.0f a run)", profiles*runs, full, profiles*kept, after, float64(after)/(profiles*kept))
	if after > full/2 {
		t.Errorf("the file takes %d bytes after retention kept a quarter of the runs, %d before: it did not give space back", after, full)
	}
	checkKept(t, s, profiles, runs, kept)
	if _, err := os.Stat(s.Path() + compactSuffix); !os.IsNotExist(err) {
		t.Errorf("the compaction's copy is left: %v", err)
	}
}

// Documents stored as plain JSON, before compression, stay readable.
func TestPlainJSONRecordsStayReadable(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	old := run{id: "old-1", profile: "old", start: base}.doc()
	raw, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := json.Marshal(summarize(old))
	if err != nil {
		t.Fatal(err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		runs, err := tx.Bucket(bucketProfiles).CreateBucketIfNotExists([]byte("old"))
		if err != nil {
			return err
		}
		if err := runs.Put(indexKey(base, "old-1"), sum); err != nil {
			return err
		}
		return tx.Bucket(bucketDocs).Put([]byte("old-1"), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	save(t, s, run{id: "new-1", profile: "old", start: base.Add(time.Minute)})
	got, err := s.Get(context.Background(), "old-1")
	if err != nil {
		t.Fatal(err)
	}
	sameDoc(t, got, old)
	sums, _, err := s.List(context.Background(), Query{Profile: "old"})
	if err != nil || len(sums) != 2 || sums[1].RunID != "old-1" || sums[1].Latency["99"] == 0 {
		t.Fatalf("listing old and new runs: %+v, %v", sums, err)
	}
	// A compressed record is much smaller than its JSON.
	err = s.view(func(tx *bolt.Tx) error {
		stored := tx.Bucket(bucketDocs).Get([]byte("new-1"))
		if len(stored) > len(raw)/3 {
			t.Errorf("a stored document takes %d bytes, its JSON %d: not compressed", len(stored), len(raw))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// compactHelperEnv makes the test binary a process that opens the store in
// the directory it names with a retention of 100 runs, prunes (and so
// compacts), and exits: TestKillDuringCompactionLosesNothing kills it.
const compactHelperEnv = "PERF_EXPORTER_STORE_COMPACT_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(compactHelperEnv); dir != "" {
		os.Exit(compactHelper(dir))
	}
	os.Exit(m.Run())
}

func compactHelper(dir string) int {
	s, err := Open(dir, Options{MaxRuns: 100})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("opened")
	if _, err := s.Prune(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("pruned")
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// kill -9 at any moment of pruning and compacting loses no kept run: the
// store opens whole afterwards, with every run (the prune had not
// committed) or the kept ones.
func TestKillDuringCompactionLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store")
	}
	const profiles, runs, kept = 30, 400, 100
	seed := t.TempDir()
	s := openStore(t, seed, Options{})
	fillInterleaved(t, s, profiles, runs, base)
	s.Close()
	seedFile, err := os.ReadFile(filepath.Join(seed, FileName))
	if err != nil {
		t.Fatal(err)
	}
	// Kill later and later, until two kills hit a compaction in progress
	// or the helper finishes first.
	killedMidCompaction, finished := 0, false
	for i, delay := 0, time.Duration(0); killedMidCompaction < 2 && !finished; i, delay = i+1, delay*3/2+time.Millisecond {
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, FileName), seedFile, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), compactHelperEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "opened" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait() // killed: the exit error is known
			t.Fatalf("helper did not open the store: %q", lines.Text())
		}
		time.Sleep(delay)
		_, copying := os.Stat(filepath.Join(dir, FileName+compactSuffix))
		if cmd.Process.Kill() != nil || cmd.Wait() == nil {
			finished = true // it exited on its own before the kill
		}
		if copying == nil {
			killedMidCompaction++
		}

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("killed after %s: %v", delay, err)
		}
		sums, _, err := s.List(context.Background(), Query{Profile: "svc-0000", Limit: runs + 1})
		if err != nil {
			t.Fatal(err)
		}
		switch len(sums) {
		case runs:
			checkKept(t, s, profiles, runs, runs)
		case kept:
			checkKept(t, s, profiles, runs, kept)
		default:
			t.Errorf("killed after %s: %d runs, want %d or %d", delay, len(sums), runs, kept)
		}
		s.Close()
		if _, err := os.Stat(filepath.Join(dir, FileName+compactSuffix)); !os.IsNotExist(err) {
			t.Errorf("killed after %s: the interrupted compaction's copy is left: %v", delay, err)
		}
	}
	t.Logf("%d kills hit a compaction in progress", killedMidCompaction)
	if killedMidCompaction == 0 {
		t.Error("the helper finished before any kill hit a compaction in progress: the test proved nothing")
	}
}
