package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"fortio.org/fortio/stats"
	bolt "go.etcd.io/bbolt"

	"github.com/perf-exporter/perf-exporter/result"
)

// AbortedByCrash is the Error of a run found in flight at start.
const AbortedByCrash = "aborted: the exporter stopped during the run (crash or kill; found in flight at start)"

// inFlight is the mark BeginRun leaves until Save replaces it with a result.
type inFlight struct {
	Profile   string
	StartTime time.Time
	// Pending is the run's document as it started: what was asked (rate,
	// connections, duration), nothing measured. Marks left by versions
	// before it lack it.
	Pending *result.Document `json:",omitempty"`
}

// BeginRun records that a run has started, with its pending document (who,
// when, what was asked), so that if the exporter dies before Save, the next
// start can record it as aborted with what it was asked to do.
func (s *Store) BeginRun(ctx context.Context, pending *result.Document) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if pending == nil {
		return errors.New("store: beginning a run without its document")
	}
	runID, profile := pending.PerfExporter.RunID, pending.PerfExporter.Profile
	if runID == "" || profile == "" {
		return fmt.Errorf("store: beginning run %q of profile %q: run id and profile are required", runID, profile)
	}
	mark, err := json.Marshal(inFlight{Profile: profile, StartTime: pending.StartTime, Pending: pending})
	if err != nil {
		return fmt.Errorf("store: beginning run %s: %w", runID, err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInFlight).Put([]byte(runID), mark)
	})
	if err != nil {
		return fmt.Errorf("store %s: beginning run %s: %w", s.path, runID, err)
	}
	return nil
}

// Save stores the result document of a finished run (any outcome), clears
// its in-flight mark and applies retention to its profile, in one
// transaction that is on disk when Save returns. Saving a run id again
// replaces the earlier document.
func (s *Store) Save(ctx context.Context, doc *result.Document) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	r, err := s.newRecord(doc)
	if err != nil {
		return err
	}
	err = s.update(func(tx *bolt.Tx) error {
		return s.put(tx, r)
	})
	if err != nil {
		return fmt.Errorf("store %s: saving run %s: %w", s.path, r.id, err)
	}
	return nil
}

