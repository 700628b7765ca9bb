package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// BenchmarkSave is the cost of storing one run in steady state: a realistic
// document into a profile already at the default retention (1000 runs), so
// each save also drops the oldest run. The commit's fsync dominates; the
// figure depends on the disk under the benchmark's temp dir.
func BenchmarkSave(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir(), Options{MaxRuns: config.DefaultRetainRuns})
	fill(b, s, "p", config.DefaultRetainRuns)
	docs := make([]*result.Document, 0, 64)
	for i := range cap(docs) {
		docs = append(docs, run{profile: "p", scale: 1 + float64(i%7)}.doc())
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := *docs[i%len(docs)] // Save does not modify the document
		n := config.DefaultRetainRuns + i
		d.ID = fmt.Sprintf("p-%09d", n)
		d.PerfExporter.RunID = d.ID
		d.StartTime = base.Add(time.Duration(n) * time.Minute)
		if err := s.Save(ctx, &d); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if raw, err := json.Marshal(docs[0]); err == nil {
		b.ReportMetric(float64(len(raw)), "doc-bytes")
	}
}

// BenchmarkOpen is the start-up cost of a full store (10 profiles at the
// default retention), dominated by the read of every key that finds damage.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s := openStore(b, dir, Options{})
	for p := range 10 {
		fill(b, s, fmt.Sprintf("p%d", p), config.DefaultRetainRuns)
	}
	s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		b.ReportMetric(float64(fi.Size())/(10*float64(config.DefaultRetainRuns)), "file-bytes/run")
	}
}

// BenchmarkList is one page of the results API over a full store.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir(), Options{})
	for p := range 10 {
		fill(b, s, fmt.Sprintf("p%d", p), config.DefaultRetainRuns)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.List(ctx, Query{Limit: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// fill stores n runs of a profile in one transaction (not n fsyncs).
func fill(b *testing.B, s *Store, profile string, n int) {
	b.Helper()
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			r := run{id: fmt.Sprintf("%s-%09d", profile, i), profile: profile, start: base.Add(time.Duration(i) * time.Minute)}
			rec, err := s.newRecord(r.doc())
			if err != nil {
				return err
			}
			if err := s.put(tx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
