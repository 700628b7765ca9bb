package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/perf-exporter/perf-exporter/result"
)

// ErrUnavailable is what a Resilient's reads wrap while no store is open,
// and its writes while none is open for writing.
var ErrUnavailable = errors.New("the run history is unavailable")

// ResetCorruptFlag is the serve flag that lets a Resilient move a corrupt
// file aside; the reasons it gives name it.
const ResetCorruptFlag = "--storage.reset-corrupt"

// Resilient is the run history as the daemon uses it: a Store that may be
// missing or failing without taking the daemon down. A full disk, a
// read-only volume or a damaged file leave the exporter serving metrics and
// running its schedule; Status says what is wrong, for the
// perf_exporter_store_* metrics and the landing page.
//
//   - A write that fails (no space left) is reported and the next one is
//     tried as usual: bbolt rolls a failed transaction back, so what was on
//     disk stays as it was, and writes resume as soon as space comes back.
//   - A store that cannot be opened for writing (read-only volume, full disk
//     before the file was created) is opened again at every write, so it
//     comes back without a restart. Meanwhile an existing file is read
//     read-only, so the history can still be browsed.
//   - A corrupt file is never written to. With ResetCorrupt it is renamed
//     aside (runs.db.corrupt-<time>) and an empty store started; without,
//     the exporter runs without history.
type Resilient struct {
	dir          string
	resetCorrupt bool
	logger       *slog.Logger

	// mu guards the open store: operations hold it shared, opening again
	// (which closes a read-only store) holds it exclusively.
	mu       sync.RWMutex
	st       *Store // nil: none open
	readOnly bool
	closed   bool    // by Close: never opened again
	opts     Options // with the retention in force, for opening again

	available atomic.Bool
	failures  atomic.Uint64
	reasonMu  sync.Mutex
	reason    string
}

// ResilientOptions are a Resilient's own; the Store's are in Options.
type ResilientOptions struct {
	// ResetCorrupt moves a corrupt file aside and starts an empty store
	// (ResetCorruptFlag); without it a corrupt file leaves the history
	// unavailable.
	ResetCorrupt bool
}

// Status is how the run history is doing.
type Status struct {
	// Available is true while the history is written: the store is open
	// for writing and its last write succeeded.
	Available bool
	// Reason says why it is not, "" when it is.
	Reason string
	// WriteFailures counts the writes (run starts, results, pruning) that
	// did not reach the disk, since start.
	WriteFailures uint64
}

// OpenResilient opens the store in dir as Open does, but a store that
// cannot be opened or written does not fail it: what went wrong is in
// Status, and the store is opened again at the next write. It fails only
// for a store another process holds (ErrLocked): two exporters on one
// history would both send the load.
func OpenResilient(dir string, opts Options, ropts ResilientOptions) (*Resilient, error) {
	if dir == "" {
		return nil, errors.New("store: empty storage path")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Resilient{dir: dir, resetCorrupt: ropts.ResetCorrupt, logger: opts.Logger, opts: opts}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); errors.Is(err, ErrLocked) {
		return nil, err
	}
	return r, nil
}

// Path is the database file.
func (r *Resilient) Path() string { return filepath.Join(r.dir, FileName) }

// Status reports whether the history is written and why not.
func (r *Resilient) Status() Status {
	r.reasonMu.Lock()
	defer r.reasonMu.Unlock()
	return Status{Available: r.available.Load(), Reason: r.reason, WriteFailures: r.failures.Load()}
}

