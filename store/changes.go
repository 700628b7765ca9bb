package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Acceptance records that someone made the current level of one metric of a
// profile its new normal: every regression of that metric that started
// before At is accepted. Change points themselves are not stored: they are
// recomputed, deterministically, from the runs; what the runs cannot tell
// is who accepted what, and that is kept here.
type Acceptance struct {
	Metric string
	// ChangeID is the change point that was accepted, for the record.
	ChangeID string
	At       time.Time
}

// Accept records an acceptance.
func (s *Store) Accept(ctx context.Context, profile string, a Acceptance) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint64(nil, uint64(a.At.UnixNano()))
	key = append(key, a.Metric...)
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketAccepted).CreateBucketIfNotExists([]byte(profile))
		if err != nil {
			return fmt.Errorf("store %s: acceptances of profile %s: %w", s.path, profile, err)
		}
		return b.Put(key, data)
	})
}

// Acceptances lists a profile's acceptances, oldest first.
func (s *Store) Acceptances(ctx context.Context, profile string) ([]Acceptance, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var out []Acceptance
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccepted).Bucket([]byte(profile))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var a Acceptance
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("store %s: acceptance %x of profile %s: %w", s.path, k, profile, err)
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// Series returns every kept run of a profile, oldest first: the history the
// change-point detector replays at start.
func (s *Store) Series(ctx context.Context, profile string) ([]Summary, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var out []Summary
	err := s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketProfiles).Bucket([]byte(profile))
		if runs == nil {
			return nil
		}
		return runs.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil
			}
			sum, err := s.decodeSummary(k, v)
			if err != nil {
				return err
			}
			out = append(out, sum)
			return nil
		})
	})
	return out, err
}
