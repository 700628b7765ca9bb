package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// bbolt never gives pages back to the file system: after retention drops
// runs, their pages are free for the next runs but the file keeps its
// size. Compaction copies the live data into a new file and renames it
// over the old one. The copy is fsynced before the rename, and the rename
// is atomic, so a crash (kill -9) at any moment leaves either the old file
// or the whole new one; a leftover copy is deleted at the next start.

// compactSuffix names the copy being written next to the database.
const compactSuffix = ".compacting"

// compactTxSize bounds each transaction of the copy.
const compactTxSize = 8 << 20

// minCompactGain is the least free space worth a compaction.
const minCompactGain = 4 << 20

// freeSpace is how much of the database's pages are free, and how large
// its data is (up to its highest page).
func (s *Store) freeSpace() (free, size int64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	})
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	st := s.db.Stats()
	free = int64(st.FreePageN+st.PendingPageN) * int64(s.db.Info().PageSize)
	return free, size, err
}

// maybeCompact compacts when at least a quarter of the data, and
// minCompactGain, is free space. A compaction that fails loses nothing
// (the file stays as it was): it is logged, and the store goes on.
func (s *Store) maybeCompact(ctx context.Context) {
	free, size, err := s.freeSpace()
	if err != nil || free < minCompactGain || free < size/4 {
		return
	}
	if err := s.Compact(ctx); err != nil {
		s.logger.Warn("Could not compact the run history; it keeps its free space", "err", err)
	}
}

// Compact rewrites the database without its free pages, so the file
// shrinks to its data. Reads and writes wait while it runs.
func (s *Store) Compact(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	before, _ := fileSize(s.path)
	tmp := s.path + compactSuffix
	if err := s.copyCompacted(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store %s: compacting: %w", s.path, err)
	}
	if err := s.db.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store %s: compacting: closing: %w", s.path, err)
	}
	renameErr := os.Rename(tmp, s.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(s.path))
	} else {
		os.Remove(tmp)
	}
	// Open the file in place, compacted or not: the store goes on.
	db, err := openBolt(s.path, s.opts.LockTimeout)
	if err != nil {
		return fmt.Errorf("store %s: reopening after compaction: %w", s.path, errors.Join(renameErr, err))
	}
	s.db = db
	if renameErr != nil {
		return fmt.Errorf("store %s: compacting: %w", s.path, renameErr)
	}
	after, _ := fileSize(s.path)
	s.logger.Info("Compacted the run history", "path", s.path, "bytes_before", before, "bytes_after", after)
	return nil
}

func (s *Store) copyCompacted(tmp string) error {
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout})
	if err != nil {
		return err
	}
	if err := s.guard(func() error { return bolt.Compact(dst, s.db, compactTxSize) }); err != nil {
		dst.Close()
		return err
	}
	// Every transaction of the copy was fsynced at its commit; Close
	// releases the file.
	return dst.Close()
}

// removeCompactLeftover deletes the copy of a compaction a crash
// interrupted: the database itself is the old, whole file.
func removeCompactLeftover(path string) error {
	if err := os.Remove(path + compactSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store %s: removing an interrupted compaction's copy: %w", path, err)
	}
	return nil
}

func fileSize(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