// open opens the store for writing, or else for reading, records how that
// went and returns the error of opening it for writing. Called with mu held
// exclusively.
func (r *Resilient) open() error {
	if r.st != nil {
		// A read-only store holds a shared lock that would keep the
		// writable one from opening; it is opened again if that fails.
		_ = r.st.Close()
		r.st, r.readOnly = nil, false
	}
	_, statErr := os.Stat(r.Path())
	st, err := Open(r.dir, r.opts)
	if err != nil && errors.Is(statErr, os.ErrNotExist) {
		// A file this attempt created but could not initialise (no space
		// left) holds nothing; left behind, it would read as corrupt.
		_ = os.Remove(r.Path())
	}
	if errors.Is(err, ErrCorrupt) {
		if !r.resetCorrupt {
			// Never written to, never moved without being asked.
			err = fmt.Errorf("%w; running without history (restart with %s to move it aside and start an empty one)", err, ResetCorruptFlag)
			r.setReason(err)
			return err
		}
		if moved, merr := moveAside(r.Path(), r.opts.Now); merr != nil {
			err = fmt.Errorf("%w; moving it aside: %w", err, merr)
		} else {
			r.logger.Warn("The run history was corrupt: moved it aside and started an empty one ("+ResetCorruptFlag+")",
				"corrupt_file", moved, "reason", err)
			st, err = Open(r.dir, r.opts)
		}
	}
	if err != nil {
		if r.st == nil && !errors.Is(err, ErrCorrupt) {
			// Show what is there while it cannot be written.
			if ro, roErr := openReadOnly(r.Path(), r.opts); roErr == nil {
				r.st, r.readOnly = ro, true
			}
		}
		if r.readOnly {
			err = fmt.Errorf("%w (the history is read, not written)", err)
		}
		r.setReason(err)
		return err
	}
	r.st, r.readOnly = st, false
	r.succeed()
	return nil
}

// writable opens the store for writing if it is not: after a failed open
// or a read-only one, every write tries again.
func (r *Resilient) writable() {
	r.mu.RLock()
	ok := r.st != nil && !r.readOnly
	r.mu.RUnlock()
	if ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if (r.st == nil || r.readOnly) && !r.closed {
		_ = r.open() // in Status
	}
}

// write runs a write on the store, records its outcome and returns its
// error.
func (r *Resilient) write(fn func(*Store) error) error {
	r.writable()
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return fmt.Errorf("store %s is closed", r.Path())
	}
	if r.st == nil || r.readOnly {
		r.mu.RUnlock()
		r.failures.Add(1)
		return fmt.Errorf("%w: %s", ErrUnavailable, r.Status().Reason)
	}
	err := fn(r.st)
	r.mu.RUnlock()
	switch {
	case err == nil:
		r.succeed()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller gave up; that says nothing about the disk.
	default:
		r.failures.Add(1)
		r.setReason(err)
	}
	return err
}

// read runs a read on the store, open for writing or not.
func (r *Resilient) read(fn func(*Store) error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.st == nil {
		return fmt.Errorf("%w: %s", ErrUnavailable, r.Status().Reason)
	}
	return fn(r.st)
}

// setReason records why the history is not written (a failed open or
// write), logging when it stops being written or fails for a new reason.
func (r *Resilient) setReason(err error) {
	r.reasonMu.Lock()
	changed := r.available.Load() || r.reason != err.Error()
	r.available.Store(false)
	r.reason = err.Error()
	r.reasonMu.Unlock()
	if changed {
		r.logger.Error("The run history is not written: the exporter runs on, without saving runs", "store", r.Path(), "err", err)
	}
}

func (r *Resilient) succeed() {
	r.reasonMu.Lock()
	wasDown := r.reason != ""
	r.available.Store(true)
	r.reason = ""
	r.reasonMu.Unlock()
	if wasDown {
		r.logger.Info("The run history is written again", "store", r.Path())
	}
}

// BeginRun is Store.BeginRun.
func (r *Resilient) BeginRun(ctx context.Context, pending *result.Document) error {
	return r.write(func(s *Store) error { return s.BeginRun(ctx, pending) })
}

// Save is Store.Save.
func (r *Resilient) Save(ctx context.Context, doc *result.Document) error {
	return r.write(func(s *Store) error { return s.Save(ctx, doc) })
}

// RecoverInFlight is Store.RecoverInFlight.
func (r *Resilient) RecoverInFlight(ctx context.Context, now time.Time) (docs []*result.Document, err error) {
	err = r.write(func(s *Store) (err error) {
		docs, err = s.RecoverInFlight(ctx, now)
		return err
	})
	return docs, err
}

// Prune is Store.Prune.
func (r *Resilient) Prune(ctx context.Context) (n int, err error) {
	err = r.write(func(s *Store) (err error) {
		n, err = s.Prune(ctx)
		return err
	})
	return n, err
}

// Compact is Store.Compact.
func (r *Resilient) Compact(ctx context.Context) error {
	return r.write(func(s *Store) error { return s.Compact(ctx) })
}

// Get is Store.Get.
func (r *Resilient) Get(ctx context.Context, id string) (doc *result.Document, err error) {
	err = r.read(func(s *Store) (err error) {
		doc, err = s.Get(ctx, id)
		return err
	})
	return doc, err
}

