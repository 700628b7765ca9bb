package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/perf-exporter/perf-exporter/result"
)

// Summary is the part of a run's document that lists, charts and baselines
// need. It is stored next to the document, so listing runs never decodes
// histograms.
type Summary struct {
	RunID        string
	Profile      string
	Engine       string
	StartTime    time.Time
	Duration     time.Duration // actual; nanoseconds in JSON, as in the document
	Outcome      string
	Error        string `json:",omitempty"`
	Requests     int64
	RequestedQPS string // a number, or "max"
	ActualQPS    float64
	ErrorRatio   float64
	// Latency maps percentile labels ("50", "99.9") to seconds.
	Latency map[string]float64
	// CorrectedP99 is the coordinated-omission corrected p99 in seconds,
	// where the engine measures it (for change-point detection).
	CorrectedP99 float64 `json:",omitempty"`
}

// End is when the run finished.
func (s Summary) End() time.Time { return s.StartTime.Add(s.Duration) }

func summarize(doc *result.Document) Summary {
	s := Summary{
		RunID:        doc.PerfExporter.RunID,
		Profile:      doc.PerfExporter.Profile,
		Engine:       doc.PerfExporter.Engine,
		StartTime:    doc.StartTime,
		Duration:     doc.ActualDuration,
		Outcome:      doc.PerfExporter.Outcome,
		Error:        doc.PerfExporter.Error,
		Requests:     doc.PerfExporter.Requests,
		RequestedQPS: doc.RequestedQPS,
		ActualQPS:    doc.ActualQPS,
		ErrorRatio:   doc.PerfExporter.ErrorRatio,
	}
	if v, ok := result.PercentileOf(doc.PerfExporter.CorrectedDurationHistogram, 99); ok {
		s.CorrectedP99 = v
	}
	if h := doc.DurationHistogram; h != nil && len(h.Percentiles) > 0 {
		s.Latency = make(map[string]float64, len(h.Percentiles))
		for _, p := range h.Percentiles {
			s.Latency[result.PercentileLabel(p.Percentile)] = p.Value
		}
	}
	return s
}

// Query selects runs for List.
type Query struct {
	// Profile limits the list to one profile; "" lists every profile.
	Profile string
	// Since drops runs that started before it; zero = no bound.
	Since time.Time
	// Limit is the page size; 0 or less = no limit.
	Limit int
	// Cursor continues a listing where the page that returned it ended.
	Cursor string
}

