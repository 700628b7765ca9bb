// Package store keeps the history of runs: every run's full result document,
// in a bbolt database under --storage.path, so results, baselines and the
// last-run gauges survive restarts and upgrades.
//
// Every write is one bbolt transaction, fsynced before it returns, so a crash
// (kill -9, power loss) loses at most the run in flight; BeginRun marks that
// run so the next start can record it as aborted (RecoverInFlight).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file inside the storage directory.
const FileName = "runs.db"

// schemaVersion is the layout of the buckets below. Bump it, and teach Open
// to migrate, when the layout changes.
const schemaVersion = "1"

// The database layout.
//
//	meta/schema            -> schemaVersion
//	docs/<run id>          -> the result document, JSON
//	profiles/<profile>/<k> -> the run's Summary, JSON; k = start time (8 bytes,
//	                          big endian, sortable) + run id, so a cursor walks
//	                          a profile's runs in time order
//	inflight/<run id>      -> the inFlight mark of a started, unsaved run
//	accepted/<profile>/<k> -> an Acceptance of a metric's new level; k = its
//	                          time (8 bytes, big endian) + metric (added
//	                          without a schema change: older stores get it)
var (
	bucketMeta     = []byte("meta")
	bucketDocs     = []byte("docs")
	bucketProfiles = []byte("profiles")
	bucketInFlight = []byte("inflight")
	bucketAccepted = []byte("accepted")
	keySchema      = []byte("schema")
)

// ErrNotFound is returned (wrapped) for a run id the store does not hold.
var ErrNotFound = errors.New("no such run")

// ErrCorrupt is what Open's error wraps when the file is damaged (not when
// it is another program's or another schema's): the case where moving it
// aside and starting an empty history is the repair.
var ErrCorrupt = errors.New("the store is corrupt")

// ErrLocked is what Open's error wraps when another process holds the
// store: another perf-exporter with the same --storage.path.
var ErrLocked = errors.New("the store is locked by another process")

// DefaultLockTimeout is how long Open waits for another process to release
// the database before giving up.
const DefaultLockTimeout = time.Second

// Options tune a Store. The zero value keeps every run forever.
type Options struct {
	// MaxRuns is how many runs to keep per profile; 0 = no limit.
	MaxRuns int
	// MaxAge drops runs that started longer ago than this; 0 = no limit.
	MaxAge time.Duration
	// LockTimeout bounds the wait for another process holding the database;
	// 0 = DefaultLockTimeout.
	LockTimeout time.Duration
	// Now is the clock for retention by age; nil = time.Now.
	Now func() time.Time
	// Logger gets what the store does on its own (pruning, recovery);
	// nil = discard.
	Logger *slog.Logger
}

// Store is the run history. It is safe for concurrent use.
type Store struct {
	// dbMu guards db against Compact, which replaces it: every
	// transaction holds it for reading.
	dbMu   sync.RWMutex
	db     *bolt.DB
	path   string // of the database file, for errors
	opts   Options
	logger *slog.Logger
	codec  *codec

	// retention is opts' MaxRuns and MaxAge, replaceable on config reload.
	mu        sync.Mutex
	retention retention
}

type retention struct {
	maxRuns int
	maxAge  time.Duration
}

// SetRetention replaces the retention limits (global.retention) after a
// config reload; they apply from the next save or Prune.
func (s *Store) SetRetention(maxRuns int, maxAge time.Duration) {
	s.mu.Lock()
	s.retention = retention{maxRuns, maxAge}
	s.mu.Unlock()
}

func (s *Store) limits() retention {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retention
}

// Open opens the store in directory dir, creating both if needed. A database
// that is locked by another process, corrupt or not ours is an error naming
// the file, never an empty history.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: empty storage path")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.MaxRuns < 0 || opts.MaxAge < 0 {
		return nil, fmt.Errorf("store: negative retention (max runs %d, max age %s)", opts.MaxRuns, opts.MaxAge)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: creating storage directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := openBolt(path, opts.LockTimeout)
	if err == nil {
		// Only now, with the database locked: another process's
		// compaction is not ours to remove.
		if err = removeCompactLeftover(path); err != nil {
			db.Close()
		}
	}
	if _, ok := errors.AsType[*corruptError](err); ok {
		return nil, fmt.Errorf("%w; %s", err, repairHint)
	}
	if err != nil {
		return nil, err
	}
	codec, err := newCodec()
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, path: path, opts: opts, logger: opts.Logger, codec: codec, retention: retention{opts.MaxRuns, opts.MaxAge}}
	if err := s.init(); err != nil {
		db.Close()
		codec.close()
		return nil, err
	}
	// Free space retention left behind while the exporter ran goes back
	// to the file system at start.
	s.maybeCompact(context.Background())
	return s, nil
}