// List is Store.List.
func (r *Resilient) List(ctx context.Context, q Query) (sums []Summary, next string, err error) {
	err = r.read(func(s *Store) (err error) {
		sums, next, err = s.List(ctx, q)
		return err
	})
	return sums, next, err
}

// Latest is Store.Latest.
func (r *Resilient) Latest(ctx context.Context) (latest map[string]Last, err error) {
	err = r.read(func(s *Store) (err error) {
		latest, err = s.Latest(ctx)
		return err
	})
	return latest, err
}

// Baseline is Store.Baseline.
func (r *Resilient) Baseline(ctx context.Context, profile string, n int) (baseline map[string]float64, runs int, err error) {
	err = r.read(func(s *Store) (err error) {
		baseline, runs, err = s.Baseline(ctx, profile, n)
		return err
	})
	return baseline, runs, err
}

// SetRetention is Store.SetRetention; it also applies to a store opened
// later.
func (r *Resilient) SetRetention(maxRuns int, maxAge time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.MaxRuns, r.opts.MaxAge = maxRuns, maxAge
	if r.st != nil {
		r.st.SetRetention(maxRuns, maxAge)
	}
}

// Close closes the store, if one is open.
func (r *Resilient) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.st == nil {
		return nil
	}
	err := r.st.Close()
	r.st = nil
	return err
}

// moveAside renames a corrupt file to <file>.corrupt-<UTC time>, never over
// an existing file, and returns the new name.
func moveAside(path string, now func() time.Time) (string, error) {
	if now == nil {
		now = time.Now
	}
	base := path + ".corrupt-" + now().UTC().Format("20060102T150405Z")
	for i := 0; ; i++ {
		to := base
		if i > 0 {
			to = fmt.Sprintf("%s.%d", base, i)
		}
		// Link then remove: unlike rename, link never replaces a file.
		err := os.Link(path, to)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return to, os.Remove(path)
	}
}

// openReadOnly opens an existing store for reading only (a read-only
// volume), after the same checks Open makes.
func openReadOnly(path string, opts Options) (s *Store, err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := func() (db *bolt.DB, err error) {
		defer recoverCorrupt(path, &err)
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		return bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opts.LockTimeout})
	}()
	if err != nil {
		return nil, fmt.Errorf("store %s: opening read-only: %w", path, err)
	}
	codec, err := newCodec()
	if err != nil {
		db.Close()
		return nil, err
	}
	s = &Store{db: db, path: path, opts: opts, logger: opts.Logger, codec: codec, retention: retention{opts.MaxRuns, opts.MaxAge}}
	err = s.check()
	if err == nil {
		err = s.view(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil || string(meta.Get(keySchema)) != schemaVersion {
				return fmt.Errorf("store %s is not a perf-exporter store of schema %q", path, schemaVersion)
			}
			for _, name := range [][]byte{bucketDocs, bucketProfiles, bucketInFlight} {
				if tx.Bucket(name) == nil {
					return fmt.Errorf("store %s lacks bucket %s", path, name)
				}
			}
			return nil
		})
	}
	if err != nil {
		db.Close()
		codec.close()
		return nil, err
	}
	return s, nil
}

// BaselineWithin is Store.BaselineWithin.
func (r *Resilient) BaselineWithin(ctx context.Context, profile string, n int, from, until time.Time) (baseline map[string]float64, runs int, err error) {
	err = r.read(func(s *Store) (err error) {
		baseline, runs, err = s.BaselineWithin(ctx, profile, n, from, until)
		return err
	})
	return baseline, runs, err
}

// Accept is Store.Accept.
func (r *Resilient) Accept(ctx context.Context, profile string, a Acceptance) error {
	return r.write(func(s *Store) error { return s.Accept(ctx, profile, a) })
}

// Acceptances is Store.Acceptances.
func (r *Resilient) Acceptances(ctx context.Context, profile string) (as []Acceptance, err error) {
	err = r.read(func(s *Store) (err error) {
		as, err = s.Acceptances(ctx, profile)
		return err
	})
	return as, err
}

// Series is Store.Series.
func (r *Resilient) Series(ctx context.Context, profile string) (sums []Summary, err error) {
	err = r.read(func(s *Store) (err error) {
		sums, err = s.Series(ctx, profile)
		return err
	})
	return sums, err
}