// RecoverInFlight records every run that was started but never saved (the
// exporter died during it) as aborted, and returns those documents so the
// caller can count them. Call it once at start, before any run begins.
func (s *Store) RecoverInFlight(ctx context.Context, now time.Time) ([]*result.Document, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var recovered []*result.Document
	err := s.update(func(tx *bolt.Tx) error {
		marks := tx.Bucket(bucketInFlight)
		docs := tx.Bucket(bucketDocs)
		var ids [][]byte
		_ = marks.ForEach(func(k, _ []byte) error {
			ids = append(ids, bytes.Clone(k))
			return nil
		})
		for _, id := range ids {
			var mark inFlight
			if err := json.Unmarshal(marks.Get(id), &mark); err != nil {
				return fmt.Errorf("in-flight mark of run %s: %w", id, err)
			}
			if docs.Get(id) != nil { // saved already; only the mark was left
				if err := marks.Delete(id); err != nil {
					return err
				}
				continue
			}
			doc := abortedDocument(string(id), mark, now)
			r, err := s.newRecord(doc)
			if err != nil {
				return err
			}
			if err := s.put(tx, r); err != nil {
				return err
			}
			recovered = append(recovered, doc)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: recovering runs in flight: %w", s.path, err)
	}
	for _, doc := range recovered {
		s.logger.Warn("Recorded a run that was in flight when the exporter stopped as aborted",
			"run", doc.PerfExporter.RunID, "profile", doc.PerfExporter.Profile, "start", doc.StartTime)
	}
	return recovered, nil
}

// abortedDocument is what is known of a run the exporter died during: who,
// when and what it was asked. Its measurements died with the process.
func abortedDocument(id string, mark inFlight, now time.Time) *result.Document {
	note := fmt.Sprintf("found in flight when the exporter started again at %s; what the run measured is lost",
		now.UTC().Format(time.RFC3339))
	if p := mark.Pending; p != nil && p.PerfExporter.RunID == id {
		doc := *p
		doc.PerfExporter.Outcome = result.OutcomeAborted
		doc.PerfExporter.Error = AbortedByCrash
		doc.PerfExporter.Notes = append(slices.Clip(doc.PerfExporter.Notes), note)
		return &doc
	}
	return &result.Document{
		Labels:            mark.Profile,
		StartTime:         mark.StartTime,
		ID:                id,
		DurationHistogram: &stats.HistogramData{},
		Sizes:             &stats.HistogramData{},
		HeaderSizes:       &stats.HistogramData{},
		RetCodes:          map[string]int64{},
		PerfExporter: result.Extras{
			RunID:   id,
			Profile: mark.Profile,
			Outcome: result.OutcomeAborted,
			Error:   AbortedByCrash,
			Codes:   map[string]int64{},
			Notes:   []string{note},
		},
	}
}

// Get returns the document of a run; the error wraps ErrNotFound when the
// store does not hold it (never stored, or dropped by retention).
func (s *Store) Get(ctx context.Context, id string) (*result.Document, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var doc *result.Document
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		doc, err = s.getDoc(tx, []byte(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

func (s *Store) getDoc(tx *bolt.Tx, id []byte) (*result.Document, error) {
	stored := tx.Bucket(bucketDocs).Get(id)
	if stored == nil {
		return nil, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	raw, err := s.codec.decompress(stored)
	if err != nil {
		return nil, fmt.Errorf("store %s: run %s: decompressing document: %w", s.path, id, err)
	}
	doc := new(result.Document)
	if err := json.Unmarshal(raw, doc); err != nil {
		return nil, fmt.Errorf("store %s: run %s: decoding document: %w", s.path, id, err)
	}
	return doc, nil
}

// Prune applies retention to every profile, including ones no longer
// configured (Save prunes only the profile it writes). It returns how many
// runs it dropped.
func (s *Store) Prune(ctx context.Context) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	var dropped int
	err := s.update(func(tx *bolt.Tx) error {
		dropped = 0
		profiles := tx.Bucket(bucketProfiles)
		var names [][]byte
		_ = profiles.ForEachBucket(func(k []byte) error {
			names = append(names, bytes.Clone(k))
			return nil
		})
		for _, name := range names {
			n, err := s.prune(tx, profiles.Bucket(name))
			if err != nil {
				return err
			}
			dropped += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store %s: pruning: %w", s.path, err)
	}
	if dropped > 0 {
		s.maybeCompact(ctx) // give the file system the space back
	}
	return dropped, nil
}

// record is a document ready to write: encoded outside the transaction so
// the write lock is held only for the writes.
type record struct {
	id, profile string
	key         []byte // index key in the profile's bucket
	doc         []byte
	summary     []byte
}

func (s *Store) newRecord(doc *result.Document) (*record, error) {
	if doc == nil {
		return nil, errors.New("store: saving a nil document")
	}
	id, profile := doc.PerfExporter.RunID, doc.PerfExporter.Profile
	if id == "" || profile == "" {
		return nil, fmt.Errorf("store: saving run %q of profile %q: PerfExporter.RunID and PerfExporter.Profile are required", id, profile)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("store: run %s: encoding document: %w", id, err)
	}
	return &record{id: id, profile: profile, key: indexKey(doc.StartTime, id), doc: s.codec.compress(raw), summary: encodeSummary(summarize(doc))}, nil
}

// put writes a record, replacing an earlier one of the same id, clears the
// run's in-flight mark and prunes its profile.
func (s *Store) put(tx *bolt.Tx, r *record) error {
	docs := tx.Bucket(bucketDocs)
	profiles := tx.Bucket(bucketProfiles)
	if old := docs.Get([]byte(r.id)); old != nil {
		if err := s.unindex(profiles, r.id, old); err != nil {
			return err
		}
	}
	runs, err := profiles.CreateBucketIfNotExists([]byte(r.profile))
	if err != nil {
		return fmt.Errorf("profile %s: %w", r.profile, err)
	}
	// Runs arrive in key order, at the end of their profile's range (an
	// index's keys start with the time, run ids with the profile's name):
	// split pages full, not half full as for random inserts, or half the
	// file would be empty space.
	docs.FillPercent, runs.FillPercent = fillPercent, fillPercent
	if err := docs.Put([]byte(r.id), r.doc); err != nil {
		return err
	}
	if err := runs.Put(r.key, r.summary); err != nil {
		return err
	}
	if err := tx.Bucket(bucketInFlight).Delete([]byte(r.id)); err != nil {
		return err
	}
	_, err = s.prune(tx, runs)
	return err
}

// fillPercent is how full bbolt leaves a page it splits.
const fillPercent = 0.95

// unindex removes the index entry of a stored document that is about to be
// replaced (its profile or start time may differ from the new one's).
func (s *Store) unindex(profiles *bolt.Bucket, id string, old []byte) error {
	var key struct {
		StartTime    time.Time
		PerfExporter struct{ Profile string }
	}
	raw, err := s.codec.decompress(old)
	if err != nil {
		return fmt.Errorf("run %s: decompressing the document it replaces: %w", id, err)
	}
	if err := json.Unmarshal(raw, &key); err != nil {
		return fmt.Errorf("run %s: decoding the document it replaces: %w", id, err)
	}
	if runs := profiles.Bucket([]byte(key.PerfExporter.Profile)); runs != nil {
		return runs.Delete(indexKey(key.StartTime, id))
	}
	return nil
}

// prune drops a profile's runs beyond MaxRuns (oldest first) and those that
// started before now-MaxAge.
func (s *Store) prune(tx *bolt.Tx, runs *bolt.Bucket) (int, error) {
	var drop [][]byte
	c := runs.Cursor()
	lim := s.limits()
	if lim.maxRuns > 0 {
		// Walking back over the kept runs reads keys only; BenchmarkSave
		// includes it at the default 1000 runs kept.
		kept := 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if kept < lim.maxRuns {
				kept++
				continue
			}
			drop = append(drop, bytes.Clone(k))
		}
	}
	if lim.maxAge > 0 {
		cutoff := timeKey(s.opts.Now().Add(-lim.maxAge))
		// Oldest first, starting after what the count rule dropped already.
		k, _ := c.First()
		if len(drop) > 0 {
			c.Seek(drop[0])
			k, _ = c.Next()
		}
		for ; k != nil && bytes.Compare(k[:8], cutoff) < 0; k, _ = c.Next() {
			drop = append(drop, bytes.Clone(k))
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	docs := tx.Bucket(bucketDocs)
	for _, k := range drop {
		if err := runs.Delete(k); err != nil {
			return 0, err
		}
		if err := docs.Delete(k[8:]); err != nil {
			return 0, err
		}
	}
	s.logger.Debug("Dropped runs beyond retention", "count", len(drop), "max_runs", lim.maxRuns, "max_age", lim.maxAge)
	return len(drop), nil
}

// indexKey orders a profile's runs by start time, then id.
func indexKey(start time.Time, id string) []byte {
	return append(timeKey(start), id...)
}

// timeKey is start time in nanoseconds, flipped sign bit, big endian: byte
// order is time order, also before 1970.
func timeKey(t time.Time) []byte {
	k := make([]byte, 8, 8+40)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^(1<<63))
	return k
}