func openBolt(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer recoverCorrupt(path, &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s is locked by another process (another perf-exporter with the same --storage.path?): %w", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), strings.Contains(err.Error(), "file size too small"):
		return nil, corrupted{fmt.Errorf("store %s is corrupt or not a perf-exporter store (%w); %s", path, err, repairHint)}
	default:
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
}

// init checks the whole file, then creates the buckets of a new store or
// checks the schema of an existing one.
func (s *Store) init() error {
	if err := s.check(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			var names []string
			_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				names = append(names, string(name))
				return nil
			})
			if len(names) > 0 {
				return fmt.Errorf("store %s is not a perf-exporter store (it holds buckets %s)", s.path, strings.Join(names, ", "))
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return fmt.Errorf("store %s: creating bucket %s: %w", s.path, bucketMeta, err)
			}
			if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
				return fmt.Errorf("store %s: writing schema: %w", s.path, err)
			}
		}
		if v := string(meta.Get(keySchema)); v != schemaVersion {
			return fmt.Errorf("store %s has schema %q, this perf-exporter reads schema %q (written by a different version?)", s.path, v, schemaVersion)
		}
		for _, name := range [][]byte{bucketDocs, bucketProfiles, bucketInFlight, bucketAccepted} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("store %s: creating bucket %s: %w", s.path, name, err)
			}
		}
		return nil
	})
}

// check reads every key of every bucket, so damage anywhere in the file is
// reported at start, with the path, rather than on the first read of the
// damaged page. (bbolt's own Tx.Check runs in a goroutine of its own, where
// a panic on a garbage page cannot be recovered.)
func (s *Store) check() error {
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
	var corrupt *corruptError
	switch {
	case errors.As(err, &corrupt):
		return fmt.Errorf("%w; %s", err, repairHint)
	case err != nil:
		return corrupted{fmt.Errorf("store %s is corrupt (%w); %s", s.path, err, repairHint)}
	}
	return nil
}

func walk(b *bolt.Bucket) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		nested := b.Bucket(k)
		if nested == nil {
			return fmt.Errorf("key %q has neither a value nor a bucket", k)
		}
		if err := walk(nested); err != nil {
			return err
		}
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close releases the database; pending writes have already been committed.
func (s *Store) Close() error {
	defer s.codec.close()
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store %s: closing: %w", s.path, err)
	}
	return nil
}

// view and update run fn in a transaction, turning a panic of bbolt on a
// damaged page into an error that names the file.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.guard(func() error { return s.db.View(fn) })
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.guard(func() error { return s.db.Update(fn) })
}

func (s *Store) guard(fn func() error) (err error) {
	defer recoverCorrupt(s.path, &err)
	// A damaged page can point outside the mapped file; fault as a panic
	// (for this goroutine only) so that too becomes an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn()
}

// recoverCorrupt turns a panic of bbolt, which trusts its pages, into an
// error naming the file.
func recoverCorrupt(path string, err *error) {
	if p := recover(); p != nil {
		*err = &corruptError{path: path, reason: p}
	}
}

type corruptError struct {
	path   string
	reason any
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("store %s is corrupt: %v", e.path, e.reason)
}

func (e *corruptError) Is(target error) bool { return target == ErrCorrupt }

// corrupted marks an error as ErrCorrupt without changing its text.
type corrupted struct{ err error }

func (c corrupted) Error() string        { return c.err.Error() }
func (c corrupted) Unwrap() error        { return c.err }
func (c corrupted) Is(target error) bool { return target == ErrCorrupt }

// repairHint tells an operator what to do about a damaged store.
const repairHint = "move it aside to start an empty history, or restore a backup"

// ctxErr is the reason not to start a transaction, if any.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