// ErrBadCursor is returned (wrapped) for a cursor List did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// List returns runs newest first (by start time), and the cursor of the
// next page, "" after the last one.
func (s *Store) List(ctx context.Context, q Query) ([]Summary, string, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, "", err
	}
	var before []byte
	if q.Cursor != "" {
		var err error
		if before, err = base64.RawURLEncoding.DecodeString(q.Cursor); err != nil || len(before) <= 8 {
			return nil, "", fmt.Errorf("cursor %q: %w", q.Cursor, ErrBadCursor)
		}
	}
	var since []byte
	if !q.Since.IsZero() {
		since = timeKey(q.Since)
	}
	var (
		out  []Summary
		next string
	)
	err := s.view(func(tx *bolt.Tx) error {
		m, err := newMerger(tx.Bucket(bucketProfiles), q.Profile, before)
		if err != nil {
			return err
		}
		for i := 0; ; i++ {
			if i%256 == 0 {
				if err := ctxErr(ctx); err != nil {
					return err
				}
			}
			k, v := m.next()
			if k == nil || (since != nil && bytes.Compare(k[:8], since) < 0) {
				return nil
			}
			if q.Limit > 0 && len(out) == q.Limit {
				next = base64.RawURLEncoding.EncodeToString(indexKey(out[len(out)-1].StartTime, out[len(out)-1].RunID))
				return nil
			}
			sum, err := s.decodeSummary(k, v)
			if err != nil {
				return err
			}
			out = append(out, sum)
		}
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func (s *Store) decodeSummary(k, v []byte) (Summary, error) {
	if len(v) > 0 && v[0] == summaryV1 {
		sum, err := decodeBinarySummary(v)
		if err != nil {
			return Summary{}, fmt.Errorf("store %s: run %s: decoding summary: %w", s.path, k[8:], err)
		}
		return sum, nil
	}
	var sum Summary // JSON, written by earlier versions
	raw, err := s.codec.decompress(v)
	if err != nil {
		return Summary{}, fmt.Errorf("store %s: run %s: decompressing summary: %w", s.path, k[8:], err)
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		return Summary{}, fmt.Errorf("store %s: run %s: decoding summary: %w", s.path, k[8:], err)
	}
	return sum, nil
}

// merger walks the index of one or every profile newest first, merging the
// profiles by key (start time, then id).
type merger struct {
	cursors []*bolt.Cursor
	keys    [][]byte // current key of each cursor, nil when exhausted
	vals    [][]byte
}

// newMerger positions one cursor per profile at its newest key before
// `before` (at its newest key if before is nil).
func newMerger(profiles *bolt.Bucket, profile string, before []byte) (*merger, error) {
	var buckets []*bolt.Bucket
	if profile != "" {
		if b := profiles.Bucket([]byte(profile)); b != nil {
			buckets = append(buckets, b)
		}
	} else {
		err := profiles.ForEachBucket(func(name []byte) error {
			buckets = append(buckets, profiles.Bucket(name))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	m := &merger{}
	for _, b := range buckets {
		c := b.Cursor()
		var k, v []byte
		if before == nil {
			k, v = c.Last()
		} else if k, _ = c.Seek(before); k == nil {
			k, v = c.Last() // every key is before the cursor
		} else {
			k, v = c.Prev() // Seek found the first key >= before
		}
		m.cursors = append(m.cursors, c)
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
	}
	return m, nil
}

// next returns the newest key not returned yet, nil when done.
func (m *merger) next() ([]byte, []byte) {
	best := -1
	for i, k := range m.keys {
		if k != nil && (best < 0 || bytes.Compare(k, m.keys[best]) > 0) {
			best = i
		}
	}
	if best < 0 {
		return nil, nil
	}
	k, v := m.keys[best], m.vals[best]
	m.keys[best], m.vals[best] = m.cursors[best].Prev()
	return k, v
}

// Last is what the store holds of a profile's most recent runs.
type Last struct {
	// Run is the newest completed run's document (success, slo_missed or
	// failure), nil if none is kept. Aborted runs (shutdown, crash) are
	// passed over: they measured nothing whole, and the gauges restored
	// from Run must read as they did before the exporter stopped.
	Run *result.Document
	// Success is the newest successful run, nil if none is kept.
	Success *Summary
}

// Latest returns, per profile with stored runs, its newest completed run
// and newest successful run: what the last-run gauges show, restored at
// start.
func (s *Store) Latest(ctx context.Context) (map[string]Last, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	out := map[string]Last{}
	err := s.view(func(tx *bolt.Tx) error {
		profiles := tx.Bucket(bucketProfiles)
		return profiles.ForEachBucket(func(name []byte) error {
			c := profiles.Bucket(name).Cursor()
			var last Last
			var runKey []byte
			k, v := c.Last()
			if k == nil {
				return nil
			}
			for ; k != nil && (runKey == nil || last.Success == nil); k, v = c.Prev() {
				sum, err := s.decodeSummary(k, v)
				if err != nil {
					return err
				}
				if runKey == nil && sum.Outcome != result.OutcomeAborted {
					runKey = k
				}
				if last.Success == nil && sum.Outcome == result.OutcomeSuccess {
					last.Success = &sum
				}
			}
			if runKey != nil {
				doc, err := s.getDoc(tx, runKey[8:])
				if err != nil {
					return err
				}
				last.Run = doc
			}
			out[string(name)] = last
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Baseline returns, per percentile label, the median latency in seconds of
// the profile's last n successful runs, and how many runs that was (fewer
// than n when fewer are kept; 0 and an empty map when none are). Runs that
// missed their objectives, failed or were aborted do not count: a baseline
// is what the service does when healthy.
func (s *Store) Baseline(ctx context.Context, profile string, n int) (map[string]float64, int, error) {
	return s.BaselineWithin(ctx, profile, n, time.Time{}, time.Time{})
}

// BaselineWithin is Baseline over the runs that started at or after from and
// before until (a zero time is no bound): the runs of one level of the
// profile, as the change points delimit it.
func (s *Store) BaselineWithin(ctx context.Context, profile string, n int, from, until time.Time) (map[string]float64, int, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, 0, err
	}
	if n <= 0 {
		return nil, 0, fmt.Errorf("store: baseline of profile %s over %d runs: need at least one", profile, n)
	}
	values := map[string][]float64{}
	used := 0
	err := s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketProfiles).Bucket([]byte(profile))
		if runs == nil {
			return nil
		}
		c := runs.Cursor()
		for k, v := c.Last(); k != nil && used < n; k, v = c.Prev() {
			sum, err := s.decodeSummary(k, v)
			if err != nil {
				return err
			}
			if sum.Outcome != result.OutcomeSuccess || !from.IsZero() && sum.StartTime.Before(from) ||
				!until.IsZero() && !sum.StartTime.Before(until) {
				continue
			}
			used++
			for label, seconds := range sum.Latency {
				values[label] = append(values[label], seconds)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]float64, len(values))
	for label, vs := range values {
		out[label] = median(vs)
	}
	return out, used, nil
}

// median of a non-empty slice, which it sorts.
func median(vs []float64) float64 {
	slices.Sort(vs)
	mid := len(vs) / 2
	if len(vs)%2 == 1 {
		return vs[mid]
	}
	return (vs[mid-1] + vs[mid]) / 2
}
