package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/result"
)

// bigDoc is a run whose document needs more pages than a store's free
// list holds, so saving it has to grow the file: on a full disk it fails.
func bigDoc(id string, start time.Time) *result.Document {
	doc := run{id: id, profile: "checkout", start: start}.doc()
	// Random hex: documents are stored compressed, and this one must
	// still take about 256 KiB.
	noise := make([]byte, 256<<10)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(noise) // never fails
	doc.PerfExporter.Notes = []string{hex.EncodeToString(noise)}
	return doc
}

func openResilient(t *testing.T, dir string, ropts ResilientOptions) *Resilient {
	t.Helper()
	r, err := OpenResilient(dir, Options{}, ropts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// wantStatus fails unless the store's status is as expected; reason is a
// part of the reason ("" for none).
func wantStatus(t *testing.T, r *Resilient, available bool, failures uint64, reason string) {
	t.Helper()
	st := r.Status()
	if st.Available != available || st.WriteFailures != failures || (reason == "") != (st.Reason == "") || !strings.Contains(st.Reason, reason) {
		t.Errorf("status %+v, want available %v, %d write failures, reason containing %q", st, available, failures, reason)
	}
}

// TestFullDiskThenSpaceAgain: on a real full filesystem (a 1 MiB tmpfs
// filled up) a save fails and is reported, what was saved before stays
// readable and unchanged, and once space is freed the next save works,
// without opening the store again.
func TestFullDiskThenSpaceAgain(t *testing.T) {
	dir := testutil.SmallFilesystem(t, 1<<20)
	r := openResilient(t, dir, ResilientOptions{})
	wantStatus(t, r, true, 0, "")
	ctx := context.Background()
	before := []*result.Document{
		run{id: "r1", profile: "checkout", start: base}.doc(),
		run{id: "r2", profile: "checkout", start: base.Add(time.Minute)}.doc(),
	}
	for _, d := range before {
		if err := r.Save(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	filler := testutil.Fill(t, dir)

	err := r.Save(ctx, bigDoc("r3", base.Add(2*time.Minute)))
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("save on a full disk: %v, want no space left on device", err)
	}
	wantStatus(t, r, false, 1, "no space left on device")
	if err := r.BeginRun(ctx, bigDoc("r4", base.Add(3*time.Minute))); err == nil {
		t.Fatal("BeginRun on a full disk succeeded")
	}
	wantStatus(t, r, false, 2, "no space left on device")
	for _, d := range before {
		got, err := r.Get(ctx, d.PerfExporter.RunID)
		if err != nil {
			t.Fatalf("reading %s on a full disk: %v", d.PerfExporter.RunID, err)
		}
		sameDoc(t, got, d)
	}
	if _, err := r.Get(ctx, "r3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the failed save left run r3 behind: %v", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(ctx, bigDoc("r3", base.Add(2*time.Minute))); err != nil {
		t.Fatalf("save after freeing space: %v", err)
	}
	wantStatus(t, r, true, 2, "")
	sums, _, err := r.List(ctx, Query{Profile: "checkout"})
	if err != nil || strings.Join(ids(sums), ",") != "r3,r2,r1" {
		t.Errorf("runs after the disk was full: %v %v, want r3,r2,r1", ids(sums), err)
	}
	for _, d := range before {
		got, err := r.Get(ctx, d.PerfExporter.RunID)
		if err != nil {
			t.Fatal(err)
		}
		sameDoc(t, got, d)
	}
}

// TestFullDiskBeforeTheStoreExists: a store that cannot even be created
// (full disk) is unavailable; the half-made file is not left to look
// corrupt, and the first write after space is freed creates it.
func TestFullDiskBeforeTheStoreExists(t *testing.T) {
	dir := testutil.SmallFilesystem(t, 1<<20)
	filler := testutil.Fill(t, dir)
	r := openResilient(t, dir, ResilientOptions{})
	wantStatus(t, r, false, 0, "no space left on device")
	if _, _, err := r.List(context.Background(), Query{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("List without a store: %v, want ErrUnavailable", err)
	}
	if err := r.Save(context.Background(), run{id: "r1", profile: "checkout", start: base}.doc()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Save without a store: %v, want ErrUnavailable", err)
	}
	wantStatus(t, r, false, 1, "no space left on device")
	if _, err := os.Stat(r.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a store that could not be created left %s behind: %v", r.Path(), err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(context.Background(), run{id: "r1", profile: "checkout", start: base}.doc()); err != nil {
		t.Fatalf("save once space is free: %v", err)
	}
	wantStatus(t, r, true, 1, "")
}

// TestReadOnlyVolume: on a read-only volume the history is read but not
// written; once the volume is writable, the next write opens it for
// writing, with every earlier run still there.
func TestReadOnlyVolume(t *testing.T) {
	dir := testutil.SmallFilesystem(t, 1<<20)
	first := run{id: "r1", profile: "checkout", start: base}.doc()
	st := openStore(t, dir, Options{})
	if err := st.Save(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	st.Close()
	testutil.Remount(t, dir, true)

	r := openResilient(t, dir, ResilientOptions{})
	wantStatus(t, r, false, 0, "read-only file system")
	if !strings.Contains(r.Status().Reason, "the history is read, not written") {
		t.Errorf("reason %q does not say the history is still read", r.Status().Reason)
	}
	got, err := r.Get(context.Background(), "r1")
	if err != nil {
		t.Fatalf("reading a read-only store: %v", err)
	}
	sameDoc(t, got, first)
	if err := r.Save(context.Background(), run{id: "r2", profile: "checkout", start: base.Add(time.Minute)}.doc()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Save on a read-only volume: %v, want ErrUnavailable", err)
	}
	wantStatus(t, r, false, 1, "read-only file system")

	testutil.Remount(t, dir, false)
	if err := r.Save(context.Background(), run{id: "r2", profile: "checkout", start: base.Add(time.Minute)}.doc()); err != nil {
		t.Fatalf("save once the volume is writable: %v", err)
	}
	wantStatus(t, r, true, 1, "")
	sums, _, err := r.List(context.Background(), Query{})
	if err != nil || strings.Join(ids(sums), ",") != "r2,r1" {
		t.Errorf("runs: %v %v, want r2,r1", ids(sums), err)
	}
}

// corruptStore writes a damaged store file (a valid one with garbage over
// its meta pages) and returns its bytes.
func corruptStore(t *testing.T, dir string) []byte {
	t.Helper()
	st := openStore(t, dir, Options{})
	save(t, st, run{id: "r1", profile: "checkout", start: base})
	st.Close()
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, bytes.Repeat([]byte{0xAB}, 8192))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCorruptStoreIsKept: without ResetCorrupt a corrupt file is neither
// written nor moved; the exporter runs without history, saying how to
// start a new one.
func TestCorruptStoreIsKept(t *testing.T) {
	dir := t.TempDir()
	data := corruptStore(t, dir)
	r := openResilient(t, dir, ResilientOptions{})
	wantStatus(t, r, false, 0, "is corrupt")
	if reason := r.Status().Reason; !strings.Contains(reason, "running without history (restart with --storage.reset-corrupt") {
		t.Errorf("reason %q does not say what to do", reason)
	}
	if err := r.Save(context.Background(), run{id: "r2", profile: "checkout", start: base}.doc()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Save into a corrupt store: %v", err)
	}
	if _, err := r.Get(context.Background(), "r1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Get from a corrupt store: %v", err)
	}
	wantStatus(t, r, false, 1, "is corrupt")
	r.Close()
	after, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil || !bytes.Equal(after, data) {
		t.Errorf("the corrupt file changed (%v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files in the storage directory: %v, want only %s", entries, FileName)
	}
}

// TestCorruptStoreMovedAsideWhenAsked: with ResetCorrupt the corrupt file
// is renamed, byte for byte, and an empty store takes its place.
func TestCorruptStoreMovedAsideWhenAsked(t *testing.T) {
	dir := t.TempDir()
	data := corruptStore(t, dir)
	r, err := OpenResilient(dir, Options{Now: func() time.Time { return base }}, ResilientOptions{ResetCorrupt: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	wantStatus(t, r, true, 0, "")
	moved, err := os.ReadFile(filepath.Join(dir, FileName+".corrupt-20261127T035012Z"))
	if err != nil || !bytes.Equal(moved, data) {
		t.Fatalf("the corrupt file was not moved aside unchanged: %v", err)
	}
	if err := r.Save(context.Background(), run{id: "r2", profile: "checkout", start: base}.doc()); err != nil {
		t.Fatal(err)
	}
	sums, _, err := r.List(context.Background(), Query{})
	if err != nil || strings.Join(ids(sums), ",") != "r2" {
		t.Errorf("runs in the new store: %v %v", ids(sums), err)
	}
}

// TestClosedStoreIsNotOpenedAgain: a write after Close (a run saved late
// at shutdown) fails; it does not open the store behind the caller's back.
func TestClosedStoreIsNotOpenedAgain(t *testing.T) {
	dir := t.TempDir()
	r := openResilient(t, dir, ResilientOptions{})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(context.Background(), run{id: "r1", profile: "checkout", start: base}.doc()); err == nil || !strings.Contains(err.Error(), "is closed") {
		t.Errorf("Save after Close: %v", err)
	}
	// Not held open: another process can take the store.
	st := openStore(t, dir, Options{LockTimeout: 10 * time.Millisecond})
	st.Close()
}

// TestLockedStoreStopsTheStart: a store another process holds is the one
// failure OpenResilient does not ride out: two exporters would both run
// the schedule.
func TestLockedStoreStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, Options{})
	_, err := OpenResilient(dir, Options{LockTimeout: 10 * time.Millisecond}, ResilientOptions{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("OpenResilient of a locked store: %v, want ErrLocked", err)
	}
}

// TestResilientHasEveryStoreMethod: the daemon uses the store through a
// Resilient, so a method added to Store needs its Resilient counterpart
// (a read or a write), with the same signature.
func TestResilientHasEveryStoreMethod(t *testing.T) {
	st, rs := reflect.TypeFor[*Store](), reflect.TypeFor[*Resilient]()
	for m := range st.Methods() {
		rm, ok := rs.MethodByName(m.Name)
		if !ok {
			t.Errorf("Resilient lacks Store.%s", m.Name)
			continue
		}
		if m.Type.String() != strings.Replace(rm.Type.String(), "*store.Resilient", "*store.Store", 1) {
			t.Errorf("Resilient.%s is %s, Store.%s is %s", m.Name, rm.Type, m.Name, m.Type)
		}
	}
}
