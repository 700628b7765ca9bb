package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// SmallFilesystem mounts a tmpfs of size bytes on a new temporary
// directory, for tests that fill a disk or make it read-only for real. It
// needs root (or CAP_SYS_ADMIN): without, the test is skipped, or failed
// when RequireToolsEnv is set. The mount goes when the test ends.
func SmallFilesystem(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+strconv.FormatInt(size, 10)); err != nil {
		if os.Getenv(RequireToolsEnv) != "" {
			t.Fatalf("mounting a %d-byte tmpfs is required (%s is set): %v", size, RequireToolsEnv, err)
		}
		t.Skipf("cannot mount a tmpfs (needs root; set %s to make this a failure): %v", RequireToolsEnv, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// Remount makes a SmallFilesystem read-only or writable again.
func Remount(t testing.TB, dir string, readOnly bool) {
	t.Helper()
	flags := uintptr(syscall.MS_REMOUNT | syscall.MS_NOSUID | syscall.MS_NODEV)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, ""); err != nil {
		t.Fatalf("remounting %s (read-only %v): %v", dir, readOnly, err)
	}
}

// Fill writes a file into dir until the filesystem is full (ENOSPC) and
// returns its path: remove it to free the space again.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	// Whatever is left is smaller than a block: take it too.
	for {
		if _, err := f.Write(block[:1]); err != nil {
			break
		}
	}
	return path
}
